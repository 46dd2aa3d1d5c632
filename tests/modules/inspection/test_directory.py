"""The enterprise directory and inspector roster: good uploads read exactly, one named refusal per
bad field, duplicates, header mistakes, and the limits."""

from __future__ import annotations

import pytest

from evidence_service.modules.inspection.directory import (
    DirectoryError,
    DirectoryLimits,
    Enterprise,
    Inspector,
    RowError,
    enterprises_from_csv,
    enterprises_from_json,
    inspectors_from_csv,
    inspectors_from_json,
)

HUAWEI = "914403001922038216"
TENCENT = "9144030071526726XG"
ALIBABA = "91330100716105852F"
ENTERPRISE_HEADER = "credit_code,name,address,industry,scale,risk_class,longitude,latitude\n"
GOOD_ENTERPRISES = (
    "\ufeff"
    + ENTERPRISE_HEADER
    + f"{HUAWEI},华为技术有限公司,深圳市龙岗区坂田华为基地,制造业,large,low,114.06,22.65\n"
    + f' {TENCENT} ,腾讯科技（深圳）有限公司,"深圳市南山区高新区科技中一路, 腾讯大厦",'
    + "软件和信息技术服务业,large,medium_low,,\n"
    + ",,,,,,,\n"
    + f"{ALIBABA},阿里巴巴（中国）网络技术有限公司,杭州市滨江区网商路699号,批发和零售业,"
    + "medium,medium_high,120.19,30.19\n"
)
INSPECTOR_HEADER = "officer_id,department_id,cert_no,specialities,conflicts\n"
GOOD_INSPECTORS = (
    INSPECTOR_HEADER
    + f"o-001,market,33010012345,食品安全;特种设备,{HUAWEI};{TENCENT}\n"
    + "o-002,fire,33010012346,消防,\n"
    + "o-003,market,33010012347,,\n"
)


def enterprise_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "credit_code": HUAWEI,
        "name": "华为技术有限公司",
        "address": "深圳市龙岗区坂田华为基地",
        "industry": "制造业",
        "scale": "large",
        "risk_class": "low",
        "longitude": 114.06,
        "latitude": 22.65,
    }
    row.update(changes)
    return row


def inspector_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "officer_id": "o-001",
        "department_id": "market",
        "cert_no": "33010012345",
        "specialities": ["食品安全"],
        "conflicts": [TENCENT],
    }
    row.update(changes)
    return row


def refusal(read: object, *args: object) -> tuple[RowError, ...]:
    assert callable(read)
    with pytest.raises(DirectoryError) as caught:
        read(*args)
    return caught.value.errors


def test_a_good_enterprise_csv_is_read_exactly() -> None:
    assert enterprises_from_csv(GOOD_ENTERPRISES) == (
        Enterprise(
            HUAWEI, "华为技术有限公司", "深圳市龙岗区坂田华为基地", "制造业", "large", "low",
            114.06, 22.65,
        ),
        Enterprise(
            TENCENT, "腾讯科技（深圳）有限公司", "深圳市南山区高新区科技中一路, 腾讯大厦",
            "软件和信息技术服务业", "large", "medium_low",
        ),
        Enterprise(
            ALIBABA, "阿里巴巴（中国）网络技术有限公司", "杭州市滨江区网商路699号",
            "批发和零售业", "medium", "medium_high", 120.19, 30.19,
        ),
    )  # fmt: skip


def test_coordinate_columns_may_be_left_out() -> None:
    text = (
        "credit_code,name,address,industry,scale,risk_class\n"
        + f"{HUAWEI},华为,深圳,制造业,large,high\n"
    )
    (enterprise,) = enterprises_from_csv(text)
    assert (enterprise.longitude, enterprise.latitude, enterprise.risk_class) == (
        None,
        None,
        "high",
    )


def test_csv_may_come_as_lines() -> None:
    assert enterprises_from_csv(GOOD_ENTERPRISES.splitlines(keepends=True)) == (
        enterprises_from_csv(GOOD_ENTERPRISES)
    )


