"""The cause catalogue (违法案由): codes an administrator keeps, named by cases and by capture
tags (``about_cause`` edges). Cause codes are graph node ids too, so a code never looks like a
record id, and a cause anything refers to stays.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from evidence_service.access.identity import Actor
from evidence_service.cases.cases import department_event, edge_count
from evidence_service.cases.models import Case, Cause, GraphEdge
from evidence_service.core.clock import Clock
from evidence_service.core.db import session_scope
from evidence_service.core.errors import BadRequestError, ConflictError, NotFoundError

#: Graph node ids are ULIDs and cause codes are graph nodes too: a code must not look like one.
ULID_LIKE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$", re.IGNORECASE)


def cause_public(cause: Cause) -> dict[str, Any]:
    return {"code": cause.code, "name": cause.name}


def add_cause(engine: Engine, code: str, name: str, *, actor: Actor, clock: Clock) -> None:
    """Add ``code`` to the catalogue with a ``cause_created`` event. A code shaped like a ULID
    is a :class:`BadRequestError`, one already there a :class:`ConflictError`."""
    if ULID_LIKE.fullmatch(code):
        raise BadRequestError(
            f"cause code {code} looks like a record id (a ULID); graph node ids share "
            "one namespace, so choose another code"
        )
    try:
        with session_scope(engine) as session:
            session.add(Cause(code=code, name=name))
            session.flush()
            department_event(
                session,
                "cause_created",
                {"code": code, "name": name},
                actor=actor,
                at=clock(),
            )
    except IntegrityError as exc:
        raise ConflictError(f"cause {code} exists") from exc


def cause_catalogue(engine: Engine) -> list[dict[str, Any]]:
    """Every cause, by code."""
    with Session(engine) as session:
        rows = session.exec(select(Cause).order_by(col(Cause.code))).all()
    return [cause_public(c) for c in rows]


def cause_usage(engine: Engine) -> list[dict[str, Any]]:
    """Every cause, by code, with how many cases and graph links refer to it: what
    :func:`remove_cause` would refuse, shown on the admin's catalogue page before anyone tries.
    Three grouped queries, whatever the size of the catalogue."""
    with Session(engine) as session:
        rows = session.exec(select(Cause).order_by(col(Cause.code))).all()
        cases = _counts(session, col(Case.cause_code))
        links = _counts(session, col(GraphEdge.source_id))
        for code, count in _counts(session, col(GraphEdge.target_id)).items():
            links[code] = links.get(code, 0) + count
    return [
        {**cause_public(c), "cases": cases.get(c.code, 0), "links": links.get(c.code, 0)}
        for c in rows
    ]


def _counts(session: Session, column: Any) -> dict[str, int]:
    """How many rows name each cause code in ``column`` (joined to the catalogue, so an index
    on the column serves it)."""
    found = session.exec(
        select(column, func.count()).join(Cause, col(Cause.code) == column).group_by(column)
    ).all()
    return {str(code): int(count) for code, count in found}


def _locked_cause(session: Session, code: str) -> Cause:
    cause = session.get(Cause, code, with_for_update=True)
    if cause is None:
        raise NotFoundError(f"no cause {code} in the catalogue")
    return cause


def rename_cause(
    engine: Engine, code: str, name: str, *, actor: Actor, clock: Clock
) -> dict[str, Any]:
    """Rename a cause (a ``cause_updated`` event when the name changes); answers the cause."""
    with session_scope(engine) as session:
        cause = _locked_cause(session, code)
        if cause.name != name:
            department_event(
                session,
                "cause_updated",
                {"code": code, "changes": {"name": {"old": cause.name, "new": name}}},
                actor=actor,
                at=clock(),
            )
            cause.name = name
            session.add(cause)
        return cause_public(cause)


def remove_cause(engine: Engine, code: str, *, actor: Actor, clock: Clock) -> None:
    """Remove a cause no case and no graph edge refers to (else :class:`ConflictError`), with a
    ``cause_deleted`` event."""
    with session_scope(engine) as session:
        cause = _locked_cause(session, code)
        cases = session.exec(
            select(func.count()).select_from(Case).where(Case.cause_code == code)
        ).one()
        links = edge_count(session, code)
        if cases or links:
            raise ConflictError(
                f"cause {code} is used by {cases} case(s) and {links} graph link(s)",
                cases=cases,
                links=links,
            )
        session.delete(cause)
        department_event(
            session,
            "cause_deleted",
            {"code": cause.code, "name": cause.name},
            actor=actor,
            at=clock(),
        )
