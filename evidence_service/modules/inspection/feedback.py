"""评价反馈: what joint inspection changed, per department and per region, for one year.

"Before" counts what the departments would have done alone: each department of a recorded
joint visit would have entered the enterprise once itself, so a visit by three departments
stands for three separate inspections. "After" counts the joint visits. Per enterprise
visited, ``inspections_before`` = separate department inspections ÷ enterprises and
``inspections_after`` = joint visits ÷ enterprises; ``reduction`` = 1 − after ÷ before (the
seed's Jiaxing figure, "over 50 % fewer", is this ratio). Tasks count by state, findings by
result, warnings by how they ended. Regions are the registering authority's GB/T 2260 code
(characters 3–8 of the credit code).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import Connection, func, select

from evidence_service.modules.inspection import models as m


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _visits(entries: list[tuple[str, int]]) -> dict[str, Any]:
    """(enterprise, departments) of each recorded visit → the before/after figures."""
    enterprises = len({e for e, _ in entries})
    before = sum(n for _, n in entries)
    after = len(entries)
    return {
        "enterprises_visited": enterprises,
        "joint_visits": after,
        "department_inspections_replaced": before,
        "inspections_before": _ratio(before, enterprises),
        "inspections_after": _ratio(after, enterprises),
        "reduction": round(1 - after / before, 4) if before else None,
    }


def feedback(conn: Connection, year: int) -> dict[str, Any]:
    tasks = conn.execute(
        select(m.task.c.id, m.task.c.credit_code, m.task.c.state, m.enterprise.c.region)
        .join(m.enterprise, m.enterprise.c.credit_code == m.task.c.credit_code)
        .where(m.task.c.year == year)
    ).all()
    members: dict[str, list[str]] = defaultdict(list)
    for task_id, department_id in conn.execute(
        select(m.task_department.c.task_id, m.task_department.c.department_id)
        .join(m.task, m.task.c.id == m.task_department.c.task_id)
        .where(m.task.c.year == year)
    ):
        members[task_id].append(department_id)

    recorded = [t for t in tasks if t.state in ("recorded", "closed")]
    by_region: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for t in recorded:
        by_region[t.region].append((t.credit_code, len(members[t.id])))

    states_by_dept: dict[str, Counter[str]] = defaultdict(Counter)
    for t in tasks:
        for d in members[t.id]:
            states_by_dept[d][t.state] += 1
    results_by_dept: dict[str, Counter[str]] = defaultdict(Counter)
    for department_id, result, count in conn.execute(
        select(m.finding.c.department_id, m.finding.c.result, func.count())
        .join(m.task, m.task.c.id == m.finding.c.task_id)
        .where(m.task.c.year == year)
        .group_by(m.finding.c.department_id, m.finding.c.result)
    ):
        results_by_dept[department_id][result] = count
    follow_by_dept: dict[str, Counter[str]] = defaultdict(Counter)
    for department_id, state, count in conn.execute(
        select(m.follow_up.c.department_id, m.follow_up.c.state, func.count())
        .join(m.task, m.task.c.id == m.follow_up.c.task_id)
        .where(m.task.c.year == year)
        .group_by(m.follow_up.c.department_id, m.follow_up.c.state)
    ):
        follow_by_dept[department_id][state] = count

    departments = sorted(set(states_by_dept) | set(results_by_dept))
    warnings: Counter[str] = Counter(
        dict(
            conn.execute(select(m.warning.c.state, func.count()).group_by(m.warning.c.state)).all()
        )
    )
    return {
        "year": year,
        "totals": {
            **_visits([(t.credit_code, len(members[t.id])) for t in recorded]),
            "tasks": dict(Counter(t.state for t in tasks)),
            "warnings": {s: warnings.get(s, 0) for s in m.WARNING_STATES},
        },
        "regions": [
            {"region": region, **_visits(entries)} for region, entries in sorted(by_region.items())
        ],
        "departments": [
            {
                "department_id": d,
                "tasks": dict(states_by_dept[d]),
                "findings": dict(results_by_dept[d]),
                "follow_ups": dict(follow_by_dept[d]),
            }
            for d in departments
        ],
    }
