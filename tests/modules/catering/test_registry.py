"""The restaurant register and the device list: good uploads read exactly, one named refusal per
bad field, duplicates, coordinates both or neither, the size class from burners, and keys."""

from __future__ import annotations

from datetime import date

import pytest

from evidence_service.modules.catering.hj212 import FIELD_LENGTHS
from evidence_service.modules.catering.limits import SizeClass
from evidence_service.modules.catering.registry import (
    MAX_MN_CHARS,
    MAX_PASSWORD_CHARS,
    Device,
    RegistryError,
    Restaurant,
    RowError,
    RowLimits,
    devices_from_csv,
    devices_from_json,
    restaurants_from_csv,
    restaurants_from_json,
)

HUAWEI = "914403001922038216"
TENCENT = "9144030071526726XG"
ALIBABA = "91330100716105852F"
KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # bytes 0..31
RESTAURANT_HEADER = (
    "credit_code,name,licence_no,address,longitude,latitude,burners,seats,purifier_model,"
    "purifier_efficiency,department_id,licensed_on\n"
)
GOOD_RESTAURANTS = (
    "\ufeff"
    + RESTAURANT_HEADER
    + f"{HUAWEI},老王面馆,JY14403000000001,深圳市龙岗区坂田街道1号,114.06,22.65,2.5,40,"
    + "静电式 ES-4000,92.5,market-sz,2023-05-01\n"
    + f" {TENCENT} ,川味小厨,,,,,3,,,,market-sz,\n"
    + ",,,,,,,,,,,\n"
    + f'{ALIBABA},"湖畔餐厅, 滨江店",,杭州市滨江区网商路699号,120.19,30.19,12,300,,,market-hz,\n'
)
DEVICE_HEADER = "mn,credit_code,kind,password,crc,public_key\n"
GOOD_DEVICES = (
    DEVICE_HEADER
    + f"44030000000000000001ABCD,{HUAWEI},oil_fume,123456,,{KEY}\n"
    + f"GT-01_a,{HUAWEI},grease_trap,p@ss!,modbus,\n"
    + f"G1,{TENCENT},gas,a b,hj212,\n"
)


def restaurant_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "credit_code": HUAWEI,
        "name": "老王面馆",
        "longitude": 114.06,
        "latitude": 22.65,
        "burners": 2.5,
        "department_id": "market-sz",
    }
    row.update(changes)
    return row


def device_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "mn": "MN0001",
        "credit_code": HUAWEI,
        "kind": "oil_fume",
        "password": "123456",
    }
    row.update(changes)
    return row


def refusal(read: object, *args: object) -> tuple[RowError, ...]:
    assert callable(read)
    with pytest.raises(RegistryError) as caught:
        read(*args)
    return caught.value.errors


def test_a_good_restaurant_csv_is_read_exactly() -> None:
    assert restaurants_from_csv(GOOD_RESTAURANTS) == (
        Restaurant(
            HUAWEI, "老王面馆", 2.5, SizeClass.SMALL, "market-sz",
            licence_no="JY14403000000001", address="深圳市龙岗区坂田街道1号",
            longitude=114.06, latitude=22.65, seats=40, purifier_model="静电式 ES-4000",
            purifier_efficiency=92.5, licensed_on=date(2023, 5, 1),
        ),
        Restaurant(TENCENT, "川味小厨", 3.0, SizeClass.MEDIUM, "market-sz"),
        Restaurant(
            ALIBABA, "湖畔餐厅, 滨江店", 12.0, SizeClass.LARGE, "market-hz",
            address="杭州市滨江区网商路699号", longitude=120.19, latitude=30.19, seats=300,
        ),
    )  # fmt: skip


def test_good_restaurant_json_is_read_and_optional_columns_may_be_left_out() -> None:
    rows = [
        restaurant_row(seats=0, purifier_efficiency=60, licensed_on="2024-02-29"),
        restaurant_row(credit_code=TENCENT, longitude=None, latitude=None, burners=6),
    ]
    assert restaurants_from_json(rows) == (
        Restaurant(
            HUAWEI, "老王面馆", 2.5, SizeClass.SMALL, "market-sz", longitude=114.06,
            latitude=22.65, seats=0, purifier_efficiency=60.0, licensed_on=date(2024, 2, 29),
        ),
        Restaurant(TENCENT, "老王面馆", 6.0, SizeClass.LARGE, "market-sz"),
    )  # fmt: skip
    (minimal,) = restaurants_from_csv(
        f"name,credit_code,burners,department_id\n面馆,{HUAWEI},1,m\n"
    )
    assert minimal == Restaurant(HUAWEI, "面馆", 1.0, SizeClass.SMALL, "m")


