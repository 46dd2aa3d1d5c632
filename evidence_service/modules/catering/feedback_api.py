"""``/api/v1/catering/…``: the public feedback's moderation queue and a restaurant's index.

The feedback itself is posted from the public page (``pages.py``); here workers and auditors
read it and a worker of the restaurant's department publishes or rejects it. The index
(scores, weights, grades; :mod:`.scores`) is public, as the QR page shows it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import anyio
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from evidence_service.modules.catering import feedback, scores
from evidence_service.modules.catering.common import (
    DESCRIPTIONS,
    WORKERS,
    BadRequestError,
    CallerDep,
    CateringProblem,
    ForbiddenError,
    NotFoundError,
    require_role,
    state_of,
    utcnow,
)
from evidence_service.modules.catering.state import CateringState
from evidence_service.modules.kit.problems import problem_answers

router = APIRouter(prefix="/api/v1/catering", tags=["catering"])
ID = Path(max_length=26, pattern=r"^[0-9A-Za-z]{1,26}$")
_DESCRIPTIONS = {
    **DESCRIPTIONS,
    409: "The feedback was already moderated (problem+json)",
    429: "Too much feedback from this sender or for this restaurant (problem+json)",
}


def problems(*statuses: int) -> dict[int | str, Any]:
    return problem_answers(_DESCRIPTIONS, *statuses)


class ModeratedError(CateringProblem):
    slug, title, status = "feedback-moderated", "The feedback was already moderated", 409


class TooManyError(CateringProblem):
    slug, title, status = "feedback-rate-limited", "Too much feedback; try again later", 429


def refusal(exc: feedback.FeedbackRefused) -> CateringProblem:
    """A feedback refusal as the module's problem (``reason`` kept)."""
    kinds: dict[str, type[CateringProblem]] = {
        "no-restaurant": NotFoundError,
        "no-feedback": NotFoundError,
        "wrong-department": ForbiddenError,
        "already-moderated": ModeratedError,
        "sender-limit": TooManyError,
        "restaurant-limit": TooManyError,
    }
    return kinds.get(exc.reason, BadRequestError)(str(exc), reason=exc.reason)


class Moderation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["publish", "reject"]


@router.get("/feedback", responses=problems(401, 403, 422))
async def list_feedback(
    request: Request,
    restaurant_id: Annotated[str | None, Query(max_length=26, pattern=r"^[0-9A-Za-z]+$")] = None,
    state: Annotated[Literal["pending", "published", "rejected"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The public's feedback, newest first (the sender's digest is never shown)."""
    engine = state_of(request).engine
    items = await anyio.to_thread.run_sync(
        lambda: feedback.list_feedback(
            engine, restaurant_id=restaurant_id, state=state, limit=limit
        )
    )
    return {"items": items}


@router.post("/feedback/{feedback_id}/moderate", responses=problems(401, 403, 404, 409, 422))
async def moderate_feedback(
    request: Request,
    who: CallerDep,
    body: Moderation,
    feedback_id: Annotated[str, ID],
) -> dict[str, Any]:
    """Publish or reject a pending feedback (a worker of the restaurant's department)."""
    require_role(who, WORKERS, "moderate feedback")
    engine = state_of(request).engine
    try:
        return await anyio.to_thread.run_sync(
            lambda: feedback.moderate(
                engine,
                feedback_id,
                decision=body.decision,
                officer_id=who.officer_id,
                department_id=who.department_id,
                now=utcnow(),
            )
        )
    except feedback.FeedbackRefused as exc:
        raise refusal(exc) from exc


def index_of(state: CateringState, restaurant_id: str) -> scores.RestaurantIndex | None:
    with state.engine.connect() as conn:
        return scores.restaurant_index(
            conn,
            restaurant_id,
            now=utcnow(),
            roles=state.factors.rules(),
            limits=state.config.limits,
            tz=ZoneInfo(state.config.timezone),
        )


@router.get("/restaurants/{restaurant_id}/index", responses=problems(401, 404, 422))
async def restaurant_index(request: Request, restaurant_id: Annotated[str, ID]) -> dict[str, Any]:
    """A restaurant's special scores, overall score, the weights and its grades (public)."""
    state = state_of(request)
    found = await anyio.to_thread.run_sync(index_of, state, restaurant_id)
    if found is None:
        raise NotFoundError(f"no restaurant {restaurant_id}")
    return found.as_json(scores.IndexSettings().weights)
