"""Officer certificates: issued by the department CA, listed, revoked (the CRL follows)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.access.pki import certificate_public, officer_certificates
from evidence_service.api import schemas
from evidence_service.api.deps import AdminActor, CurrentActor, IdemKey, ServicesDep
from evidence_service.api.idempotency import idempotent
from evidence_service.api.responses import ok, problems

router = APIRouter(prefix="/api/v1", tags=["certificates"])


class CertificateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key_pem: str | None = Field(
        None,
        max_length=4096,
        description="The officer's public key (PEM, Ed25519 or P-256). Omit to have the service "
        "generate a custodial key, kept encrypted, with which it signs the officer's captures.",
    )
    alg: Literal["Ed25519", "ES256"] = Field(
        "Ed25519", description="Key type of a custodial key (ignored with public_key_pem)."
    )


@router.post(
    "/officers/{officer_id}/certificates",
    status_code=201,
    summary="Issue an officer certificate from the department CA",
    responses={**ok(schemas.Certificate, 201), **problems(400, 401, 403, 404, 422)},
)
def issue_certificate(
    officer_id: str,
    payload: CertificateRequest,
    services: ServicesDep,
    actor: AdminActor,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    def issue() -> tuple[int, dict[str, Any]]:
        row = services.pki.issue(
            officer_id,
            public_key_pem=payload.public_key_pem.encode() if payload.public_key_pem else None,
            alg=payload.alg,
            actor_id=actor.officer_id,
        )
        return 201, jsonable_encoder(certificate_public(row))

    status, body = idempotent(
        services,
        actor,
        idempotency_key,
        f"POST /api/v1/officers/{officer_id}/certificates",
        payload.model_dump(),
        issue,
    )
    return JSONResponse(body, status_code=status)


@router.get(
    "/officers/{officer_id}/certificates",
    summary="An officer's certificates",
    responses={**ok(list[schemas.Certificate]), **problems(401, 403, 404, 422)},
)
def list_certificates(officer_id: str, services: ServicesDep, actor: CurrentActor) -> list[Any]:
    rows = officer_certificates(services.engine, officer_id)
    return [jsonable_encoder(certificate_public(r)) for r in rows]


@router.post(
    "/certificates/{serial}/revoke",
    summary="Revoke a certificate (CRL reissued)",
    responses={**ok(schemas.Certificate), **problems(401, 403, 404, 422)},
)
def revoke_certificate(serial: str, services: ServicesDep, actor: AdminActor) -> Any:
    """Statements anchored before the revocation still verify (long-term validation); those
    anchored after it do not. Revoking twice keeps the first revocation time."""
    return jsonable_encoder(
        certificate_public(services.pki.revoke(serial, actor_id=actor.officer_id))
    )
