"""Whole-list uploads read from CSV text or JSON rows: every row checked before any is accepted.

A department uploads a register at once (an enterprise directory, a roster, a restaurant
register), so :func:`read_rows` gives the caller a tuple of frozen rows or raises
:class:`RowsError` carrying every :class:`RowError` found, so the file can be fixed in one go
and nothing half-loaded is ever stored. Pure: text or parsed JSON in, values out.

The rules every table gets:

- A :class:`Table` names its columns; unknown columns (CSV header) or fields (JSON) are refused
  rather than dropped, so a misspelt ``lattitude`` cannot silently lose every coordinate. A
  column outside ``Table.optional`` must be present; a header may not repeat a column.
- CSV has a header row (a UTF-8 BOM is ignored); rows are numbered as in a spreadsheet (the
  header is row 1) and wholly blank rows are skipped. JSON is an array of objects, rows
  numbered from 1. Row 0 is the upload as a whole.
- A list column (``Table.lists``) is one CSV cell with items separated by :data:`LIST_SEPARATOR`,
  or a JSON list.
- Text is trimmed of surrounding spaces and may not contain control or format characters (a
  newline or a right-to-left override in a name would corrupt the pages and exports that show
  it). Numbers, whole numbers and dates are read from CSV text or JSON values alike, strictly:
  no ``1_000``, no ``nan``, no ``20240101``.
- A key column (``keys`` of :func:`read_rows`) repeated is an error on the later row.
- Everything is bounded by :class:`RowLimits`: rows, bytes per row, characters per field,
  items per list, and errors reported (after ``max_errors`` the rest is not read).

A parser (:data:`Parser`) takes the raw value and the limits and returns the value or raises
:class:`BadValue` whose message completes "<field> …". :func:`fields` runs one parser per
column and collects each refusal.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from evidence_service.modules.kit.credit_code import problem as credit_code_problem

LIST_SEPARATOR = ";"
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf"})
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"[+-]?[0-9]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

Row = TypeVar("Row")


@dataclass(frozen=True)
class RowLimits:
    """Bounds on one upload; the defaults fit a prefecture-level city's whole register."""

    max_rows: int = 100_000
    max_row_bytes: int = 1 << 20  # all fields of one row together, UTF-8
    max_text_chars: int = 500  # a name, an address, a list item
    max_id_chars: int = 64  # an identifier
    max_list_items: int = 1_000  # items of one list cell
    max_errors: int = 1_000  # reported before giving up on the rest
    # A box around China's territory (73°29′–135°05′ E, 3°52′–53°33′ N), slightly widened.
    longitude: tuple[float, float] = (73.0, 135.5)
    latitude: tuple[float, float] = (3.5, 54.0)


@dataclass(frozen=True)
class Table:
    """The columns of one kind of row, in their documented order."""

    columns: tuple[str, ...]
    optional: frozenset[str] = frozenset()  # may be left out of the header or a JSON object
    lists: frozenset[str] = frozenset()  # one CSV cell split on LIST_SEPARATOR


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


class RowsError(ValueError):
    """The upload was refused; ``errors`` lists why, in row order."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors = tuple(errors)
        super().__init__(f"{len(self.errors)} problem(s); first: {self.errors[0]}")


class BadValue(Exception):
    """A field's value is refused; the message completes "<field> …"."""


class Collector:
    """Errors so far, capped so a hopeless upload costs bounded time and memory."""

    def __init__(self, limits: RowLimits) -> None:
        self.errors: list[RowError] = []
        self._max = limits.max_errors

    def add(self, row: int, field: str, message: str) -> None:
        self.errors.append(RowError(row, field, message))

    @property
    def full(self) -> bool:
        return len(self.errors) >= self._max


# A record is (row number, column → raw value or why the row is unreadable, size in bytes), or
# a RowError after which nothing more can be read.
Record = tuple[int, Mapping[str, object] | str, int] | RowError
#: Builds one row from its raw values, or collects why not and returns ``None``.
Build = Callable[[Mapping[str, object], RowLimits, Collector, int], Row | None]
Parser = Callable[[object, RowLimits], object]


def read_rows(
    records: Iterator[Record],
    build: Build[Row],
    keys: Mapping[str, Callable[[Row], str]],
    limits: RowLimits,
    *,
    error: Callable[[Iterable[RowError]], RowsError] = RowsError,
) -> tuple[Row, ...]:
    """Every row built, or ``error`` (a :class:`RowsError`) raised with every problem found.
    ``keys`` maps each column that must be unique to how to read it off a built row."""
    collected = Collector(limits)
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
        raise error(collected.errors)
    return tuple(rows)


