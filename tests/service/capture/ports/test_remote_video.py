from __future__ import annotations

import pytest
from hypothesis import given, settings

from evidence_service.capture.ports import sniff
from evidence_service.capture.ports.remote_video import RemoteVideoPort
from evidence_service.core.errors import WrongMediaTypeError
from tests.service.capture.ports import samples
from tests.service.capture.ports.feeding import FIXED_CHUNK_SIZES, chunk_plans, feed_only, run_port

PORT = RemoteVideoPort()
MP4 = samples.mp4_head(payload=20_000)


@pytest.mark.parametrize("sizes", FIXED_CHUNK_SIZES)
def test_live_recording_is_accepted(sizes: int | None) -> None:
    extraction = run_port(PORT, MP4, sizes)
    assert extraction.media_type == sniff.MP4
    assert extraction.fields == {"container": "mp4"}
    assert extraction.derived == ()


@settings(max_examples=15, deadline=None)
@given(plan=chunk_plans)
def test_chunking_does_not_change_the_result(plan: list[int]) -> None:
    assert run_port(PORT, samples.webm_head(payload=9000), plan).fields == {"container": "webm"}


def test_audio_only_capture_is_accepted() -> None:
    extraction = run_port(PORT, samples.wav_recording(1.0))
    assert extraction.fields == {"container": "wav", "duration_seconds": 1.0}


def test_port_has_no_size_limit_of_its_own() -> None:
    assert RemoteVideoPort.max_size is None


@pytest.mark.parametrize(
    "data",
    [samples.jpeg_with_exif(64, 48), samples.json_bytes({"chunks": []}), bytes(range(256)) * 32],
    ids=["jpeg", "json", "binary"],
)
def test_non_video_is_the_wrong_media_type(data: bytes) -> None:
    with pytest.raises(WrongMediaTypeError):
        run_port(PORT, data)


def test_wrong_type_is_rejected_while_streaming() -> None:
    with pytest.raises(WrongMediaTypeError):
        feed_only(PORT, samples.pdf_with_pages(2) + bytes(5000), 512)
