"""From the directory to a draw's commitment: populations by risk class with their ratios
rounded up, enterprises at the annual cap or without enough unconflicted inspectors left out
before the seed exists, pools and conflicts as the format wants them — and a draw of the plan
never picks a left-out enterprise nor an inspector with a conflict."""

from __future__ import annotations

import hashlib

import pytest

from evidence_service.modules.inspection.directory import Enterprise, Inspector
from evidence_service.modules.inspection.draw import BadCommitmentError, Commitment, compute_result
from evidence_service.modules.inspection.plan import (
    AT_CAP,
    TOO_FEW,
    DrawTarget,
    PlanError,
    plan_draw,
)
from evidence_service.modules.kit.credit_code import (
    check_character,
    is_valid,
    organisation_check_character,
)

TARGET = DrawTarget(
    draw_id="01JDRAW0000000000000000001",
    task="嘉兴市 2026 年度联合抽查",
    chain_id=1337,
    registry="0x5FbDB2315678afecb367f032d93F642f64180aa3",
    target_block=120,
)
CLASSES = ["high"] * 3 + ["medium_high"] * 10 + ["medium"] * 25 + ["low"] * 150


def code(n: int) -> str:
    """A valid 统一社会信用代码 numbered ``n`` (region 330400, Jiaxing)."""
    organisation = f"{n:08d}"
    first17 = "91330400" + organisation + organisation_check_character(organisation)
    made = first17 + check_character(first17)
    assert is_valid(made)
    return made


def enterprise(n: int, risk_class: str) -> Enterprise:
    return Enterprise(code(n), f"企业{n}", "嘉兴市南湖区", "餐饮", "small", risk_class)  # type: ignore[arg-type]


ENTERPRISES = [enterprise(n, rc) for n, rc in enumerate(CLASSES, start=1)]
INSPECTORS = [
    Inspector("SJ-1", "D-SJ", "33040001", conflicts=(code(1),)),
    Inspector("SJ-2", "D-SJ", "33040002"),
    Inspector("SJ-3", "D-SJ", "33040003"),
    Inspector("XF-1", "D-XF", "33040101", conflicts=(code(2),)),
    Inspector("XF-2", "D-XF", "33040102", conflicts=(code(2),)),
    Inspector("OTHER", "D-OTHER", "33040201", conflicts=(code(3),)),
]


def test_populations_ratios_pools_and_conflicts() -> None:
    plan = plan_draw(TARGET, ENTERPRISES, INSPECTORS, ["D-SJ", "D-XF"])
    commitment = plan.commitment
    strata = {s["name"]: s for s in commitment["strata"]}
    assert [s["name"] for s in commitment["strata"]] == [
        "high", "medium_high", "medium", "medium_low", "low",
    ]  # fmt: skip
    # code(2) has no unconflicted fire inspector: left out before the commitment exists
    assert plan.left_out == ((code(2), TOO_FEW),)
    assert strata["high"]["population"] == [code(1), code(3)] and strata["high"]["k"] == 2
    assert (len(strata["medium_high"]["population"]), strata["medium_high"]["k"]) == (10, 2)
    assert (len(strata["medium"]["population"]), strata["medium"]["k"]) == (25, 2)  # ⌈2.0⌉
    assert (strata["medium_low"]["population"], strata["medium_low"]["k"]) == ([], 0)
    assert (len(strata["low"]["population"]), strata["low"]["k"]) == (150, 2)  # ⌈1.5⌉
    for stratum in commitment["strata"]:
        population = stratum["population"]
        assert population == sorted(population, key=lambda c: c.encode())
    assert commitment["pools"] == {"D-SJ": ["SJ-1", "SJ-2", "SJ-3"], "D-XF": ["XF-1", "XF-2"]}
    # only pairs of a drawn population and a pool: OTHER's department does not inspect
    assert commitment["conflicts"] == [[code(1), "SJ-1"]]
    Commitment.from_json(commitment)


def test_enterprises_at_the_annual_cap_are_left_out() -> None:
    done = {code(1): 2, code(4): 1, code(5): 3}
    plan = plan_draw(
        TARGET, ENTERPRISES, INSPECTORS, ["D-SJ", "D-XF"],
        inspections_this_year=done, annual_cap=2,
    )  # fmt: skip
    assert dict(plan.left_out) == {code(1): AT_CAP, code(2): TOO_FEW, code(5): AT_CAP}
    drawn = {c for s in plan.commitment["strata"] for c in s["population"]}
    assert code(4) in drawn and not drawn & {code(1), code(2), code(5)}
    assert plan.commitment["conflicts"] == []  # code(1)'s conflict went with it


def test_a_draw_of_the_plan_respects_every_exclusion_and_conflict() -> None:
    plan = plan_draw(
        TARGET, ENTERPRISES, INSPECTORS, ["D-SJ", "D-XF"], per_department=1,
        inspections_this_year={code(7): 5}, annual_cap=4,
    )  # fmt: skip
    commitment = Commitment.from_json(plan.commitment)
    left_out = {c for c, _ in plan.left_out}
    barred = {(c, o) for c, o in plan.commitment["conflicts"]}
    for n in range(20):
        result = compute_result(commitment, hashlib.sha256(f"block {n}".encode()).digest())
        selected = [s["enterprise"] for s in result["selected"]]
        assert len(selected) == sum(s["k"] for s in plan.commitment["strata"])
        assert not set(selected) & left_out
        for assignment in result["assignments"]:
            for officer in assignment["inspectors"]:
                assert (assignment["enterprise"], officer) not in barred


def test_bad_plans_are_refused() -> None:
    with pytest.raises(PlanError, match="department"):
        plan_draw(TARGET, ENTERPRISES, INSPECTORS, [])
    with pytest.raises(PlanError, match="between 0 and 1"):
        plan_draw(TARGET, ENTERPRISES, INSPECTORS, ["D-SJ", "D-XF"], ratios={"high": "1.5"})
    with pytest.raises(PlanError, match="not a number"):
        plan_draw(TARGET, ENTERPRISES, INSPECTORS, ["D-SJ", "D-XF"], ratios={"high": "all"})
    with pytest.raises(PlanError, match="unknown risk classes"):
        plan_draw(TARGET, ENTERPRISES, INSPECTORS, ["D-SJ", "D-XF"], ratios={"severe": "1"})
    with pytest.raises(BadCommitmentError) as one_inspector:  # 行政处罚法 art. 42: two at least
        plan_draw(TARGET, ENTERPRISES, INSPECTORS, ["D-SJ"], per_department=1)
    assert one_inspector.value.rule == 2
