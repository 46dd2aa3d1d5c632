"""IoT reading batches (JSON or CSV): recognise, validate row by row, summarise.

JSON batch::

    {"device_id": "meter-7", "readings": [
        {"ts": "2024-05-01T08:00:00+08:00", "metric": "pm25", "value": 35.2, "unit": "ug/m3"}]}

``ts`` is RFC 3339 with a zone, ``value`` a finite number, ``unit`` optional; other keys are
allowed and ignored. There must be 1 to ``IOT_BATCH_MAX_READINGS`` readings.

CSV batch: a header of exactly ``device_id,ts,metric,value`` (any order, optionally ``unit``), then
one reading per row; ``ts`` is any ISO 8601 date-time Python parses (a naive time counts as UTC
when ordering). Validation stops at the first bad reading and names it.
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import datetime
from typing import IO, Any

from evidence_service.capture.ports.limits import IOT_BATCH_MAX_READINGS
from evidence_service.capture.ports.timestamps import ordering_key, parse_iso8601, parse_rfc3339
from evidence_service.core.errors import BadContentError

CSV_REQUIRED_COLUMNS = ("device_id", "ts", "metric", "value")
CSV_OPTIONAL_COLUMNS = ("unit",)
_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


class _Summary:
    """Running count, time range and metric names of the readings seen so far."""

    def __init__(self) -> None:
        self.count = 0
        self.metrics: set[str] = set()
        self.devices: set[str] = set()
        self._first: tuple[datetime, str] | None = None
        self._last: tuple[datetime, str] | None = None

    def add(self, device_id: str, ts: str, moment: datetime, metric: str) -> None:
        self.count += 1
        self.metrics.add(metric)
        self.devices.add(device_id)
        key = ordering_key(moment)
        if self._first is None or key < self._first[0]:
            self._first = (key, ts)
        if self._last is None or key > self._last[0]:
            self._last = (key, ts)

    def fields(self) -> dict[str, Any]:
        assert self._first is not None and self._last is not None
        return {
            "count": self.count,
            "first_ts": self._first[1],
            "last_ts": self._last[1],
            "metrics": sorted(self.metrics),
        }


def looks_like_json_batch(document: Any) -> bool:
    return isinstance(document, dict) and "readings" in document


def summarise_json_batch(document: dict[str, Any]) -> dict[str, Any]:
    """``{"format": "json", "device_id", "count", "first_ts", "last_ts", "metrics"}``."""
    device_id = document.get("device_id")
    if not isinstance(device_id, str) or not device_id:
        raise _bad("$.device_id", "must be a non-empty string")
    readings = document["readings"]
    if not isinstance(readings, list) or not readings:
        raise _bad("$.readings", "must be a non-empty array")
    if len(readings) > IOT_BATCH_MAX_READINGS:
        raise _bad("$.readings", f"has more than {IOT_BATCH_MAX_READINGS} readings")
    summary = _Summary()
    for index, reading in enumerate(readings):
        path = f"$.readings[{index}]"
        if not isinstance(reading, dict):
            raise _bad(path, "must be an object")
        ts = reading.get("ts")
        if not isinstance(ts, str):
            raise _bad(f"{path}.ts", "must be an RFC 3339 date-time string")
        try:
            moment = parse_rfc3339(ts)
        except ValueError as exc:
            raise _bad(f"{path}.ts", f"{ts!r} is not an RFC 3339 date-time with a zone") from exc
        metric = reading.get("metric")
        if not isinstance(metric, str) or not metric:
            raise _bad(f"{path}.metric", "must be a non-empty string")
        value = reading.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(f"{path}.value", f"must be a number, not {value!r}")
        if "unit" in reading and not isinstance(reading["unit"], str):
            raise _bad(f"{path}.unit", "must be a string")
        summary.add(device_id, ts, moment, metric)
    return {"format": "json", "device_id": device_id, **summary.fields()}


def csv_header_looks_like_batch(head: bytes) -> bool:
    """The first line of ``head`` names both ``device_id`` and ``ts`` columns."""
    first_line = head.splitlines()[0] if head else b""
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    columns = {column.strip() for column in next(csv.reader([text]), [])}
    return {"device_id", "ts"} <= columns


def summarise_csv_batch(stream: IO[bytes]) -> dict[str, Any]:
    """``{"format": "csv", "device_ids", "count", "first_ts", "last_ts", "metrics"}``."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        return _summarise_csv_rows(csv.reader(text, strict=True))
    except UnicodeDecodeError as exc:
        raise BadContentError(f"the CSV batch is not UTF-8: {exc.reason}") from exc
    except csv.Error as exc:
        raise BadContentError(f"the CSV batch is malformed: {exc}") from exc
    finally:
        text.detach()  # leave the caller's stream open


def _summarise_csv_rows(reader: Any) -> dict[str, Any]:
    header = [column.strip() for column in next(reader, [])]
    allowed = set(CSV_REQUIRED_COLUMNS) | set(CSV_OPTIONAL_COLUMNS)
    if (
        len(set(header)) != len(header)
        or not set(CSV_REQUIRED_COLUMNS) <= set(header)
        or not set(header) <= allowed
    ):
        raise BadContentError(
            f"CSV header {','.join(header)!r} must be exactly "
            f"{','.join(CSV_REQUIRED_COLUMNS)} (in any order) plus optionally 'unit'",
            row=0,
        )
    column = {name: index for index, name in enumerate(header)}
    summary = _Summary()
    row_number = 0
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # blank line
        row_number += 1
        where = f"CSV row {row_number} (line {reader.line_num})"
        if row_number > IOT_BATCH_MAX_READINGS:
            raise BadContentError(f"{where}: more than {IOT_BATCH_MAX_READINGS} readings")
        if len(row) != len(header):
            raise BadContentError(
                f"{where}: {len(row)} fields, the header has {len(header)}", row=row_number
            )
        device_id, ts, metric, value = (row[column[name]].strip() for name in CSV_REQUIRED_COLUMNS)
        if not device_id:
            raise BadContentError(f"{where}: device_id is empty", row=row_number)
        try:
            moment = parse_iso8601(ts)
        except ValueError as exc:
            raise BadContentError(
                f"{where}: ts {ts!r} is not an ISO 8601 date-time", row=row_number
            ) from exc
        if not metric:
            raise BadContentError(f"{where}: metric is empty", row=row_number)
        if not _DECIMAL.match(value) or not math.isfinite(float(value)):
            raise BadContentError(f"{where}: value {value!r} is not a number", row=row_number)
        summary.add(device_id, ts, moment, metric)
    if summary.count == 0:
        raise BadContentError("the CSV batch has a header but no readings")
    return {"format": "csv", "device_ids": sorted(summary.devices), **summary.fields()}


def _bad(path: str, problem: str) -> BadContentError:
    return BadContentError(f"IoT batch {path}: {problem}", json_path=path)
