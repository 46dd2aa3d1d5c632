"""/api/v1/departments, /api/v1/officers, /api/v1/me: identity administration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.access import people
from evidence_service.access.models import (
    Department,
    DepartmentCreate,
    DepartmentPublic,
    Officer,
    OfficerCreate,
    OfficerPublic,
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
    def create() -> tuple[int, dict[str, Any]]:
        officer = people.register_officer(services.engine, payload, at=services.ingestor.clock())
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
    kind: str = Field(default="person", pattern="^(person|device)$")
    label: str = Field(default="", max_length=200)


@router.post(
    "/officers/{officer_id}/tokens",
    status_code=201,
    responses={**ok(schemas.IssuedToken, 201), **problems(401, 403, 404, 422)},
)
def create_token(
    officer_id: str,
    payload: TokenCreate,
    services: ServicesDep,
    actor: AdminActor,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    """Issue a bearer token (shown once; only its hash is kept) for a person or a device.

    A replay of the same Idempotency-Key issues no second token and answers with
    ``token: null``: the clear token is never stored, not even for replays."""

    def create() -> tuple[int, dict[str, Any]]:
        token = people.issue_officer_token(
            services.engine,
            officer_id,
            kind=payload.kind,
            label=payload.label,
            clock=services.ingestor.clock,
        )
        return 201, {"officer_id": officer_id, "kind": payload.kind, "token": token}

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
