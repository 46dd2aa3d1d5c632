"""/api/v1/evidence/{id}/relations and /api/v1/evidence/{id}/parties: how items relate to each
other (transcript_of, derived_from, corroborates) and which parties an item concerns.

Every change is a custody event on each item it touches; the capture statements stay as they
are. Only two-segment paths below ``/evidence/{id}/`` are defined here, so nothing shadows the
item routes of api/evidence.py or the tags of api/tags.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.api import schemas
from evidence_service.api.deps import CaptureActor, CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.cases import links
from evidence_service.services import Services

router = APIRouter(prefix="/api/v1/evidence", tags=["relations"])


class RelationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(
        max_length=32, description="transcript_of | derived_from | corroborates (symmetric)"
    )
    target_id: str = Field(max_length=26)


class PartyLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    party_id: str = Field(max_length=26)


def _relations(services: Services, evidence_id: str) -> dict[str, Any]:
    relations = links.item_relations(services.engine, evidence_id)
    return {"evidence_id": evidence_id, "relations": jsonable_encoder(relations)}


def _parties(services: Services, evidence_id: str) -> dict[str, Any]:
    return {
        "evidence_id": evidence_id,
        "party_ids": links.item_party_ids(services.engine, evidence_id),
    }


@router.get(
    "/{evidence_id}/relations",
    summary="The item's relations to other items, both ways",
    responses={**ok(schemas.EvidenceRelations), **problems(401, 403, 404, 422)},
)
def list_relations(evidence_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    return _relations(services, evidence_id)


@router.post(
    "/{evidence_id}/relations",
    status_code=201,
    summary="Relate the item to another item",
    responses={**ok(schemas.EvidenceRelations, 201), **problems(400, 401, 403, 404, 409, 422)},
)
def add_relation(
    evidence_id: str, payload: RelationCreate, services: ServicesDep, actor: CaptureActor
) -> Any:
    """The item is the source: ``{"kind": "transcript_of", "target_id": B}`` says this item is
    the transcript of B. ``corroborates`` holds both ways, so its reverse is a duplicate (409)."""
    links.relate_items(
        services.engine,
        payload.kind,
        evidence_id,
        payload.target_id,
        actor=actor,
        clock=services.ingestor.clock,
    )
    return _relations(services, evidence_id)


@router.delete(
    "/{evidence_id}/relations",
    summary="Remove a relation the item starts",
    responses={**ok(schemas.EvidenceRelations), **problems(400, 401, 403, 404, 422)},
)
def remove_relation(
    evidence_id: str,
    services: ServicesDep,
    actor: CaptureActor,
    kind: Annotated[str, Query(max_length=32)],
    target_id: Annotated[str, Query(max_length=26)],
) -> Any:
    """``corroborates`` is removed whichever item it was added from."""
    links.unrelate_items(
        services.engine, kind, evidence_id, target_id, actor=actor, clock=services.ingestor.clock
    )
    return _relations(services, evidence_id)


@router.get(
    "/{evidence_id}/parties",
    summary="The parties the item concerns",
    responses={**ok(schemas.EvidenceParties), **problems(401, 403, 404, 422)},
)
def list_parties(evidence_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    return _parties(services, evidence_id)


@router.post(
    "/{evidence_id}/parties",
    status_code=201,
    summary="Say the item concerns a party",
    responses={**ok(schemas.EvidenceParties, 201), **problems(400, 401, 403, 404, 409, 422)},
)
def add_party(
    evidence_id: str, payload: PartyLink, services: ServicesDep, actor: CaptureActor
) -> Any:
    links.link_item_party(
        services.engine, evidence_id, payload.party_id, actor=actor, clock=services.ingestor.clock
    )
    return _parties(services, evidence_id)


@router.delete(
    "/{evidence_id}/parties/{party_id}",
    summary="Detach a party from the item",
    responses={**ok(schemas.EvidenceParties), **problems(401, 403, 404, 422)},
)
def remove_party(
    evidence_id: str, party_id: str, services: ServicesDep, actor: CaptureActor
) -> Any:
    links.unlink_item_party(
        services.engine, evidence_id, party_id, actor=actor, clock=services.ingestor.clock
    )
    return _parties(services, evidence_id)
