"""Department e-seals: the seal image, sealing a document digest, verifying a seal record."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.access.seals import may_seal, seal_verdict, sealing_department
from evidence_service.api import schemas
from evidence_service.api.deps import CurrentActor, OptionalActor, ServicesDep, record_custody
from evidence_service.api.responses import binary, ok, problems
from evidence_service.core.digests import is_hex64
from evidence_service.core.errors import BadRequestError, ForbiddenError
from evidence_service.custody.log import CustodyAction
from evidence_service.render.seal_image import seal_png
from signing.errors import SigningError
from signing.seal import SealRecord

router = APIRouter(prefix="/api/v1", tags=["seals"])


@router.get(
    "/departments/{department_id}/seal.png",
    summary="The department's seal image (transparent PNG, print resolution)",
    response_class=Response,
    responses={**binary("image/png"), **problems(401, 404, 409, 422)},
)
def get_seal_image(department_id: str, services: ServicesDep) -> Response:
    department = sealing_department(services.engine, department_id)
    return Response(
        seal_png(department),
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )


class SealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    digest: str = Field(description="SHA-256 (hex) of the document to seal")


@router.post(
    "/departments/{department_id}/seals",
    status_code=201,
    summary="Seal a digest",
    responses={**ok(schemas.SealRecord, 201), **problems(400, 401, 403, 404, 422)},
)
def seal(
    department_id: str, payload: SealRequest, services: ServicesDep, actor: CurrentActor
) -> dict[str, Any]:
    """A reviewer, penalty officer or admin of the department seals a document digest with
    the department's e-seal; answers with the seal record (a custody event). An auditor
    seals only the audit trail the service renders (``/audit/trail.pdf``), never a digest."""
    if not may_seal(actor, department_id):
        raise ForbiddenError("only the department's reviewers, penalty officers or an admin seal")
    digest = payload.digest.strip().lower()
    if not is_hex64(digest):
        raise BadRequestError("digest must be 64 hex digits (SHA-256)")
    record = services.pki.seal_digest(department_id, digest, actor_id=actor.officer_id)
    body: dict[str, Any] = json.loads(record.as_json())
    return body


class SealVerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record: dict[str, Any]
    digest: str | None = Field(None, description="the digest of the document in hand")


@router.post(
    "/seals/verify",
    summary="Verify a seal record (no authentication)",
    responses={**ok(schemas.SealVerdict), **problems(400, 401, 422)},
)
def verify(
    payload: SealVerifyRequest, services: ServicesDep, actor: OptionalActor
) -> dict[str, Any]:
    """Answers ``valid`` with the sealing department, or the failure's stable ``reason``
    (bad-signature, unknown-issuer, expired, revoked, not-yet-valid, bad-certificate). A
    signed-in caller's check of a valid seal (one made here) is recorded as a
    ``seal_verified`` custody event, once an hour per caller and seal; a record that does not
    verify is answered and not recorded, so made-up records cannot grow the log."""
    try:
        record = SealRecord.from_json(json.dumps(payload.record))
    except (SigningError, ValueError) as exc:
        raise BadRequestError(f"record: {exc}") from exc
    verdict = seal_verdict(
        services.pki,
        record,
        expected_digest=payload.digest.lower() if payload.digest else None,
    )
    if actor is not None and verdict["valid"]:
        record_custody(
            services,
            actor,
            None,
            CustodyAction.seal_verified,
            digest=record.digest,
            department=record.department_id,
            valid=verdict["valid"],
        )
    return verdict
