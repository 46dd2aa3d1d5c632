"""Cases: opening, listing, reading, editing and closing them; and what the case, party, place
and cause registers share: who may change a record, the department-level custody event, and
how many graph edges touch a node.

The typed edges that link cases to evidence, parties and places live in
:mod:`evidence_service.cases.links`; parties in :mod:`~evidence_service.cases.parties`; causes
in :mod:`~evidence_service.cases.causes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor
from evidence_service.access.models import Role
from evidence_service.cases.models import Case, CaseKind, CaseStatus, Cause, GraphEdge, Party
from evidence_service.core.clock import Clock, rfc3339
from evidence_service.core.cursors import keyset_page, like_pattern
from evidence_service.core.db import session_scope
from evidence_service.core.errors import ConflictError, ForbiddenError, NotFoundError
from evidence_service.core.ids import new_id
from evidence_service.custody.log import append_event

#: Who may change a case, party or place: a capturing role in its department, or an admin.
WRITER_ROLES = frozenset({Role.officer, Role.reviewer, Role.penalty, Role.admin})


def check_may_change(actor: Actor, department_id: str, what: str) -> None:
    """Raise unless ``actor`` may change a record of ``department_id``: its own, or any as admin."""
    if actor.role not in WRITER_ROLES or (
        actor.role != Role.admin and actor.department_id != department_id
    ):
        raise ForbiddenError(f"only {what}'s department (or an admin) may change it")


def department_event(
    session: Session, action: str, details: dict[str, Any], *, actor: Actor, at: datetime
) -> None:
    """A custody event about no single item (a case, party, place or cause changed)."""
    append_event(
        session,
        action=action,
        at=at,
        evidence_id=None,
        actor_id=actor.officer_id,
        department_id=actor.department_id,
        details=details,
    )


def edge_count(session: Session, node_id: str) -> int:
    """How many graph edges start or end at ``node_id``."""
    return session.exec(
        select(func.count())
        .select_from(GraphEdge)
        .where(or_(col(GraphEdge.source_id) == node_id, col(GraphEdge.target_id) == node_id))
    ).one()


# --- reading ----------------------------------------------------------------------------------


def party_public(party: Party) -> dict[str, Any]:
    return {
        "id": party.id,
        "kind": party.kind,
        "name": party.name,
        "identifier_kind": party.identifier_kind,
        "identifier": party.identifier_masked,  # masked: the clear number is never kept
        "department_id": party.department_id,
        "created_at": party.created_at,
    }


def case_summary(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "department_id": case.department_id,
        "case_number": case.case_number,
        "kind": case.kind,
        "title": case.title,
        "status": case.status,
        "cause_code": case.cause_code,
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
    }


def case_public(session: Session, case: Case) -> dict[str, Any]:
    """The case with the ids of its evidence, parties and places."""
    edges = session.exec(
        select(GraphEdge).where(
            or_(
                and_(col(GraphEdge.kind) == "belongs_to_case", col(GraphEdge.target_id) == case.id),
                and_(
                    col(GraphEdge.kind).in_(["concerns_party", "case_at_place"]),
                    col(GraphEdge.source_id) == case.id,
                ),
            )
        )
    ).all()

    def ends(kind: str, end: str) -> list[str]:
        return sorted(getattr(e, end) for e in edges if e.kind == kind)

    return {
        **case_summary(case),
        "evidence_ids": ends("belongs_to_case", "source_id"),
        "party_ids": ends("concerns_party", "target_id"),
        "place_ids": ends("case_at_place", "target_id"),
    }


@dataclass(frozen=True)
class CaseFilter:
    department_id: str
    status: CaseStatus | None = None
    kind: CaseKind | None = None
    cause_code: str | None = None
    text: str | None = None  # part of the case number or title


def list_cases(
    session: Session, flt: CaseFilter, *, limit: int, cursor: str | None
) -> tuple[list[Case], str | None]:
    """Newest first by (opened_at, id); the cursor is the last row of the previous page."""
    query = select(Case).where(Case.department_id == flt.department_id)
    if flt.status:
        query = query.where(Case.status == flt.status)
    if flt.kind:
        query = query.where(Case.kind == flt.kind)
    if flt.cause_code:
        query = query.where(Case.cause_code == flt.cause_code)
    if flt.text:
        pattern = like_pattern(flt.text)
        query = query.where(
            or_(
                col(Case.case_number).ilike(pattern, escape="\\"),
                col(Case.title).ilike(pattern, escape="\\"),
            )
        )
    return keyset_page(session, query, Case, "-opened_at", limit=limit, cursor=cursor)


# --- changing a case --------------------------------------------------------------------------


def load_case(session: Session, case_id: str, *, for_update: bool = False) -> Case:
    case = session.get(Case, case_id, with_for_update=True if for_update else None)
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    return case


def writable_case(session: Session, case_id: str, actor: Actor) -> Case:
    """The case, locked for this transaction, if ``actor`` may change it and it is open."""
    case = load_case(session, case_id, for_update=True)
    check_may_change(actor, case.department_id, f"case {case.case_number}")
    if case.status == CaseStatus.closed:
        raise ConflictError(f"case {case.case_number} is closed; reopen it first")
    return case


def update_case(
    session: Session, case_id: str, changes: Mapping[str, Any], *, actor: Actor, at: datetime
) -> Case:
    """Apply ``changes`` (title, cause_code, status) with one custody event per kind of change.

    A closed case takes no detail changes; a request may reopen and edit, or edit and close
    (details are applied after a reopen and before a close)."""
    case = load_case(session, case_id, for_update=True)
    check_may_change(actor, case.department_id, f"case {case.case_number}")
    status = changes.get("status")
    if status == CaseStatus.open and case.status == CaseStatus.closed:
        department_event(
            session,
            "case_reopened",
            {"case_id": case.id, "closed_at": rfc3339(case.closed_at) if case.closed_at else None},
            actor=actor,
            at=at,
        )
        case.status, case.closed_at = CaseStatus.open, None
    changed: dict[str, dict[str, Any]] = {}
    for field in ("title", "cause_code"):
        if field in changes and changes[field] != getattr(case, field):
            changed[field] = {"old": getattr(case, field), "new": changes[field]}
    if changed:
        if case.status == CaseStatus.closed:
            raise ConflictError(f"case {case.case_number} is closed; reopen it first")
        code = changes.get("cause_code")
        if "cause_code" in changed and code is not None and session.get(Cause, code) is None:
            raise NotFoundError(f"no cause {code} in the catalogue")
        for field, change in changed.items():
            setattr(case, field, change["new"])
        department_event(
            session, "case_updated", {"case_id": case.id, "changes": changed}, actor=actor, at=at
        )
    if status == CaseStatus.closed and case.status == CaseStatus.open:
        case.status, case.closed_at = CaseStatus.closed, at
        department_event(
            session,
            "case_closed",
            {"case_id": case.id, "closed_at": rfc3339(at)},
            actor=actor,
            at=at,
        )
    session.add(case)
    session.flush()
    return case


# --- one transaction each, as the routes ask ----------------------------------------------------


def open_case(
    engine: Engine,
    *,
    case_number: str,
    kind: CaseKind,
    title: str,
    cause_code: str | None,
    actor: Actor,
    at: datetime,
) -> dict[str, Any]:
    """Open a case in the actor's department with a ``case_opened`` event; answers it as
    :func:`case_public`. An unknown cause is a :class:`NotFoundError`, a case number the
    department already uses a :class:`ConflictError`."""
    case = Case(
        id=new_id(),
        department_id=actor.department_id,
        case_number=case_number,
        kind=kind,
        title=title,
        cause_code=cause_code,
        opened_at=at,
        created_by=actor.officer_id,
    )
    try:
        with session_scope(engine) as session:
            if cause_code and session.get(Cause, cause_code) is None:
                raise NotFoundError(f"no cause {cause_code} in the catalogue")
            session.add(case)
            session.flush()
            department_event(
                session,
                "case_opened",
                {"case_id": case.id, "case_number": case.case_number, "kind": str(case.kind)},
                actor=actor,
                at=at,
            )
    except IntegrityError as exc:
        raise ConflictError(f"case number {case_number} exists in your department") from exc
    with Session(engine) as session:
        return case_public(session, case)


def case_page(
    engine: Engine, flt: CaseFilter, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of :func:`list_cases` as summaries, and the cursor of the next page."""
    with Session(engine) as session:
        rows, next_cursor = list_cases(session, flt, limit=limit, cursor=cursor)
    return [case_summary(c) for c in rows], next_cursor


def read_case(engine: Engine, case_id: str) -> dict[str, Any]:
    """The case with its evidence, parties and places (:func:`case_public`)."""
    with Session(engine) as session:
        return case_public(session, load_case(session, case_id))


def edit_case(
    engine: Engine, case_id: str, changes: Mapping[str, Any], *, actor: Actor, clock: Clock
) -> dict[str, Any]:
    """Apply :func:`update_case` in a transaction of its own (stamped by ``clock`` inside it),
    then answer the case as it now stands."""
    with session_scope(engine) as session:
        update_case(session, case_id, changes, actor=actor, at=clock())
    return read_case(engine, case_id)
