"""The disposal centre (处置中心): a clue's disposal by one of three procedures, as a state
machine written as data, and its rows.

Procedures and their transitions (:data:`TRANSITIONS`; ``who`` is the capacity the caller must
hold towards the disposal, :func:`capacities`):

- ``general`` (一般程序): open → assign → assigned → investigate → investigating → decide →
  decided → send_notice → rectifying → reply → replied → close → closed; ``return_reply``
  sends an insufficient report back (replied → rectifying).
- ``simple`` (简易程序): open → close (with the reason) → closed.
- ``warning`` (预警): open → warn (the warning to the department) → warned → acknowledge (by the
  department) or close (by the office) → closed.

Guarantees:

- A transition is checked and written in one transaction holding the disposal's row (``FOR
  UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` has one writer): the row's ``version``
  goes up by one and one ``supervision_disposal_step`` row is added, or nothing is written.
- An action the procedure does not have, or not from the current state, raises
  :class:`IllegalTransitionError` (409); a caller without the capacity raises 403; an
  ``If-Match`` version that is no longer current raises :class:`StaleVersionError` (412).
- ``due_on`` is the deadline of the state entered (:class:`DisposalRules`, configurable);
  overdue (the red light) is computed when read, against a ``today`` the caller passes.
- Closing a disposal does not close its clue: the problem models do that when the cause goes.

Everything here is synchronous SQL or pure; the routes (``disposal_api.py``) run it in a
thread and make the calls to the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, select, update

from evidence_service.modules.kit.db import write_transaction
from evidence_service.modules.supervision.models import clue, disposal, disposal_step
from evidence_service.modules.supervision.problems import (
    RecordNotFoundError,
    SupervisionProblem,
)
from evidence_service.modules.supervision.records import decode_cursor, encode_cursor, new_id

PROCEDURES = ("general", "simple", "warning")
CLOSED = "closed"
#: Capacities a caller holds towards one disposal (:func:`capacities`).
OFFICE, OFFICE_REVIEWER = "office", "office_reviewer"
DEPARTMENT, DEPARTMENT_REVIEWER = "department", "department_reviewer"
WORKER_ROLES = frozenset({"officer", "reviewer", "penalty"})
SENDER_ROLES = frozenset({"reviewer", "penalty"})  # who sends transfers for a department


class IllegalTransitionError(SupervisionProblem):
    slug, title, status = "illegal-transition", "The disposal cannot take this action now", 409


class StaleVersionError(SupervisionProblem):
    slug, title, status = "stale-version", "The disposal changed since you read it", 412


class DisposalConflictError(SupervisionProblem):
    slug, title, status = "disposal-conflict", "The disposal conflicts with what exists", 409


class NotAllowedError(SupervisionProblem):
    slug, title, status = "forbidden", "Your role does not allow this action", 403


class IllegalNoteError(SupervisionProblem):
    """An action that needs a note (a reason, an outcome, a warning's text) came without."""

    slug, title, status = "invalid-request", "The request does not match the API", 422


@dataclass(frozen=True)
class DisposalRules:
    """Deadlines in days from entering a state (defaults; a locality may change them)."""

    assign_days: int = 5  # open (general) → assigned
    investigate_days: int = 5  # assigned → investigation started
    decide_days: int = 30  # investigating → decided
    send_days: int = 5  # decided → notice sent
    correction_days: int = 30  # the notice's deadline, unless the decision gives another
    review_reply_days: int = 10  # replied → closed or returned
    simple_days: int = 5  # simple: open → closed
    warning_days: int = 5  # warning: open → warned
    acknowledge_days: int = 7  # warned → acknowledged
    amber_days: int = 3  # due within this many days: the amber light
    timezone: str = "Asia/Shanghai"  # whose calendar day "today" is
    max_page: int = 200

    def days_in(self, procedure: str, state: str) -> int | None:
        table = {
            ("general", "open"): self.assign_days,
            ("general", "assigned"): self.investigate_days,
            ("general", "investigating"): self.decide_days,
            ("general", "decided"): self.send_days,
            ("general", "rectifying"): self.correction_days,
            ("general", "replied"): self.review_reply_days,
            ("simple", "open"): self.simple_days,
            ("warning", "open"): self.warning_days,
            ("warning", "warned"): self.acknowledge_days,
        }
        return table.get((procedure, state))


@dataclass(frozen=True)
class Transition:
    action: str
    source: frozenset[str]
    target: str
    who: str  # the capacity required (OFFICE, OFFICE_REVIEWER, DEPARTMENT…)
    needs_note: bool = False
    route: str = "actions"  # "reply": only through POST …/reply


def _t(action: str, source: str, target: str, who: str, **kw: Any) -> Transition:
    return Transition(action, frozenset(source.split("|")), target, who, **kw)


#: The state machine, per procedure: action → transition.
TRANSITIONS: dict[str, dict[str, Transition]] = {
    "general": {
        t.action: t
        for t in (
            _t("assign", "open", "assigned", OFFICE),
            _t("investigate", "assigned", "investigating", OFFICE),
            _t("decide", "investigating", "decided", OFFICE),
            _t("send_notice", "decided", "rectifying", OFFICE_REVIEWER),
            _t("reply", "rectifying", "replied", DEPARTMENT_REVIEWER, route="reply"),
            _t("return_reply", "replied", "rectifying", OFFICE_REVIEWER, needs_note=True),
            _t("close", "replied", CLOSED, OFFICE_REVIEWER, needs_note=True),
        )
    },
    "simple": {"close": _t("close", "open", CLOSED, OFFICE, needs_note=True)},
    "warning": {
        t.action: t
        for t in (
            _t("warn", "open", "warned", OFFICE, needs_note=True),
            _t("acknowledge", "warned", CLOSED, DEPARTMENT),
            _t("close", "warned", CLOSED, OFFICE, needs_note=True),
        )
    },
}
ACTIONS = tuple(sorted({a for table in TRANSITIONS.values() for a in table}))


def capacities(
    *, role: str, department_id: str, office: bool, disposal_department: str
) -> frozenset[str]:
    """What a caller may act as towards a disposal of ``disposal_department``: the office's
    workers work it (its reviewers also seal and send), the supervised department's workers
    answer (its reviewers send the report back). Auditors hold none: they only read."""
    held: set[str] = set()
    if role in WORKER_ROLES:
        if office:
            held.add(OFFICE)
            if role == "reviewer":
                held.add(OFFICE_REVIEWER)
        elif department_id == disposal_department:
            held.add(DEPARTMENT)
            if role in SENDER_ROLES:
                held.add(DEPARTMENT_REVIEWER)
    return frozenset(held)


def check_transition(
    row: dict[str, Any],
    action: str,
    held: frozenset[str],
    *,
    expected_version: int | None = None,
    route: str = "actions",
) -> Transition:
    """The transition ``action`` takes ``row`` through, or the reason it may not (pure)."""
    procedure, state = row["procedure"], row["state"]
    step = TRANSITIONS[procedure].get(action)
    if step is None or step.route != route:
        allowed = sorted(a for a, t in TRANSITIONS[procedure].items() if t.route == route)
        raise IllegalTransitionError(
            f"a {procedure} disposal has no action {action!r} here (actions: {', '.join(allowed)})",
            state=state,
        )
    if state not in step.source:
        raise IllegalTransitionError(
            f"{action} is not allowed in state {state} "
            f"(only from {', '.join(sorted(step.source))})",
            state=state,
        )
    if step.who not in held:
        raise NotAllowedError(f"{action} is for the {step.who.replace('_', ' ')} only")
    if expected_version is not None and expected_version != row["version"]:
        raise StaleVersionError(
            f"If-Match names version {expected_version}; the disposal is at {row['version']}",
            version=row["version"],
        )
    return step


def light(row: dict[str, Any], today: date, rules: DisposalRules) -> str | None:
    """red (overdue), amber (due within ``amber_days``), green; None when closed or no date."""
    due = row["due_on"]
    if row["state"] == CLOSED or due is None:
        return None
    if due < today:
        return "red"
    return "amber" if (due - today).days <= rules.amber_days else "green"


# ------------------------------------------------------------------------------ rows


def _public(row: dict[str, Any], today: date, rules: DisposalRules) -> dict[str, Any]:
    out = dict(row)
    out["light"] = light(row, today, rules)
    out["overdue"] = out["light"] == "red"
    return out


def get_disposal(engine: Engine, disposal_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(disposal).where(disposal.c.id == disposal_id)).mappings().first()
        return dict(row) if row else None


def disposal_detail(
    engine: Engine, disposal_id: str, today: date, rules: DisposalRules
) -> dict[str, Any] | None:
    """A disposal with its steps in order and its light."""
    with engine.connect() as conn:
        row = conn.execute(select(disposal).where(disposal.c.id == disposal_id)).mappings().first()
        if row is None:
            return None
        steps = conn.execute(
            select(disposal_step)
            .where(disposal_step.c.disposal_id == disposal_id)
            .order_by(disposal_step.c.position)
        ).mappings()
        out = _public(dict(row), today, rules)
        out["steps"] = [{k: v for k, v in step.items() if k != "disposal_id"} for step in steps]
        return out


def disposal_of_clue(engine: Engine, clue_id: str) -> dict[str, Any] | None:
    """The clue's disposal (id, procedure, state, due_on), for the clue's own view."""
    cols = (disposal.c.id, disposal.c.procedure, disposal.c.state, disposal.c.due_on)
    with engine.connect() as conn:
        row = conn.execute(select(*cols).where(disposal.c.clue_id == clue_id)).mappings().first()
        return dict(row) if row else None


@dataclass(frozen=True)
class DisposalFilter:
    departments: frozenset[str] | None  # None: every department (office, auditor)
    state: str | None = None
    procedure: str | None = None
    department_id: str | None = None
    clue_id: str | None = None
    overdue: bool | None = None


def list_disposals(
    engine: Engine,
    flt: DisposalFilter,
    *,
    today: date,
    rules: DisposalRules,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page in id order (oldest first) and the next page's cursor; ValueError on a bad
    cursor. ``overdue``: the deadline passed (before ``today``) and the disposal still open."""
    clauses: list[Any] = []
    if flt.departments is not None:
        clauses.append(disposal.c.department_id.in_(sorted(flt.departments)))
    for column, value in (
        (disposal.c.state, flt.state),
        (disposal.c.procedure, flt.procedure),
        (disposal.c.department_id, flt.department_id),
        (disposal.c.clue_id, flt.clue_id),
    ):
        if value is not None:
            clauses.append(column == value)
    late = and_(disposal.c.state != CLOSED, disposal.c.due_on < today)
    if flt.overdue is True:
        clauses.append(late)
    elif flt.overdue is False:
        clauses.append(~late | disposal.c.due_on.is_(None))
    if cursor:
        clauses.append(disposal.c.id > decode_cursor(cursor))
    query = select(disposal).where(*clauses).order_by(disposal.c.id).limit(limit + 1)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    more, page = len(rows) > limit, rows[:limit]
    next_cursor = encode_cursor(page[-1]["id"]) if more and page else None
    return [_public(r, today, rules) for r in page], next_cursor


def _step(
    conn: Connection,
    disposal_id: str,
    *,
    at: datetime,
    actor_id: str,
    action: str,
    source: str | None,
    target: str,
    note: str,
    details: dict[str, Any],
) -> None:
    last = conn.execute(
        select(func.max(disposal_step.c.position)).where(disposal_step.c.disposal_id == disposal_id)
    ).scalar()
    conn.execute(
        insert(disposal_step).values(
            disposal_id=disposal_id,
            position=(last or 0) + 1,
            at=at,
            actor_id=actor_id,
            action=action,
            from_state=source,
            to_state=target,
            note=note,
            details=details,
        )
    )


def open_disposal(
    engine: Engine,
    *,
    clue_id: str,
    procedure: str,
    actor_id: str,
    note: str,
    now: datetime,
    today: date,
    rules: DisposalRules,
    due_on: date | None = None,
) -> str:
    """A new disposal of an open clue (404 for an unknown clue; 409 for a closed one or one
    that has a disposal already), with its first step; its id."""
    disposal_id = new_id()
    with write_transaction(engine) as conn:
        found = conn.execute(
            select(clue.c.department_id, clue.c.status).where(clue.c.id == clue_id)
        ).first()
        if found is None:
            raise RecordNotFoundError(f"no clue {clue_id}")
        if found.status != "open":
            raise DisposalConflictError(f"clue {clue_id} is {found.status}; dispose of open ones")
        taken = conn.execute(select(disposal.c.id).where(disposal.c.clue_id == clue_id)).scalar()
        if taken is not None:
            raise DisposalConflictError(
                f"clue {clue_id} has a disposal already: {taken}", disposal_id=taken
            )
        days = rules.days_in(procedure, "open")
        due = due_on or (today + timedelta(days=days) if days is not None else None)
        conn.execute(
            insert(disposal).values(
                id=disposal_id,
                clue_id=clue_id,
                procedure=procedure,
                state="open",
                department_id=found.department_id,
                due_on=due,
                opened_by=actor_id,
                opened_at=now,
                updated_at=now,
                version=1,
            )
        )
        _step(
            conn, disposal_id, at=now, actor_id=actor_id, action="open", source=None,
            target="open", note=note, details={"procedure": procedure},
        )  # fmt: skip
    return disposal_id


@dataclass(frozen=True)
class Change:
    """What one transition writes besides the state: the step's details, the new deadline
    (None: the rule's default for the state entered) and other columns of the disposal."""

    note: str = ""
    details: dict[str, Any] | None = None
    due_on: date | None = None
    values: dict[str, Any] | None = None


def apply_transition(
    engine: Engine,
    disposal_id: str,
    action: str,
    held: frozenset[str],
    change: Change,
    *,
    actor_id: str,
    now: datetime,
    today: date,
    rules: DisposalRules,
    expected_version: int | None = None,
    route: str = "actions",
) -> dict[str, Any]:
    """Check ``action`` against the locked row and write it (state, version + 1, deadline, one
    step); raise as :func:`check_transition` does with nothing written. The updated row."""
    with write_transaction(engine) as conn:
        found = (
            conn.execute(select(disposal).where(disposal.c.id == disposal_id).with_for_update())
            .mappings()
            .first()
        )
        if found is None:
            raise RecordNotFoundError(f"no disposal {disposal_id}")
        row = dict(found)
        step = check_transition(row, action, held, expected_version=expected_version, route=route)
        if step.needs_note and not change.note.strip():
            raise IllegalNoteError(f"{action} needs a note (the reason, the outcome or the text)")
        days = rules.days_in(row["procedure"], step.target)
        due = change.due_on or (today + timedelta(days=days) if days is not None else None)
        values: dict[str, Any] = {
            "state": step.target,
            "version": row["version"] + 1,
            "updated_at": now,
            "due_on": None if step.target == CLOSED else due,
            **(change.values or {}),
        }
        if step.target == CLOSED:
            values.update(closed_at=now, outcome=change.note.strip()[:500] or action)
        written = conn.execute(
            update(disposal)
            .where(disposal.c.id == disposal_id, disposal.c.version == row["version"])
            .values(**values)
        )
        if written.rowcount != 1:  # cannot happen under the lock; kept as the optimistic check
            raise StaleVersionError("the disposal changed while this action was written")
        _step(
            conn, disposal_id, at=now, actor_id=actor_id, action=action, source=row["state"],
            target=step.target, note=change.note, details=change.details or {},
        )  # fmt: skip
        row.update(values)
        return row
