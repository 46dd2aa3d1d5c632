"""The factor table: the shipped default, what the API serves, and one named refusal per rule
a replacement table can break."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from evidence_service.modules.catering.alarms import READING_KINDS
from evidence_service.modules.catering.factors import (
    KINDS,
    MAX_TABLE_BYTES,
    ROLES,
    FactorTableError,
    load_factors,
    table_from_json,
)

ENTRY = {
    "code": "a34041",
    "name_zh": "油烟浓度",
    "name_en": "oil fume",
    "unit": "mg/m3",
    "kind": "concentration",
    "min": 0,
    "max": 100,
    "verified": False,
    "source": "project default",
}


def table(*entries: Any) -> dict[str, Any]:
    return {"format": "catering-factors/1", "factors": list(entries)}


def changed(**fields: Any) -> dict[str, Any]:
    entry = copy.deepcopy(ENTRY)
    entry.update(fields)
    return entry


def test_the_shipped_table() -> None:
    factors = load_factors()
    assert [f.code for f in factors] == [
        "a34041",
        "a34013",
        "a24088",
        "cy0101",
        "cy0102",
        "cy0201",
        "cy0202",
        "cy0301",
        "cy0401",
    ]
    assert [f.kind for f in factors] == [
        "concentration",
        "concentration",
        "concentration",
        "current",
        "current",
        "state",
        "state",
        "level",
        "alarm",
    ]
    oil = factors.get("a34041")
    assert oil is not None
    assert (oil.name_zh, oil.unit, oil.min, oil.max, oil.verified) == (
        "油烟浓度",
        "mg/m3",
        0,
        100,
        False,
    )
    assert "ANCHORS" in oil.source
    assert all(not f.verified and f.source for f in factors)
    assert "a34041" in factors and "a34004" not in factors and len(factors) == 9
    assert factors.get("nope") is None


def test_plausible_is_inclusive() -> None:
    alarm = load_factors().get("cy0401")
    assert alarm is not None
    assert [alarm.plausible(v) for v in (-0.01, 0, 1, 1.01)] == [False, True, True, False]


def test_as_json_is_what_the_api_serves() -> None:
    served = load_factors().as_json()
    assert served["format"] == "catering-factors/1"
    assert served["factors"][0] == {
        "code": "a34041",
        "name_zh": "油烟浓度",
        "name_en": "oil fume",
        "unit": "mg/m3",
        "kind": "concentration",
        "role": "oil-fume",
        "min": 0,
        "max": 100,
        "verified": False,
        "source": served["factors"][0]["source"],
    }
    shipped = Path(__file__).parents[3] / "evidence_service/modules/catering/factors.json"
    assert json.loads(json.dumps(served)) == json.loads(shipped.read_text("utf-8"))


def test_the_roles_the_alarm_rules_use() -> None:
    assert load_factors().rules() == {
        "a34041": "oil-fume",
        "a34013": "particulates",
        "a24088": "nmhc",
        "cy0101": "fan-current",
        "cy0102": "purifier-current",
        "cy0201": "fan-state",
        "cy0202": "purifier-state",
        "cy0301": "grease-level",
        "cy0401": "gas-alarm",
    }
    assert ROLES == tuple(load_factors().rules().values())
    assert ROLES == READING_KINDS  # the rules' names, repeated in factors.py


def test_a_replacement_table_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "factors.json"
    path.write_text(json.dumps(table(changed(code="YY01", min=-5, max=5.5))), "utf-8")
    factors = load_factors(path)
    assert [(f.code, f.min, f.max, f.role) for f in factors] == [("YY01", -5, 5.5, None)]
    assert factors.rules() == {}
    assert factors.as_json()["factors"][0]["role"] is None


BAD_TABLES: dict[str, tuple[Any, str]] = {
    "not an object": ([], "must be an object"),
    "wrong format": ({"format": "x/1", "factors": [ENTRY]}, "must be an object with"),
    "extra key": ({**table(ENTRY), "more": 1}, "exactly the keys"),
    "empty list": (table(), "non-empty list"),
    "entry not an object": (table("a34041"), r"factors\[0\] must be an object"),
    "missing field": (
        table({k: v for k, v in ENTRY.items() if k != "unit"}),
        r"missing \['unit'\], unknown \[\]",
    ),
    "unknown field": (table({**ENTRY, "colour": "red"}), r"unknown \['colour'\]"),
    "duplicate code": (table(ENTRY, changed(name_en="again")), "code 'a34041' appears twice"),
    "unknown kind": (table(changed(kind="weather")), "kind 'weather' is not one of"),
    "unknown role": (table(changed(role="smoke")), "role 'smoke' is not null or one of"),
    "duplicate role": (
        table(changed(role="oil-fume"), changed(code="b1", role="oil-fume")),
        "role 'oil-fume' appears twice",
    ),
    "min not below max": (table(changed(min=5, max=5)), "min 5 must be below max 5"),
    "min a boolean": (table(changed(min=False)), "min must be a finite number"),
    "max a string": (table(changed(max="100")), "max must be a finite number"),
    "bad code": (table(changed(code="a34041-Rtd")), "code must be 1–20 letters"),
    "empty name": (table(changed(name_zh=" ")), "name_zh must not be empty"),
    "name not a string": (table(changed(name_en=3)), "name_en must be a string"),
    "verified not a boolean": (table(changed(verified="yes")), "verified must be true or false"),
}


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_each_way_a_table_is_refused(case: str) -> None:
    document, message = BAD_TABLES[case]
    with pytest.raises(FactorTableError, match=message):
        table_from_json(document)


def test_a_file_that_is_not_json_or_too_large(tmp_path: Path) -> None:
    path = tmp_path / "factors.json"
    path.write_bytes(b"{not json")
    with pytest.raises(FactorTableError, match="is not JSON"):
        load_factors(path)
    path.write_bytes(b" " * (MAX_TABLE_BYTES + 1))
    with pytest.raises(FactorTableError, match="is over 262144 bytes"):
        load_factors(path)


def test_the_kinds() -> None:
    assert KINDS == ("concentration", "current", "state", "level", "alarm")
