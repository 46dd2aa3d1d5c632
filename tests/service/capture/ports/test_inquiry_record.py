from __future__ import annotations

import html

import pytest
from hypothesis import given, settings

from evidence_service.capture.ports import json_upload, sniff
from evidence_service.capture.ports.inquiry_record import InquiryRecordPort
from evidence_service.capture.ports.record_html import mask_id_number
from evidence_service.core.errors import BadContentError, OversizeError, WrongMediaTypeError
from tests.service.capture.ports import samples
from tests.service.capture.ports.feeding import FIXED_CHUNK_SIZES, chunk_plans, feed_only, run_port

PORT = InquiryRecordPort()
RECORD = samples.json_bytes(samples.INQUIRY)

FIELDS = {
    "started_at": "2024-05-01T09:00:00+08:00",
    "ended_at": "2024-05-01T09:45:00+08:00",
    "place_address": "杭州市西湖区文三路 100 号市场监督管理所",
    "case_ref": "杭西市监罚〔2024〕123号",
    "item_count": 3,
    "interviewee_name": "张三",
    "interviewee_role": "party",
    "interviewer_count": 2,
}


def _html(data: bytes = RECORD) -> str:
    (document,) = run_port(PORT, data).derived
    assert (document.role, document.media_type) == ("document", "text/html; charset=utf-8")
    return document.data.decode("utf-8")


@pytest.mark.parametrize("sizes", FIXED_CHUNK_SIZES)
def test_record_is_validated_and_summarised(sizes: int | None) -> None:
    extraction = run_port(PORT, RECORD, sizes)
    assert extraction.media_type == sniff.JSON
    assert extraction.fields == FIELDS


@settings(max_examples=15, deadline=None)
@given(plan=chunk_plans)
def test_chunking_does_not_change_the_result(plan: list[int]) -> None:
    assert run_port(PORT, RECORD, plan) == run_port(PORT, RECORD)


def test_rendering_is_a_standalone_utf8_page() -> None:
    page = _html()
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert "<h1>询问笔录</h1>" in page
    assert "Inquiry record" in page
    for fact in ("杭西市监罚〔2024〕123号", "文三路 100 号", "2024-05-01T09:00:00+08:00", "王芳"):
        assert fact in page
    assert "33010020240042" in page  # the interviewer's certificate number
    assert "冷库里的过期食品是谁采购的？" in page
    assert "询问人签名" in page and "被询问人签名" in page and "记录人签名" in page
    assert "<script" not in page.lower() and "http" not in page  # no scripts, no remote resources


def test_every_user_string_is_escaped() -> None:
    page = _html()
    assert "<script>alert" not in page
    assert html.escape("<script>alert('x')</script>", quote=True) in page


def test_hostile_strings_in_every_field_stay_inert() -> None:
    evil = '"><img src=x onerror=alert(1)>'
    record = samples.inquiry(
        case_ref=evil,
        place={"address": evil},
        interviewers=[{"name": evil, "officer_id": evil, "cert_no": evil}],
        interviewee={"name": evil, "role": "witness", "contact": evil},
        items=[{"q": evil, "a": evil}],
        notes=evil,
    )
    page = _html(samples.json_bytes(record))
    assert "<img" not in page
    assert page.count(html.escape(evil, quote=True)) >= 8


def test_identity_number_is_masked_in_the_rendering() -> None:
    page = _html()
    assert "330102199001011234" not in page
    assert "3301**********1234" in page


