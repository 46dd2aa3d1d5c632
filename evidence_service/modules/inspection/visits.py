"""One visit, shared evidence, one signed record (docs/modules/inspection.md, "The visit").

During the visit each department records its finding on each of its check items, citing the
evidence its inspectors captured through the core's ports. A reviewer of each department then
shares that evidence with every other participating department through the core's transfer
(so nobody captures the same fact twice). When every item has a finding and every item of
evidence is shared, the lead department's reviewer makes the record (检查记录): a JSON document
captured through the core's electronic-data port — stored, signed, anchored — and asks every
participating department to co-sign it with one BLS aggregate (the core's co-signature, each
department consenting by its own reviewer). When the last one approves, the task is
``recorded``, its result is published without personal data, and each non-compliant finding
opens a follow-up (a rectification or a penalty case) in the department that owns the item.

This file is the database side (SQL over a Connection, no HTTP); ``visits_api.py`` talks to
the core.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection import risk, scenarios, signals
from evidence_service.modules.inspection.common import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    new_id,
)

RECORD_FORMAT = "inspection-record/1"
RESULT_FORMAT = "inspection-result/1"
#: Days a rectification is given by default (a locality sets its own per item later).
RECTIFICATION_DAYS = 30
FINDING_STATES = ("scheduled", "visited")


@dataclass(frozen=True)
class Visit:
    """A task as the visit sees it: its row and its departments (the lead first)."""

    row: Any
    departments: tuple[str, ...]

    @property
    def lead(self) -> str:
        return str(self.row.lead_department)


def load(conn: Connection, task_id: str, *, for_update: bool = False) -> Visit:
    query = select(m.task).where(m.task.c.id == task_id)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    if row is None:
        raise NotFoundError(f"no task {task_id}")
    others = conn.execute(
        select(m.task_department.c.department_id)
        .where(m.task_department.c.task_id == task_id)
        .order_by(m.task_department.c.joined_at, m.task_department.c.department_id)
    ).scalars()
    ordered = [row.lead_department, *(d for d in others if d != row.lead_department)]
    return Visit(row, tuple(ordered))


def require_participant(visit: Visit, department_id: str) -> None:
    """Only the task's departments act on its visit (another's answer is 404, as unseen)."""
    if department_id not in visit.departments:
        raise NotFoundError(f"no task {visit.row.id}")


def _bump(conn: Connection, visit: Visit, now: datetime, **values: Any) -> None:
    conn.execute(
        m.task.update()
        .where(m.task.c.id == visit.row.id)
        .values(version=visit.row.version + 1, updated_at=now, **values)
    )


def put_finding(
    conn: Connection,
    visit: Visit,
    *,
    item_code: str,
    department_id: str,
    result: str,
    note: str | None,
    evidence_ids: Sequence[str],
    follow_up: str,
    officer_id: str,
    now: datetime,
) -> None:
    """Record (or replace) the department's finding on one of its items; the first finding
    marks the task visited."""
    require_participant(visit, department_id)
    if visit.row.state not in FINDING_STATES:
        raise ConflictError(
            f"the task is {visit.row.state}; findings are recorded when it is scheduled or "
            "being visited"
        )
    item = conn.execute(
        select(m.task_item).where(
            m.task_item.c.task_id == visit.row.id, m.task_item.c.item_code == item_code
        )
    ).first()
    if item is None or not item.included:
        raise NotFoundError(f"the task has no check item {item_code}")
    if item.department_id != department_id:
        raise ForbiddenError(f"item {item_code} is checked by department {item.department_id}")
    values = {
        "department_id": department_id,
        "result": result,
        "note": note,
        "evidence_ids": list(evidence_ids),
        "follow_up": follow_up if result == "non_compliant" else "none",
        "recorded_by": officer_id,
        "recorded_at": now,
    }
    done = conn.execute(
        m.finding.update()
        .where(m.finding.c.task_id == visit.row.id, m.finding.c.item_code == item_code)
        .values(**values)
    ).rowcount
    if not done:
        conn.execute(m.finding.insert().values(task_id=visit.row.id, item_code=item_code, **values))
    _bump(conn, visit, now, state="visited")


def findings(conn: Connection, task_id: str) -> list[Any]:
    return list(
        conn.execute(
            select(m.finding).where(m.finding.c.task_id == task_id).order_by(m.finding.c.item_code)
        )
    )


def shared(conn: Connection, task_id: str) -> set[tuple[str, str]]:
    """(evidence id, recipient department) pairs already transferred."""
    rows = conn.execute(
        select(m.share.c.evidence_id, m.share.c.to_department).where(m.share.c.task_id == task_id)
    )
    return {(e, d) for e, d in rows}


def unshared(
    conn: Connection, visit: Visit, from_department: str | None = None
) -> dict[tuple[str, str], list[str]]:
    """Per (sending, receiving) department, the evidence of the sender's findings not yet
    transferred to the receiver (``from_department`` alone, or every department)."""
    done = shared(conn, visit.row.id)
    owed: dict[tuple[str, str], list[str]] = {}
    for f in findings(conn, visit.row.id):
        if from_department is not None and f.department_id != from_department:
            continue
        for to in visit.departments:
            if to == f.department_id:
                continue
            for evidence_id in f.evidence_ids:
                pending = owed.setdefault((f.department_id, to), [])
                if (evidence_id, to) not in done and evidence_id not in pending:
                    pending.append(evidence_id)
    return {pair: ids for pair, ids in owed.items() if ids}


def record_shares(
    conn: Connection,
    task_id: str,
    *,
    from_department: str,
    to_department: str,
    evidence_ids: Sequence[str],
    transfer_id: str,
    officer_id: str,
    now: datetime,
) -> None:
    done = shared(conn, task_id)
    rows = [
        {
            "task_id": task_id,
            "evidence_id": evidence_id,
            "to_department": to_department,
            "from_department": from_department,
            "transfer_id": transfer_id,
            "shared_by": officer_id,
            "shared_at": now,
        }
        for evidence_id in evidence_ids
        if (evidence_id, to_department) not in done
    ]
    if rows:
        conn.execute(m.share.insert(), rows)


def ready_to_record(conn: Connection, visit: Visit) -> None:
    """409 unless the task is visited, every included item has a finding and every item of
    evidence reached every other department."""
    if visit.row.state != "visited":
        raise ConflictError(f"the task is {visit.row.state}; a record follows the visit")
    current = conn.execute(select(m.record.c.state).where(m.record.c.task_id == visit.row.id))
    standing = current.scalar_one_or_none()
    if standing in ("signing", "signed"):
        raise ConflictError(f"the task's record is already {standing}")
    items = conn.execute(
        select(m.task_item.c.item_code).where(
            m.task_item.c.task_id == visit.row.id, m.task_item.c.included.is_(True)
        )
    ).scalars()
    found = {f.item_code for f in findings(conn, visit.row.id)}
    missing = sorted(set(items) - found)
    if missing:
        raise ConflictError(
            f"{len(missing)} check item(s) have no finding yet", missing_items=missing[:100]
        )
    owed = unshared(conn, visit)
    if owed:
        raise ConflictError(
            "evidence is not yet shared with every department: a reviewer of each department "
            "shares its own (POST …/share)",
            unshared=[
                {"from": sender, "to": receiver, "evidence_ids": ids[:50]}
                for (sender, receiver), ids in owed.items()
            ],
        )


def record_document(
    conn: Connection,
    visit: Visit,
    *,
    enterprise: Mapping[str, Any],
    inspectors: Sequence[Mapping[str, Any]],
    made_at: datetime,
) -> dict[str, Any]:
    """The 检查记录 every department co-signs: items with their findings and evidence, the
    inspectors (officer and 执法证), the enterprise. Not published as such (it may name
    people); :func:`public_result` is."""
    library = scenarios.library()
    scenario = library.scenarios.get(visit.row.scenario)
    by_item = {f.item_code: f for f in findings(conn, visit.row.id)}
    items = []
    for code in sorted(by_item):
        f = by_item[code]
        item = library.items.get(code)
        items.append(
            {
                "code": code,
                "text": item.text if item else code,
                "basis": str(item.basis) if item else None,
                "department_id": f.department_id,
                "result": f.result,
                "note": f.note,
                "evidence_ids": list(f.evidence_ids),
                "follow_up": f.follow_up,
            }
        )
    return {
        "format": RECORD_FORMAT,
        "task_id": visit.row.id,
        "draw_id": visit.row.draw_id,
        "enterprise": dict(enterprise),
        "scenario": {"code": visit.row.scenario, "name": scenario.name if scenario else None},
        "visited_on": visit.row.planned_on.isoformat() if visit.row.planned_on else None,
        "departments": list(visit.departments),
        "inspectors": [dict(i) for i in inspectors],
        "items": items,
        "made_at": made_at.isoformat(),
    }


def public_result(
    document: Mapping[str, Any], department_names: Mapping[str, str]
) -> dict[str, Any]:
    """What is published (结果公示): the enterprise, the departments, each item's result —
    no inspector, no note, no evidence id (each may name a person)."""
    items = [
        {
            "code": i["code"],
            "text": i["text"],
            "basis": i["basis"],
            "department": department_names.get(i["department_id"], i["department_id"]),
            "result": i["result"],
        }
        for i in document["items"]
    ]
    return {
        "format": RESULT_FORMAT,
        "task_id": document["task_id"],
        "draw_id": document["draw_id"],
        "enterprise": {
            "credit_code": document["enterprise"]["credit_code"],
            "name": document["enterprise"]["name"],
        },
        "scenario": document["scenario"],
        "visited_on": document["visited_on"],
        "departments": [department_names.get(d, d) for d in document["departments"]],
        "items": items,
        "non_compliant": sum(1 for i in items if i["result"] == "non_compliant"),
    }


def store_record(
    conn: Connection,
    visit: Visit,
    *,
    evidence_id: str,
    digest: str,
    cosignature_id: str,
    published: Mapping[str, Any],
    officer_id: str,
    now: datetime,
) -> None:
    values = {
        "evidence_id": evidence_id,
        "digest": digest,
        "cosignature_id": cosignature_id,
        "state": "signing",
        "document": dict(published),
        "requested_by": officer_id,
        "requested_at": now,
        "signed_at": None,
    }
    done = conn.execute(
        m.record.update().where(m.record.c.task_id == visit.row.id).values(**values)
    ).rowcount
    if not done:
        conn.execute(m.record.insert().values(task_id=visit.row.id, **values))
    _bump(conn, visit, now)


def settle_record(
    conn: Connection,
    visit: Visit,
    *,
    status: str,
    now: datetime,
    today: date,
    settings: risk.RiskSettings,
) -> str:
    """The co-signature's outcome: ``complete`` signs the record, records the task, opens the
    follow-ups, resolves the warning and scores the enterprise again with each non-compliant
    finding as a signal (``inspection_finding``: serious, grave when it calls for a penalty
    case); ``declined``/``expired`` end the attempt (the lead may make a new record). Returns
    the record's state."""
    current = conn.execute(
        select(m.record.c.state).where(m.record.c.task_id == visit.row.id)
    ).scalar_one_or_none()
    if current != "signing" or status == "pending":
        return str(current)
    if status != "complete":
        conn.execute(
            m.record.update().where(m.record.c.task_id == visit.row.id).values(state=status)
        )
        _bump(conn, visit, now)
        return status
    conn.execute(
        m.record.update()
        .where(m.record.c.task_id == visit.row.id)
        .values(state="signed", signed_at=now)
    )
    _bump(conn, visit, now, state="recorded")
    follow_ups = [
        {
            "id": new_id(),
            "task_id": visit.row.id,
            "item_code": f.item_code,
            "department_id": f.department_id,
            "credit_code": visit.row.credit_code,
            "kind": "penalty" if f.follow_up == "penalty" else "rectification",
            "state": "open",
            "core_case_id": None,
            "due_on": today + timedelta(days=RECTIFICATION_DAYS),
            "note": f.note,
            "created_at": now,
            "closed_at": None,
            "closed_by": None,
        }
        for f in findings(conn, visit.row.id)
        if f.result == "non_compliant"
    ]
    if follow_ups:
        conn.execute(m.follow_up.insert(), follow_ups)
        found = [
            signals.SignalIn(
                credit_code=visit.row.credit_code,
                kind="inspection_finding",
                severity=3 if f["kind"] == "penalty" else 2,
                at=now,
                source="inspection",
                ref=f"{visit.row.id}:{f['item_code']}",
                note=None,
            )
            for f in follow_ups
        ]
        maker = conn.execute(
            select(m.record.c.requested_by).where(m.record.c.task_id == visit.row.id)
        ).scalar_one()  # the lead's reviewer, who made the record
        signals.record(conn, found, posted_by=maker, now=now, settings=settings)
    if visit.row.warning_id:
        conn.execute(
            m.warning.update()
            .where(m.warning.c.id == visit.row.warning_id)
            .values(state="resolved", updated_at=now, closed_note="联合检查已完成")
        )
    return "signed"
