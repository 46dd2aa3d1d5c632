"""The enterprise directory and the inspector roster, read from CSV text or JSON rows.

A department uploads a whole list at once, so every row is checked before any is accepted: the
caller gets a tuple of frozen rows, or :class:`DirectoryError` carrying every :class:`RowError`
found (up to ``max_errors``), so the file can be fixed in one go and nothing half-loaded is
ever stored. Pure: text or parsed JSON in, values out.

Enterprise columns: ``credit_code`` (GB 32100, :mod:`..kit.credit_code`), ``name``, ``address``,
``industry``, ``scale`` (:data:`SCALES`), ``risk_class`` (:data:`RISK_CLASSES`, the five
credit-risk classes the draw ratios are set by), and optionally ``longitude`` and ``latitude``
(both or neither, decimal degrees inside :class:`DirectoryLimits`' box around China; the
datum, e.g. GCJ-02 from a Chinese map, is the uploader's and is not converted).

Inspector columns: ``officer_id``, ``department_id`` (neither may contain ``/``, which the draw
uses as a separator, docs/draw-format.md §1 rule 5), ``cert_no`` (the 执法证 number), and
optionally ``specialities`` and ``conflicts`` (credit codes of enterprises the officer must not
inspect). In CSV a list is one cell, items separated by ``;``; in JSON it is a list of strings.

Text is trimmed of surrounding spaces and may not contain control or format characters (a
newline or a right-to-left override in a name would corrupt the pages and exports that show
it). Unknown columns are refused rather than dropped: a misspelt ``lattitude`` must not
silently lose every coordinate. A credit code, officer id or 执法证 number listed twice is an
error on the later row.

The reading rules themselves (header, trimming, caps, error collection) are the kit's,
:mod:`evidence_service.modules.kit.rows`; this module names the columns and their parsers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar, get_args

from evidence_service.modules.kit.rows import (
    LIST_SEPARATOR,
    BadValue,
    Build,
    Collector,
    Record,
    RowError,
    RowLimits,
    RowsError,
    Table,
    both_or_neither,
    choice,
    coordinate,
    credit_code,
    csv_records,
    fields,
    identifier,
    json_records,
    list_of,
    read_rows,
    text,
)

__all__ = [
    "ENTERPRISE_COLUMNS",
    "INSPECTOR_COLUMNS",
    "LIST_SEPARATOR",
    "RISK_CLASSES",
    "SCALES",
    "DirectoryError",
    "DirectoryLimits",
    "Enterprise",
    "Inspector",
    "RiskClass",
    "RowError",
    "Scale",
    "enterprises_from_csv",
    "enterprises_from_json",
    "inspectors_from_csv",
    "inspectors_from_json",
]

Scale = Literal["micro", "small", "medium", "large"]
RiskClass = Literal["high", "medium_high", "medium", "medium_low", "low"]
SCALES: tuple[str, ...] = get_args(Scale)
RISK_CLASSES: tuple[str, ...] = get_args(RiskClass)
ENTERPRISE_COLUMNS = (
    "credit_code",
    "name",
    "address",
    "industry",
    "scale",
    "risk_class",
    "longitude",
    "latitude",
)
INSPECTOR_COLUMNS = ("officer_id", "department_id", "cert_no", "specialities", "conflicts")
_ENTERPRISES = Table(ENTERPRISE_COLUMNS, optional=frozenset({"longitude", "latitude"}))
_INSPECTORS = Table(
    INSPECTOR_COLUMNS,
    optional=frozenset({"specialities", "conflicts"}),
    lists=frozenset({"specialities", "conflicts"}),
)

Row = TypeVar("Row")


@dataclass(frozen=True)
class DirectoryLimits(RowLimits):
    """Bounds on one upload; the defaults fit a prefecture-level city's whole register.
    ``max_text_chars`` bounds a name, address, industry or speciality; ``max_id_chars`` an
    officer_id, department_id or cert_no; ``max_list_items`` one officer's specialities or
    conflicts."""


@dataclass(frozen=True)
class Enterprise:
    credit_code: str
    name: str
    address: str
    industry: str
    scale: Scale
    risk_class: RiskClass
    longitude: float | None = None
    latitude: float | None = None


@dataclass(frozen=True)
class Inspector:
    officer_id: str
    department_id: str
    cert_no: str
    specialities: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()  # credit codes


class DirectoryError(RowsError):
    """The upload was refused; ``errors`` lists why, in row order."""


def enterprises_from_csv(
    text: str | Iterable[str], limits: DirectoryLimits = DirectoryLimits()
) -> tuple[Enterprise, ...]:
    """Read the enterprise directory from CSV with a header row (a UTF-8 BOM is ignored)."""
    return _read(csv_records(text, _ENTERPRISES), _enterprise, _ENTERPRISE_KEYS, limits)


def enterprises_from_json(
    rows: object, limits: DirectoryLimits = DirectoryLimits()
) -> tuple[Enterprise, ...]:
    """Read the enterprise directory from a JSON array of objects keyed by column."""
    return _read(json_records(rows, _ENTERPRISES), _enterprise, _ENTERPRISE_KEYS, limits)


def inspectors_from_csv(
    text: str | Iterable[str], limits: DirectoryLimits = DirectoryLimits()
) -> tuple[Inspector, ...]:
    """Read the inspector roster from CSV with a header row (a UTF-8 BOM is ignored)."""
    return _read(csv_records(text, _INSPECTORS), _inspector, _INSPECTOR_KEYS, limits)


def inspectors_from_json(
    rows: object, limits: DirectoryLimits = DirectoryLimits()
) -> tuple[Inspector, ...]:
    """Read the inspector roster from a JSON array of objects keyed by column."""
    return _read(json_records(rows, _INSPECTORS), _inspector, _INSPECTOR_KEYS, limits)


def _read(
    records: Iterator[Record],
    build: Build[Row],
    keys: Mapping[str, Callable[[Row], str]],
    limits: DirectoryLimits,
) -> tuple[Row, ...]:
    return read_rows(records, build, keys, limits, error=DirectoryError)


def _enterprise(
    values: Mapping[str, object], limits: RowLimits, collected: Collector, number: int
) -> Enterprise | None:
    parsed = fields(
        values,
        {
            "credit_code": credit_code,
            "name": text,
            "address": text,
            "industry": text,
            "scale": choice(SCALES),
            "risk_class": choice(RISK_CLASSES),
            "longitude": coordinate(limits.longitude),
            "latitude": coordinate(limits.latitude),
        },
        _ENTERPRISES,
        limits,
        collected,
        number,
    )
    if parsed is None or not both_or_neither(parsed, "longitude", "latitude", collected, number):
        return None
    return Enterprise(**parsed)


def _inspector(
    values: Mapping[str, object], limits: RowLimits, collected: Collector, number: int
) -> Inspector | None:
    parsed = fields(
        values,
        {
            "officer_id": _identifier,
            "department_id": _identifier,
            "cert_no": _identifier,
            "specialities": list_of(_speciality),
            "conflicts": list_of(credit_code),
        },
        _INSPECTORS,
        limits,
        collected,
        number,
    )
    return None if parsed is None else Inspector(**parsed)


_ENTERPRISE_KEYS: Mapping[str, Callable[[Enterprise], str]] = {
    "credit_code": lambda e: e.credit_code
}
_INSPECTOR_KEYS: Mapping[str, Callable[[Inspector], str]] = {
    "officer_id": lambda i: i.officer_id,
    "cert_no": lambda i: i.cert_no,
}


def _identifier(value: object, limits: RowLimits) -> str:
    value = identifier(value, limits)
    if "/" in value:
        raise BadValue("may not contain '/' (the draw uses it as a separator)")
    return value


def _speciality(value: object, limits: RowLimits) -> str:
    value = text(value, limits)
    if LIST_SEPARATOR in value:
        raise BadValue(f"may not contain {LIST_SEPARATOR!r} (it separates list items in CSV)")
    return value
