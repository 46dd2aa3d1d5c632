"""The enterprise directory and the inspector roster, read from CSV text or JSON rows.

A department uploads a whole list at once, so every row is checked before any is accepted: the
caller gets a tuple of frozen rows, or :class:`DirectoryError` carrying every :class:`RowError`
found (up to ``max_errors``), so the file can be fixed in one go and nothing half-loaded is
ever stored. Pure: text or parsed JSON in, values out.

Enterprise columns: ``credit_code`` (GB 32100, :mod:`.credit_code`), ``name``, ``address``,
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
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args

from evidence_service.modules.inspection.credit_code import problem as credit_code_problem

Scale = Literal["micro", "small", "medium", "large"]
RiskClass = Literal["high", "medium_high", "medium", "medium_low", "low"]
SCALES: tuple[str, ...] = get_args(Scale)
RISK_CLASSES: tuple[str, ...] = get_args(RiskClass)
LIST_SEPARATOR = ";"
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
_OPTIONAL = frozenset({"longitude", "latitude", "specialities", "conflicts"})
_LIST_COLUMNS = frozenset({"specialities", "conflicts"})
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf"})

Row = TypeVar("Row")


@dataclass(frozen=True)
class DirectoryLimits:
    """Bounds on one upload; the defaults fit a prefecture-level city's whole register."""

    max_rows: int = 100_000
    max_row_bytes: int = 1 << 20  # all fields of one row together, UTF-8
    max_text_chars: int = 500  # name, address, industry, a speciality
    max_id_chars: int = 64  # officer_id, department_id, cert_no
    max_list_items: int = 1_000  # specialities or conflicts of one officer
    max_errors: int = 1_000  # reported before giving up on the rest
    # A box around China's territory (73°29′–135°05′ E, 3°52′–53°33′ N), slightly widened.
    longitude: tuple[float, float] = (73.0, 135.5)
    latitude: tuple[float, float] = (3.5, 54.0)


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


@dataclass(frozen=True)
class RowError:
    """One problem. ``row`` is the spreadsheet row for CSV (the header is row 1) and the
    1-based position in the list for JSON; 0 is the upload as a whole. ``field`` is the column,
    or empty when the whole row is at fault."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.message}"


class DirectoryError(ValueError):
    """The upload was refused; ``errors`` lists why, in row order."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors = tuple(errors)
        super().__init__(f"{len(self.errors)} problem(s); first: {self.errors[0]}")


class _Bad(Exception):
    """A field's value is refused; the message completes "<field> …"."""


class _Collected:
    """Errors so far, capped so a hopeless upload costs bounded time and memory."""

    def __init__(self, limits: DirectoryLimits) -> None:
        self.errors: list[RowError] = []
        self._max = limits.max_errors

    def add(self, row: int, field: str, message: str) -> None:
        self.errors.append(RowError(row, field, message))

    @property
    def full(self) -> bool:
        return len(self.errors) >= self._max


def enterprises_from_csv(
    text: str | Iterable[str], limits: DirectoryLimits = DirectoryLimits()
) -> tuple[Enterprise, ...]:
    """Read the enterprise directory from CSV with a header row (a UTF-8 BOM is ignored)."""
    return _read(_csv_records(text, ENTERPRISE_COLUMNS), _enterprise, _ENTERPRISE_KEYS, limits)


def enterprises_from_json(
    rows: object, limits: DirectoryLimits = DirectoryLimits()
) -> tuple[Enterprise, ...]:
    """Read the enterprise directory from a JSON array of objects keyed by column."""
    return _read(_json_records(rows, ENTERPRISE_COLUMNS), _enterprise, _ENTERPRISE_KEYS, limits)


def inspectors_from_csv(
    text: str | Iterable[str], limits: DirectoryLimits = DirectoryLimits()
) -> tuple[Inspector, ...]:
    """Read the inspector roster from CSV with a header row (a UTF-8 BOM is ignored)."""
    return _read(_csv_records(text, INSPECTOR_COLUMNS), _inspector, _INSPECTOR_KEYS, limits)


def inspectors_from_json(
    rows: object, limits: DirectoryLimits = DirectoryLimits()
) -> tuple[Inspector, ...]:
    """Read the inspector roster from a JSON array of objects keyed by column."""
    return _read(_json_records(rows, INSPECTOR_COLUMNS), _inspector, _INSPECTOR_KEYS, limits)


# A record is (row number, column → raw value or why the row is unreadable, size in bytes), or
# a RowError after which nothing more can be read.
_Record = tuple[int, Mapping[str, object] | str, int] | RowError


