"""The kit's row reader: each parser's values and exact refusals, the CSV and JSON record
readers, the caps, and error collection across rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from evidence_service.modules.kit.rows import (
    BadValue,
    Collector,
    Parser,
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
    integer,
    iso_date,
    json_records,
    list_of,
    number,
    optional,
    read_rows,
    text,
    text_up_to,
)

LIMITS = RowLimits()


def refused(parse: Parser, value: object, limits: RowLimits = LIMITS) -> str:
    with pytest.raises(BadValue) as caught:
        parse(value, limits)
    return str(caught.value)


# -- parsers ------------------------------------------------------------------------------------


def test_text_is_trimmed_and_bounded() -> None:
    assert text("  老王面馆 ", LIMITS) == "老王面馆"
    assert text("x" * 500, LIMITS) == "x" * 500
    assert refused(text, "x" * 501) == "is longer than 500 characters"
    assert refused(text, "x" * 11, RowLimits(max_text_chars=10)) == "is longer than 10 characters"
    assert text("a b", LIMITS, 3) == "a b"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "must be text"),
        (3, "must be text"),
        (["a"], "must be text"),
        ("", "is empty"),
        (" \t ", "is empty"),
        ("a\nb", "contains the control character U+000A"),
        ("a\x00", "contains the control character U+0000"),
        ("a\u202eb", "contains the control character U+202E"),
        ("a\u200bb", "contains the control character U+200B"),
    ],
)
def test_text_refusals(value: object, message: str) -> None:
    assert refused(text, value) == message


def test_identifier_and_text_up_to_have_their_own_bounds() -> None:
    assert identifier("x" * 64, LIMITS) == "x" * 64
    assert refused(identifier, "x" * 65) == "is longer than 64 characters"
    assert refused(identifier, "x" * 9, RowLimits(max_id_chars=8)) == "is longer than 8 characters"
    up_to_3 = text_up_to(3)
    assert up_to_3(" abc ", RowLimits(max_text_chars=1)) == "abc"
    assert refused(up_to_3, "abcd") == "is longer than 3 characters"


def test_credit_code_checks_both_check_characters() -> None:
    assert credit_code(" 914403001922038216 ", LIMITS) == "914403001922038216"
    assert refused(credit_code, "914403001922038217") == (
        "'914403001922038217' is not a valid credit code: "
        "check character 18 is '7' but should be '6': a mistyped character"
    )
    assert refused(credit_code, "") == "is empty"


def test_choice_is_exact() -> None:
    pick = choice(("a", "b"))
    assert pick(" b ", LIMITS) == "b"
    assert refused(pick, "B") == "must be one of a, b, not 'B'"
    assert refused(pick, 1) == "must be text"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(114, 114.0), (114.06, 114.06), ("114.06", 114.06), (" 73 ", 73.0), (None, None), ("", None)],
)
def test_coordinate_reads_numbers_and_blanks(value: object, expected: float | None) -> None:
    assert coordinate(LIMITS.longitude)(value, LIMITS) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("east", "must be a number in decimal degrees, not 'east'"),
        (True, "must be a number in decimal degrees"),
        ([1], "must be a number in decimal degrees"),
        (72.99, "72.99 is outside China (73.0 to 135.5)"),
        ("135.6", "135.6 is outside China (73.0 to 135.5)"),
        (float("inf"), "inf is outside China (73.0 to 135.5)"),
    ],
)
def test_coordinate_refusals(value: object, message: str) -> None:
    assert refused(coordinate(LIMITS.longitude), value) == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1.0), (2.5, 2.5), ("2.5", 2.5), (" 3 ", 3.0), ("+1e1", 10.0), (".5", 0.5), ("100", 100.0)],
)
def test_number_reads_json_numbers_and_csv_text(value: object, expected: float) -> None:
    parsed = number(0, 100)(value, LIMITS)
    assert parsed == expected and type(parsed) is float


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1_000", "must be a number, not '1_000'"),
        ("nan", "must be a number, not 'nan'"),
        ("inf", "must be a number, not 'inf'"),
        ("0x10", "must be a number, not '0x10'"),
        ("1,5", "must be a number, not '1,5'"),
        ("", "is empty"),
        (None, "must be a number"),
        (True, "must be a number"),
        ([1], "must be a number"),
        (float("nan"), "must be a finite number, not nan"),
        ("1e999", "must be a finite number, not inf"),
        (10**400, "must be a finite number"),
        (-0.5, "-0.5 is below 0"),
        ("100.01", "100.01 is above 100"),
    ],
)
def test_number_refusals(value: object, message: str) -> None:
    assert refused(number(0, 100), value) == message


def test_number_bounds_may_be_open() -> None:
    assert number()("-1e300", LIMITS) == -1e300
    assert number(1)(10**9, LIMITS) == 1e9
    assert refused(number(1), 0.99) == "0.99 is below 1"


@pytest.mark.parametrize(("value", "expected"), [(0, 0), ("40", 40), (" +7 ", 7), (12, 12)])
def test_integer_reads_whole_numbers(value: object, expected: int) -> None:
    assert integer(0, 1000)(value, LIMITS) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3.0", "must be a whole number, not '3.0'"),
        ("1_000", "must be a whole number, not '1_000'"),
        ("４０", "must be a whole number, not '４０'"),  # full-width digits
        (3.0, "must be a whole number"),
        (True, "must be a whole number"),
        (None, "must be a whole number"),
        (-1, "-1 is below 0"),
        ("1001", "1001 is above 1000"),
    ],
)
def test_integer_refusals(value: object, message: str) -> None:
    assert refused(integer(0, 1000), value) == message


def test_iso_date() -> None:
    assert iso_date(" 2024-02-29 ", LIMITS) == date(2024, 2, 29)
    assert refused(iso_date, "2023-02-29") == "'2023-02-29' is not a real date"
    assert refused(iso_date, "20240229") == "must be a date written YYYY-MM-DD, not '20240229'"
    assert refused(iso_date, "2024-2-29") == "must be a date written YYYY-MM-DD, not '2024-2-29'"
    assert (
        refused(iso_date, "2024-02-29T00:00")
        == "must be a date written YYYY-MM-DD, not '2024-02-29T00:00'"
    )
    assert refused(iso_date, 20240229) == "must be text"


def test_optional_turns_blank_into_the_default() -> None:
    seats = optional(integer(0))
    assert [seats(v, LIMITS) for v in (None, "", "  ", "3")] == [None, None, None, 3]
    assert optional(choice(("hj212", "modbus")), default="hj212")(None, LIMITS) == "hj212"
    assert refused(seats, "x") == "must be a whole number, not 'x'"


def test_list_of_reads_distinct_items_in_order() -> None:
    words = list_of(text)
    assert words(None, LIMITS) == ()
    assert words([" b", "a "], LIMITS) == ("b", "a")
    assert refused(words, "a") == "must be a list of text"
    assert refused(words, ["a", 3]) == "item 2: must be text"
    assert refused(words, ["a", " a"]) == "lists 'a' twice"
    assert refused(words, ["a", "b", "c"], RowLimits(max_list_items=2)) == "has more than 2 items"


# -- reading a table ----------------------------------------------------------------------------

TABLE = Table(
    ("code", "name", "size", "tags"),
    optional=frozenset({"size", "tags"}),
    lists=frozenset({"tags"}),
)


@dataclass(frozen=True)
class Thing:
    code: str
    name: str
    size: int | None
    tags: tuple[str, ...]


def build(
    values: Mapping[str, object], limits: RowLimits, collected: Collector, row: int
) -> Thing | None:
    parsers: dict[str, Parser] = {
        "code": identifier,
        "name": text,
        "size": optional(integer(0)),
        "tags": list_of(text),
    }
    parsed = fields(values, parsers, TABLE, limits, collected, row)
    return None if parsed is None else Thing(**parsed)


KEYS = {"code": lambda t: t.code}


def from_csv(text: Any, limits: RowLimits = LIMITS) -> tuple[Thing, ...]:
    return read_rows(csv_records(text, TABLE), build, KEYS, limits)


def from_json(rows: object, limits: RowLimits = LIMITS) -> tuple[Thing, ...]:
    return read_rows(json_records(rows, TABLE), build, KEYS, limits)


def errors_of(read: Any, *args: object) -> tuple[RowError, ...]:
    with pytest.raises(RowsError) as caught:
        read(*args)
    return caught.value.errors


def test_csv_and_json_read_the_same_rows() -> None:
    csv_text = '\ufeffcode , name,size,tags\nA1,甲,3,x;y\n,,,\nB2," 乙, 丙",,\n'
    expected = (Thing("A1", "甲", 3, ("x", "y")), Thing("B2", "乙, 丙", None, ()))
    assert from_csv(csv_text) == expected
    assert from_csv(csv_text.splitlines(keepends=True)) == expected
    rows = [
        {"code": "A1", "name": "甲", "size": 3, "tags": ["x", "y"]},
        {"code": "B2", "name": "乙, 丙"},
    ]
    assert from_json(rows) == expected


def test_optional_columns_may_be_left_out_of_the_header() -> None:
    assert from_csv("name,code\n甲,A1\n") == (Thing("A1", "甲", None, ()),)


@pytest.mark.parametrize(
    ("csv_text", "error"),
    [
        ("", RowError(0, "", "there is no header row")),
        ("code,name\n", RowError(0, "", "there are no rows")),
        ("code,name\n,\n\n", RowError(0, "", "there are no rows")),
        ("code,name,code\n", RowError(1, "", "the header repeats code")),
        ("code,nmae\n", RowError(1, "", "unknown column(s) 'nmae'; known: code, name, size, tags")),
        ("code,size\n", RowError(1, "", "missing column(s) name")),
        ("code,name\nA1,甲,x\n", RowError(2, "", "has 3 cells, the header has 2")),
        ("code,name\nA1\n", RowError(2, "", "has 1 cells, the header has 2")),
    ],
)
def test_csv_shape_refusals(csv_text: str, error: RowError) -> None:
    assert errors_of(from_csv, csv_text) == (error,)


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ({"code": "A1"}, RowError(0, "", "must be a JSON array of objects")),
        ([], RowError(0, "", "there are no rows")),
        ([["A1", "甲"]], RowError(1, "", "must be a JSON object")),
        ([{"code": "A1", "name": "甲", "Name": "x"}], RowError(1, "", "unknown field(s) 'Name'")),
        ([{"code": "A1"}], RowError(1, "name", "is missing")),
    ],
)
def test_json_shape_refusals(rows: object, error: RowError) -> None:
    assert errors_of(from_json, rows) == (error,)


def test_every_bad_field_is_collected_and_a_repeated_key_is_an_error_on_the_later_row() -> None:
    """A refused row claims no key: A1 on row 5 is the first good A1."""
    text_ = "code,name,size\nA1,,-1\nA2,乙,2\nA1,丙,x\nA1,丁,\nA2,戊,\n"
    assert errors_of(from_csv, text_) == (
        RowError(2, "name", "is empty"),
        RowError(2, "size", "-1 is below 0"),
        RowError(4, "size", "must be a whole number, not 'x'"),
        RowError(6, "code", "'A2' is already on row 3"),
    )


def test_caps_on_rows_bytes_and_errors() -> None:
    rows = "".join(f"C{i},名{i}\n" for i in range(4))
    assert len(from_csv("code,name\n" + rows, RowLimits(max_rows=4))) == 4
    assert errors_of(from_csv, "code,name\n" + rows, RowLimits(max_rows=3)) == (
        RowError(5, "", "more than 3 rows"),
    )
    assert errors_of(
        from_json, [{"code": "A1", "name": "x" * 40}], RowLimits(max_row_bytes=40)
    ) == (RowError(1, "", "is larger than 40 bytes"),)
    assert errors_of(
        from_csv, "code,name\nA1," + "名" * 14 + "\n", RowLimits(max_row_bytes=43)
    ) == (RowError(2, "", "is larger than 43 bytes"),)  # 2 + 14 × 3 UTF-8 bytes = 44
    bad = "code,name\n" + "".join(f"C{i},\n" for i in range(10))
    errors = errors_of(from_csv, bad, RowLimits(max_errors=3))
    assert errors[-1] == RowError(4, "", "stopped after 3 problems")
    assert [e.row for e in errors] == [2, 3, 4, 4]


def test_unreadable_csv_is_refused_at_the_row_it_breaks() -> None:
    (error,) = errors_of(from_csv, 'code,name\nA1,"' + "x" * 200_000 + '"\n')
    assert (error.row, error.field) == (2, "")
    assert error.message.startswith("is not readable as CSV: field larger than field limit")


def test_the_error_type_and_its_message() -> None:
    class Mine(RowsError):
        pass

    with pytest.raises(Mine, match=r"^3 problem\(s\); first: row 1, name: is missing$"):
        read_rows(json_records([{"code": "A"}, {}], TABLE), build, KEYS, LIMITS, error=Mine)
    assert str(RowError(0, "", "there are no rows")) == "row 0: there are no rows"


def test_both_or_neither_names_the_missing_one() -> None:
    collected = Collector(LIMITS)
    assert both_or_neither({"lon": None, "lat": None}, "lon", "lat", collected, 2)
    assert both_or_neither({"lon": 1.0, "lat": 2.0}, "lon", "lat", collected, 2)
    assert not both_or_neither({"lon": 1.0, "lat": None}, "lon", "lat", collected, 3)
    assert not both_or_neither({"lon": None, "lat": 2.0}, "lon", "lat", collected, 4)
    assert collected.errors == [
        RowError(3, "lat", "is empty but lon is given: give both or neither"),
        RowError(4, "lon", "is empty but lat is given: give both or neither"),
    ]
