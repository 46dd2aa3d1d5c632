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
from sqlmodel import Session

from evidence_service.api import schemas
from evidence_service.api.deps import CaptureActor, CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.cases.cases import (
    RELATION_KINDS,
    evidence_party_ids,
    evidence_relations,
    link,
    unlink,
)
from evidence_service.core.db import session_scope
from evidence_service.core.errors import BadRequestError
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


def _relation_kind(kind: str) -> str:
    if kind not in RELATION_KINDS:
        raise BadRequestError(
            f"unknown relation kind {kind!r} (one of {', '.join(sorted(RELATION_KINDS))})"
        )
    return kind


def _relations(services: Services, evidence_id: str) -> dict[str, Any]:
    with Session(services.engine) as session:
        relations = evidence_relations(session, evidence_id)
    return {"evidence_id": evidence_id, "relations": jsonable_encoder(relations)}


def _parties(services: Services, evidence_id: str) -> dict[str, Any]:
    with Session(services.engine) as session:
        return {"evidence_id": evidence_id, "party_ids": evidence_party_ids(session, evidence_id)}


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
    kind = _relation_kind(payload.kind)
    with session_scope(services.engine) as session:
        link(
            session,
            kind,
            evidence_id,
            payload.target_id,
            actor=actor,
            at=services.ingestor.clock(),
            source_kind="evidence",
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
    with session_scope(services.engine) as session:
        unlink(
            session,
            _relation_kind(kind),
            evidence_id,
            target_id,
            actor=actor,
            at=services.ingestor.clock(),
            source_kind="evidence",
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
    with session_scope(services.engine) as session:
        link(
            session,
            "concerns_party",
            evidence_id,
            payload.party_id,
            actor=actor,
            at=services.ingestor.clock(),
            source_kind="evidence",
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
    with session_scope(services.engine) as session:
        unlink(
            session,
            "concerns_party",
            evidence_id,
            party_id,
            actor=actor,
            at=services.ingestor.clock(),
            source_kind="evidence",
        )
    return _parties(services, evidence_id)
