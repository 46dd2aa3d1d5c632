"""What the module's routes share: who calls, the module's problems, ids and list pages.

The core's policy table has let the caller's role through before a route runs; what the module
adds is the department's part in joint inspection, from its own table
``inspection_department`` (set by an admin, ``PUT /api/v1/inspection/departments/{id}``): the
scenario library's department kind (市场监管, 消防 …) it inspects for, and whether it is the
coordinating office (综合行政执法) that imports the directory, drafts tasks and runs draws.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import anyio
from fastapi import Depends, Request
from sqlalchemy import select
from ulid import ULID

from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection.state import InspectionState
from evidence_service.modules.kit.caller import CoreCaller, ask_core, bearer_token
from evidence_service.modules.kit.problems import ModuleProblem, problem_answers

AUDITOR = "auditor"
ADMIN = "admin"
#: The roles that act in the module (the core's policy table says the same; checked again here
#: for a separate deployment, where no core policy stands in front of the module).
WORKERS = frozenset({"officer", "reviewer", "penalty"})
READERS = WORKERS | {AUDITOR}


class InspectionProblem(ModuleProblem):
    slug = "inspection-error"
    title = "Joint-inspection module error"


class BadRequestError(InspectionProblem):
    slug, title, status = "invalid-request", "The request does not match the API", 422


class BadRowsError(InspectionProblem):
    """Rows that cannot be taken; ``errors`` lists each (row, field, message)."""

    slug, title, status = "bad-rows", "Upload refused", 422


def row_error(row: int, field: str, message: str) -> dict[str, Any]:
    """One bad row as a problem's ``errors`` entry, in the core's shape (``loc``, ``msg``)
    with the row (the spreadsheet's for CSV, 1-based for JSON, 0 for the whole upload) and
    the column."""
    loc = f"rows[{row}].{field}" if field else f"rows[{row}]"
    return {"loc": loc, "msg": message, "row": row, "field": field}


class UnsupportedMediaError(InspectionProblem):
    slug, title, status = "wrong-media-type", "Send JSON or CSV", 415


class TooLargeError(InspectionProblem):
    slug, title, status = "too-many-rows", "More rows than one upload takes", 413


class ForbiddenError(InspectionProblem):
    slug, title, status = "forbidden", "Your role does not allow this action", 403


class NotFoundError(InspectionProblem):
    slug, title, status = "not-found", "No such resource", 404


class ConflictError(InspectionProblem):
    slug, title, status = "conflict", "The resource's state does not allow this", 409


class AnnualCapError(InspectionProblem):
    """The enterprise has had the published number of inspections this year."""

    slug, title, status = "annual-cap-reached", "The enterprise is at its annual cap", 409


class StaleVersionError(InspectionProblem):
    slug, title, status = "precondition-failed", "The resource changed since it was read", 412


DESCRIPTIONS = {
    401: "Missing or invalid bearer token (problem+json)",
    403: "The caller's role or department may not do this (problem+json)",
    404: "No such resource, or not one the caller may see (problem+json)",
    409: "The resource's state, or the enterprise's annual cap, does not allow this (problem+json)",
    412: "If-Match names an older version (problem+json)",
    413: "More rows than one upload takes (problem+json)",
    415: "Neither JSON nor CSV (problem+json)",
    422: "A malformed body or query: ``errors`` says what is wrong (problem+json)",
    502: "The evidence core did not answer (problem+json)",
}


def problems(*statuses: int) -> dict[int | str, Any]:
    return problem_answers(DESCRIPTIONS, *statuses)


@dataclass(frozen=True)
class Caller(CoreCaller):
    """Who calls, as the core knows them, with their department's part in joint inspection."""

    kind: str | None = None  # the scenario library's department kind
    coordinator: bool = False  # the coordinating office (综合行政执法)

    @property
    def reads_all(self) -> bool:
        return self.coordinator or self.role == AUDITOR


def state_of(request: Request) -> InspectionState:
    return request.app.state.inspection  # type: ignore[no-any-return]


def _department_part(state: InspectionState, department_id: str) -> tuple[str | None, bool]:
    with state.engine.connect() as conn:
        row = conn.execute(
            select(m.department.c.kind, m.department.c.coordinator).where(
                m.department.c.department_id == department_id
            )
        ).first()
    return (row.kind, bool(row.coordinator)) if row else (None, False)


async def caller_for_token(state: InspectionState, token: str) -> Caller:
    who = await ask_core(state.core_client(token), Caller)
    kind, coordinator = await anyio.to_thread.run_sync(_department_part, state, who.department_id)
    return dataclasses.replace(who, kind=kind, coordinator=coordinator)


async def caller(request: Request) -> Caller:
    """The caller of a route, from its bearer token."""
    return await caller_for_token(state_of(request), bearer_token(request))


CallerDep = Annotated[Caller, Depends(caller)]


def require_role(who: Caller, roles: frozenset[str], what: str) -> None:
    if who.role not in roles:
        raise ForbiddenError(
            f"role {who.role} may not {what} (allowed: {', '.join(sorted(roles))})"
        )


def require_coordinator(who: Caller, what: str) -> None:
    """Only the coordinating office's workers ``what`` (e.g. "import the directory")."""
    require_role(who, WORKERS, what)
    if not who.coordinator:
        raise ForbiddenError(
            f"only the coordinating office may {what}; department {who.department_id} is not "
            "marked as coordinator (PUT /api/v1/inspection/departments/{department_id})"
        )


def local_date(now: datetime, timezone: str) -> date:
    """``now``'s calendar date where the inspections happen: a task's year (the annual cap's)
    and an agreed date count there, not in UTC."""
    return now.astimezone(ZoneInfo(timezone)).date()


def new_id() -> str:
    return str(ULID())


def utcnow() -> datetime:
    return datetime.now(UTC)


_CURSOR = re.compile(r"[0-9A-Za-z_.:-]{1,64}")


async def page_of(
    state: InspectionState,
    query: Any,
    size: int,
    *,
    key: Callable[[Any], str],
    out: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """One page of a keyset list: ``query`` asks for ``size + 1`` rows after the cursor; the
    answer holds ``size`` of them and, when there were more, the cursor after the last."""

    def read() -> list[Any]:
        with state.engine.connect() as conn:
            return list(conn.execute(query))

    rows = await anyio.to_thread.run_sync(read)
    more = len(rows) > size
    rows = rows[:size]
    return {
        "items": [out(r) for r in rows],
        "next_cursor": encode_cursor(key(rows[-1])) if more else None,
    }


def encode_cursor(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The key a page starts after; BadRequestError for anything this did not write."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (ValueError, UnicodeError) as exc:
        raise BadRequestError("cursor: not a cursor of this list") from exc
    if not _CURSOR.fullmatch(value):
        raise BadRequestError("cursor: not a cursor of this list")
    return value
