"""Health and the capture-port catalogue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from evidence_service.api import schemas
from evidence_service.api.deps import ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.capture.ports.registry import PORTS
from storage.errors import StorageError

router = APIRouter(tags=["system"])


@router.get(
    "/healthz",
    summary="200 when the database and the object store answer",
    responses={
        **ok(schemas.Health),
        503: {"model": schemas.Health, "description": "The database or the store is down"},
        **problems(401),
    },
)
def healthz(services: ServicesDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        services.store.ping()
        checks["object_store"] = "ok"
    except StorageError as exc:
        checks["object_store"] = f"error: {exc}"
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status_code=200 if healthy else 503,
    )


@router.get(
    "/api/v1/ports",
    summary="The eight capture ports",
    responses={**ok(list[schemas.Port]), **problems(401)},
)
def ports() -> list[dict[str, Any]]:
    return [{"id": p.id, "label": p.label, "max_size": p.max_size} for p in PORTS.values()]