def _check_unique(
    row: Row,
    number: int,
    keys: Mapping[str, Callable[[Row], str]],
    first_row: dict[tuple[str, str], int],
    collected: Collector,
) -> None:
    for field, key in keys.items():
        earlier = first_row.setdefault((field, key(row)), number)
        if earlier != number:
            collected.add(number, field, f"{key(row)!r} is already on row {earlier}")


def csv_records(text: str | Iterable[str], table: Table) -> Iterator[Record]:
    """The records of CSV text (or its lines) with a header row naming ``table``'s columns."""
    reader = csv.reader(io.StringIO(text) if isinstance(text, str) else text)
    number = 0  # the last row read, for a reader error on the next
    try:
        header = next(reader, None)
        if header is None:
            yield RowError(0, "", "there is no header row")
            return
        number = 1
        header = [name.strip().removeprefix("\ufeff") for name in header]
        if (bad := _header_problem(header, table)) is not None:
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
                    {c: _csv_value(table, c, cell) for c, cell in zip(header, cells, strict=True)},
                    size,
                )
    except csv.Error as exc:
        yield RowError(number + 1, "", f"is not readable as CSV: {exc}")


def _csv_value(table: Table, column: str, cell: str) -> object:
    if column in table.lists:
        return [item for item in cell.split(LIST_SEPARATOR) if item.strip()]
    return cell


def _header_problem(header: list[str], table: Table) -> str | None:
    columns = table.columns
    if duplicated := sorted({c for c in header if header.count(c) > 1}):
        return f"the header repeats {', '.join(duplicated)}"
    if unknown := [c for c in header if c not in columns]:
        return f"unknown column(s) {', '.join(map(repr, unknown))}; known: {', '.join(columns)}"
    if missing := [c for c in columns if c not in header and c not in table.optional]:
        return f"missing column(s) {', '.join(missing)}"
    return None


def json_records(rows: object, table: Table) -> Iterator[Record]:
    """The records of a parsed JSON array of objects keyed by ``table``'s columns."""
    if not isinstance(rows, list):
        yield RowError(0, "", "must be a JSON array of objects")
        return
    for number, values in enumerate(rows, start=1):
        size = len(json.dumps(values, ensure_ascii=False, default=str).encode())
        if not isinstance(values, dict):
            yield number, "must be a JSON object", size
        elif unknown := sorted(str(k) for k in values if k not in table.columns):
            yield number, f"unknown field(s) {', '.join(map(repr, unknown))}", size
        else:
            yield number, values, size


def fields(
    values: Mapping[str, object],
    parsers: Mapping[str, Parser],
    table: Table,
    limits: RowLimits,
    collected: Collector,
    number: int,
) -> dict[str, Any] | None:
    """Every field parsed, or ``None`` with each refused field's error collected. An optional
    column left out is parsed as ``None``."""
    parsed: dict[str, Any] = {}
    for field, parse in parsers.items():
        if field not in values and field not in table.optional:
            collected.add(number, field, "is missing")
            continue
        try:
            parsed[field] = parse(values.get(field), limits)
        except BadValue as exc:
            collected.add(number, field, str(exc))
    return parsed if len(parsed) == len(parsers) else None


def both_or_neither(
    parsed: Mapping[str, object], first: str, second: str, collected: Collector, number: int
) -> bool:
    """Whether ``first`` and ``second`` are both given or both ``None``; if not, the missing
    one's error is collected."""
    if (parsed[first] is None) == (parsed[second] is None):
        return True
    given, missing = (first, second) if parsed[second] is None else (second, first)
    collected.add(number, missing, f"is empty but {given} is given: give both or neither")
    return False


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: object, limits: RowLimits, max_chars: int | None = None) -> str:
    """Trimmed, non-empty text of at most ``max_chars`` (default ``limits.max_text_chars``)
    characters with no control or format character."""
    if not isinstance(value, str):
        raise BadValue("must be text")
    value = value.strip()
    limit = limits.max_text_chars if max_chars is None else max_chars
    if not value:
        raise BadValue("is empty")
    if len(value) > limit:
        raise BadValue(f"is longer than {limit} characters")
    bad = next((c for c in value if unicodedata.category(c) in _REFUSED_CATEGORIES), None)
    if bad is not None:
        raise BadValue(f"contains the control character U+{ord(bad):04X}")
    return value


def identifier(value: object, limits: RowLimits) -> str:
    """:func:`text` of at most ``limits.max_id_chars`` characters."""
    return text(value, limits, limits.max_id_chars)