def test_good_enterprise_json_is_read() -> None:
    rows = [enterprise_row(), enterprise_row(credit_code=TENCENT, longitude=None, latitude=None)]
    rows[1].pop("longitude")
    first, second = enterprises_from_json(rows)
    assert first == Enterprise(
        HUAWEI,
        "华为技术有限公司",
        "深圳市龙岗区坂田华为基地",
        "制造业",
        "large",
        "low",
        114.06,
        22.65,
    )
    assert (second.credit_code, second.longitude, second.latitude) == (TENCENT, None, None)


def test_a_good_inspector_csv_is_read_exactly() -> None:
    assert inspectors_from_csv(GOOD_INSPECTORS) == (
        Inspector("o-001", "market", "33010012345", ("食品安全", "特种设备"), (HUAWEI, TENCENT)),
        Inspector("o-002", "fire", "33010012346", ("消防",), ()),
        Inspector("o-003", "market", "33010012347", (), ()),
    )


def test_good_inspector_json_is_read() -> None:
    rows = [inspector_row(), inspector_row(officer_id="o-002", cert_no="2")]
    del rows[1]["specialities"], rows[1]["conflicts"]
    assert inspectors_from_json(rows) == (
        Inspector("o-001", "market", "33010012345", ("食品安全",), (TENCENT,)),
        Inspector("o-002", "market", "2"),
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"credit_code": "914403001922038217"},
            "credit_code",
            "'914403001922038217' is not a valid credit code: "
            "check character 18 is '7' but should be '6': a mistyped character",
        ),
        ({"credit_code": ""}, "credit_code", "is empty"),
        ({"name": "   "}, "name", "is empty"),
        ({"name": 12}, "name", "must be text"),
        ({"name": "华为\n技术"}, "name", "contains the control character U+000A"),
        ({"name": "华为\x07"}, "name", "contains the control character U+0007"),
        ({"address": "深圳\u202e市"}, "address", "contains the control character U+202E"),
        ({"address": "深" * 501}, "address", "is longer than 500 characters"),
        ({"industry": None}, "industry", "must be text"),
        ({"scale": "tiny"}, "scale", "must be one of micro, small, medium, large, not 'tiny'"),
        (
            {"risk_class": "HIGH"},
            "risk_class",
            "must be one of high, medium_high, medium, medium_low, low, not 'HIGH'",
        ),
        ({"longitude": 140.0}, "longitude", "140.0 is outside China (73.0 to 135.5)"),
        ({"longitude": True}, "longitude", "must be a number in decimal degrees"),
        ({"latitude": "north"}, "latitude", "must be a number in decimal degrees, not 'north'"),
        ({"latitude": float("nan")}, "latitude", "nan is outside China (3.5 to 54.0)"),
        ({"latitude": -22.65}, "latitude", "-22.65 is outside China (3.5 to 54.0)"),
        ({"latitude": None}, "latitude", "is empty but longitude is given: give both or neither"),
        ({"longitude": ""}, "longitude", "is empty but latitude is given: give both or neither"),
    ],
)
def test_each_bad_enterprise_field_is_named(
    changes: dict[str, object], field: str, message: str
) -> None:
    rows = [enterprise_row(credit_code=ALIBABA), enterprise_row(**changes)]
    assert refusal(enterprises_from_json, rows) == (RowError(2, field, message),)


