"""The problem list (一份问题清单): problems from alarms and from inspections, the restaurant's
rectification (销号), reopening, and escalation to the comprehensive enforcement department.

- **From alarms.** An alarm of a kind in :data:`PROBLEM_KINDS` (the exceedance *warning* is
  only a warning) opens a problem for its restaurant, due ``rectify_days`` later — or, when the
  restaurant's problem of that kind was rectified before, reopens it (``reopened`` counts: the
  readings exceeded again). A problem already open for that kind takes the new alarm as its
  latest cause.
- **From inspections.** Each finding that cost points opens a problem (source
  ``inspection``), citing the inspection and the officer's evidence.
- **Rectification.** The restaurant — a module account, not a role in the core — sends its
  rectification evidence with its own key (``catering_restaurant_key``, issued by an officer of
  its department; only the key's SHA-256 is kept). The module captures the file through the
  core's electronic-data port with its service identity, naming the restaurant and the problem
  in the metadata, and the problem closes citing that item.
- **Escalation.** An alarm's problem still open past its deadline while its alarm is still
  open is queued (``escalation = 'queued'``) for a reviewer of the module's department, who
  transfers its evidence — the anchored device-hours covering the alarm's span, any
  rectification and inspection evidence — with one request to the comprehensive enforcement
  department; the core seals the transfer as it seals every transfer.
- **Signals.** Alarms of these kinds are posted to the joint-inspection module's signals
  (``POST /api/v1/inspection/signals?unknown=skip``, kind ``iot_alarm``) with the service
  identity, so an enterprise's risk score sees them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, select, update
from ulid import ULID

from evidence_service.modules.catering import index
from evidence_service.modules.catering import models as m
from evidence_service.modules.catering.hour_batch import HOUR, hour_of
from evidence_service.modules.kit.db import write_transaction

#: Alarm kinds that open a problem (the exceedance warning does not).
PROBLEM_KINDS = (
    "sustained-exceedance",
    "purifier-off",
    "cleaning-overdue",
    "offline",
    "gas-alarm",
    "tampering",
    "grease-level-high",
)
#: Each kind's title on the problem list.
TITLES = {
    "sustained-exceedance": "油烟持续超标",
    "purifier-off": "风机运行时净化器未开启",
    "cleaning-overdue": "净化设施清洗超期",
    "offline": "在线监测设备离线",
    "gas-alarm": "燃气泄漏报警",
    "tampering": "监测数据疑似被篡改",
    "grease-level-high": "隔油池液位过高",
}
#: How the risk score of joint inspection weighs each kind (its ``severity``, 1–3).
SIGNAL_SEVERITY = {
    "sustained-exceedance": 2,
    "purifier-off": 2,
    "cleaning-overdue": 1,
    "offline": 1,
    "gas-alarm": 3,
    "tampering": 3,
    "grease-level-high": 1,
}
KEY_PREFIX = "cyk_"


class ProblemStateError(ValueError):
    """The problem's state does not allow this (a 409)."""


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue_key(conn: Connection, restaurant_id: str, officer_id: str, now: datetime) -> str:
    """A new rectification key for the restaurant (replacing any earlier one): shown once."""
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    conn.execute(m.restaurant_key.delete().where(m.restaurant_key.c.restaurant_id == restaurant_id))
    conn.execute(
        m.restaurant_key.insert().values(
            restaurant_id=restaurant_id,
            key_sha256=key_digest(key),
            issued_by=officer_id,
            issued_at=now,
        )
    )
    return key


def key_opens(conn: Connection, restaurant_id: str, key: str) -> bool:
    """Whether ``key`` is the restaurant's current rectification key (constant time)."""
    stored = conn.execute(
        select(m.restaurant_key.c.key_sha256).where(
            m.restaurant_key.c.restaurant_id == restaurant_id
        )
    ).scalar()
    return stored is not None and hmac.compare_digest(stored, key_digest(key))


