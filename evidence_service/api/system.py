"""Liveness (/healthz), readiness (/readyz) and the capture-port catalogue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from evidence_service.anchoring.health import readiness_report
from evidence_service.api import schemas
from evidence_service.api.deps import ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.capture.ports.registry import PORTS

router = APIRouter(tags=["system"])


@router.get(
    "/healthz",
    summary="200 while the process answers (no dependency is asked)",
    # A bad bearer token is refused here as on every route (401), even though none is needed.
    responses={**ok(schemas.Health), **problems(401)},
)
def healthz() -> dict[str, str]:
    """Liveness: restart the process when this fails. Dependencies are /readyz's business."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="200 when the database, object store and chain answer and anchoring keeps up",
    responses={
        **ok(schemas.Readiness, description="Ready (status ok), or ready with warnings"),
        503: {"model": schemas.Readiness, "description": "Not ready: the failing checks"},
        **problems(401),
    },
)
def readyz(request: Request, services: ServicesDep) -> JSONResponse:
    """Readiness: the database and object store answer, the chain node answers (when this
    process can reach it), the oldest leaf not yet anchored is younger than
    ``EVIDENCE_READY_MAX_ANCHOR_LAG_SECONDS``. A chain account holding less than
    ``EVIDENCE_CHAIN_BALANCE_WARN_WEI`` is a warning (status ``warn``, still 200)."""
    state = request.app.state.ops_probe.state()
    report = readiness_report(state, max_lag_seconds=services.settings.ready_max_anchor_lag_seconds)
    return JSONResponse(report, status_code=503 if report["failing"] else 200)


@router.get(
    "/api/v1/ports",
    summary="The eight capture ports",
    responses={**ok(list[schemas.Port]), **problems(401)},
)
def ports() -> list[dict[str, Any]]:
    return [{"id": p.id, "label": p.label, "max_size": p.max_size} for p in PORTS.values()]