def test_a_missing_json_field_is_named() -> None:
    row = enterprise_row()
    del row["scale"]
    assert refusal(enterprises_from_json, [row]) == (RowError(1, "scale", "is missing"),)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"officer_id": "market/o-1"},
            "officer_id",
            "may not contain '/' (the draw uses it as a separator)",
        ),
        ({"department_id": ""}, "department_id", "is empty"),
        ({"cert_no": "3" * 65}, "cert_no", "is longer than 64 characters"),
        ({"specialities": "食品安全"}, "specialities", "must be a list of text"),
        ({"specialities": [3]}, "specialities", "item 1: must be text"),
        ({"specialities": {"a": 1}}, "specialities", "must be a list of text"),
        ({"specialities": ["消防", "消防"]}, "specialities", "lists '消防' twice"),
        (
            {"specialities": ["消防;食品"]},
            "specialities",
            "item 1: may not contain ';' (it separates list items in CSV)",
        ),
        (
            {"conflicts": [HUAWEI, "91330100716105852E"]},
            "conflicts",
            "item 2: '91330100716105852E' is not a valid credit code: "
            "check character 18 is 'E' but should be 'F': a mistyped character",
        ),
        ({"conflicts": [HUAWEI, f" {HUAWEI}"]}, "conflicts", f"lists '{HUAWEI}' twice"),
    ],
)
def test_each_bad_inspector_field_is_named(
    changes: dict[str, object], field: str, message: str
) -> None:
    assert refusal(inspectors_from_json, [inspector_row(**changes)]) == (
        RowError(1, field, message),
    )


def test_bad_csv_cells_are_named_with_the_spreadsheet_row() -> None:
    text = (
        ENTERPRISE_HEADER
        + f"{HUAWEI},华为,深圳,制造业,large,low,114.06,22.65\n"
        + f"{TENCENT},腾讯,深圳,软件,huge,low,200,22.5\n"
    )
    assert refusal(enterprises_from_csv, text) == (
        RowError(3, "scale", "must be one of micro, small, medium, large, not 'huge'"),
        RowError(3, "longitude", "200.0 is outside China (73.0 to 135.5)"),
    )


def test_every_bad_row_is_reported_not_just_the_first() -> None:
    text = (
        INSPECTOR_HEADER
        + "o-1,market,c1,,91330100716105852E\n"
        + "o-2,market,c2,,\n"
        + "o-3,market,c3,,\n"
        + "o-4,mar/ket,c4,,\n"
    )
    errors = refusal(inspectors_from_csv, text)
    assert [(e.row, e.field) for e in errors] == [(2, "conflicts"), (5, "department_id")]


def test_the_same_credit_code_twice_is_refused() -> None:
    text = ENTERPRISE_HEADER + "".join(
        f"{code},公司{i},地址,行业,small,medium,,\n"
        for i, code in enumerate([HUAWEI, TENCENT, HUAWEI], start=2)
    )
    assert refusal(enterprises_from_csv, text) == (
        RowError(4, "credit_code", f"'{HUAWEI}' is already on row 2"),
    )


def test_the_same_officer_or_certificate_twice_is_refused() -> None:
    rows = [
        inspector_row(),
        inspector_row(cert_no="other"),
        inspector_row(officer_id="o-009"),
    ]
    assert refusal(inspectors_from_json, rows) == (
        RowError(2, "officer_id", "'o-001' is already on row 1"),
        RowError(3, "cert_no", "'33010012345' is already on row 1"),
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", RowError(0, "", "there is no header row")),
        (ENTERPRISE_HEADER, RowError(0, "", "there are no rows")),
        (ENTERPRISE_HEADER + ",,,,,,,\n\n", RowError(0, "", "there are no rows")),
        (
            "credit_code,name,address,industry,scale,risk_class,lattitude\n",
            RowError(
                1,
                "",
                "unknown column(s) 'lattitude'; known: credit_code, name, address, industry, "
                "scale, risk_class, longitude, latitude",
            ),
        ),
        (
            "credit_code,name,address,scale,risk_class\n",
            RowError(1, "", "missing column(s) industry"),
        ),
        (
            "credit_code,name,name,address,industry,scale,risk_class\n",
            RowError(1, "", "the header repeats name"),
        ),
    ],
)
def test_header_mistakes_are_refused(text: str, error: RowError) -> None:
    assert refusal(enterprises_from_csv, text) == (error,)


