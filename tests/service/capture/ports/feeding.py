"""Feeding a sample to a port the way the ingest pipeline does: once, in chunks of any size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import cycle

from hypothesis import strategies as st

from evidence_service.capture.ports.base import CapturePort, Extraction

#: Chunk sizes every port test runs with: whole, 1-byte, odd, around the 4 KiB sniffing head.
FIXED_CHUNK_SIZES = (None, 1, 7, 4095, 4096, 4097, 65536)

#: Hypothesis plans: a sequence of chunk sizes, cycled until the sample is used up.
chunk_plans = st.lists(st.integers(min_value=1, max_value=6000), min_size=1, max_size=12)


def chunks(data: bytes, sizes: int | None | Sequence[int]) -> Iterator[bytes]:
    """``data`` cut into chunks of ``sizes`` (one size, a cycled sequence, or None: whole)."""
    if sizes is None:
        yield data
        return
    plan: Iterable[int] = cycle([sizes] if isinstance(sizes, int) else sizes)
    offset = 0
    for size in plan:
        if offset >= len(data):
            return
        yield data[offset : offset + size]
        offset += size


def run_port(
    port: CapturePort, data: bytes, sizes: int | None | Sequence[int] = None
) -> Extraction:
    inspection = port.inspect()
    for chunk in chunks(data, sizes):
        inspection.feed(chunk)
    return inspection.finish()


def feed_only(port: CapturePort, data: bytes, sizes: int | None | Sequence[int] = None) -> None:
    """Feed without finishing: for rejections that must happen while the upload streams."""
    inspection = port.inspect()
    for chunk in chunks(data, sizes):
        inspection.feed(chunk)