def _read(
    records: Iterator[_Record],
    build: Callable[[Mapping[str, object], DirectoryLimits, _Collected, int], Row | None],
    keys: Mapping[str, Callable[[Row], str]],
    limits: DirectoryLimits,
) -> tuple[Row, ...]:
    collected = _Collected(limits)
    rows: list[Row] = []
    first_row: dict[tuple[str, str], int] = {}
    count = 0
    for record in records:
        if isinstance(record, RowError):
            collected.errors.append(record)
            break
        number, values, size = record
        count += 1
        if count > limits.max_rows:
            collected.add(number, "", f"more than {limits.max_rows} rows")
            break
        if isinstance(values, str):
            collected.add(number, "", values)
        elif size > limits.max_row_bytes:
            collected.add(number, "", f"is larger than {limits.max_row_bytes} bytes")
        elif (row := build(values, limits, collected, number)) is not None:
            rows.append(row)
            _check_unique(row, number, keys, first_row, collected)
        if collected.full:
            collected.add(number, "", f"stopped after {limits.max_errors} problems")
            break
    if count == 0 and not collected.errors:
        collected.add(0, "", "there are no rows")
    if collected.errors:
        raise DirectoryError(collected.errors)
    return tuple(rows)


def _check_unique(
    row: Row,
    number: int,
    keys: Mapping[str, Callable[[Row], str]],
    first_row: dict[tuple[str, str], int],
    collected: _Collected,
) -> None:
    for field, key in keys.items():
        earlier = first_row.setdefault((field, key(row)), number)
        if earlier != number:
            collected.add(number, field, f"{key(row)!r} is already on row {earlier}")


def _csv_records(text: str | Iterable[str], columns: tuple[str, ...]) -> Iterator[_Record]:
    reader = csv.reader(io.StringIO(text) if isinstance(text, str) else text)
    number = 0  # the last row read, for a reader error on the next
    try:
        header = next(reader, None)
        if header is None:
            yield RowError(0, "", "there is no header row")
            return
        number = 1
        header = [name.strip().removeprefix("\ufeff") for name in header]
        if (bad := _header_problem(header, columns)) is not None:
            yield RowError(1, "", bad)
            return
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # blank lines and the empty rows spreadsheets leave at the end
            size = sum(len(cell.encode()) for cell in cells)
            if len(cells) != len(header):
                yield number, f"has {len(cells)} cells, the header has {len(header)}", size
            else:
                yield (
                    number,
                    {c: _csv_value(c, cell) for c, cell in zip(header, cells, strict=True)},
                    size,
                )
    except csv.Error as exc:
        yield RowError(number + 1, "", f"is not readable as CSV: {exc}")


def _csv_value(column: str, cell: str) -> object:
    """A list is one cell in CSV, items separated by ``;``."""
    if column in _LIST_COLUMNS:
        return [item for item in cell.split(LIST_SEPARATOR) if item.strip()]
    return cell


def _header_problem(header: list[str], columns: tuple[str, ...]) -> str | None:
    if duplicated := sorted({c for c in header if header.count(c) > 1}):
        return f"the header repeats {', '.join(duplicated)}"
    if unknown := [c for c in header if c not in columns]:
        return f"unknown column(s) {', '.join(map(repr, unknown))}; known: {', '.join(columns)}"
    if missing := [c for c in columns if c not in header and c not in _OPTIONAL]:
        return f"missing column(s) {', '.join(missing)}"
    return None


def _json_records(rows: object, columns: tuple[str, ...]) -> Iterator[_Record]:
    if not isinstance(rows, list):
        yield RowError(0, "", "must be a JSON array of objects")
        return
    for number, values in enumerate(rows, start=1):
        size = len(json.dumps(values, ensure_ascii=False, default=str).encode())
        if not isinstance(values, dict):
            yield number, "must be a JSON object", size
        elif unknown := sorted(str(k) for k in values if k not in columns):
            yield number, f"unknown field(s) {', '.join(map(repr, unknown))}", size
        else:
            yield number, values, size


def _enterprise(
    values: Mapping[str, object], limits: DirectoryLimits, collected: _Collected, number: int
) -> Enterprise | None:
    fields = _fields(
        values,
        {
            "credit_code": _credit_code,
            "name": _text,
            "address": _text,
            "industry": _text,
            "scale": _choice(SCALES),
            "risk_class": _choice(RISK_CLASSES),
            "longitude": _coordinate(limits.longitude),
            "latitude": _coordinate(limits.latitude),
        },
        limits,
        collected,
        number,
    )
    if fields is None:
        return None
    longitude, latitude = fields["longitude"], fields["latitude"]
    if (longitude is None) != (latitude is None):
        given, missing = (
            ("longitude", "latitude") if latitude is None else ("latitude", "longitude")
        )
        collected.add(number, missing, f"is empty but {given} is given: give both or neither")
        return None
    return Enterprise(**fields)