def test_a_row_with_the_wrong_number_of_cells_is_refused() -> None:
    """An unquoted comma in an address is the usual cause."""
    text = (
        ENTERPRISE_HEADER
        + f"{HUAWEI},华为,深圳市,龙岗区,制造业,large,low,,\n"
        + f"{TENCENT},腾讯,深圳,软件,large,low\n"
    )
    assert refusal(enterprises_from_csv, text) == (
        RowError(2, "", "has 9 cells, the header has 8"),
        RowError(3, "", "has 6 cells, the header has 8"),
    )


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ({"rows": []}, RowError(0, "", "must be a JSON array of objects")),
        ([], RowError(0, "", "there are no rows")),
        ([enterprise_row(), "row"], RowError(2, "", "must be a JSON object")),
        (
            [enterprise_row(lattitude=30.0, web="x")],
            RowError(1, "", "unknown field(s) 'lattitude', 'web'"),
        ),
    ],
)
def test_json_shape_mistakes_are_refused(rows: object, error: RowError) -> None:
    assert refusal(enterprises_from_json, rows) == (error,)


def test_the_default_row_limit_is_exactly_100_000() -> None:
    rows = [f"o-{i},market,c{i},,\n" for i in range(100_001)]
    assert len(inspectors_from_csv(INSPECTOR_HEADER + "".join(rows[:-1]))) == 100_000
    assert refusal(inspectors_from_csv, INSPECTOR_HEADER + "".join(rows)) == (
        RowError(100_002, "", "more than 100000 rows"),
    )


def test_more_rows_than_the_limit_are_refused() -> None:
    limits = DirectoryLimits(max_rows=2)
    text = INSPECTOR_HEADER + "".join(f"o-{i},market,c{i},,\n" for i in range(3))
    assert len(inspectors_from_csv(text.rsplit("o-2", 1)[0], limits)) == 2
    assert refusal(inspectors_from_csv, text, limits) == (RowError(4, "", "more than 2 rows"),)


def test_a_row_larger_than_the_limit_is_refused() -> None:
    huge = inspector_row(specialities=[f"专长{i:06d}" for i in range(1_000)])
    assert len(inspectors_from_json([huge], DirectoryLimits(max_list_items=1_000))) == 1
    assert refusal(inspectors_from_json, [huge], DirectoryLimits(max_row_bytes=10_000)) == (
        RowError(1, "", "is larger than 10000 bytes"),
    )
    one_mib = inspector_row(officer_id="x" * (1 << 20))
    assert refusal(inspectors_from_json, [one_mib]) == (
        RowError(1, "", "is larger than 1048576 bytes"),
    )


def test_a_list_longer_than_the_limit_is_refused() -> None:
    row = inspector_row(conflicts=[HUAWEI, TENCENT, ALIBABA])
    assert refusal(inspectors_from_json, [row], DirectoryLimits(max_list_items=2)) == (
        RowError(1, "conflicts", "has more than 2 items"),
    )


def test_a_csv_field_too_large_for_the_reader_is_refused() -> None:
    text = INSPECTOR_HEADER + '"' + "x" * 200_000 + '",market,c1,,\n'
    (error,) = refusal(inspectors_from_csv, text)
    assert (error.row, error.field) == (2, "")
    assert error.message.startswith("is not readable as CSV: field larger than field limit")


def test_errors_stop_at_the_limit() -> None:
    text = INSPECTOR_HEADER + "".join(f"o/{i},market,c{i},,\n" for i in range(10))
    errors = refusal(inspectors_from_csv, text, DirectoryLimits(max_errors=3))
    assert [e.row for e in errors] == [2, 3, 4, 4]
    assert str(errors[-1]) == "row 4: stopped after 3 problems"
    assert (
        str(errors[0]) == "row 2, officer_id: may not contain '/' (the draw uses it as a separator)"
    )


def test_the_error_names_its_first_problem() -> None:
    with pytest.raises(DirectoryError, match=r"^1 problem\(s\); first: row 0: there are no rows$"):
        inspectors_from_json([])


def test_a_header_too_large_for_the_reader_is_refused() -> None:
    (error,) = refusal(inspectors_from_csv, "x" * 200_000 + "\n")
    assert (error.row, error.field) == (1, "")
    assert error.message.startswith("is not readable as CSV")
