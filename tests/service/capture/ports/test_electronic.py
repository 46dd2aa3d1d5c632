from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given, settings

from evidence_service.capture.ports import sniff
from evidence_service.capture.ports.electronic import ElectronicPort
from evidence_service.capture.ports.limits import IOT_BATCH_MAX_BYTES
from evidence_service.core.errors import BadContentError
from tests.service.capture.ports import samples
from tests.service.capture.ports.feeding import FIXED_CHUNK_SIZES, chunk_plans, run_port

PORT = ElectronicPort()
JSON_BATCH = samples.json_bytes(samples.IOT_JSON_BATCH)
CSV_BATCH = samples.IOT_CSV_BATCH.encode()

JSON_SUMMARY = {
    "format": "json",
    "device_id": "hz-air-0042",
    "count": 4,
    "first_ts": "2024-05-01T07:55:00+08:00",  # earliest instant, not the first row
    "last_ts": "2024-05-01T00:10:00Z",  # 08:10 in Hangzhou, later than 08:05+08:00
    "metrics": ["noise", "pm25"],
}
CSV_SUMMARY = {
    "format": "csv",
    "device_ids": ["hz-water-01", "hz-water-02"],
    "count": 4,
    "first_ts": "2024-05-01T07:45:00+08:00",
    "last_ts": "2024-05-01T09:00:00+08:00",
    "metrics": ["ph", "turbidity"],
}


@pytest.mark.parametrize("sizes", FIXED_CHUNK_SIZES)
def test_json_iot_batch_is_summarised(sizes: int | None) -> None:
    extraction = run_port(PORT, JSON_BATCH, sizes)
    assert extraction.media_type == sniff.JSON
    assert extraction.fields == {"iot_batch": JSON_SUMMARY}


@pytest.mark.parametrize("sizes", FIXED_CHUNK_SIZES)
def test_csv_iot_batch_is_summarised(sizes: int | None) -> None:
    extraction = run_port(PORT, CSV_BATCH, sizes)
    assert extraction.media_type == sniff.CSV
    assert extraction.fields == {"iot_batch": CSV_SUMMARY}


@settings(max_examples=20, deadline=None)
@given(plan=chunk_plans)
def test_chunking_does_not_change_the_result(plan: list[int]) -> None:
    assert run_port(PORT, JSON_BATCH, plan).fields == {"iot_batch": JSON_SUMMARY}
    assert run_port(PORT, CSV_BATCH, plan).fields == {"iot_batch": CSV_SUMMARY}


def test_large_valid_batch_past_the_sniffing_head() -> None:
    readings = [
        {"ts": f"2024-05-01T{h:02d}:{m:02d}:00+08:00", "metric": "pm25", "value": h + m / 100}
        for h in range(24)
        for m in range(60)
    ]
    data = samples.json_bytes({"device_id": "d1", "readings": readings})
    fields = run_port(PORT, data, 1000).fields["iot_batch"]
    assert (fields["count"], fields["first_ts"], fields["last_ts"]) == (
        1440,
        "2024-05-01T00:00:00+08:00",
        "2024-05-01T23:59:00+08:00",
    )


def _readings(*changes: dict[str, object]) -> list[dict[str, object]]:
    readings = [dict(r) for r in samples.IOT_JSON_BATCH["readings"]]
    for index, change in enumerate(changes):
        readings[index].update(change)
    return readings


@pytest.mark.parametrize(
    ("batch", "where"),
    [
        (samples.iot_json_batch(readings=[]), "$.readings"),
        (samples.iot_json_batch(readings="none"), "$.readings"),
        (samples.iot_json_batch(device_id=""), "$.device_id"),
        (samples.iot_json_batch(device_id=42), "$.device_id"),
        ({"readings": samples.IOT_JSON_BATCH["readings"]}, "$.device_id"),
        (samples.iot_json_batch(readings=_readings({}, {}, {"ts": "2024-05-01 08:00"})), "[2].ts"),
        (samples.iot_json_batch(readings=_readings({"ts": "2024-05-01T08:00:00"})), "[0].ts"),
        (samples.iot_json_batch(readings=_readings({}, {"value": "36"})), "[1].value"),
        (samples.iot_json_batch(readings=_readings({}, {"value": True})), "[1].value"),
        (samples.iot_json_batch(readings=_readings({"metric": ""})), "[0].metric"),
        (samples.iot_json_batch(readings=_readings({}, {}, {}, {"unit": 5})), "[3].unit"),
        (samples.iot_json_batch(readings=[*_readings(), "reading"]), "$.readings[4]"),
    ],
    ids=[
        "empty",
        "not-array",
        "empty-device",
        "numeric-device",
        "no-device",
        "ts-not-rfc3339",
        "ts-without-zone",
        "value-string",
        "value-bool",
        "empty-metric",
        "unit-number",
        "reading-not-object",
    ],
)
def test_bad_json_batch_names_the_first_bad_field(batch: dict[str, object], where: str) -> None:
    with pytest.raises(BadContentError) as caught:
        run_port(PORT, samples.json_bytes(batch), 5)
    assert where in caught.value.detail


