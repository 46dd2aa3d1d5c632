from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from PIL import Image

from evidence_service.capture.ports import physical, sniff
from evidence_service.capture.ports.limits import MAX_IMAGE_PIXELS, THUMBNAIL_MAX_SIDE
from evidence_service.capture.ports.physical import PhysicalPort
from evidence_service.core.errors import (
    BadContentError,
    DecompressionBombError,
    OversizeError,
    WrongMediaTypeError,
)
from tests.service.capture.ports import samples
from tests.service.capture.ports.feeding import FIXED_CHUNK_SIZES, chunk_plans, feed_only, run_port

PORT = PhysicalPort()
JPEG = samples.jpeg_with_exif()


def _thumbnail(extraction_derived: tuple) -> Image.Image:  # type: ignore[type-arg]
    (derived,) = extraction_derived
    assert derived.role == "thumbnail"
    assert derived.media_type == "image/jpeg"
    image = Image.open(io.BytesIO(derived.data))
    assert image.format == "JPEG"
    return image


@pytest.mark.parametrize("sizes", FIXED_CHUNK_SIZES)
def test_jpeg_exif_is_extracted_exactly(sizes: int | None) -> None:
    extraction = run_port(PORT, JPEG, sizes)
    assert extraction.media_type == sniff.JPEG
    fields = extraction.fields
    assert (fields["width"], fields["height"]) == (640, 480)
    assert fields["exif_captured_at"] == samples.EXIF_CAPTURED_AT + "+08:00"
    assert fields["gps"]["lat"] == pytest.approx(samples.GPS_LAT, abs=1e-6)
    assert fields["gps"]["lon"] == pytest.approx(samples.GPS_LON, abs=1e-6)
    assert fields["make"] == samples.EXIF_MAKE
    assert fields["model"] == samples.EXIF_MODEL
    assert fields["orientation"] == 1
    assert _thumbnail(extraction.derived).size == (THUMBNAIL_MAX_SIDE, 240)


@settings(max_examples=15, deadline=None)
@given(plan=chunk_plans)
def test_chunking_does_not_change_the_result(plan: list[int]) -> None:
    assert run_port(PORT, JPEG, plan) == run_port(PORT, JPEG)


def test_capture_time_without_offset_has_no_zone() -> None:
    fields = run_port(PORT, samples.jpeg_with_exif(offset=None)).fields
    assert fields["exif_captured_at"] == samples.EXIF_CAPTURED_AT


def test_southern_and_western_hemispheres_are_negative() -> None:
    gps = run_port(PORT, samples.jpeg_with_exif(south_west=True)).fields["gps"]
    assert gps["lat"] == pytest.approx(-samples.GPS_LAT, abs=1e-6)
    assert gps["lon"] == pytest.approx(-samples.GPS_LON, abs=1e-6)


def test_thumbnail_is_turned_upright_per_exif_orientation() -> None:
    extraction = run_port(PORT, samples.jpeg_with_exif(orientation=6))
    assert extraction.fields["orientation"] == 6
    assert _thumbnail(extraction.derived).size == (240, THUMBNAIL_MAX_SIDE)


def test_small_photo_thumbnail_is_not_enlarged() -> None:
    extraction = run_port(PORT, samples.jpeg_with_exif(100, 80))
    assert _thumbnail(extraction.derived).size == (100, 80)


@pytest.mark.parametrize(
    ("fmt", "mode", "media_type"),
    [
        ("PNG", "RGB", sniff.PNG),
        ("PNG", "RGBA", sniff.PNG),
        ("PNG", "P", sniff.PNG),
        ("WEBP", "RGB", sniff.WEBP),
        ("TIFF", "RGB", sniff.TIFF),
    ],
)
def test_other_photo_formats(fmt: str, mode: str, media_type: str) -> None:
    extraction = run_port(PORT, samples.image_bytes(fmt, 800, 600, mode), 4096)
    assert extraction.media_type == media_type
    assert extraction.fields == {"width": 800, "height": 600}  # no EXIF in these samples
    assert _thumbnail(extraction.derived).size == (320, 240)


def test_heic_is_accepted_but_not_decoded() -> None:
    extraction = run_port(PORT, samples.heic_head(), 1)
    assert extraction.media_type == sniff.HEIC
    assert extraction.fields == {"decoded": False}
    assert extraction.derived == ()


def test_decompression_bomb_header_is_rejected_without_decoding() -> None:
    with pytest.raises(DecompressionBombError):
        run_port(PORT, samples.png_claiming_size(100_000, 100_000))


def test_just_over_the_pixel_limit_is_a_bomb() -> None:
    side = int(MAX_IMAGE_PIXELS**0.5) + 1  # below Pillow's own warning threshold
    with pytest.raises(DecompressionBombError, match="limit"):
        run_port(PORT, samples.png_claiming_size(side, side))


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe0" + b"garbage" * 100,
        JPEG[: len(JPEG) // 2],
        samples.png_claiming_size(100, 100),  # IDAT far too short for 100x100
    ],
    ids=["jpeg-garbage", "jpeg-truncated", "png-short-idat"],
)
def test_corrupt_photo_is_bad_content(data: bytes) -> None:
    with pytest.raises(BadContentError):
        run_port(PORT, data)


@pytest.mark.parametrize(
    "data",
    [
        samples.json_bytes({"photo": "not really"}),
        samples.pdf_with_pages(1),
        samples.image_bytes("GIF"),
        samples.wav_recording(0.1),
        b"",
    ],
    ids=["json", "pdf", "gif", "wav", "empty"],
)
def test_non_photos_are_the_wrong_media_type(data: bytes) -> None:
    with pytest.raises(WrongMediaTypeError):
        run_port(PORT, data)


def test_wrong_type_is_rejected_while_streaming() -> None:
    not_a_photo = samples.json_bytes({"padding": "x" * 10_000})
    with pytest.raises(WrongMediaTypeError) as caught:
        feed_only(PORT, not_a_photo, 1000)
    assert caught.value.extra["detected_media_type"] == sniff.JSON


def test_oversize_photo_is_rejected_in_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(physical, "PHOTO_MAX_BYTES", 10_000)
    with pytest.raises(OversizeError):
        feed_only(PhysicalPort(), samples.jpeg_with_exif(1600, 1200), 4096)


def test_heic_is_not_buffered_but_still_size_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(physical, "PHOTO_MAX_BYTES", 10_000)
    assert run_port(PhysicalPort(), samples.heic_head() + bytes(5000)).fields == {"decoded": False}
    with pytest.raises(OversizeError):
        feed_only(PhysicalPort(), samples.heic_head() + bytes(6000), 4096)