def credit_code(value: object, limits: RowLimits) -> str:
    """A GB 32100 unified social credit code, both check characters verified
    (:mod:`evidence_service.modules.kit.credit_code`)."""
    code = text(value, limits)
    if (why := credit_code_problem(code)) is not None:
        raise BadValue(f"{code!r} is not a valid credit code: {why}")
    return code


def text_up_to(max_chars: int) -> Callable[[object, RowLimits], str]:
    """:func:`text` of at most ``max_chars`` characters, whatever the limits say."""

    def parse(value: object, limits: RowLimits) -> str:
        return text(value, limits, max_chars)

    return parse


def optional(parse: Parser, default: object = None) -> Parser:
    """``parse``, but a missing value, ``null`` or a blank cell is ``default``."""

    def parse_optional(value: object, limits: RowLimits) -> object:
        return default if _blank(value) else parse(value, limits)

    return parse_optional


def choice(choices: tuple[str, ...]) -> Callable[[object, RowLimits], str]:
    """:func:`text` that is one of ``choices``, exactly (case matters)."""

    def parse(value: object, limits: RowLimits) -> str:
        word = text(value, limits)
        if word not in choices:
            raise BadValue(f"must be one of {', '.join(choices)}, not {word!r}")
        return word

    return parse


def coordinate(bounds: tuple[float, float]) -> Callable[[object, RowLimits], float | None]:
    """Decimal degrees within ``bounds`` (inclusive), or ``None`` when missing or blank."""
    low, high = bounds

    def parse(value: object, limits: RowLimits) -> float | None:
        if _blank(value):
            return None
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise BadValue(f"must be a number in decimal degrees, not {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadValue("must be a number in decimal degrees")
        if not low <= value <= high:
            raise BadValue(f"{value} is outside China ({low} to {high})")
        return float(value)

    return parse


def _within(value: float, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise BadValue(f"{value} is below {low}")
    if high is not None and value > high:
        raise BadValue(f"{value} is above {high}")


def number(
    low: float | None = None, high: float | None = None
) -> Callable[[object, RowLimits], float]:
    """A finite decimal number within ``low``–``high`` (inclusive, ``None`` for open), from a
    JSON number or CSV text such as ``12``, ``-0.5`` or ``1e3``; returned as a float."""

    def parse(value: object, limits: RowLimits) -> float:
        if isinstance(value, str):
            written = text(value, limits)
            if not _DECIMAL.fullmatch(written):
                raise BadValue(f"must be a number, not {written!r}")
            value = float(written)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadValue("must be a number")
        try:
            result = float(value)
        except OverflowError:  # a JSON integer beyond any float
            raise BadValue("must be a finite number") from None
        if not math.isfinite(result):
            raise BadValue(f"must be a finite number, not {value}")
        _within(result, low, high)
        return result

    return parse


def integer(low: int | None = None, high: int | None = None) -> Callable[[object, RowLimits], int]:
    """A whole number within ``low``–``high`` (inclusive, ``None`` for open), from a JSON
    integer or CSV digits with an optional sign; ``3.0`` is refused, as is ``1_000``."""

    def parse(value: object, limits: RowLimits) -> int:
        if isinstance(value, str):
            written = text(value, limits)
            if not _WHOLE.fullmatch(written):
                raise BadValue(f"must be a whole number, not {written!r}")
            value = int(written)
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadValue("must be a whole number")
        _within(value, low, high)
        return value

    return parse


def iso_date(value: object, limits: RowLimits) -> date:
    """A calendar date written ``YYYY-MM-DD`` (ISO 8601 extended form, nothing else)."""
    written = text(value, limits)
    if not _ISO_DATE.fullmatch(written):
        raise BadValue(f"must be a date written YYYY-MM-DD, not {written!r}")
    try:
        return date.fromisoformat(written)
    except ValueError:
        raise BadValue(f"{written!r} is not a real date") from None


def list_of(item: Parser) -> Parser:
    """A list of distinct items, each read by ``item``; missing is the empty tuple."""

    def parse(value: object, limits: RowLimits) -> tuple[object, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise BadValue("must be a list of text")
        if len(value) > limits.max_list_items:
            raise BadValue(f"has more than {limits.max_list_items} items")
        items: dict[object, None] = {}  # ordered, and a set for the duplicate check
        for position, raw in enumerate(value, start=1):
            try:
                parsed = item(raw, limits)
            except BadValue as exc:
                raise BadValue(f"item {position}: {exc}") from None
            if parsed in items:
                raise BadValue(f"lists {parsed!r} twice")
            items[parsed] = None
        return tuple(items)

    return parse
