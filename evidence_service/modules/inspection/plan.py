"""From the directory to a draw's commitment (docs/draw-format.md §1): who may be drawn, how
many per risk class, and who may inspect them — decided before the seed exists.

The populations are the enterprises of each credit-risk class, in the order of
:data:`RISK_CLASSES` (high first), each sorted by its UTF-8 bytes as the format requires. ``k``
is the class's ratio of its population, rounded up (a ratio is a floor: "不低于 3%"), the
ratios being configuration (默认 100 / 20 / 8 / 4 / 1 %, as Henan's credit-risk system
published them; ANCHORS.md §2.2). Two kinds of enterprise are left out of every population
*before* the commitment exists, each with its reason, so that no drawn enterprise can be refused
after the seed is known:

- ``at-cap``: it has had the published annual number of inspections already (国办发〔2024〕54号:
  a published cap on inspection frequency per enterprise);
- ``too-few-inspectors``: for some department, the pool minus the officers with a conflict of
  interest with it holds fewer than ``per_department`` (rule 6 of §1).

The pools are the inspecting departments' officers, sorted; conflicts are the pairs that name a
member of some population and of some pool, sorted. The commitment this builds is checked by
:meth:`Commitment.from_json` before it is returned, so a plan never yields one that the service
would refuse to commit. Pure: no clock, no I/O, no randomness.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

from evidence_service.modules.inspection.directory import Inspector
from evidence_service.modules.inspection.draw import COMMITMENT_FORMAT, Commitment

RISK_CLASSES = ("high", "medium_high", "medium", "medium_low", "low")
DEFAULT_RATIOS: Mapping[str, str] = {
    "high": "1",
    "medium_high": "0.2",
    "medium": "0.08",
    "medium_low": "0.04",
    "low": "0.01",
}
AT_CAP, TOO_FEW = "at-cap", "too-few-inspectors"


class Drawable(Protocol):
    """What a draw needs of an enterprise (a directory row, or a ``directory.Enterprise``)."""

    @property
    def credit_code(self) -> str: ...

    @property
    def risk_class(self) -> str: ...


class PlanError(ValueError):
    """The plan cannot make a commitment (no inspecting department, a bad ratio…)."""


@dataclass(frozen=True)
class DrawTarget:
    """What the commitment names besides the populations: the draw, the chain, the block."""

    draw_id: str
    task: str
    chain_id: int
    registry: str  # EIP-55
    target_block: int


@dataclass(frozen=True)
class Plan:
    commitment: dict[str, Any]
    left_out: tuple[tuple[str, str], ...]  # (credit code, AT_CAP or TOO_FEW), sorted


def _utf8(value: str) -> bytes:
    return value.encode("utf-8")


def _ratio(value: str, risk_class: str) -> Fraction:
    try:
        ratio = Fraction(value)
    except (ValueError, ZeroDivisionError) as exc:
        raise PlanError(f"ratio of {risk_class}: not a number ({value!r})") from exc
    if not 0 <= ratio <= 1:
        raise PlanError(f"ratio of {risk_class}: {value} is not between 0 and 1")
    return ratio


def plan_draw(
    target: DrawTarget,
    enterprises: Sequence[Drawable],
    inspectors: Sequence[Inspector],
    departments: Sequence[str],
    *,
    per_department: int = 1,
    ratios: Mapping[str, str] = DEFAULT_RATIOS,
    inspections_this_year: Mapping[str, int] | None = None,
    annual_cap: int | None = None,
) -> Plan:
    """The commitment of a draw over ``enterprises`` inspected by ``departments`` (in that
    order), and the enterprises left out of it with their reasons."""
    if not departments:
        raise PlanError("name at least one inspecting department")
    unknown = set(ratios) - set(RISK_CLASSES)
    if unknown:
        raise PlanError(f"ratios for unknown risk classes: {', '.join(sorted(unknown))}")
    fractions = {rc: _ratio(ratios.get(rc, "0"), rc) for rc in RISK_CLASSES}
    pools: dict[str, list[str]] = {d: [] for d in departments}
    conflicts: dict[str, set[str]] = {}
    for inspector in inspectors:
        if inspector.department_id in pools:
            pools[inspector.department_id].append(inspector.officer_id)
            for code in inspector.conflicts:
                conflicts.setdefault(code, set()).add(inspector.officer_id)
    for pool in pools.values():
        pool.sort(key=_utf8)
    done = inspections_this_year or {}
    # each pool as a set too: an enterprise's conflicts are few, its pools large (officer ids
    # are unique in the roster), so count the barred members rather than scan each pool
    pool_sets = [(len(pool), set(pool)) for pool in pools.values()]
    left_out: list[tuple[str, str]] = []
    by_class: dict[str, list[str]] = {rc: [] for rc in RISK_CLASSES}
    for enterprise in enterprises:
        code = enterprise.credit_code
        if annual_cap is not None and done.get(code, 0) >= annual_cap:
            left_out.append((code, AT_CAP))
            continue
        barred = conflicts.get(code, set())
        if any(size - len(barred & pool) < per_department for size, pool in pool_sets):
            left_out.append((code, TOO_FEW))
            continue
        by_class[enterprise.risk_class].append(code)
    populations = {rc: sorted(by_class[rc], key=_utf8) for rc in RISK_CLASSES}
    strata = [
        {
            "name": rc,
            "population": populations[rc],
            "k": math.ceil(fractions[rc] * len(populations[rc])),
        }
        for rc in RISK_CLASSES
    ]
    members = {code for population in populations.values() for code in population}
    officers = {o for pool in pools.values() for o in pool}
    pairs = sorted(
        (
            [code, officer]
            for code in members
            for officer in conflicts.get(code, ())
            if officer in officers
        ),
        key=lambda pair: (_utf8(pair[0]), _utf8(pair[1])),
    )
    commitment = {
        "format": COMMITMENT_FORMAT,
        "draw_id": target.draw_id,
        "task": target.task,
        "chain_id": target.chain_id,
        "registry": target.registry,
        "target_block": target.target_block,
        "strata": strata,
        "departments": list(departments),
        "per_department": per_department,
        "pools": pools,
        "conflicts": pairs,
    }
    Commitment.from_json(commitment)  # the service never commits what a verifier refuses
    return Plan(commitment, tuple(sorted(left_out, key=lambda item: _utf8(item[0]))))
