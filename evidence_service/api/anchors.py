"""Anchoring a JSON document (``POST /api/v1/anchors``) and reading its proof as it grows."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.anchoring.documents import anchor_document, anchored_public, read_anchored
from evidence_service.api import schemas
from evidence_service.api.deps import CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems

router = APIRouter(prefix="/api/v1", tags=["anchoring"])


class AnchorRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: dict[str, Any] = Field(
        description="any JSON object; its JCS bytes (RFC 8785) are the leaf's data"
    )


@router.post(
    "/anchors",
    status_code=201,
    summary="Anchor a JSON document: its JCS bytes become a leaf of the next batch",
    responses={
        **ok(schemas.AnchoredDocument, 201),
        200: {
            "description": "The same document was anchored before: that anchor",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/AnchoredDocument"}}
            },
        },
        **problems(400, 401, 403, 413, 422),
    },
)
def anchor(
    payload: AnchorRequest, response: Response, services: ServicesDep, actor: CurrentActor
) -> dict[str, Any]:
    """The leaf is SHA-256(0x00 ‖ JCS(document)), as for evidence lists; the answer carries
    ``merkle`` once its batch closes and ``anchor`` once the root is mined (poll
    ``GET /api/v1/anchors/{id}``). The service keeps the digest, never the document. The same
    document again answers 200 with its first anchor, and makes no second leaf."""
    done = anchor_document(
        services.engine,
        payload.document,
        officer_id=actor.officer_id,
        department_id=actor.department_id,
        now=services.clock(),
    )
    response.status_code = 201 if done.created else 200
    return anchored_public(services.engine, done.row, services.trees)


@router.get(
    "/anchors/{anchor_id}",
    summary="An anchored document's leaf, Merkle path and anchor",
    responses={**ok(schemas.AnchoredDocument), **problems(401, 404, 422)},
)
def get_anchor(anchor_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    return anchored_public(
        services.engine, read_anchored(services.engine, anchor_id[:26]), services.trees
    )
