from __future__ import annotations

import pytest

from evidence_service.capture.ports.limits import JSON_DOCUMENT_MAX_BYTES, PHOTO_MAX_BYTES
from evidence_service.capture.ports.registry import PORTS, get_port
from evidence_service.core.errors import UnknownPortError
from tests.service.capture.ports import samples
from tests.service.capture.ports.feeding import run_port

PORT_IDS = [
    "documentary",
    "physical",
    "audiovisual",
    "electronic",
    "site_survey",
    "remote_video",
    "inquiry_record",
    "onsite_record",
]

EXPECTED_MAX_SIZE = {
    "documentary": None,
    "physical": PHOTO_MAX_BYTES,
    "audiovisual": None,
    "electronic": None,
    "site_survey": PHOTO_MAX_BYTES,
    "remote_video": None,
    "inquiry_record": JSON_DOCUMENT_MAX_BYTES,
    "onsite_record": JSON_DOCUMENT_MAX_BYTES,
}


def test_the_eight_ports_in_statute_order() -> None:
    assert list(PORTS) == PORT_IDS


@pytest.mark.parametrize("port_id", PORT_IDS)
def test_each_port_describes_itself(port_id: str) -> None:
    port = get_port(port_id)
    assert port is PORTS[port_id]
    assert port.id == port_id
    chinese, _, english = port.label.partition(" ")
    assert chinese and not chinese.isascii() and english.isascii()
    assert port.max_size == EXPECTED_MAX_SIZE[port_id]


@pytest.mark.parametrize("port_id", PORT_IDS)
def test_each_inspection_is_fresh(port_id: str) -> None:
    port = get_port(port_id)
    first, second = port.inspect(), port.inspect()
    assert first is not second


def test_unknown_port_is_an_error_listing_the_known_ones() -> None:
    with pytest.raises(UnknownPortError) as caught:
        get_port("testimony")
    assert "'testimony'" in caught.value.detail
    assert caught.value.extra["known_ports"] == PORT_IDS
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("port_id", "data", "media_type"),
    [
        ("documentary", samples.pdf_with_pages(3), "application/pdf"),
        ("physical", samples.jpeg_with_exif(64, 48), "image/jpeg"),
        ("audiovisual", samples.wav_recording(0.1), "audio/wav"),
        ("electronic", bytes(range(256)), "application/octet-stream"),
        ("site_survey", samples.json_bytes(samples.DIAGRAM), "application/json"),
        ("remote_video", samples.webm_head(), "video/webm"),
        ("inquiry_record", samples.json_bytes(samples.INQUIRY), "application/json"),
        ("onsite_record", samples.json_bytes(samples.ONSITE), "application/json"),
    ],
)
def test_every_port_accepts_its_evidence_through_the_registry(
    port_id: str, data: bytes, media_type: str
) -> None:
    assert run_port(get_port(port_id), data, 1000).media_type == media_type
