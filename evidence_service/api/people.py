"""/api/v1/departments, /api/v1/officers, /api/v1/me: identity administration."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.access import people
from evidence_service.access.models import (
    Department,
    DepartmentCreate,
    DepartmentPublic,
    Officer,
    OfficerCreate,
    OfficerPublic,
    TokenKind,
)
from evidence_service.api import schemas
from evidence_service.api.deps import AdminActor, CurrentActor, IdemKey, ServicesDep
from evidence_service.api.idempotency import idempotent
from evidence_service.api.responses import ok, problems

router = APIRouter(prefix="/api/v1", tags=["people"])


@router.get("/me", response_model=OfficerPublic, responses=problems(401))
def me(services: ServicesDep, actor: CurrentActor) -> Officer:
    return people.signed_in_officer(services.engine, actor)


@router.get("/departments", response_model=list[DepartmentPublic], responses=problems(401))
def list_departments(services: ServicesDep, actor: CurrentActor) -> list[Department]:
    return people.all_departments(services.engine)


@router.post(
    "/departments",
    response_model=DepartmentPublic,
    status_code=201,
    responses=problems(400, 401, 403, 422),
)
def create_department(
    payload: DepartmentCreate,
    services: ServicesDep,
    actor: AdminActor,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    def create() -> tuple[int, dict[str, Any]]:
        department = people.register_department(
            services.engine, payload, at=services.ingestor.clock()
        )
        return 201, DepartmentPublic.model_validate(department).model_dump(mode="json")

    status, body = idempotent(
        services,
        actor,
        idempotency_key,
        "POST /api/v1/departments",
        payload.model_dump(mode="json"),
        create,
    )
    return JSONResponse(body, status_code=status)


class DepartmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    require_signed_captures: bool | None = Field(
        default=None,
        description="false lets the department's officers capture unsigned statements (an "
        "officer without a usable custodial certificate); true (the default) refuses them",
    )


@router.patch(
    "/departments/{department_id}",
    response_model=DepartmentPublic,
    summary="Change a department's settings",
    responses=problems(401, 403, 404, 422),
)
def update_department(
    department_id: str, payload: DepartmentUpdate, services: ServicesDep, actor: AdminActor
) -> Department:
    """Only the settings given change; a change is a custody event (``department_updated``)."""
    return people.update_department(
        services.engine,
        department_id,
        require_signed_captures=payload.require_signed_captures,
        actor=actor,
        clock=services.clock,
    )


@router.post(
    "/departments/{department_id}/ca/rotate",
    summary="Rotate the department CA (the old one stays trusted for what it certified)",
    responses={**ok(schemas.DepartmentCA), **problems(401, 403, 404, 422)},
)
def rotate_department_ca(department_id: str, services: ServicesDep, actor: AdminActor) -> Any:
    """A new CA key and certificate for the department. The retired CA stays in the trust
    bundle (``GET /api/v1/trust``) with its own validity, so every statement and seal it
    certified still verifies at its anchor time, and its CRL is still reissued on revocation.
    Custodial officer certificates move to the new CA at their officer's next capture; the
    department seal is certified anew when next used. A custody event (``ca_rotated``)."""
    return jsonable_encoder(services.pki.rotate_ca(department_id, actor_id=actor.officer_id))


@router.post(
    "/officers",
    response_model=OfficerPublic,
    status_code=201,
    responses=problems(401, 403, 404, 422),
)
def create_officer(
    payload: OfficerCreate,
    services: ServicesDep,
    actor: AdminActor,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    """The officer gets a custodial certificate from the department CA with the same write,
    so the service signs their captures from the first one."""

    def create() -> tuple[int, dict[str, Any]]:
        officer = people.register_officer(
            services.pki, payload, at=services.ingestor.clock(), actor_id=actor.officer_id
        )
        return 201, OfficerPublic.model_validate(officer).model_dump(mode="json")

    status, body = idempotent(
        services,
        actor,
        idempotency_key,
        "POST /api/v1/officers",
        payload.model_dump(mode="json"),
        create,
    )
    return JSONResponse(body, status_code=status)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: TokenKind = Field(
        default=TokenKind.device,
        description="device or service; a person's token comes from their enrolment code",
    )
    label: str = Field(default="", max_length=200)


@router.post(
    "/officers/{officer_id}/tokens",
    status_code=201,
    responses={**ok(schemas.IssuedToken, 201), **problems(400, 401, 403, 404, 409, 422)},
)
def create_token(
    officer_id: str,
    payload: TokenCreate,
    services: ServicesDep,
    actor: AdminActor,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    """Issue a device or service token in the officer's name (shown once; only its hash is
    kept). It does not expire; it is listed with who issued it and can be revoked. A person's
    own token is never issued here: get them an enrolment code.

    A replay of the same Idempotency-Key issues no second token and answers with
    ``token: null``: the clear token is never stored, not even for replays."""

    def create() -> tuple[int, dict[str, Any]]:
        issued = people.issue_officer_token(
            services.engine,
            officer_id,
            kind=payload.kind,
            label=payload.label,
            issuer=actor,
            clock=services.clock,
        )
        return 201, issued

    status, body = idempotent(
        services,
        actor,
        idempotency_key,
        "POST /api/v1/officers/{id}/tokens",
        {"officer_id": officer_id, **payload.model_dump(mode="json")},
        create,
        stored=lambda body: {**body, "token": None},
    )
    return JSONResponse(body, status_code=status)


@router.get(
    "/officers/{officer_id}/tokens",
    summary="The tokens in an officer's name (their own, or an admin's view)",
    responses={**ok(list[schemas.Token]), **problems(401, 403, 404, 422)},
)
def list_tokens(officer_id: str, services: ServicesDep, actor: CurrentActor) -> list[Any]:
    """Never the tokens themselves: id, kind, label, who issued it, when it expires or was
    revoked. An officer sees here every token that can act in their name."""
    return [t.model_dump(mode="json") for t in people.officer_tokens(services.engine, officer_id)]


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    summary="Revoke a token (one's own, or any as an admin)",
    responses=problems(401, 404, 422),
)
def revoke_token(token_id: str, services: ServicesDep, actor: CurrentActor) -> Response:
    people.revoke_token(services.engine, token_id, actor=actor, clock=services.clock)
    return Response(status_code=204)


class OfficerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool = Field(description="false disables the officer and revokes all their tokens")


@router.patch(
    "/officers/{officer_id}",
    response_model=OfficerPublic,
    summary="Disable (or enable again) an officer",
    responses=problems(401, 403, 404, 422),
)
def update_officer(
    officer_id: str, payload: OfficerUpdate, services: ServicesDep, actor: AdminActor
) -> Officer:
    """Disabling revokes every token and unused enrolment code of the officer at once;
    enabling again restores none (they enrol anew)."""
    return people.set_officer_active(
        services.engine, officer_id, payload.active, clock=services.clock
    )


@router.post(
    "/officers/{officer_id}/enrolment",
    status_code=201,
    summary="A one-time enrolment code for an officer (the admin hands it over)",
    responses={**ok(schemas.EnrolmentCode, 201), **problems(401, 403, 404, 409, 422)},
)
def create_enrolment(officer_id: str, services: ServicesDep, actor: AdminActor) -> Any:
    """The officer exchanges it at ``POST /api/v1/auth/enrol`` for their own credentials; it
    works once, for ``EVIDENCE_ENROLMENT_TTL_HOURS``, and a new code voids the earlier one.
    The admin never holds a credential of the officer's."""
    issued = people.issue_enrolment_code(
        services.engine,
        officer_id,
        issuer=actor,
        clock=services.clock,
        ttl=timedelta(hours=services.settings.enrolment_ttl_hours),
    )
    return jsonable_encoder(issued)


class Enrolment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=64)
    label: str = Field(default="", max_length=200, description="e.g. the device it is used on")


@router.post(
    "/auth/enrol",
    status_code=201,
    summary="Exchange an enrolment code for one's own token",
    responses={**ok(schemas.EnrolledToken, 201), **problems(400, 401, 422)},
)
def enrol(payload: Enrolment, services: ServicesDep) -> Any:
    """Public (the code is the credential). Answers a person token, shown once, expiring after
    ``EVIDENCE_TOKEN_TTL_DAYS``; the code is spent."""
    issued = people.enrol(
        services.engine,
        payload.code,
        label=payload.label,
        clock=services.clock,
        ttl=timedelta(days=services.settings.token_ttl_days),
    )
    return jsonable_encoder(issued)