@pytest.mark.parametrize(
    ("id_number", "masked"),
    [
        ("330102199001011234", "3301**********1234"),
        ("33010219900101123X", "3301**********123X"),
        ("G12345678", "G1*****78"),
        ("12345678", "1******8"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_mask_id_number(id_number: str, masked: str) -> None:
    assert mask_id_number(id_number) == masked
    assert len(masked) == len(id_number)


def test_minimal_record_is_accepted() -> None:
    record = {
        "place": {"address": "执法车内"},
        "started_at": "2024-05-01T09:00:00Z",
        "ended_at": "2024-05-01T09:00:00Z",
        "interviewers": [{"name": "王芳"}],
        "interviewee": {"name": "李四", "role": "witness"},
        "items": [{"q": "你看到了什么？", "a": "看到有人倒卖过期食品。"}],
    }
    extraction = run_port(PORT, samples.json_bytes(record))
    assert extraction.fields["item_count"] == 1
    assert "case_ref" not in extraction.fields
    assert "记录人签名" not in extraction.derived[0].data.decode()


@pytest.mark.parametrize(
    ("record", "path"),
    [
        (samples.inquiry(ended_at="2024-05-01T08:59:59+08:00"), "$.ended_at"),
        (samples.inquiry(ended_at="2024-05-01T00:59:59Z"), "$.ended_at"),
        (samples.inquiry(started_at="2024-05-01 09:00"), "$.started_at"),
        (samples.inquiry(started_at="2024-02-30T09:00:00Z"), "$.started_at"),
        (samples.inquiry(items=[]), "$.items"),
        (samples.inquiry(items=[{"q": "问题"}]), "$.items[0]"),
        (samples.inquiry(interviewers=[]), "$.interviewers"),
        (samples.inquiry(interviewee={"name": "张三", "role": "suspect"}), "$.interviewee.role"),
        (samples.inquiry(place={"address": "x", "lat": 30.2}), "$.place"),
        (samples.inquiry(place={"address": "x", "lat": 91, "lon": 0}), "$.place.lat"),
        (samples.inquiry(signature="forged"), "$"),
        ({k: v for k, v in samples.INQUIRY.items() if k != "interviewee"}, "$"),
    ],
    ids=[
        "ends-before-start",
        "ends-before-start-other-zone",
        "start-not-rfc3339",
        "start-impossible-date",
        "no-items",
        "item-without-answer",
        "no-interviewers",
        "unknown-role",
        "lat-without-lon",
        "lat-out-of-range",
        "unknown-field",
        "no-interviewee",
    ],
)
def test_bad_record_names_the_json_path(record: dict[str, object], path: str) -> None:
    with pytest.raises(BadContentError) as caught:
        run_port(PORT, samples.json_bytes(record), 100)
    assert caught.value.detail.startswith(path)


@pytest.mark.parametrize(
    "data",
    [
        b'{"items": [',
        b'{"a": NaN}',
        b'{"notes": "a", "notes": "b"}',
        "询问笔录：问：你叫什么？答：张三。".encode(),
        b'{"notes": "' + b"a" * 5000 + b'\xff"}',  # past the sniffed head
    ],
    ids=["truncated", "nan", "duplicate-key", "plain-text", "bad-utf8-late"],
)
def test_text_that_is_not_a_json_record_is_bad_content(data: bytes) -> None:
    with pytest.raises(BadContentError):
        run_port(PORT, data)


@pytest.mark.parametrize(
    "data",
    [
        samples.image_bytes("PNG"),
        samples.pdf_with_pages(1),
        samples.wav_recording(0.1),
        b'{"place": "\xff"}',  # not UTF-8, so not JSON text at all
        b"",
    ],
    ids=["png", "pdf", "wav", "bad-utf8-head", "empty"],
)
def test_other_formats_are_the_wrong_media_type(data: bytes) -> None:
    with pytest.raises(WrongMediaTypeError):
        run_port(PORT, data)


def test_png_is_rejected_while_streaming() -> None:
    with pytest.raises(WrongMediaTypeError):
        feed_only(PORT, samples.image_bytes("PNG", 600, 600), 1024)


def test_oversize_record_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_upload, "JSON_DOCUMENT_MAX_BYTES", 1000)
    with pytest.raises(OversizeError):
        feed_only(InquiryRecordPort(), RECORD, 100)
