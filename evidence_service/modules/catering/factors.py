"""The factor table: which HJ 212 codes the catering monitors send, and what they mean.

A factor is a code as it appears in CP (``a34041-Rtd=…``), its Chinese and English names, its
unit, its kind (:data:`KINDS`), its role for the alarm rules (:data:`ROLES`, optional,
each role at most once), the plausible range of its values, and whether the code is
*verified* against a published source, with a note saying where it comes from. The table ships
as ``factors.json`` (format ``catering-factors/1``); a locality replaces it with its vendors'
codes. No published HJ 212 code for 油烟 was found (``domain/ANCHORS.md`` §3.2), so every code
in the default table is marked unverified; the catering-specific ones (``cy…``) are project
defaults.

The plausible range is about what a sensor can physically report, not about the legal limit:
a value outside it is a broken sensor or a forged frame (validation refuses it as
``implausible-value``), while a value above the limit is a finding.

:func:`load_factors` validates a table (shape, unique codes and roles, known kinds and roles,
``min < max``) and
raises :class:`FactorTableError` naming the entry and field at fault.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

TABLE_FORMAT = "catering-factors/1"
TABLE_RESOURCE = "factors.json"
MAX_TABLE_BYTES = 256 * 1024
KINDS = ("concentration", "current", "state", "level", "alarm")
#: What the alarm rules call a factor (``alarms.READING_KINDS``, repeated here so the table is
#: checked without importing the rules).
ROLES = (
    "oil-fume",
    "particulates",
    "nmhc",
    "fan-current",
    "purifier-current",
    "fan-state",
    "purifier-state",
    "grease-level",
    "gas-alarm",
)
_FIELDS = (
    "code",
    "name_zh",
    "name_en",
    "unit",
    "kind",
    "role",
    "min",
    "max",
    "verified",
    "source",
)
_OPTIONAL = frozenset({"role"})
_CODE = re.compile(r"[A-Za-z0-9_]{1,20}\Z")


class FactorTableError(ValueError):
    """A factor table breaks a rule above; the message names the entry and the field."""


@dataclass(frozen=True)
class Factor:
    code: str
    name_zh: str
    name_en: str
    unit: str
    kind: str
    role: str | None
    min: float
    max: float
    verified: bool
    source: str

    def plausible(self, value: float) -> bool:
        """Whether ``value`` lies in ``[min, max]``."""
        return self.min <= value <= self.max

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}


@dataclass(frozen=True)
class FactorTable:
    """Factors by code, in the table's order."""

    factors: Mapping[str, Factor]

    def __contains__(self, code: object) -> bool:
        return code in self.factors

    def __iter__(self) -> Iterator[Factor]:
        return iter(self.factors.values())

    def __len__(self) -> int:
        return len(self.factors)

    def get(self, code: str) -> Factor | None:
        return self.factors.get(code)

    def rules(self) -> dict[str, str]:
        """``{code: role}`` for the factors the alarm rules judge."""
        return {f.code: f.role for f in self if f.role is not None}

    def as_json(self) -> dict[str, Any]:
        """What ``GET /api/v1/catering/factors`` serves."""
        return {"format": TABLE_FORMAT, "factors": [f.as_json() for f in self]}


def load_factors(path: Path | None = None) -> FactorTable:
    """The table at ``path``, or the shipped default; :class:`FactorTableError` if invalid."""
    if path is None:
        raw = resources.files(__name__.rpartition(".")[0]).joinpath(TABLE_RESOURCE).read_bytes()
        where = f"the shipped {TABLE_RESOURCE}"
    else:
        with path.open("rb") as stream:
            raw = stream.read(MAX_TABLE_BYTES + 1)
        where = str(path)
    if len(raw) > MAX_TABLE_BYTES:
        raise FactorTableError(f"{where} is over {MAX_TABLE_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FactorTableError(f"{where} is not JSON: {exc}") from exc
    return table_from_json(document)


def table_from_json(document: Any) -> FactorTable:
    """A :class:`FactorTable` from a parsed ``catering-factors/1`` document."""
    if not isinstance(document, dict) or document.get("format") != TABLE_FORMAT:
        raise FactorTableError(f'the table must be an object with "format": "{TABLE_FORMAT}"')
    if set(document) != {"format", "factors"}:
        raise FactorTableError('the table has exactly the keys "format" and "factors"')
    entries = document["factors"]
    if not isinstance(entries, list) or not entries:
        raise FactorTableError('"factors" must be a non-empty list')
    factors: dict[str, Factor] = {}
    roles: set[str] = set()
    for index, entry in enumerate(entries):
        factor = _factor(index, entry)
        if factor.code in factors:
            raise FactorTableError(f"factors[{index}]: code {factor.code!r} appears twice")
        if factor.role in roles:
            raise FactorTableError(f"factors[{index}]: role {factor.role!r} appears twice")
        factors[factor.code] = factor
        if factor.role is not None:
            roles.add(factor.role)
    return FactorTable(MappingProxyType(factors))


def _factor(index: int, entry: Any) -> Factor:
    where = f"factors[{index}]"
    if not isinstance(entry, dict):
        raise FactorTableError(f"{where} must be an object")
    if not set(_FIELDS) - _OPTIONAL <= set(entry) <= set(_FIELDS):
        missing = sorted(set(_FIELDS) - _OPTIONAL - set(entry))
        extra = sorted(set(entry) - set(_FIELDS))
        raise FactorTableError(f"{where}: missing {missing}, unknown {extra}")
    for name in ("code", "name_zh", "name_en", "unit", "kind", "source"):
        if not isinstance(entry[name], str):
            raise FactorTableError(f"{where}.{name} must be a string")
    where = f"{where} ({entry['code']!r})"
    if not _CODE.match(entry["code"]):
        raise FactorTableError(f"{where}.code must be 1–20 letters, digits or '_'")
    for name in ("name_zh", "name_en", "source"):
        if not entry[name].strip():
            raise FactorTableError(f"{where}.{name} must not be empty")
    if entry["kind"] not in KINDS:
        raise FactorTableError(f"{where}.kind {entry['kind']!r} is not one of {', '.join(KINDS)}")
    role = entry.get("role")
    if role is not None and role not in ROLES:
        raise FactorTableError(f"{where}.role {role!r} is not null or one of {', '.join(ROLES)}")
    for name in ("min", "max"):
        value = entry[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise FactorTableError(f"{where}.{name} must be a finite number")
    if not entry["min"] < entry["max"]:
        raise FactorTableError(f"{where}: min {entry['min']} must be below max {entry['max']}")
    if not isinstance(entry["verified"], bool):
        raise FactorTableError(f"{where}.verified must be true or false")
    return Factor(
        code=entry["code"],
        name_zh=entry["name_zh"],
        name_en=entry["name_en"],
        unit=entry["unit"],
        kind=entry["kind"],
        role=role,
        min=entry["min"],
        max=entry["max"],
        verified=entry["verified"],
        source=entry["source"],
    )
