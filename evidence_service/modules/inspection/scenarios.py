"""The scenario library (检查场景): what a joint inspection (综合查一次) checks at a kind of place.

A scenario (a restaurant, a KTV, a construction site …) lists check items; each item names the
department kind that owns it and its legal basis (law + article). One visit covers the items
of every department, which is the point of 综合查一次 (一表通查): so every scenario must combine
items of at least two department kinds.

The library ships as ``scenario_library.json`` (format ``inspection-scenarios/1``): a catalogue
of check items, each once, and scenarios that name items by code (the fire-safety items recur
in almost every scenario). :func:`parse_library` checks it whole — unique codes, known
department kinds, a basis on every item, every reference resolved, two kinds per scenario —
and refuses it with :class:`BadLibraryError` naming the first fault; a library that loads is
sound. A basis whose article was not checked against the law's text carries
``"verified": false`` (docs/modules/inspection.md says which texts were read).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

LIBRARY_FORMAT = "inspection-scenarios/1"
LIBRARY_RESOURCE = "scenario_library.json"

#: The department kinds an item may belong to (the locality maps its departments onto them).
DEPARTMENT_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "market_regulation": "市场监管",
        "fire": "消防救援",
        "emergency": "应急管理",
        "health": "卫生健康",
        "ecology": "生态环境",
        "housing": "住房城乡建设",
        "education": "教育",
        "culture": "文化旅游",
        "public_security": "公安",
        "transport": "交通运输",
        "agriculture": "农业农村",
        "commerce": "商务",
        "civil_affairs": "民政",
    }
)
MIN_DEPARTMENT_KINDS = 2


class BadLibraryError(ValueError):
    """The library breaks a rule of this module; the message names the scenario or item."""


@dataclass(frozen=True)
class LegalBasis:
    law: str
    article: int
    verified: bool = True

    def __str__(self) -> str:
        return f"《{self.law}》第{self.article}条"


@dataclass(frozen=True)
class CheckItem:
    code: str
    text: str
    department: str  # a key of DEPARTMENT_KINDS
    basis: LegalBasis


@dataclass(frozen=True)
class Scenario:
    code: str
    name: str
    description: str
    items: tuple[CheckItem, ...]

    @property
    def departments(self) -> tuple[str, ...]:
        """The department kinds of its items, in the order they first appear."""
        return tuple(dict.fromkeys(item.department for item in self.items))


@dataclass(frozen=True)
class Library:
    items: Mapping[str, CheckItem]
    scenarios: Mapping[str, Scenario]


def parse_library(document: Any) -> Library:
    """The library of a decoded JSON document, checked whole."""
    if not isinstance(document, dict) or document.get("format") != LIBRARY_FORMAT:
        raise BadLibraryError(f"not a library: format must be {LIBRARY_FORMAT!r}")
    items: dict[str, CheckItem] = {}
    for raw in _list(document, "items", "the library"):
        item = _parse_item(raw)
        if item.code in items:
            raise BadLibraryError(f"item {item.code!r}: duplicate code")
        items[item.code] = item
    scenarios: dict[str, Scenario] = {}
    for raw in _list(document, "scenarios", "the library"):
        scenario = _parse_scenario(raw, items)
        if scenario.code in scenarios:
            raise BadLibraryError(f"scenario {scenario.code!r}: duplicate code")
        scenarios[scenario.code] = scenario
    if not scenarios:
        raise BadLibraryError("the library has no scenario")
    return Library(MappingProxyType(items), MappingProxyType(scenarios))


def _parse_item(raw: Any) -> CheckItem:
    code = _text(raw, "code", "an item")
    where = f"item {code!r}"
    department = _text(raw, "department", where)
    if department not in DEPARTMENT_KINDS:
        raise BadLibraryError(f"{where}: unknown department kind {department!r}")
    basis = raw.get("basis")
    if not isinstance(basis, dict):
        raise BadLibraryError(f"{where}: no legal basis")
    article = basis.get("article")
    if not isinstance(article, int) or isinstance(article, bool) or article < 1:
        raise BadLibraryError(f"{where}: the basis's article must be a number ≥ 1")
    verified = basis.get("verified", True)
    if not isinstance(verified, bool):
        raise BadLibraryError(f"{where}: the basis's verified must be true or false")
    return CheckItem(
        code=code,
        text=_text(raw, "text", where),
        department=department,
        basis=LegalBasis(_text(basis, "law", where), article, verified),
    )


def _parse_scenario(raw: Any, items: Mapping[str, CheckItem]) -> Scenario:
    code = _text(raw, "code", "a scenario")
    where = f"scenario {code!r}"
    codes = _list(raw, "items", where)
    if len(set(codes)) != len(codes):
        raise BadLibraryError(f"{where}: an item is listed twice")
    resolved = []
    for item_code in codes:
        if item_code not in items:
            raise BadLibraryError(f"{where}: unknown item {item_code!r}")
        resolved.append(items[item_code])
    scenario = Scenario(
        code=code,
        name=_text(raw, "name", where),
        description=_text(raw, "description", where),
        items=tuple(resolved),
    )
    if len(scenario.departments) < MIN_DEPARTMENT_KINDS:
        raise BadLibraryError(
            f"{where}: items of {MIN_DEPARTMENT_KINDS} department kinds at least are needed"
        )
    return scenario


def _text(raw: Any, key: str, where: str) -> str:
    value = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise BadLibraryError(f"{where}: {key} must be a non-empty string")
    return value


def _list(raw: Any, key: str, where: str) -> list[Any]:
    value = raw.get(key)
    if not isinstance(value, list):
        raise BadLibraryError(f"{where}: {key} must be a list")
    return value


@cache
def library() -> Library:
    """The shipped library (read and checked once per process)."""
    text = resources.files(__package__).joinpath(LIBRARY_RESOURCE).read_text("utf-8")
    return parse_library(json.loads(text))


def by_code(code: str) -> Scenario:
    """The shipped scenario ``code``; :class:`KeyError` naming it when there is none."""
    try:
        return library().scenarios[code]
    except KeyError:
        raise KeyError(f"no scenario {code!r}") from None


def items_for(
    scenario: Scenario | str, departments: frozenset[str] | set[str] | None = None
) -> tuple[CheckItem, ...]:
    """The scenario's items, all or only those of the given department kinds (an unknown
    kind is refused rather than matching nothing)."""
    chosen = by_code(scenario) if isinstance(scenario, str) else scenario
    if departments is None:
        return chosen.items
    unknown = set(departments) - set(DEPARTMENT_KINDS)
    if unknown:
        raise ValueError(f"unknown department kinds: {', '.join(sorted(unknown))}")
    return tuple(item for item in chosen.items if item.department in departments)
