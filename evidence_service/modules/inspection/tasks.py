"""Joint-inspection tasks (任务生成) and their online consultation (线上磋商), as pure SQL over a
``Connection``; the routes (``tasks_api.py``) open the transactions and run this in a thread.

A task is one joint visit to one enterprise by several departments. It is drafted from a
warning, a plan or a draw, in ``consulting``: the departments join or leave, add or drop the
check items of their kind and each proposes a date. When every taking-part department has
proposed the same date the task is ``scheduled`` on it; any change of who comes or what is
checked clears every proposal (they agreed to a different visit) and puts a scheduled task back
to ``consulting``. The coordinating office may cancel a task that has not been visited.

The published annual cap (国办发〔2024〕54号: a locality publishes how many times a year one
enterprise may be inspected) counts the enterprise's tasks of the year that are not cancelled.
A draft checks it under a lock on the enterprise's row, so two concurrent drafts cannot both
pass (``FOR UPDATE`` on PostgreSQL; on SQLite ``write_transaction`` has one writer at a time);
a draw checks it before its commitment (``plan.py``), so :func:`insert_task` checks nothing.

The actions are data (:data:`TRANSITIONS`), like the disposal centre's state machine: the
states a step leaves from, who may take it, where it goes. The visit and its record are added
there when they are built.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection import scenarios
from evidence_service.modules.inspection.common import (
    WORKERS,
    AnnualCapError,
    BadRequestError,
    Caller,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    StaleVersionError,
    decode_cursor,
    encode_cursor,
    new_id,
)

CONSULTING, SCHEDULED, CANCELLED = "consulting", "scheduled", "cancelled"
#: The capacities a caller holds towards one task (:func:`capacities`).
PARTICIPANT, COORDINATOR, WORKER = "participant", "coordinator", "worker"
MIN_DEPARTMENTS = 2
MAX_INVITED = 20
TITLE_LENGTH = 200
SUFFIX = "联合检查"


@dataclass(frozen=True)
class Transition:
    action: str
    source: frozenset[str]
    who: str  # the capacity required (PARTICIPANT, COORDINATOR, WORKER)
    #: None: back to consulting, or scheduled once every department agrees on a date
    target: str | None = None


def _t(action: str, source: str, who: str, target: str | None = None) -> Transition:
    return Transition(action, frozenset(source.split("|")), who, target)


#: The task's state machine: action → transition. ``join`` leaves only from consulting: a
#: scheduled task is seen only by those taking part (:func:`can_see`).
TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("join", CONSULTING, WORKER),
        _t("leave", f"{CONSULTING}|{SCHEDULED}", PARTICIPANT),
        _t("add_item", f"{CONSULTING}|{SCHEDULED}", PARTICIPANT),
        _t("drop_item", f"{CONSULTING}|{SCHEDULED}", PARTICIPANT),
        _t("propose_date", f"{CONSULTING}|{SCHEDULED}", PARTICIPANT),
        _t("cancel", f"{CONSULTING}|{SCHEDULED}", COORDINATOR, CANCELLED),
    )
}
ACTIONS = tuple(TRANSITIONS)


@dataclass(frozen=True)
class Action:
    """One step of the consultation, as the route received it (its fields checked there)."""

    action: str
    item_code: str | None = None
    on: date | None = None  # propose_date
    reason: str | None = None  # cancel


@dataclass(frozen=True)
class Draft:
    """A task the coordinating office drafts (the route checked the shape of each field)."""

    credit_code: str
    scenario: str
    origin: str  # "warning" | "plan"
    departments: tuple[str, ...]  # invited besides the lead (the caller's department)
    title: str | None = None
    warning_id: str | None = None


# ------------------------------------------------------------------------------ the cap


def inspections_this_year(conn: Connection, year: int) -> dict[str, int]:
    """credit code -> tasks of that year not cancelled (the input plan_draw's cap check takes)."""
    rows = conn.execute(
        select(m.task.c.credit_code, func.count())
        .where(m.task.c.year == year, m.task.c.state != CANCELLED)
        .group_by(m.task.c.credit_code)
    )
    return {code: int(n) for code, n in rows}


def count_this_year(conn: Connection, credit_code: str, year: int) -> int:
    """The enterprise's tasks of ``year`` that count against the cap."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(m.task)
            .where(
                m.task.c.credit_code == credit_code,
                m.task.c.year == year,
                m.task.c.state != CANCELLED,
            )
        ).scalar_one()
    )


def check_cap(conn: Connection, credit_code: str, year: int, annual_cap: int) -> None:
    """AnnualCapError when one more task of ``year`` would exceed the published cap."""
    done = count_this_year(conn, credit_code, year)
    if done >= annual_cap:
        raise AnnualCapError(
            f"enterprise {credit_code} has had {done} inspection(s) in {year}; the published "
            f"annual cap is {annual_cap}",
            annual_cap=annual_cap,
            inspections_this_year=done,
            year=year,
        )


# ------------------------------------------------------------------------------ drafting


def kinds_of(conn: Connection, departments: Iterable[str]) -> dict[str, str | None]:
    """The scenario kind each mapped department inspects for (None: mapped without a kind);
    unmapped departments are absent."""
    wanted = sorted(set(departments))
    if not wanted:
        return {}
    rows = conn.execute(
        select(m.department.c.department_id, m.department.c.kind).where(
            m.department.c.department_id.in_(wanted)
        )
    )
    return {r.department_id: r.kind for r in rows}


def _participants(lead: str, departments: Sequence[str]) -> list[str]:
    """The lead first, then the others in the order given, each once."""
    return list(dict.fromkeys([lead, *departments]))


def insert_task(
    conn: Connection,
    *,
    credit_code: str,
    scenario: str,
    title: str,
    origin: str,
    lead_department: str,
    departments: Sequence[str],
    created_by: str,
    year: int,
    now: datetime,
    warning_id: str | None = None,
    draw_id: str | None = None,
    inspectors: Sequence[tuple[str, str]] = (),  # (officer_id, department_id), drawn=True
) -> str:
    """Insert one task in `consulting` with its departments and items (no cap check: callers
    check it — the draft route under lock, a draw before its commitment); return its id.

    The lead takes part whether or not ``departments`` names it. Each of the scenario's items
    whose kind a taking-part department inspects for is included, checked by the first such
    department (the lead, then ``departments`` in order); a department without a kind checks
    nothing."""
    task_id = new_id()
    chosen = scenarios.by_code(scenario)
    people = _participants(lead_department, departments)
    kinds = kinds_of(conn, people)
    conn.execute(
        insert(m.task).values(
            id=task_id,
            credit_code=credit_code,
            title=title,
            origin=origin,
            warning_id=warning_id,
            draw_id=draw_id,
            scenario=chosen.code,
            state=CONSULTING,
            year=year,
            planned_on=None,
            lead_department=lead_department,
            created_by=created_by,
            created_at=now,
            updated_at=now,
            version=1,
        )  # fmt: skip
    )
    conn.execute(
        insert(m.task_department),
        [
            {"task_id": task_id, "department_id": d, "joined_by": created_by, "joined_at": now}
            for d in people
        ],
    )
    owner: dict[str, str] = {}
    for dept in people:
        kind = kinds.get(dept)
        if kind is not None:
            owner.setdefault(kind, dept)
    items = [
        {
            "task_id": task_id,
            "item_code": item.code,
            "department_id": owner[item.department],
            "included": True,
            "changed_by": created_by,
            "changed_at": now,
        }
        for item in chosen.items
        if item.department in owner
    ]
    if items:
        conn.execute(insert(m.task_item), items)
    if inspectors:
        conn.execute(
            insert(m.task_inspector),
            [
                {"task_id": task_id, "officer_id": o, "department_id": d, "drawn": True}
                for o, d in inspectors
            ],
        )
    return task_id


def draft_task(
    conn: Connection, draft: Draft, who: Caller, *, year: int, now: datetime, annual_cap: int
) -> str:
    """Check a draft against the directory, the warning, the departments' parts and the cap,
    and insert it (a linked warning becomes ``tasked``); the new task's id. Run inside one
    write transaction: the enterprise's row is locked from the count to the insert."""
    try:
        scenario = scenarios.by_code(draft.scenario)
    except KeyError:
        raise BadRequestError(f"scenario: no scenario {draft.scenario!r} in the library") from None
    _check_invited(conn, who.department_id, draft.departments)
    company = conn.execute(
        select(m.enterprise.c.name)
        .where(m.enterprise.c.credit_code == draft.credit_code)
        .with_for_update()
    ).first()
    if company is None:
        raise BadRequestError(f"credit_code: no enterprise {draft.credit_code} in the directory")
    if draft.warning_id is not None:
        _take_warning(conn, draft.warning_id, draft.credit_code)
    check_cap(conn, draft.credit_code, year, annual_cap)
    title = draft.title or f"{company.name} {scenario.name}{SUFFIX}"
    if len(title) > TITLE_LENGTH:  # a long enterprise name: keep the scenario and the suffix
        tail = f" {scenario.name}{SUFFIX}"
        title = company.name[: TITLE_LENGTH - len(tail)] + tail
    task_id = insert_task(
        conn, credit_code=draft.credit_code, scenario=scenario.code, title=title,
        origin=draft.origin, lead_department=who.department_id, departments=draft.departments,
        created_by=who.officer_id, year=year, now=now, warning_id=draft.warning_id,
    )  # fmt: skip
    if draft.warning_id is not None:
        conn.execute(
            update(m.warning)
            .where(m.warning.c.id == draft.warning_id)
            .values(state="tasked", task_id=task_id, updated_at=now)
        )
    return task_id


def _check_invited(conn: Connection, lead: str, invited: Sequence[str]) -> None:
    if len(set(invited)) != len(invited):
        raise BadRequestError("departments: a department is listed twice")
    if lead in invited:
        raise BadRequestError(
            f"departments: {lead} is your own department, which leads the task anyway; "
            "list the departments you invite"
        )
    kinds = kinds_of(conn, invited)
    unmapped = [d for d in invited if kinds.get(d) is None]
    if unmapped:
        raise BadRequestError(
            f"departments: {', '.join(unmapped)} inspect(s) for no scenario kind "
            "(PUT /api/v1/inspection/departments/{department_id})",
            departments=unmapped,
        )
    if len(_participants(lead, invited)) < MIN_DEPARTMENTS:
        raise BadRequestError(f"departments: a joint inspection takes {MIN_DEPARTMENTS} at least")


def _take_warning(conn: Connection, warning_id: str, credit_code: str) -> None:
    found = conn.execute(
        select(m.warning.c.state, m.warning.c.credit_code)
        .where(m.warning.c.id == warning_id)
        .with_for_update()
    ).first()
    if found is None:
        raise NotFoundError(f"no warning {warning_id}")
    if found.state != "open":
        raise ConflictError(
            f"warning {warning_id} is {found.state}; a task is drafted from an open one",
            state=found.state,
        )
    if found.credit_code != credit_code:
        raise BadRequestError(
            f"warning_id: warning {warning_id} is about enterprise {found.credit_code}, "
            f"not {credit_code}"
        )


# ------------------------------------------------------------------------------ reading


def kinds_in(scenario: str) -> tuple[str, ...]:
    """The department kinds the scenario has items of (an unknown scenario: none)."""
    found = scenarios.library().scenarios.get(scenario)
    return found.departments if found else ()


def can_see(who: Caller, row: Any, participants: Iterable[str]) -> bool:
    """Coordinators and auditors see every task; a department sees those it takes part in
    and the consulting ones it could join (the scenario has items of its kind)."""
    if who.reads_all or who.department_id in set(participants):
        return True
    return row.state == CONSULTING and who.kind is not None and who.kind in kinds_in(row.scenario)


def _participating(conn: Connection, task_id: str) -> list[Any]:
    return list(
        conn.execute(
            select(m.task_department)
            .where(m.task_department.c.task_id == task_id)
            .order_by(m.task_department.c.joined_at, m.task_department.c.department_id)
        )
    )


def _ordered_departments(row: Any, rows: list[Any]) -> list[Any]:
    """The lead first, then the others as they joined."""
    return sorted(rows, key=lambda r: r.department_id != row.lead_department)


def _item_order(scenario: str) -> dict[str, int]:
    found = scenarios.library().scenarios.get(scenario)
    return {item.code: i for i, item in enumerate(found.items)} if found else {}


def task_detail(
    conn: Connection, task_id: str, who: Caller | None, annual_cap: int
) -> dict[str, Any]:
    """The task as ``who`` may see it; NotFoundError when it is missing or hidden from them
    (the same answer, so a hidden task's existence is not told). ``who`` None: the answer to
    an action just taken, which the caller sees even if it took them out of the task."""
    row = conn.execute(select(m.task).where(m.task.c.id == task_id)).first()
    taking_part = _participating(conn, task_id) if row is not None else []
    people = [d.department_id for d in taking_part]
    if row is None or (who is not None and not can_see(who, row, people)):
        raise NotFoundError(f"no task {task_id}")
    company = conn.execute(
        select(m.enterprise).where(m.enterprise.c.credit_code == row.credit_code)
    ).first()
    people = _ordered_departments(row, taking_part)
    kinds = kinds_of(conn, [d.department_id for d in people])
    library = scenarios.library()
    order = _item_order(row.scenario)
    items = sorted(
        conn.execute(select(m.task_item).where(m.task_item.c.task_id == task_id)),
        key=lambda i: (order.get(i.item_code, len(order)), i.item_code),
    )
    inspectors = conn.execute(
        select(m.task_inspector)
        .where(m.task_inspector.c.task_id == task_id)
        .order_by(m.task_inspector.c.department_id, m.task_inspector.c.officer_id)
    )
    scenario = library.scenarios.get(row.scenario)
    return {
        "id": row.id,
        "title": row.title,
        "state": row.state,
        "origin": row.origin,
        "warning_id": row.warning_id,
        "draw_id": row.draw_id,
        "scenario": {"code": row.scenario, "name": scenario.name if scenario else row.scenario},
        "enterprise": {
            "credit_code": row.credit_code,
            "name": company.name if company else None,
            "address": company.address if company else None,
            "risk_class": company.risk_class if company else None,
        },
        "year": row.year,
        "planned_on": row.planned_on,
        "lead_department": row.lead_department,
        "departments": [
            {
                "department_id": d.department_id,
                "kind": kinds.get(d.department_id),
                "proposed_on": d.proposed_on,
                "lead": d.department_id == row.lead_department,
            }
            for d in people
        ],
        "items": [_item_out(library, i) for i in items],
        "inspectors": [
            {"officer_id": i.officer_id, "department_id": i.department_id, "drawn": i.drawn}
            for i in inspectors
        ],
        "cap": {
            "annual_cap": annual_cap,
            "inspections_this_year": count_this_year(conn, row.credit_code, row.year),
        },
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "cancel_reason": row.cancel_reason,
    }


def _item_out(library: scenarios.Library, row: Any) -> dict[str, Any]:
    item = library.items.get(row.item_code)
    return {
        "code": row.item_code,
        "text": item.text if item else row.item_code,
        "department_kind": item.department if item else None,
        "department_id": row.department_id,
        "basis": str(item.basis) if item else None,
        "included": row.included,
    }


@dataclass(frozen=True)
class TaskFilter:
    state: str | None = None
    credit_code: str | None = None
    year: int | None = None
    department_id: str | None = None  # tasks this department takes part in


def _visibility(who: Caller) -> Any:
    """The SQL form of :func:`can_see` (None: every task)."""
    if who.reads_all:
        return None
    mine = select(m.task_department.c.task_id).where(
        m.task_department.c.department_id == who.department_id
    )
    clause: Any = m.task.c.id.in_(mine)
    joinable = sorted(
        code
        for code, s in scenarios.library().scenarios.items()
        if who.kind is not None and who.kind in s.departments
    )
    if joinable:
        clause = or_(clause, and_(m.task.c.state == CONSULTING, m.task.c.scenario.in_(joinable)))
    return clause


def list_tasks(
    conn: Connection, who: Caller, flt: TaskFilter, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the tasks ``who`` may see, newest first (by ULID), and the next cursor."""
    clauses: list[Any] = []
    seen = _visibility(who)
    if seen is not None:
        clauses.append(seen)
    for column, value in (
        (m.task.c.state, flt.state),
        (m.task.c.credit_code, flt.credit_code),
        (m.task.c.year, flt.year),
    ):
        if value is not None:
            clauses.append(column == value)
    if flt.department_id is not None:
        clauses.append(
            m.task.c.id.in_(
                select(m.task_department.c.task_id).where(
                    m.task_department.c.department_id == flt.department_id
                )
            )
        )
    if cursor:
        clauses.append(m.task.c.id < decode_cursor(cursor))
    query = (
        select(m.task, m.enterprise.c.name.label("enterprise_name"))
        .select_from(
            m.task.outerjoin(m.enterprise, m.enterprise.c.credit_code == m.task.c.credit_code)
        )
        .where(*clauses)
        .order_by(m.task.c.id.desc())
        .limit(limit + 1)
    )
    rows = list(conn.execute(query))
    more, page = len(rows) > limit, rows[:limit]
    taking_part: dict[str, list[str]] = {r.id: [] for r in page}
    if page:
        for d in conn.execute(
            select(m.task_department.c.task_id, m.task_department.c.department_id)
            .where(m.task_department.c.task_id.in_(list(taking_part)))
            .order_by(m.task_department.c.joined_at, m.task_department.c.department_id)
        ):
            taking_part[d.task_id].append(d.department_id)
    items = [_summary(r, taking_part[r.id]) for r in page]
    return items, (encode_cursor(page[-1].id) if more and page else None)


def _summary(row: Any, departments: list[str]) -> dict[str, Any]:
    scenario = scenarios.library().scenarios.get(row.scenario)
    return {
        "id": row.id,
        "title": row.title,
        "state": row.state,
        "origin": row.origin,
        "warning_id": row.warning_id,
        "draw_id": row.draw_id,
        "scenario": {"code": row.scenario, "name": scenario.name if scenario else row.scenario},
        "enterprise": {"credit_code": row.credit_code, "name": row.enterprise_name},
        "year": row.year,
        "planned_on": row.planned_on,
        "lead_department": row.lead_department,
        "departments": sorted(departments, key=lambda d: d != row.lead_department),
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


# ------------------------------------------------------------------------------ acting


def capacities(who: Caller, participants: Iterable[str]) -> frozenset[str]:
    """What ``who`` may act as towards a task: any worker may ask to join; the workers of a
    taking-part department consult; the coordinating office's workers cancel."""
    if who.role not in WORKERS:
        return frozenset()
    held = {WORKER}
    if who.department_id in set(participants):
        held.add(PARTICIPANT)
    if who.coordinator:
        held.add(COORDINATOR)
    return frozenset(held)


def check_transition(
    row: Any, action: str, held: frozenset[str], *, expected_version: int
) -> Transition:
    """The transition ``action`` takes, or why not: 409 for the state, 403 for the caller,
    412 for a stale If-Match (in that order, as the disposal centre's)."""
    step = TRANSITIONS.get(action)
    if step is None:
        raise BadRequestError(f"action: no action {action!r} (actions: {', '.join(ACTIONS)})")
    if row.state not in step.source:
        raise ConflictError(
            f"{action} is not allowed in state {row.state} "
            f"(only from {', '.join(sorted(step.source))})",
            state=row.state,
        )
    if step.who not in held:
        whom = {
            PARTICIPANT: "the departments taking part in the task",
            COORDINATOR: "the coordinating office",
            WORKER: "officers, reviewers and penalty officers",
        }[step.who]
        raise ForbiddenError(f"{action} is for {whom} only")
    if expected_version != row.version:
        raise StaleVersionError(
            f"If-Match names version {expected_version}; the task is at {row.version}",
            version=row.version,
        )
    return step


def apply_action(
    conn: Connection,
    task_id: str,
    act: Action,
    who: Caller,
    *,
    expected_version: int,
    now: datetime,
    today: date,
) -> None:
    """Check ``act`` against the task's locked row and write it (version + 1, ``updated_at``),
    or raise with nothing written (the caller's transaction rolls back)."""
    row = conn.execute(select(m.task).where(m.task.c.id == task_id).with_for_update()).first()
    people = [d.department_id for d in _participating(conn, task_id)] if row else []
    if row is None or not can_see(who, row, people):
        raise NotFoundError(f"no task {task_id}")
    step = check_transition(
        row, act.action, capacities(who, people), expected_version=expected_version
    )
    values: dict[str, Any] = {"version": row.version + 1, "updated_at": now}
    if step.action == "propose_date":
        values.update(_propose(conn, row, act, who, today))
    elif step.action == "cancel":
        values.update(_cancel(conn, row, now), cancel_reason=act.reason)
    else:
        CHANGES[step.action](conn, row, act, who, people, now)
        values.update(_reset(conn, task_id))
    conn.execute(update(m.task).where(m.task.c.id == task_id).values(**values))


def _reset(conn: Connection, task_id: str) -> dict[str, Any]:
    """A change of who comes or what is checked: every proposal is void, back to consulting."""
    conn.execute(
        update(m.task_department)
        .where(m.task_department.c.task_id == task_id)
        .values(proposed_on=None)
    )
    return {"state": CONSULTING, "planned_on": None}


def _join(
    conn: Connection, row: Any, act: Action, who: Caller, people: list[str], now: datetime
) -> None:
    if who.department_id in people:
        raise ConflictError(f"department {who.department_id} takes part already", state=row.state)
    if who.kind is None:
        raise ForbiddenError(
            f"department {who.department_id} inspects for no scenario kind: it has no items to "
            "bring (PUT /api/v1/inspection/departments/{department_id})"
        )
    conn.execute(
        insert(m.task_department).values(
            task_id=row.id,
            department_id=who.department_id,
            joined_by=who.officer_id,
            joined_at=now,
        )  # fmt: skip
    )
    present = set(
        conn.execute(select(m.task_item.c.item_code).where(m.task_item.c.task_id == row.id))
        .scalars()
        .all()
    )
    brought = [
        {
            "task_id": row.id,
            "item_code": item.code,
            "department_id": who.department_id,
            "included": True,
            "changed_by": who.officer_id,
            "changed_at": now,
        }
        for item in scenarios.items_for(row.scenario, {who.kind})
        if item.code not in present
    ]
    if brought:
        conn.execute(insert(m.task_item), brought)


def _leave(
    conn: Connection, row: Any, act: Action, who: Caller, people: list[str], now: datetime
) -> None:
    if who.department_id == row.lead_department:
        raise ConflictError(
            "the lead department cannot leave its task; the coordinating office may cancel it",
            state=row.state,
        )
    if len(people) - 1 < MIN_DEPARTMENTS:
        raise ConflictError(
            f"a joint inspection takes {MIN_DEPARTMENTS} departments at least; "
            f"{len(people)} take part",
            state=row.state,
        )
    mine = (m.task_item.c.task_id == row.id, m.task_item.c.department_id == who.department_id)
    conn.execute(delete(m.task_item).where(*mine))
    conn.execute(
        delete(m.task_department).where(
            m.task_department.c.task_id == row.id,
            m.task_department.c.department_id == who.department_id,
        )
    )


def _own_item(act: Action, who: Caller) -> scenarios.CheckItem:
    """The library's item ``act`` names, if it is of the caller's kind."""
    item = scenarios.library().items.get(act.item_code or "")
    if item is None:
        raise BadRequestError(f"item_code: no check item {act.item_code!r} in the library")
    if item.department != who.kind:
        raise ForbiddenError(
            f"item {item.code} is checked by {item.department} departments; department "
            f"{who.department_id} inspects for {who.kind or 'no kind'}"
        )
    return item


def _item_row(conn: Connection, task_id: str, code: str) -> Any:
    return conn.execute(
        select(m.task_item).where(m.task_item.c.task_id == task_id, m.task_item.c.item_code == code)
    ).first()


def _add_item(
    conn: Connection, row: Any, act: Action, who: Caller, people: list[str], now: datetime
) -> None:
    item = _own_item(act, who)
    found = _item_row(conn, row.id, item.code)
    values = {
        "department_id": who.department_id,
        "included": True,
        "changed_by": who.officer_id,
        "changed_at": now,
    }
    if found is None:
        conn.execute(insert(m.task_item).values(task_id=row.id, item_code=item.code, **values))
    elif found.included:
        raise ConflictError(f"item {item.code} is on the task already", state=row.state)
    else:
        conn.execute(
            update(m.task_item)
            .where(m.task_item.c.task_id == row.id, m.task_item.c.item_code == item.code)
            .values(**values)
        )


def _drop_item(
    conn: Connection, row: Any, act: Action, who: Caller, people: list[str], now: datetime
) -> None:
    item = _own_item(act, who)
    found = _item_row(conn, row.id, item.code)
    if found is None or not found.included:
        raise ConflictError(f"item {item.code} is not on the task", state=row.state)
    conn.execute(
        update(m.task_item)
        .where(m.task_item.c.task_id == row.id, m.task_item.c.item_code == item.code)
        .values(included=False, changed_by=who.officer_id, changed_at=now)
    )


#: The changes of who comes or what is checked (each resets the agreement).
CHANGES = {"join": _join, "leave": _leave, "add_item": _add_item, "drop_item": _drop_item}


def _propose(conn: Connection, row: Any, act: Action, who: Caller, today: date) -> dict[str, Any]:
    """The caller's department agrees to a date; the task is scheduled when every department
    taking part agrees to the same one, and back in consulting when they no longer do."""
    on = act.on
    if on is None:
        raise BadRequestError("date: propose_date needs a date")
    if on < today:
        raise BadRequestError(f"date: {on.isoformat()} is before today ({today.isoformat()})")
    if on.year != row.year:
        raise BadRequestError(f"date: the task is of {row.year}; {on.isoformat()} is not")
    conn.execute(
        update(m.task_department)
        .where(
            m.task_department.c.task_id == row.id,
            m.task_department.c.department_id == who.department_id,
        )
        .values(proposed_on=on)
    )
    dates = set(
        conn.execute(
            select(m.task_department.c.proposed_on).where(m.task_department.c.task_id == row.id)
        ).scalars()
    )
    if dates == {on}:
        return {"state": SCHEDULED, "planned_on": on}
    return {"state": CONSULTING, "planned_on": None}


def _cancel(conn: Connection, row: Any, now: datetime) -> dict[str, Any]:
    """The task stops counting against the cap; its warning is open again, to be tasked anew
    (the reason is kept in ``cancel_reason``)."""
    conn.execute(
        update(m.warning)
        .where(m.warning.c.task_id == row.id, m.warning.c.state == "tasked")
        .values(state="open", task_id=None, updated_at=now)
    )
    return {"state": CANCELLED}
