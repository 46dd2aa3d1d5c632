"""What the module's routes share: who calls, the module's problems, list pages.

The core's policy table has let the caller's role through before a route runs; the module
checks what is its own: a restaurant is registered for a department the core knows, and only
that department's workers change it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request

from evidence_service.modules.catering.state import CateringState
from evidence_service.modules.kit.caller import CoreCaller, ask_core, bearer_token
from evidence_service.modules.kit.problems import ModuleProblem, problem_answers

AUDITOR = "auditor"
#: The roles that act in the module (the core's policy table says the same).
WORKERS = frozenset({"officer", "reviewer", "penalty"})


class CateringProblem(ModuleProblem):
    slug = "catering-error"
    title = "Catering module error"


class BadRequestError(CateringProblem):
    slug, title, status = "invalid-request", "The request does not match the API", 422


class BadRowsError(CateringProblem):
    """Rows that cannot be taken; ``errors`` lists each (row, field, message)."""

    slug, title, status = "bad-rows", "Upload refused", 422


class UnsupportedMediaError(CateringProblem):
    slug, title, status = "wrong-media-type", "Send JSON or CSV", 415


class ForbiddenError(CateringProblem):
    slug, title, status = "forbidden", "Your role or department does not allow this", 403


class NotFoundError(CateringProblem):
    slug, title, status = "not-found", "No such resource", 404


class FrameRefusedError(CateringProblem):
    """A frame posted over HTTP was refused; it is counted all the same."""

    slug, title, status = "frame-refused", "The frame was refused", 422


DESCRIPTIONS = {
    401: "Missing or invalid bearer token, or the restaurant's key (problem+json)",
    403: "The caller's role or department may not do this (problem+json)",
    404: "No such resource (problem+json)",
    409: "The problem's state does not allow this (problem+json)",
    413: "A body larger than the route takes (problem+json)",
    415: "Neither JSON nor CSV (problem+json)",
    422: "A malformed body or query, or a refused frame: ``errors`` or ``reason`` says what is "
    "wrong (problem+json)",
    502: "The evidence core did not answer (problem+json)",
    503: "The module has no service identity configured (problem+json)",
}


def problems(*statuses: int) -> dict[int | str, Any]:
    return problem_answers(DESCRIPTIONS, *statuses)


def state_of(request: Request) -> CateringState:
    return request.app.state.catering  # type: ignore[no-any-return]


async def caller(request: Request) -> CoreCaller:
    """The caller of a route, as the core knows them (asked with their own token)."""
    state = state_of(request)
    return await ask_core(state.core_client(bearer_token(request)), CoreCaller)


CallerDep = Annotated[CoreCaller, Depends(caller)]


def require_role(who: CoreCaller, roles: frozenset[str], what: str) -> None:
    if who.role not in roles:
        raise ForbiddenError(
            f"role {who.role} may not {what} (allowed: {', '.join(sorted(roles))})"
        )


async def keyset_page(
    state: CateringState,
    query: Any,
    limit: int,
    out: Callable[[Any], dict[str, Any]],
    key: Callable[[Any], str] = lambda row: str(row.id),
) -> dict[str, Any]:
    """One page of a list: ``query`` asks for ``limit + 1`` rows after ``after``; the answer
    holds ``limit`` of them and, when there were more, ``next_after``: the last one's key."""

    def read() -> list[Any]:
        with state.engine.connect() as conn:
            return list(conn.execute(query))

    rows = await anyio.to_thread.run_sync(read)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [out(r) for r in rows], "next_after": key(rows[-1]) if more else None}


def utcnow() -> datetime:
    return datetime.now(UTC)