@pytest.mark.parametrize(
    ("burners", "size"),
    [
        (1, SizeClass.SMALL),
        ("2.99", SizeClass.SMALL),
        (3, SizeClass.MEDIUM),
        ("5.5", SizeClass.MEDIUM),
        (6, SizeClass.LARGE),
    ],
)
def test_the_size_class_follows_gb_18483_table_1(burners: object, size: SizeClass) -> None:
    (restaurant,) = restaurants_from_json([restaurant_row(burners=burners)])
    assert (restaurant.burners, restaurant.size_class) == (float(str(burners)), size)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"credit_code": "914403001922038217"},
            "credit_code",
            "'914403001922038217' is not a valid credit code: "
            "check character 18 is '7' but should be '6': a mistyped character",
        ),
        ({"name": ""}, "name", "is empty"),
        ({"name": "面" * 201}, "name", "is longer than 200 characters"),
        ({"name": "面\u202e馆"}, "name", "contains the control character U+202E"),
        ({"licence_no": "J" * 65}, "licence_no", "is longer than 64 characters"),
        ({"address": "址" * 301}, "address", "is longer than 300 characters"),
        ({"address": 5}, "address", "must be text"),
        ({"longitude": 140}, "longitude", "140 is outside China (73.0 to 135.5)"),
        ({"latitude": "north"}, "latitude", "must be a number in decimal degrees, not 'north'"),
        ({"latitude": None}, "latitude", "is empty but longitude is given: give both or neither"),
        ({"longitude": ""}, "longitude", "is empty but latitude is given: give both or neither"),
        ({"burners": 0.5}, "burners", "0.5 is below 1"),
        ({"burners": "0"}, "burners", "0.0 is below 1"),
        ({"burners": ""}, "burners", "is empty"),
        ({"burners": None}, "burners", "must be a number"),
        ({"burners": "三"}, "burners", "must be a number, not '三'"),
        ({"burners": True}, "burners", "must be a number"),
        ({"burners": float("inf")}, "burners", "must be a finite number, not inf"),
        ({"seats": -1}, "seats", "-1 is below 0"),
        ({"seats": "12.5"}, "seats", "must be a whole number, not '12.5'"),
        ({"purifier_model": "型" * 121}, "purifier_model", "is longer than 120 characters"),
        ({"purifier_efficiency": 100.5}, "purifier_efficiency", "100.5 is above 100"),
        ({"purifier_efficiency": "85%"}, "purifier_efficiency", "must be a number, not '85%'"),
        ({"department_id": " "}, "department_id", "is empty"),
        ({"department_id": "d" * 65}, "department_id", "is longer than 64 characters"),
        (
            {"licensed_on": "2023/05/01"},
            "licensed_on",
            "must be a date written YYYY-MM-DD, not '2023/05/01'",
        ),
        ({"licensed_on": "2023-13-01"}, "licensed_on", "'2023-13-01' is not a real date"),
    ],
)
def test_each_bad_restaurant_field_is_named(
    changes: dict[str, object], field: str, message: str
) -> None:
    rows = [restaurant_row(credit_code=ALIBABA), restaurant_row(**changes)]
    assert refusal(restaurants_from_json, rows) == (RowError(2, field, message),)


@pytest.mark.parametrize("field", ["credit_code", "name", "burners", "department_id"])
def test_a_missing_required_restaurant_field_is_named(field: str) -> None:
    row = restaurant_row()
    del row[field]
    assert refusal(restaurants_from_json, [row]) == (RowError(1, field, "is missing"),)


def test_restaurant_header_mistakes_are_refused() -> None:
    assert refusal(restaurants_from_csv, "credit_code,name,burners,department_id,size_class\n") == (
        RowError(
            1,
            "",
            "unknown column(s) 'size_class'; known: credit_code, name, licence_no, address, "
            "longitude, latitude, burners, seats, purifier_model, purifier_efficiency, "
            "department_id, licensed_on",
        ),
    )
    assert refusal(restaurants_from_csv, "credit_code,name\n") == (
        RowError(1, "", "missing column(s) burners, department_id"),
    )
    assert refusal(restaurants_from_json, [restaurant_row(seat=3)]) == (
        RowError(1, "", "unknown field(s) 'seat'"),
    )


def test_the_same_credit_code_twice_is_refused() -> None:
    text = RESTAURANT_HEADER + "".join(
        f"{code},餐厅{i},,,,,2,,,,m,\n" for i, code in enumerate([HUAWEI, TENCENT, HUAWEI])
    )
    assert refusal(restaurants_from_csv, text) == (
        RowError(4, "credit_code", f"'{HUAWEI}' is already on row 2"),
    )


def test_bad_csv_cells_of_several_rows_are_all_named() -> None:
    text = (
        RESTAURANT_HEADER
        + f"{HUAWEI},面馆,,,114.06,,0.9,,,,m,\n"
        + f"{TENCENT},小厨,,,,,2,-3,,,m,2023-02-29\n"
    )
    assert refusal(restaurants_from_csv, text) == (
        RowError(2, "burners", "0.9 is below 1"),
        RowError(3, "seats", "-3 is below 0"),
        RowError(3, "licensed_on", "'2023-02-29' is not a real date"),
    )


