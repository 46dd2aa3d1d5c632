"""Digester: known answers for both hashes, and chunking never changes the result."""

from __future__ import annotations

import hashlib
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.digest import Digester, Digests, digest_bytes

SHA256_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
SHA256_448_BITS = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
SM3_EMPTY = "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"  # GB/T 32905 A.1
SM3_ABCD_X16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"  # GB/T 32905 A.2
SHA256_448_INPUT = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"


def _stream(chunks: list[bytes]) -> Digests:
    with Digester() as digester:
        for chunk in chunks:
            digester.update(chunk)
        return digester.result()


@pytest.mark.parametrize(
    ("data", "sha256", "sm3"),
    [
        (b"", SHA256_EMPTY, SM3_EMPTY),
        (b"abc", SHA256_ABC, SM3_ABC),
    ],
)
def test_known_answers(data: bytes, sha256: str, sm3: str) -> None:
    assert digest_bytes(data) == Digests(len(data), sha256, sm3)
    assert _stream([data]) == Digests(len(data), sha256, sm3)


def test_sm3_standard_second_vector() -> None:
    assert digest_bytes(b"abcd" * 16).sm3 == SM3_ABCD_X16


def test_sha256_standard_two_block_vector() -> None:
    assert digest_bytes(SHA256_448_INPUT).sha256 == SHA256_448_BITS


def test_empty_stream_without_updates() -> None:
    assert _stream([]) == Digests(0, SHA256_EMPTY, SM3_EMPTY)


def test_large_stream_uses_the_background_thread_and_matches() -> None:
    # 3 MiB in 100 KiB and 1 MiB chunks crosses the batching threshold both ways.
    data = bytes(range(256)) * (3 * 4096)
    chunks = [data[i : i + 100_000] for i in range(0, 1_000_000, 100_000)]
    chunks.append(data[1_000_000 : 2 * 1024 * 1024])
    chunks.append(data[2 * 1024 * 1024 :])
    assert b"".join(chunks) == data
    assert _stream(chunks) == digest_bytes(data)


def test_mutable_buffers_are_copied_before_the_caller_reuses_them() -> None:
    buffer = bytearray(b"x" * (512 * 1024))
    expected = digest_bytes(bytes(buffer) + b"y" * len(buffer))
    with Digester() as digester:
        digester.update(buffer)
        buffer[:] = b"y" * len(buffer)  # reused while SM3 may still be hashing the first
        digester.update(buffer)
        assert digester.result() == expected


def test_result_twice_and_update_after_result_are_refused() -> None:
    digester = Digester()
    digester.update(b"abc")
    digester.result()
    with pytest.raises(ValueError, match="finished"):
        digester.result()
    with pytest.raises(ValueError, match="finished"):
        digester.update(b"more")


def test_close_midway_stops_the_thread() -> None:
    before = threading.active_count()
    with pytest.raises(RuntimeError, match="stream broke"), Digester() as digester:
        for _ in range(8):
            digester.update(b"z" * (1024 * 1024))
        raise RuntimeError("stream broke")
    assert threading.active_count() == before
    digester.close()  # idempotent


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=700_000),
    cuts=st.lists(st.integers(min_value=0, max_value=700_000), max_size=12),
)
def test_any_chunking_equals_the_hash_of_the_concatenation(data: bytes, cuts: list[int]) -> None:
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunks = [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    result = _stream(chunks)
    assert result == Digests(
        len(data), hashlib.sha256(data).hexdigest(), hashlib.new("sm3", data).hexdigest()
    )
