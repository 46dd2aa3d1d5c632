"""One device-hour of accepted readings as one evidence document.

Each hour (Asia/Shanghai) of a monitor's accepted readings is captured through the core's
electronic-data port as an IoT reading batch. The document is JSON, not CSV: the core's CSV
batch allows only ``device_id,ts,metric,value,unit`` columns and would lose each reading's data
flag and QN, while its JSON batch keeps extra keys. Format ``catering-hour/1``::

    {"format": "catering-hour/1", "device_id": "<MN>",
     "hour_start": "2026-07-06T10:00:00+08:00", "hour_end": "2026-07-06T11:00:00+08:00",
     "readings": [
    {"ts": "2026-07-06T10:30:00+08:00", "metric": "a34041", "statistic": "Rtd", "value": 1.20,
     "unit": "mg/m3", "flag": "N", "qn": "20260706103012345"},
    …
    ]}

(each reading on one line). Guarantees: the same readings, in any order, give the same bytes —
UTF-8, LF, readings sorted by time, then code, statistic and QN; numbers printed exactly as the
device sent them (``1.20`` stays ``1.20``), except that redundant leading zeros, which JSON
forbids, are dropped (``007.5`` → ``7.5``); every reading lies in the hour.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from evidence_service.modules.catering.factors import FactorTable
from evidence_service.modules.catering.hj212 import CHINA
from evidence_service.modules.catering.validation import Reading

DOCUMENT_FORMAT = "catering-hour/1"
MEDIA_TYPE = "application/json"
HOUR = timedelta(hours=1)
_LEADING_ZEROS = re.compile(r"^(-?)0+(?=\d)")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def hour_document(
    mn: str, hour_start: datetime, readings: Iterable[Reading], factors: FactorTable
) -> bytes:
    """The ``catering-hour/1`` document of these readings; :class:`ValueError` if there are
    none, if ``hour_start`` is not the start of an hour, if a reading lies outside the hour or
    its code is not in the table."""
    start = _hour_start(hour_start)
    ordered = _sorted(start, readings)
    lines = [
        "{"
        + f'"format": "{DOCUMENT_FORMAT}", "device_id": {_text(mn)}, '
        + f'"hour_start": "{start.isoformat()}", "hour_end": "{(start + HOUR).isoformat()}", '
        + '"readings": ['
    ]
    for index, reading in enumerate(ordered):
        factor = factors.get(reading.code)
        if factor is None:
            raise ValueError(f"{reading.code} is not in the factor table")
        comma = "," if index < len(ordered) - 1 else ""
        lines.append(
            "{"
            + f'"ts": "{reading.data_time.astimezone(CHINA).isoformat()}", '
            + f'"metric": {_text(reading.code)}, "statistic": {_text(reading.statistic)}, '
            + f'"value": {_json_number(reading.value)}, "unit": {_text(factor.unit)}, '
            + f'"flag": {"null" if reading.flag is None else _text(reading.flag)}, '
            + f'"qn": {_text(reading.qn)}'
            + "}"
            + comma
        )
    lines.append("]}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def hour_metadata(
    mn: str,
    hour_start: datetime,
    readings: Iterable[Reading],
    factors: FactorTable,
    *,
    document: bytes | None = None,
) -> dict[str, Any]:
    """What the capture records beside the document: a Chinese title, the MN, the hour in
    Asia/Shanghai, counts, and the document's SHA-256 (computed here unless given)."""
    start = _hour_start(hour_start)
    ordered = _sorted(start, readings)
    if document is None:
        document = hour_document(mn, start, ordered, factors)
    end_hour = start.hour + 1
    flags = Counter(reading.flag or "" for reading in ordered)
    return {
        "title": f"餐饮油烟在线监测小时数据 {mn} {start:%Y-%m-%d %H}:00–{end_hour:02d}:00",
        "format": DOCUMENT_FORMAT,
        "media_type": MEDIA_TYPE,
        "filename": f"catering-{_UNSAFE.sub('_', mn)}-{start:%Y%m%d%H}.json",
        "mn": mn,
        "timezone": "Asia/Shanghai",
        "hour_start": start.isoformat(),
        "hour_end": (start + HOUR).isoformat(),
        "reading_count": len(ordered),
        "frame_count": len({reading.qn for reading in ordered}),
        "codes": sorted({reading.code for reading in ordered}),
        "flag_counts": dict(sorted(flags.items())),
        "sha256": hashlib.sha256(document).hexdigest(),
    }


def hour_of(moment: datetime) -> datetime:
    """The start of the Asia/Shanghai hour holding ``moment`` (aware)."""
    return moment.astimezone(CHINA).replace(minute=0, second=0, microsecond=0)


def _hour_start(hour_start: datetime) -> datetime:
    if hour_start.tzinfo is None:
        raise ValueError("hour_start must be an aware datetime")
    start = hour_start.astimezone(CHINA)
    if start != hour_of(start):
        raise ValueError(f"{start.isoformat()} is not the start of an hour in Asia/Shanghai")
    return start


def _sorted(start: datetime, readings: Iterable[Reading]) -> Sequence[Reading]:
    readings = list(readings)
    naive = next((r for r in readings if r.data_time.tzinfo is None), None)
    if naive is not None:
        raise ValueError(f"{naive.code} has a naive data_time: readings need a zone")
    ordered = sorted(
        readings,
        key=lambda r: (r.data_time, r.code, r.statistic, r.qn, r.value, r.flag or ""),
    )
    if not ordered:
        raise ValueError("an hour document needs at least one reading")
    for reading in ordered:
        if not start <= reading.data_time < start + HOUR:
            raise ValueError(
                f"{reading.code} at {reading.data_time.isoformat()} is outside the hour "
                f"{start.isoformat()}"
            )
    return ordered


def _text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_number(text: str) -> str:
    """``text`` (``-?digits(.digits)?``, as the parser admits) as a JSON number literal."""
    return _LEADING_ZEROS.sub(r"\1", text)
