"""The scenario library: the shipped one is sound, and each malformed shape is refused."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest

from evidence_service.modules.inspection import scenarios
from evidence_service.modules.inspection.scenarios import (
    DEPARTMENT_KINDS,
    BadLibraryError,
    by_code,
    items_for,
    library,
    parse_library,
)

REQUIRED_PLACES = {
    "restaurant", "school_canteen", "construction_site", "hazchem_store", "hotel", "pharmacy",
    "internet_cafe", "gas_station", "supermarket", "kindergarten", "elevator_building", "cinema",
    "ktv", "bath_centre", "farmers_market", "cold_chain_warehouse", "auto_repair",
    "beauty_salon", "printing_shop", "fireworks_shop", "dental_clinic", "private_hospital",
    "training_school", "property_management", "logistics_station", "scrap_recycling",
    "slaughterhouse", "water_plant", "bakery", "ebike_shop",
}  # fmt: skip


def shipped() -> dict[str, Any]:
    text = resources.files(scenarios.__package__).joinpath("scenario_library.json").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


def test_the_shipped_library_has_thirty_places_each_of_several_departments() -> None:
    lib = library()
    assert len(lib.scenarios) >= 30
    assert REQUIRED_PLACES <= set(lib.scenarios)
    for scenario in lib.scenarios.values():
        assert len(scenario.departments) >= 2, scenario.code
        assert scenario.name and scenario.description
        for item in scenario.items:
            assert item.department in DEPARTMENT_KINDS
            assert item.basis.law and item.basis.article >= 1


def test_every_item_is_used_and_few_articles_are_unverified() -> None:
    lib = library()
    used = {item.code for scenario in lib.scenarios.values() for item in scenario.items}
    assert used == set(lib.items)
    unverified = [item.code for item in lib.items.values() if not item.basis.verified]
    assert len(unverified) <= len(lib.items) // 10


def test_restaurant_combines_food_fumes_gas_and_fire() -> None:
    restaurant = by_code("restaurant")
    assert restaurant.name == "餐饮店"
    assert {"market_regulation", "ecology", "emergency", "fire"} <= set(restaurant.departments)
    fumes = next(item for item in restaurant.items if item.code == "eco.cooking_fumes")
    assert str(fumes.basis) == "《大气污染防治法》第81条"


def test_items_for_filters_by_department_kind() -> None:
    everything = items_for("ktv")
    police = items_for("ktv", {"public_security"})
    assert police and all(item.department == "public_security" for item in police)
    assert {item.code for item in police} == {"ps.cctv", "ps.security_guards"}
    both = items_for(by_code("ktv"), frozenset({"public_security", "culture"}))
    assert len(police) < len(both) < len(everything)
    assert items_for("ktv", set()) == ()


def test_items_for_refuses_an_unknown_department_kind_and_scenario() -> None:
    with pytest.raises(ValueError, match="unknown department kinds: police"):
        items_for("ktv", {"police"})
    with pytest.raises(KeyError, match="no scenario 'casino'"):
        by_code("casino")


def _broken(change: Any) -> dict[str, Any]:
    document = copy.deepcopy(shipped())
    change(document)
    return document


def _item(document: dict[str, Any], code: str) -> dict[str, Any]:
    found: dict[str, Any] = next(item for item in document["items"] if item["code"] == code)
    return found


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _item(d, "fire.exits").pop("basis"), "item 'fire.exits': no legal basis"),
        (
            lambda d: _item(d, "fire.exits")["basis"].pop("law"),
            "item 'fire.exits': law must be a non-empty string",
        ),
        (
            lambda d: _item(d, "fire.exits")["basis"].update(article="28"),
            "item 'fire.exits': the basis's article must be a number",
        ),
        (
            lambda d: _item(d, "fire.exits")["basis"].update(verified="no"),
            "verified must be true or false",
        ),
        (
            lambda d: _item(d, "fire.exits").update(department="police"),
            "item 'fire.exits': unknown department kind 'police'",
        ),
        (
            lambda d: d["items"].append(dict(_item(d, "fire.exits"))),
            "item 'fire.exits': duplicate code",
        ),
        (
            lambda d: d["scenarios"].append(dict(d["scenarios"][0])),
            "scenario 'restaurant': duplicate code",
        ),
        (
            lambda d: d["scenarios"][0]["items"].append("fire.nothing"),
            "scenario 'restaurant': unknown item 'fire.nothing'",
        ),
        (
            lambda d: d["scenarios"][0]["items"].append("fire.exits"),
            "scenario 'restaurant': an item is listed twice",
        ),
        (
            lambda d: d["scenarios"][0].update(items=["fire.exits", "fire.duties"]),
            "scenario 'restaurant': items of 2 department kinds at least",
        ),
        (lambda d: d["scenarios"][0].update(name=" "), "name must be a non-empty string"),
        (lambda d: d.update(scenarios=[]), "the library has no scenario"),
        (lambda d: d.update(format="inspection-scenarios/2"), "not a library"),
        (lambda d: d.pop("items"), "the library: items must be a list"),
    ],
)
def test_a_malformed_library_is_refused(change: Any, message: str) -> None:
    with pytest.raises(BadLibraryError, match=message):
        parse_library(_broken(change))


def test_an_unverified_article_loads_and_says_so() -> None:
    def mark(document: dict[str, Any]) -> None:
        _item(document, "fire.exits")["basis"]["verified"] = False

    lib = parse_library(_broken(mark))
    assert lib.items["fire.exits"].basis.verified is False
    assert lib.items["fire.duties"].basis.verified is True
