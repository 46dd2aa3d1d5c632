from __future__ import annotations

import html

import pytest
from hypothesis import given, settings

from evidence_service.capture.ports import sniff
from evidence_service.capture.ports.onsite_record import OnsiteRecordPort
from evidence_service.core.errors import BadContentError, WrongMediaTypeError
from tests.service.capture.ports import samples
from tests.service.capture.ports.feeding import FIXED_CHUNK_SIZES, chunk_plans, feed_only, run_port

PORT = OnsiteRecordPort()
RECORD = samples.json_bytes(samples.ONSITE)

FIELDS = {
    "started_at": "2024-05-01T10:00:00+08:00",
    "ended_at": "2024-05-01T11:30:00+08:00",
    "place_address": "杭州市西湖区文一路 8 号某餐馆",
    "case_ref": "杭西市监检〔2024〕77号",
    "observation_count": 2,
    "officer_count": 2,
    "party_name": "杭州某餐饮有限公司",
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
    assert "<h1>现场笔录</h1>" in page and "On-site record" in page
    for fact in (
        "文一路 8 号",
        "2024-05-01T10:05:00+08:00",
        "照片 1",
        "对过期牛肉予以扣押",
        "赵六",
    ):
        assert fact in page
    assert "执法人员签名" in page and "当事人签名" in page and "见证人签名" in page
    assert "<script" not in page.lower()


def test_observation_markup_is_escaped() -> None:
    page = _html()
    assert "<b>标签</b>" not in page
    assert html.escape("<b>标签</b>") in page


def test_identity_numbers_of_party_and_witness_are_masked() -> None:
    page = _html()
    assert "91330106MA2XXXXX9K" not in page and "9133**********XX9K" in page
    assert "330106198505055678" not in page and "3301**********5678" in page


def test_record_without_party_or_witnesses() -> None:
    record = samples.onsite()
    del record["party"], record["witnesses"], record["measures_taken"], record["notes"]
    extraction = run_port(PORT, samples.json_bytes(record))
    assert "party_name" not in extraction.fields
    page = extraction.derived[0].data.decode()
    assert "见证人签名" not in page
    assert "当事人签名" in page  # the party signs even if not named in the record


@pytest.mark.parametrize(
    ("record", "path"),
    [
        (samples.onsite(ended_at="2024-05-01T09:59:00+08:00"), "$.ended_at"),
        (samples.onsite(observations=[]), "$.observations"),
        (samples.onsite(observations=[{"text": ""}]), "$.observations[0].text"),
        (samples.onsite(observations=[{"text": "x", "time": "10:05"}]), "$.observations[0].time"),
        (samples.onsite(observations=[{"text": "x", "evidence_refs": [1]}]), "evidence_refs[0]"),
        (samples.onsite(officers=[]), "$.officers"),
        (samples.onsite(officers=[{"officer_id": "1"}]), "$.officers[0]"),
        (samples.onsite(party={"name": "张三"}), "$.party"),
        (samples.onsite(witnesses=[{"name": "赵六", "age": 30}]), "$.witnesses[0]"),
        (samples.onsite(measures_taken="扣押"), "$.measures_taken"),
        (samples.onsite(place={}), "$.place"),
        (samples.onsite(started_at=20240501), "$.started_at"),
    ],
    ids=[
        "ends-before-start",
        "no-observations",
        "empty-observation",
        "observation-time-not-rfc3339",
        "evidence-ref-not-string",
        "no-officers",
        "officer-without-name",
        "party-without-role",
        "witness-unknown-field",
        "measures-not-array",
        "place-without-address",
        "start-not-string",
    ],
)
def test_bad_record_names_the_json_path(record: dict[str, object], path: str) -> None:
    with pytest.raises(BadContentError) as caught:
        run_port(PORT, samples.json_bytes(record), 100)
    assert path in caught.value.detail
    assert caught.value.extra["json_path"].startswith("$")


@pytest.mark.parametrize(
    "data",
    [b"[", b"place,started_at\nx,y\n", "现场笔录".encode()],
    ids=["truncated", "csv", "text"],
)
def test_text_that_is_not_a_json_record_is_bad_content(data: bytes) -> None:
    with pytest.raises(BadContentError):
        run_port(PORT, data)


@pytest.mark.parametrize(
    "data",
    [samples.jpeg_with_exif(64, 48), samples.office_zip("word/document.xml"), bytes(range(256))],
    ids=["jpeg", "docx", "binary"],
)
def test_other_formats_are_the_wrong_media_type(data: bytes) -> None:
    with pytest.raises(WrongMediaTypeError):
        run_port(PORT, data)


def test_wrong_type_is_rejected_while_streaming() -> None:
    with pytest.raises(WrongMediaTypeError):
        feed_only(PORT, samples.image_bytes("PNG", 600, 600), 1)