def test_a_good_device_csv_is_read_exactly() -> None:
    assert devices_from_csv(GOOD_DEVICES) == (
        Device("44030000000000000001ABCD", HUAWEI, "oil_fume", "123456", "hj212", KEY),
        Device("GT-01_a", HUAWEI, "grease_trap", "p@ss!", "modbus"),
        Device("G1", TENCENT, "gas", "a b", "hj212"),
    )


def test_good_device_json_is_read() -> None:
    rows = [device_row(), device_row(mn="MN0002", crc="modbus", public_key=KEY, password="~")]
    assert devices_from_json(rows) == (
        Device("MN0001", HUAWEI, "oil_fume", "123456"),
        Device("MN0002", HUAWEI, "oil_fume", "~", "modbus", KEY),
    )


def test_the_mn_and_password_bounds_are_hj_212s_less_the_key() -> None:
    """HJ 212's 27 and 9 count ``MN=`` and ``PW=``; the frame parser reads them so."""
    assert MAX_MN_CHARS == FIELD_LENGTHS["MN"] - len("MN=") == 24
    assert MAX_PASSWORD_CHARS == FIELD_LENGTHS["PW"] - len("PW=") == 6
    (device,) = devices_from_json([device_row(mn="M" * 24, password="!" * 6)])
    assert (device.mn, device.password) == ("M" * 24, "!" * 6)


def test_a_public_key_is_kept_in_one_spelling() -> None:
    """The last base64 character of 32 bytes carries 2 unused bits: ``…Hh9=`` is ``…Hh8=``."""
    (device,) = devices_from_json([device_row(public_key=KEY[:-2] + "9=")])
    assert device.public_key == KEY


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"mn": ""}, "mn", "is empty"),
        ({"mn": "M" * 25}, "mn", "is longer than 24 characters"),
        ({"mn": "MN 01"}, "mn", "'MN 01' may hold only ASCII letters, digits, '_' and '-'"),
        ({"mn": "MN;01"}, "mn", "'MN;01' may hold only ASCII letters, digits, '_' and '-'"),
        ({"mn": "监测01"}, "mn", "'监测01' may hold only ASCII letters, digits, '_' and '-'"),
        ({"mn": 1234}, "mn", "must be text"),
        (
            {"credit_code": "91330100716105852E"},
            "credit_code",
            "'91330100716105852E' is not a valid credit code: "
            "check character 18 is 'E' but should be 'F': a mistyped character",
        ),
        ({"kind": "fan"}, "kind", "must be one of oil_fume, grease_trap, gas, not 'fan'"),
        ({"password": ""}, "password", "is empty"),
        ({"password": "1234567"}, "password", "is longer than 6 characters"),
        ({"password": "密码"}, "password", "must be printable ASCII"),
        ({"password": "a;b"}, "password", "may not contain ';' (HJ 212 separators)"),
        ({"password": "&a=b,"}, "password", "may not contain '&', ',', '=' (HJ 212 separators)"),
        ({"password": "a\tb"}, "password", "contains the control character U+0009"),
        ({"crc": "crc32"}, "crc", "must be one of hj212, modbus, not 'crc32'"),
        ({"public_key": "not base64!"}, "public_key", "is not base64"),
        ({"public_key": KEY[:-1]}, "public_key", "is not base64"),
        (
            {"public_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="},
            "public_key",
            "is 31 bytes, an Ed25519 public key is 32 (base64 of 44 characters)",
        ),
        (
            {"public_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
            "public_key",
            "is 33 bytes, an Ed25519 public key is 32 (base64 of 44 characters)",
        ),
    ],
)
def test_each_bad_device_field_is_named(
    changes: dict[str, object], field: str, message: str
) -> None:
    assert refusal(devices_from_json, [device_row(**changes)]) == (RowError(1, field, message),)


def test_the_same_mn_twice_is_refused_but_a_restaurant_may_have_many_devices() -> None:
    text = DEVICE_HEADER + f"A1,{HUAWEI},oil_fume,1,,\nA2,{HUAWEI},gas,1,,\nA1,{TENCENT},gas,2,,\n"
    assert refusal(devices_from_csv, text) == (RowError(4, "mn", "'A1' is already on row 2"),)


def test_the_limits_apply() -> None:
    rows = [device_row(mn=f"MN{i}") for i in range(3)]
    assert refusal(devices_from_json, rows, RowLimits(max_rows=2)) == (
        RowError(3, "", "more than 2 rows"),
    )
    assert refusal(restaurants_from_json, []) == (RowError(0, "", "there are no rows"),)
    with pytest.raises(RegistryError, match=r"^1 problem\(s\); first: row 0: there is no header"):
        devices_from_csv("")