# -- from alarms ----------------------------------------------------------------------------------
def on_alarm_opened(
    conn: Connection,
    *,
    alarm_id: str,
    restaurant_id: str,
    kind: str,
    at: datetime,
    rectify_days: int,
) -> str | None:
    """Open, reopen or refresh the restaurant's problem for this alarm (same transaction as
    the alarm); returns the problem's id, or None for a kind that opens no problem."""
    if kind not in PROBLEM_KINDS:
        return None
    due = at + timedelta(days=rectify_days)
    found = conn.execute(
        select(m.problem.c.id, m.problem.c.state)
        .where(
            m.problem.c.restaurant_id == restaurant_id,
            m.problem.c.source == "alarm",
            m.problem.c.kind == kind,
        )
        .order_by(m.problem.c.opened_at.desc())
        .limit(1)
    ).first()
    if found is not None and found.state == "open":
        conn.execute(update(m.problem).where(m.problem.c.id == found.id).values(alarm_id=alarm_id))
        return str(found.id)
    if found is not None:  # rectified before: the readings exceed again
        conn.execute(
            update(m.problem)
            .where(m.problem.c.id == found.id)
            .values(
                state="open",
                alarm_id=alarm_id,
                reopened=m.problem.c.reopened + 1,
                due_at=due,
                closed_at=None,
                escalation=None,
            )
        )
        return str(found.id)
    problem_id = str(ULID())
    conn.execute(
        m.problem.insert().values(
            id=problem_id,
            restaurant_id=restaurant_id,
            source="alarm",
            kind=kind,
            alarm_id=alarm_id,
            title=TITLES[kind],
            state="open",
            opened_at=at,
            due_at=due,
            reopened=0,
        )
    )
    return problem_id


def queue_overdue(engine: Engine, now: datetime) -> int:
    """Queue for a reviewer each alarm's problem open past its deadline whose alarm is still
    open; returns how many were queued."""
    still_open = (
        select(m.alarm.c.id)
        .where(m.alarm.c.id == m.problem.c.alarm_id, m.alarm.c.state == "open")
        .exists()
    )
    with write_transaction(engine) as conn:
        result = conn.execute(
            update(m.problem)
            .where(
                m.problem.c.source == "alarm",
                m.problem.c.state == "open",
                m.problem.c.escalation.is_(None),
                m.problem.c.due_at < now,
                still_open,
            )
            .values(escalation="queued")
        )
    return int(result.rowcount or 0)


# -- from inspections -------------------------------------------------------------------------
@dataclass(frozen=True)
class FindingIn:
    item: str
    points: float
    critical: bool = False
    note: str = ""


def record_inspection(
    conn: Connection,
    *,
    restaurant: Any,
    inspected_on: date,
    findings: list[FindingIn],
    incident: bool,
    evidence_ids: list[str],
    officer_id: str,
    department_id: str,
    now: datetime,
    rectify_days: int,
) -> dict[str, Any]:
    """Store an inspection with its food-safety score and dynamic grade (``index.py``), and
    open a problem for each finding that cost points."""
    scored = index.Inspection(
        on=inspected_on,
        findings=tuple(index.Finding(f.item, f.points, f.critical) for f in findings),
    )
    licensed = date.fromisoformat(restaurant.licensed_on) if restaurant.licensed_on else None
    incidents = [
        date.fromisoformat(row.inspected_on)
        for row in conn.execute(
            select(m.inspection.c.inspected_on).where(
                m.inspection.c.restaurant_id == restaurant.id, m.inspection.c.incident.is_(True)
            )
        )
    ]
    if incident:
        incidents.append(inspected_on)
    if licensed is not None and inspected_on >= licensed:
        rating = index.rate_inspection(scored, licensed_on=licensed, incidents=incidents)
        grade = rating.grade
    else:  # no licence date known: graded on the score alone
        grade = index.dynamic_grade(index.food_safety_score(scored))
    inspection_id = str(ULID())
    score = index.food_safety_score(scored)
    conn.execute(
        m.inspection.insert().values(
            id=inspection_id,
            restaurant_id=restaurant.id,
            inspected_on=inspected_on.isoformat(),
            officer_id=officer_id,
            department_id=department_id,
            findings=[
                {"item": f.item, "points": f.points, "critical": f.critical, "note": f.note}
                for f in findings
            ],
            incident=incident,
            score=score,
            grade=grade,
            evidence_ids=evidence_ids,
            created_at=now,
        )
    )
    opened = []
    for f in findings:
        if f.points <= 0:
            continue
        problem_id = str(ULID())
        conn.execute(
            m.problem.insert().values(
                id=problem_id,
                restaurant_id=restaurant.id,
                source="inspection",
                kind="inspection",
                inspection_id=inspection_id,
                title=f.item[:200],
                state="open",
                opened_at=now,
                due_at=now + timedelta(days=rectify_days),
                reopened=0,
            )
        )
        opened.append(problem_id)
    return {"id": inspection_id, "score": score, "grade": grade, "problems": opened}


