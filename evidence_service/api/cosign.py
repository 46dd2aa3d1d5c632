"""/api/v1/cosignatures: several departments co-sign a record with one BLS aggregate, each by
its own reviewers' approval.

A request signs nothing; the aggregate is made when the last named department approves, and a
decline or seven days without every approval end the request (then 409 ``cosignature-state``).
Who may request and answer (reviewers and penalty officers) is the access policy's
(``api/policy.py``); which department answers, and who sees a co-signature (those who may see
its subject, and the departments it names; others get 404), the cosign wing's
(``cosign/workflow.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.api import policy, schemas
from evidence_service.api.deps import CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.cosign.workflow import (
    MAX_SIGNERS,
    approve_cosignature,
    cosignature_record,
    decline_cosignature,
    request_cosignature,
    verify_cosignature,
)

router = APIRouter(prefix="/api/v1/cosignatures", tags=["co-signatures"])


class CoSignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: Literal["statement", "batch"]
    subject_id: str = Field(max_length=26, description="evidence id, or batch id")
    department_ids: list[Annotated[str, Field(max_length=26)]] = Field(
        min_length=1,
        max_length=MAX_SIGNERS,
        description="the departments asked to co-sign; the caller's own is added (first) when "
        "not named, and the request is its approval",
    )


class DeclineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000, description="why the department declines")


@router.post(
    "",
    status_code=201,
    summary="Ask departments to co-sign a statement or a batch root",
    responses={**ok(schemas.CoSignature, 201), **problems(400, 401, 403, 404, 422)},
)
def create(payload: CoSignRequest, services: ServicesDep, actor: CurrentActor) -> Any:
    """A pending request: nothing is signed until every named department approves. The subject
    must be one the caller may see (else 404, as for an unknown id). A custody event."""
    return jsonable_encoder(
        request_cosignature(
            services.engine,
            actor,
            payload.subject,
            payload.subject_id,
            payload.department_ids,
            clock=services.clock,
        )
    )


@router.get(
    "/{cosignature_id}",
    summary="A co-signature: status, answers, and once complete the signers' keys and aggregate",
    responses={**ok(schemas.CoSignature), **problems(401, 404, 422)},
)
def get(cosignature_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    """The status (pending, complete, declined, expired), each named department's answer, the
    message and — once complete — everything a verifier needs: each department's public key and
    proof of possession and the aggregate (IETF BLS ``FastAggregateVerify``)."""
    return jsonable_encoder(
        cosignature_record(
            services.engine,
            actor,
            cosignature_id,
            clock=services.clock,
            oversight=policy.sees_everything(actor),
        )
    )


@router.post(
    "/{cosignature_id}/approve",
    summary="Approve a co-signature request for your department",
    responses={**ok(schemas.CoSignature), **problems(401, 403, 404, 409, 422)},
)
def approve(cosignature_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    """A reviewer or penalty officer of a named department approves (a custody event); the last
    approval makes, checks and stores the aggregate. 409 once the request ended or the
    department answered."""
    return jsonable_encoder(
        approve_cosignature(
            services.engine, services.cosigner, actor, cosignature_id, clock=services.clock
        )
    )


@router.post(
    "/{cosignature_id}/decline",
    summary="Decline a co-signature request for your department",
    responses={**ok(schemas.CoSignature), **problems(401, 403, 404, 409, 422)},
)
def decline(
    cosignature_id: str,
    services: ServicesDep,
    actor: CurrentActor,
    payload: DeclineRequest | None = None,
) -> Any:
    """A reviewer or penalty officer of a named department declines (a custody event): the
    request ends and nothing is signed."""
    return jsonable_encoder(
        decline_cosignature(
            services.engine,
            actor,
            cosignature_id,
            clock=services.clock,
            reason=payload.reason if payload else None,
        )
    )


@router.post(
    "/{cosignature_id}/verify",
    summary="Verify a co-signature against the record now",
    responses={**ok(schemas.CoSignatureVerdict), **problems(401, 404, 409, 422)},
)
def verify(cosignature_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    """Re-check the aggregate against the subject as it stands and the departments' registered
    keys (a custody event). 409 while there is no aggregate."""
    return verify_cosignature(
        services.engine,
        actor,
        cosignature_id,
        clock=services.clock,
        oversight=policy.sees_everything(actor),
    )