def _inspector(
    values: Mapping[str, object], limits: DirectoryLimits, collected: _Collected, number: int
) -> Inspector | None:
    fields = _fields(
        values,
        {
            "officer_id": _identifier,
            "department_id": _identifier,
            "cert_no": _identifier,
            "specialities": _list_of(_speciality),
            "conflicts": _list_of(_credit_code),
        },
        limits,
        collected,
        number,
    )
    return None if fields is None else Inspector(**fields)


_ENTERPRISE_KEYS: Mapping[str, Callable[[Enterprise], str]] = {
    "credit_code": lambda e: e.credit_code
}
_INSPECTOR_KEYS: Mapping[str, Callable[[Inspector], str]] = {
    "officer_id": lambda i: i.officer_id,
    "cert_no": lambda i: i.cert_no,
}

_Parser = Callable[[object, DirectoryLimits], object]


def _fields(
    values: Mapping[str, object],
    parsers: Mapping[str, _Parser],
    limits: DirectoryLimits,
    collected: _Collected,
    number: int,
) -> dict[str, Any] | None:
    """Every field parsed, or ``None`` with each refused field's error collected."""
    parsed: dict[str, Any] = {}
    for field, parse in parsers.items():
        if field not in values and field not in _OPTIONAL:
            collected.add(number, field, "is missing")
            continue
        try:
            parsed[field] = parse(values.get(field), limits)
        except _Bad as exc:
            collected.add(number, field, str(exc))
    return parsed if len(parsed) == len(parsers) else None


def _text(value: object, limits: DirectoryLimits, max_chars: int | None = None) -> str:
    if not isinstance(value, str):
        raise _Bad("must be text")
    value = value.strip()
    limit = limits.max_text_chars if max_chars is None else max_chars
    if not value:
        raise _Bad("is empty")
    if len(value) > limit:
        raise _Bad(f"is longer than {limit} characters")
    bad = next((c for c in value if unicodedata.category(c) in _REFUSED_CATEGORIES), None)
    if bad is not None:
        raise _Bad(f"contains the control character U+{ord(bad):04X}")
    return value


def _identifier(value: object, limits: DirectoryLimits) -> str:
    value = _text(value, limits, limits.max_id_chars)
    if "/" in value:
        raise _Bad("may not contain '/' (the draw uses it as a separator)")
    return value


def _speciality(value: object, limits: DirectoryLimits) -> str:
    value = _text(value, limits)
    if LIST_SEPARATOR in value:
        raise _Bad(f"may not contain {LIST_SEPARATOR!r} (it separates list items in CSV)")
    return value


def _credit_code(value: object, limits: DirectoryLimits) -> str:
    code = _text(value, limits)
    if (why := credit_code_problem(code)) is not None:
        raise _Bad(f"{code!r} is not a valid credit code: {why}")
    return code


def _choice(choices: tuple[str, ...]) -> _Parser:
    def parse(value: object, limits: DirectoryLimits) -> str:
        text = _text(value, limits)
        if text not in choices:
            raise _Bad(f"must be one of {', '.join(choices)}, not {text!r}")
        return text

    return parse


def _coordinate(bounds: tuple[float, float]) -> _Parser:
    low, high = bounds

    def parse(value: object, limits: DirectoryLimits) -> float | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise _Bad(f"must be a number in decimal degrees, not {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Bad("must be a number in decimal degrees")
        if not low <= value <= high:
            raise _Bad(f"{value} is outside China ({low} to {high})")
        return float(value)

    return parse


def _list_of(item: _Parser) -> _Parser:
    def parse(value: object, limits: DirectoryLimits) -> tuple[object, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise _Bad("must be a list of text")
        if len(value) > limits.max_list_items:
            raise _Bad(f"has more than {limits.max_list_items} items")
        items: dict[object, None] = {}  # ordered, and a set for the duplicate check
        for position, raw in enumerate(value, start=1):
            try:
                parsed = item(raw, limits)
            except _Bad as exc:
                raise _Bad(f"item {position}: {exc}") from None
            if parsed in items:
                raise _Bad(f"lists {parsed!r} twice")
            items[parsed] = None
        return tuple(items)

    return parse
