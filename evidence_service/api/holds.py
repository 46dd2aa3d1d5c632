"""/api/v1/evidence/{id}: legal hold, retention status and disposal (admin); /api/v1/legal-holds:
the items held now."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.api import schemas
from evidence_service.api.deps import AdminActor, CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.capture.retention import MAX_REASON_CHARS, RetentionKeeper, held_items
from evidence_service.core.cursors import MAX_PAGE
from evidence_service.core.errors import BadRequestError

router = APIRouter(prefix="/api/v1", tags=["retention"])

Reason = Annotated[str, Field(min_length=1, max_length=MAX_REASON_CHARS)]


class HoldChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Reason = Field(description="Why the hold is placed or lifted (kept in custody).")


class LegalHold(BaseModel):
    """An item under legal hold: records-management facts only (no title or content)."""

    evidence_id: str
    port: str
    department_id: str = Field(description="the department the item belongs to")
    received_at: datetime
    retention_until: datetime | None
    held_at: datetime | None = Field(description="when the hold in force was placed")
    held_by: str | None = Field(description="the officer (an admin) who placed it")
    reason: str = Field(description="the reason given when it was placed")


class LegalHoldPage(BaseModel):
    items: list[LegalHold]
    next_cursor: str | None


@router.get(
    "/legal-holds",
    summary="The items under a legal hold now (admin)",
    responses={**ok(LegalHoldPage), **problems(400, 401, 403, 422)},
)
def list_legal_holds(
    services: ServicesDep,
    actor: AdminActor,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Every department's held items, latest received first, each with who placed its hold,
    when and why (the ``legal_hold_set`` custody event); ``next_cursor`` pages on."""
    items, next_cursor = held_items(services.engine, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/evidence/{evidence_id}/retention",
    summary="Retention, legal hold and the store's locks",
    responses={**ok(schemas.Retention), **problems(401, 403, 404, 422, 503)},
)
def get_retention(evidence_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    """The record's ``retention_until``, ``legal_hold`` and ``disposed_at`` beside what the
    object store itself reports (``stat``) for the content and each derived object."""
    return RetentionKeeper(services.ingestor).status(evidence_id)


@router.put(
    "/evidence/{evidence_id}/legal-hold",
    summary="Place a legal hold (admin, with a reason)",
    responses={**ok(schemas.Retention), **problems(401, 403, 404, 409, 410, 422, 503)},
)
def place_legal_hold(
    evidence_id: str, payload: HoldChange, services: ServicesDep, actor: AdminActor
) -> dict[str, Any]:
    """Holds the object and every derived object in the store, then records the hold and a
    ``legal_hold_set`` custody event. 409 if the item is held already."""
    keeper = RetentionKeeper(services.ingestor)
    keeper.place_hold(evidence_id, actor=actor, reason=payload.reason)
    return keeper.status(evidence_id)


@router.delete(
    "/evidence/{evidence_id}/legal-hold",
    summary="Lift a legal hold (admin, with a reason)",
    responses={**ok(schemas.Retention), **problems(400, 401, 403, 404, 409, 422, 503)},
)
def lift_legal_hold(
    evidence_id: str,
    services: ServicesDep,
    actor: AdminActor,
    payload: Annotated[HoldChange | None, Body()] = None,
    reason: Annotated[str | None, Query(max_length=MAX_REASON_CHARS)] = None,
) -> dict[str, Any]:
    """The reason comes in the JSON body or the ``reason`` query parameter. Records a
    ``legal_hold_cleared`` custody event. 409 if the item is not held."""
    text = _one_reason(payload, reason)
    keeper = RetentionKeeper(services.ingestor)
    keeper.lift_hold(evidence_id, actor=actor, reason=text)
    return keeper.status(evidence_id)


@router.delete(
    "/evidence/{evidence_id}",
    summary="Dispose of an item's bytes after its retention (admin)",
    responses={**ok(schemas.Retention), **problems(401, 403, 404, 409, 410, 422, 503)},
)
def dispose(evidence_id: str, services: ServicesDep, actor: AdminActor) -> dict[str, Any]:
    """Removes the stored bytes of the item and its derived files once retention has run out
    and no legal hold remains; the record, statement and proof stay and later downloads answer
    410. Otherwise 409 (``legal-hold`` or ``retention-active``, naming the date) and nothing
    changes."""
    keeper = RetentionKeeper(services.ingestor)
    keeper.dispose(evidence_id, actor=actor)
    return keeper.status(evidence_id)


def _one_reason(payload: HoldChange | None, query: str | None) -> str:
    query = query.strip() if query is not None else None
    if payload is not None and query is not None and payload.reason != query:
        raise BadRequestError("give the reason once: in the body or in the query, not both")
    text = payload.reason if payload is not None else query
    if not text:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "reason"),
                    "msg": "a reason is required (JSON body or query parameter)",
                    "type": "missing",
                }
            ]
        )
    return text