def test_batch_with_duplicate_keys_is_bad_content() -> None:
    data = b'{"device_id": "a", "device_id": "b", "readings": []}'
    with pytest.raises(BadContentError, match="duplicate key 'device_id'"):
        run_port(PORT, data)


_CSV_HEADER = "device_id,ts,metric,value\n"


@pytest.mark.parametrize(
    ("csv_text", "where"),
    [
        (_CSV_HEADER + "d1,2024-05-01T08:00:00Z,ph,7\nd1,2024-05-01T08:05:00Z,ph,abc\n", "row 2"),
        (_CSV_HEADER + "d1,2024-05-01T08:00:00Z,ph,7\nd1,yesterday,ph,7\n", "row 2 (line 3): ts"),
        (_CSV_HEADER + "d1,2024-05-01T08:00:00Z,ph,nan\n", "row 1"),
        (_CSV_HEADER + "d1,2024-05-01T08:00:00Z,ph,1_000\n", "row 1"),
        (_CSV_HEADER + "d1,2024-05-01T08:00:00Z,ph\n", "3 fields"),
        (_CSV_HEADER + ",2024-05-01T08:00:00Z,ph,7\n", "device_id is empty"),
        (_CSV_HEADER + "d1,2024-05-01T08:00:00Z,,7\n", "metric is empty"),
        (_CSV_HEADER, "no readings"),
        ("device_id,ts,value\nd1,2024-05-01T08:00:00Z,7\n", "header"),
        ("device_id,ts,metric,value,extra\nd1,2024-05-01T08:00:00Z,ph,7,x\n", "header"),
        ("device_id,ts,ts,metric,value\nd1,2024-05-01,2024-05-01,ph,7\n", "header"),
    ],
    ids=[
        "value-text",
        "ts-unparseable",
        "value-nan",
        "value-underscore",
        "short-row",
        "empty-device",
        "empty-metric",
        "header-only",
        "missing-column",
        "extra-column",
        "duplicate-column",
    ],
)
def test_bad_csv_batch_names_the_first_bad_row(csv_text: str, where: str) -> None:
    with pytest.raises(BadContentError) as caught:
        run_port(PORT, csv_text.encode(), 3)
    assert where in caught.value.detail


def test_csv_columns_in_any_order_with_naive_iso_dates() -> None:
    data = b"ts,value,metric,device_id\n2024-05-02,1.5,ph,d9\n2024-05-01T23:00,2,ph,d9\n"
    fields = run_port(PORT, data).fields["iot_batch"]
    assert fields["device_ids"] == ["d9"]
    assert (fields["first_ts"], fields["last_ts"]) == ("2024-05-01T23:00", "2024-05-02")


@pytest.mark.parametrize(
    ("data", "media_type", "fields"),
    [
        (samples.json_bytes({"url": "https://example.org", "captured": True}), sniff.JSON, {}),
        (samples.json_bytes([{"readings": []}]), sniff.JSON, {}),
        (b"name,amount\nalice,3\nbob,4\n", sniff.CSV, {}),
        (b"{ this is not json", sniff.JSON, {"json_valid": False}),
        (samples.pdf_with_pages(1), sniff.PDF, {}),
        (samples.image_bytes("PNG"), sniff.PNG, {}),
        (b"<!DOCTYPE html><html><body>web capture</body></html>", sniff.HTML, {}),
        (bytes(range(256)) * 64, "application/octet-stream", {}),
        (b"", "application/octet-stream", {}),
    ],
    ids=["json", "json-array", "csv", "broken-json", "pdf", "png", "html", "binary", "empty"],
)
def test_anything_else_is_accepted_with_its_media_type(
    data: bytes, media_type: str, fields: dict[str, object]
) -> None:
    for sizes in (None, 1):
        extraction = run_port(PORT, data, sizes)
        assert (extraction.media_type, extraction.fields) == (media_type, fields)


def test_too_large_batch_is_accepted_unvalidated_and_not_held_in_memory() -> None:
    head = b'{"device_id": "d1", "readings": ['
    reading = b'{"ts": "2024-05-01T08:00:00Z", "metric": "pm25", "value": 1},' * 16_000
    inspection = PORT.inspect()
    inspection.feed(head)
    sent = len(head)
    tracemalloc.start()
    try:
        while sent <= IOT_BATCH_MAX_BYTES:
            inspection.feed(reading)
            sent += len(reading)
        extraction = inspection.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert extraction.media_type == sniff.JSON
    assert extraction.fields == {"iot_batch": None, "reason": "too large to validate"}
    assert peak < 4 * 1024 * 1024  # the spool rolled over to disk, then was dropped
