"""/api/v1/departments, /api/v1/officers, /api/v1/me: identity administration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from evidence_service.access.identity import issue_token
from evidence_service.access.models import (
    Department,
    DepartmentCreate,
    DepartmentPublic,
    Officer,
    OfficerCreate,
    OfficerPublic,
)
from evidence_service.api import schemas
from evidence_service.api.deps import AdminActor, CurrentActor, IdemKey, ServicesDep, SessionDep
from evidence_service.api.idempotency import idempotent
from evidence_service.api.responses import ok, problems
from evidence_service.capture.ingest import new_id
from evidence_service.core.db import session_scope
from evidence_service.core.errors import BadRequestError, NotFoundError

router = APIRouter(prefix="/api/v1", tags=["people"])


@router.get("/me", response_model=OfficerPublic, responses=problems(401))
def me(session: SessionDep, actor: CurrentActor) -> Officer:
    officer = session.get(Officer, actor.officer_id)
    assert officer is not None
    return officer


@router.get("/departments", response_model=list[DepartmentPublic], responses=problems(401))
def list_departments(session: SessionDep, actor: CurrentActor) -> list[Department]:
    return list(session.exec(select(Department).order_by(col(Department.name))).all())


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
        department = Department(
            id=new_id(), created_at=services.ingestor.clock(), **payload.model_dump()
        )
        try:
            with session_scope(services.engine) as session:
                session.add(department)
        except IntegrityError as exc:
            raise BadRequestError(f"department code {payload.code!r} is taken") from exc
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
        officer = Officer(id=new_id(), created_at=services.ingestor.clock(), **payload.model_dump())
        with session_scope(services.engine) as session:
            if session.get(Department, payload.department_id) is None:
                raise NotFoundError(f"no department {payload.department_id}")
            session.add(officer)
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
        with session_scope(services.engine) as session:
            officer = session.get(Officer, officer_id)
            if officer is None:
                raise NotFoundError(f"no officer {officer_id}")
            token = issue_token(
                session,
                officer,
                token_id=new_id(),
                now=services.ingestor.clock(),
                kind=payload.kind,
                label=payload.label,
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