# -- rectification and escalation ------------------------------------------------------------
def close_with_rectification(
    conn: Connection, problem_id: str, evidence_id: str, note: str, now: datetime
) -> None:
    done = conn.execute(
        update(m.problem)
        .where(m.problem.c.id == problem_id, m.problem.c.state == "open")
        .values(
            state="closed",
            closed_at=now,
            rectification_evidence_id=evidence_id,
            rectification_note=note,
            escalation=None,
        )
    )
    if not done.rowcount:
        raise ProblemStateError("the problem was closed meanwhile")


def evidence_of(conn: Connection, problem: Any) -> list[str]:
    """The core's evidence behind a problem: the captured device-hours covering its alarm's
    span, its rectification, and its inspection's evidence — in that order, each once."""
    ids: list[str] = []
    if problem.alarm_id is not None:
        alarm = conn.execute(select(m.alarm).where(m.alarm.c.id == problem.alarm_id)).one()
        first = alarm.span_from or alarm.opened_at
        last = alarm.span_to or alarm.opened_at
        rows = conn.execute(
            select(m.hour.c.evidence_ids)
            .where(
                m.hour.c.mn == alarm.mn,
                m.hour.c.hour_start >= hour_of(first),
                m.hour.c.hour_start < hour_of(last) + HOUR,
            )
            .order_by(m.hour.c.hour_start)
        )
        for row in rows:
            ids.extend(row.evidence_ids or ())
    if problem.rectification_evidence_id:
        ids.append(problem.rectification_evidence_id)
    if problem.inspection_id is not None:
        found = conn.execute(
            select(m.inspection.c.evidence_ids).where(m.inspection.c.id == problem.inspection_id)
        ).scalar()
        ids.extend(found or ())
    return list(dict.fromkeys(ids))


def mark_transferred(
    conn: Connection, problem_id: str, transfer_id: str, officer_id: str, now: datetime
) -> None:
    conn.execute(
        update(m.problem)
        .where(m.problem.c.id == problem_id)
        .values(
            escalation="transferred",
            transfer_id=transfer_id,
            transferred_by=officer_id,
            transferred_at=now,
        )
    )


# -- signals to joint inspection -------------------------------------------------------------
def unsignalled(engine: Engine, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Alarms of the problem kinds not yet posted as signals, with their restaurant's code
    (an alarm dated after ``now`` waits: joint inspection refuses signals from the future)."""
    query = (
        select(
            m.alarm.c.id,
            m.alarm.c.kind,
            m.alarm.c.opened_at,
            m.alarm.c.mn,
            m.restaurant.c.credit_code,
        )
        .join(m.restaurant, m.restaurant.c.id == m.alarm.c.restaurant_id)
        .where(
            m.alarm.c.signalled.is_(False),
            m.alarm.c.kind.in_(PROBLEM_KINDS),
            m.alarm.c.opened_at <= now,
        )
        .order_by(m.alarm.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "alarm_id": row.id,
            "signal": {
                "credit_code": row.credit_code,
                "kind": "iot_alarm",
                "severity": SIGNAL_SEVERITY[row.kind],
                "at": row.opened_at.isoformat(),
                "source": "catering",
                "ref": f"catering-alarm-{row.id}",
                "note": f"{TITLES[row.kind]}（设备 {row.mn}）",
            },
        }
        for row in rows
    ]


def mark_signalled(engine: Engine, alarm_ids: list[str]) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            update(m.alarm).where(and_(m.alarm.c.id.in_(alarm_ids))).values(signalled=True)
        )
