from __future__ import annotations

import struct
import tracemalloc

import pytest
from hypothesis import given, settings

from evidence_service.capture.ports import sniff
from evidence_service.capture.ports.audiovisual import AudiovisualPort, wav_duration_seconds
from evidence_service.core.errors import WrongMediaTypeError
from tests.service.capture.ports import samples
from tests.service.capture.ports.feeding import FIXED_CHUNK_SIZES, chunk_plans, feed_only, run_port

PORT = AudiovisualPort()
WAV = samples.wav_recording(seconds=0.5, rate=8000, channels=2)

RECORDINGS = [
    ("mp4", samples.mp4_head(), sniff.MP4, "mp4"),
    ("mov", samples.mp4_head(b"qt  "), sniff.QUICKTIME, "quicktime"),
    ("3gp", samples.mp4_head(b"3gp5"), sniff.THREE_GP, "3gp"),
    ("m4a", samples.mp4_head(b"M4A "), sniff.M4A, "m4a"),
    ("webm", samples.webm_head(), sniff.WEBM, "webm"),
    ("mkv", samples.webm_head(b"matroska"), sniff.MATROSKA, "matroska"),
    ("mpeg-ts", samples.mpeg_ts(), sniff.MPEG_TS, "mpeg-ts"),
    ("mp3", b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(5000), sniff.MP3, "mp3"),
    ("flac", b"fLaC\x00\x00\x00\x22" + bytes(5000), sniff.FLAC, "flac"),
    ("amr", b"#!AMR\n" + bytes(5000), sniff.AMR, "amr"),
]


@pytest.mark.parametrize("sizes", FIXED_CHUNK_SIZES)
def test_wav_duration_from_the_header(sizes: int | None) -> None:
    extraction = run_port(PORT, WAV, sizes)
    assert extraction.media_type == sniff.WAV
    assert extraction.fields == {"container": "wav", "duration_seconds": 0.5}
    assert extraction.derived == ()


@pytest.mark.parametrize(
    ("data", "media_type", "container"),
    [r[1:] for r in RECORDINGS],
    ids=[r[0] for r in RECORDINGS],
)
def test_containers_by_magic(data: bytes, media_type: str, container: str) -> None:
    for sizes in (None, 1, 4097):
        extraction = run_port(PORT, data, sizes)
        assert extraction.media_type == media_type
        assert extraction.fields == {"container": container}


@settings(max_examples=20, deadline=None)
@given(plan=chunk_plans)
def test_chunking_does_not_change_the_result(plan: list[int]) -> None:
    assert run_port(PORT, WAV, plan) == run_port(PORT, WAV)
    assert run_port(PORT, samples.webm_head(), plan).media_type == sniff.WEBM


def test_wav_with_unpatched_data_size_uses_the_bytes_that_follow() -> None:
    data_at = WAV.index(b"data")
    unpatched = WAV[: data_at + 4] + struct.pack("<I", 0xFFFFFFFF) + WAV[data_at + 8 :]
    assert run_port(PORT, unpatched).fields["duration_seconds"] == 0.5


def test_truncated_wav_counts_only_what_arrived() -> None:
    data_at = WAV.index(b"data") + 8
    half = WAV[: data_at + (len(WAV) - data_at) // 2]
    assert run_port(PORT, half).fields["duration_seconds"] == 0.25


def test_wav_duration_needs_a_fmt_chunk() -> None:
    assert wav_duration_seconds(b"RIFF\x00\x00\x00\x00WAVEdata\x10\x00\x00\x00", 100) is None


@pytest.mark.parametrize(
    "data",
    [
        samples.jpeg_with_exif(64, 48),
        samples.pdf_with_pages(1),
        samples.json_bytes({"video": "no"}),
        b"plain text notes",
        b"",
    ],
    ids=["jpeg", "pdf", "json", "text", "empty"],
)
def test_non_recordings_are_the_wrong_media_type(data: bytes) -> None:
    with pytest.raises(WrongMediaTypeError):
        run_port(PORT, data)


def test_wrong_type_is_rejected_as_soon_as_the_head_is_in() -> None:
    with pytest.raises(WrongMediaTypeError):
        feed_only(PORT, samples.image_bytes("PNG", 400, 400), 4096)


def test_a_long_recording_is_not_buffered() -> None:
    chunk = bytes(1024 * 1024)
    inspection = PORT.inspect()
    inspection.feed(samples.mp4_head())
    tracemalloc.start()
    try:
        for _ in range(64):
            inspection.feed(chunk)
        extraction = inspection.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert extraction.media_type == sniff.MP4
    assert peak < 256 * 1024
