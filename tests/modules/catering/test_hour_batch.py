"""Hour documents: golden bytes, the same bytes for the same readings in any order, the
metadata, acceptance by the core's IoT batch check, and each refusal."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from evidence_service.capture.ports.iot_batch import summarise_json_batch
from evidence_service.modules.catering.factors import load_factors
from evidence_service.modules.catering.hj212 import CHINA
from evidence_service.modules.catering.hour_batch import hour_document, hour_metadata, hour_of
from evidence_service.modules.catering.simulate import SimulatedDevice, frames
from evidence_service.modules.catering.validation import Accepted, DeviceInfo, Reading, validate

FACTORS = load_factors()
MN = "CY310000000001"
HOUR = datetime(2026, 7, 6, 10, 0, tzinfo=CHINA)
T1 = HOUR + timedelta(minutes=30)
T2 = HOUR + timedelta(minutes=31)
READINGS = [
    Reading("cy0201", "Rtd", "1", "N", T1, "20260706103000350"),
    Reading("a34041", "Rtd", "1.20", "N", T1, "20260706103000350"),
    Reading("a34041", "Rtd", "007.50", "T", T2, "20260706103100350"),
    Reading("cy0301", "Rtd", "40", None, T2, "20260706103100350"),
]
GOLDEN = (
    b'{"format": "catering-hour/1", "device_id": "CY310000000001", '
    b'"hour_start": "2026-07-06T10:00:00+08:00", "hour_end": "2026-07-06T11:00:00+08:00", '
    b'"readings": [\n'
    b'{"ts": "2026-07-06T10:30:00+08:00", "metric": "a34041", "statistic": "Rtd", '
    b'"value": 1.20, "unit": "mg/m3", "flag": "N", "qn": "20260706103000350"},\n'
    b'{"ts": "2026-07-06T10:30:00+08:00", "metric": "cy0201", "statistic": "Rtd", '
    b'"value": 1, "unit": "", "flag": "N", "qn": "20260706103000350"},\n'
    b'{"ts": "2026-07-06T10:31:00+08:00", "metric": "a34041", "statistic": "Rtd", '
    b'"value": 7.50, "unit": "mg/m3", "flag": "T", "qn": "20260706103100350"},\n'
    b'{"ts": "2026-07-06T10:31:00+08:00", "metric": "cy0301", "statistic": "Rtd", '
    b'"value": 40, "unit": "%", "flag": null, "qn": "20260706103100350"}\n'
    b"]}\n"
)


def test_golden_bytes() -> None:
    assert hour_document(MN, HOUR, READINGS, FACTORS) == GOLDEN


def test_the_same_readings_in_any_order_give_the_same_bytes() -> None:
    assert hour_document(MN, HOUR, reversed(READINGS), FACTORS) == GOLDEN
    assert hour_document(MN, HOUR.astimezone(UTC), READINGS[1::-1] + READINGS[2:], FACTORS) == (
        GOLDEN
    )


def test_the_core_accepts_it_as_an_iot_batch() -> None:
    document = json.load(io.BytesIO(GOLDEN))
    assert summarise_json_batch(document) == {
        "format": "json",
        "device_id": MN,
        "count": 4,
        "first_ts": "2026-07-06T10:30:00+08:00",
        "last_ts": "2026-07-06T10:31:00+08:00",
        "metrics": ["a34041", "cy0201", "cy0301"],
    }


def test_metadata() -> None:
    assert hour_metadata(MN, HOUR, READINGS, FACTORS) == {
        "title": "餐饮油烟在线监测小时数据 CY310000000001 2026-07-06 10:00–11:00",
        "format": "catering-hour/1",
        "media_type": "application/json",
        "filename": "catering-CY310000000001-2026070610.json",
        "mn": MN,
        "timezone": "Asia/Shanghai",
        "hour_start": "2026-07-06T10:00:00+08:00",
        "hour_end": "2026-07-06T11:00:00+08:00",
        "reading_count": 4,
        "frame_count": 2,
        "codes": ["a34041", "cy0201", "cy0301"],
        "flag_counts": {"": 1, "N": 2, "T": 1},
        "sha256": hashlib.sha256(GOLDEN).hexdigest(),
    }


def test_the_last_hour_of_the_day_and_an_unsafe_mn() -> None:
    late = HOUR.replace(hour=23)
    reading = Reading("a34041", "Rtd", "0.1", "N", late, "20260706230000350")
    metadata = hour_metadata("a/b c", late, [reading], FACTORS, document=b"given")
    assert metadata["title"].endswith("a/b c 2026-07-06 23:00–24:00")
    assert metadata["filename"] == "catering-a_b_c-2026070623.json"
    assert metadata["hour_end"] == "2026-07-07T00:00:00+08:00"
    assert metadata["sha256"] == hashlib.sha256(b"given").hexdigest()


def test_an_hour_of_simulated_frames() -> None:
    simulated = SimulatedDevice(mn=MN, password="123456")
    device = DeviceInfo.with_password(MN, "123456")
    start = HOUR - timedelta(hours=1)
    accepted = [
        validate(raw, device=device, last_qn=None, factors=FACTORS, now=HOUR)
        for raw in frames(simulated, start=start, interval=timedelta(minutes=1), count=60)
    ]
    readings = [r for result in accepted if isinstance(result, Accepted) for r in result.readings]
    assert len(readings) == 60 * 8
    start = hour_of(HOUR - timedelta(minutes=1))
    metadata = hour_metadata(MN, start, readings, FACTORS)
    assert (metadata["reading_count"], metadata["frame_count"]) == (480, 60)
    assert metadata["hour_start"] == "2026-07-06T09:00:00+08:00"
    assert len(hour_document(MN, start, readings, FACTORS).splitlines()) == 482


@pytest.mark.parametrize(
    ("hour_start", "readings", "message"),
    [
        (HOUR, [], "at least one reading"),
        (HOUR + timedelta(minutes=1), READINGS, "is not the start of an hour"),
        (HOUR.replace(tzinfo=None), READINGS, "must be an aware datetime"),
        (HOUR - timedelta(hours=1), READINGS, "is outside the hour"),
        (HOUR, [Reading("zz01", "Rtd", "1", "N", T1, "1")], "zz01 is not in the factor table"),
        (
            HOUR,
            [*READINGS, Reading("a34041", "Rtd", "1", "N", T1.replace(tzinfo=None), "1")],
            "a34041 has a naive data_time",
        ),
    ],
    ids=["empty", "not on the hour", "naive", "outside the hour", "unknown code", "naive reading"],
)
def test_refusals(hour_start: datetime, readings: list[Reading], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hour_document(MN, hour_start, readings, FACTORS)
