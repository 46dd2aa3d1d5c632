"""/api/v1/cosignatures: one BLS aggregate signature by several departments over a record."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.access.models import Role
from evidence_service.api import schemas
from evidence_service.api.deps import CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.core.errors import ForbiddenError
from evidence_service.cosign.cosignatures import cosignature_document, find_cosignature

router = APIRouter(prefix="/api/v1/cosignatures", tags=["co-signatures"])
COSIGN_ROLES = frozenset({Role.admin, Role.reviewer, Role.penalty})


class CoSignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: Literal["statement", "batch"]
    subject_id: str = Field(max_length=26, description="evidence id, or batch id")
    department_ids: list[str] = Field(min_length=1, max_length=32)


@router.post(
    "",
    status_code=201,
    summary="Co-sign a statement or a batch root",
    responses={**ok(schemas.CoSignature, 201), **problems(400, 401, 403, 404, 422)},
)
def create(payload: CoSignRequest, services: ServicesDep, actor: CurrentActor) -> Any:
    """Every named department signs with its own BLS key; the aggregate is checked, then kept."""
    if actor.role not in COSIGN_ROLES:
        raise ForbiddenError("reviewers, penalty officers and admins co-sign")
    row = services.cosigner.cosign(
        payload.subject, payload.subject_id, payload.department_ids, actor_id=actor.officer_id
    )
    return jsonable_encoder(cosignature_document(services.engine, row))


@router.get(
    "/{cosignature_id}",
    summary="A co-signature: message, signers' keys, aggregate",
    responses={**ok(schemas.CoSignature), **problems(401, 404, 422)},
)
def get(cosignature_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    """Everything a verifier needs: the signed message, each department's public key and proof
    of possession, and the aggregate (IETF BLS ``FastAggregateVerify``)."""
    return jsonable_encoder(find_cosignature(services.engine, cosignature_id))


@router.post(
    "/{cosignature_id}/verify",
    summary="Verify a co-signature against the record now",
    responses={**ok(schemas.CoSignatureVerdict), **problems(401, 404, 422)},
)
def verify(cosignature_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    return services.cosigner.verify(
        cosignature_id, actor_id=actor.officer_id, department_id=actor.department_id
    )
