"""/api/v1/evidence/{id}/tags: typed tags added and removed after capture (custody events)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from sqlmodel import Session

from evidence_service.api import schemas
from evidence_service.api.deps import CaptureActor, CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.capture.metadata import Tag, TagType
from evidence_service.capture.models import Evidence
from evidence_service.capture.tagging import add_tag, current_tags, remove_tag
from evidence_service.core.db import session_scope
from evidence_service.core.errors import NotFoundError

router = APIRouter(prefix="/api/v1/evidence", tags=["tags"])


@router.get(
    "/{evidence_id}/tags",
    summary="The item's tags as they stand now",
    responses={**ok(list[schemas.Tag]), **problems(401, 403, 404, 422)},
)
def list_tags(evidence_id: str, services: ServicesDep, actor: CurrentActor) -> list[Any]:
    with Session(services.engine) as session:
        if session.get(Evidence, evidence_id) is None:
            raise NotFoundError(f"no evidence {evidence_id}")
        return jsonable_encoder(current_tags(session, evidence_id))


@router.post(
    "/{evidence_id}/tags",
    status_code=201,
    summary="Tag an item (a custody event)",
    responses={**ok(list[schemas.Tag], 201), **problems(401, 403, 404, 409, 422)},
)
def tag(evidence_id: str, payload: Tag, services: ServicesDep, actor: CaptureActor) -> list[Any]:
    with session_scope(services.engine) as session:
        add_tag(session, evidence_id, payload, actor=actor, at=services.ingestor.clock())
    with Session(services.engine) as session:
        return jsonable_encoder(current_tags(session, evidence_id))


@router.delete(
    "/{evidence_id}/tags",
    summary="Remove a tag (a custody event)",
    responses={**ok(list[schemas.Tag]), **problems(401, 403, 404, 422)},
)
def untag(
    evidence_id: str,
    services: ServicesDep,
    actor: CaptureActor,
    type: Annotated[TagType, Query()],
    value: Annotated[str, Query(min_length=1, max_length=200)],
) -> list[Any]:
    with session_scope(services.engine) as session:
        remove_tag(
            session,
            evidence_id,
            Tag(type=type, value=value),
            actor=actor,
            at=services.ingestor.clock(),
        )
    with Session(services.engine) as session:
        return jsonable_encoder(current_tags(session, evidence_id))
