"""/api/v1/evidence/{id}/tags: typed tags added and removed after capture (custody events)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder

from evidence_service.api import schemas
from evidence_service.api.deps import CaptureActor, CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.capture.metadata import Tag, TagType
from evidence_service.capture.tagging import item_tags, tag_item, untag_item

router = APIRouter(prefix="/api/v1/evidence", tags=["tags"])


@router.get(
    "/{evidence_id}/tags",
    summary="The item's tags as they stand now",
    responses={**ok(list[schemas.Tag]), **problems(401, 403, 404, 422)},
)
def list_tags(evidence_id: str, services: ServicesDep, actor: CurrentActor) -> list[Any]:
    return jsonable_encoder(item_tags(services.engine, evidence_id))


@router.post(
    "/{evidence_id}/tags",
    status_code=201,
    summary="Tag an item (a custody event)",
    responses={**ok(list[schemas.Tag], 201), **problems(401, 403, 404, 409, 422)},
)
def tag(evidence_id: str, payload: Tag, services: ServicesDep, actor: CaptureActor) -> list[Any]:
    tags = tag_item(
        services.engine, evidence_id, payload, actor=actor, clock=services.ingestor.clock
    )
    return jsonable_encoder(tags)


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
    tags = untag_item(
        services.engine,
        evidence_id,
        Tag(type=type, value=value),
        actor=actor,
        clock=services.ingestor.clock,
    )
    return jsonable_encoder(tags)
