"""Test data for the storage tests: deterministic payloads and ways to cut them into chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def chunked(data: bytes, sizes: Iterable[int]) -> Iterator[bytes]:
    """``data`` cut into chunks of the given sizes, cycling through them."""
    sizes = list(sizes)
    offset, i = 0, 0
    while offset < len(data):
        size = sizes[i % len(sizes)]
        yield data[offset : offset + size]
        offset += size
        i += 1


def payload(size: int, seed: int = 1) -> bytes:
    """Deterministic, non-repeating-looking bytes (cheap to make even at tens of MiB)."""
    block = bytes((i * 131 + seed * 17 + (i >> 8)) & 0xFF for i in range(65_521))
    return (block * (size // len(block) + 1))[:size]
