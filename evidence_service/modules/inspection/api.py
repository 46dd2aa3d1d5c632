"""``/api/v1/inspection/…``: the published rules, the scenario library, the departments' parts,
the directory and roster, signals and warnings.

Tasks are in ``tasks_api.py`` and draws in ``draws_api.py``.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection import scenarios
from evidence_service.modules.inspection.common import (
    ADMIN,
    BadRequestError,
    CallerDep,
    NotFoundError,
    problems,
    require_role,
    state_of,
    utcnow,
)
from evidence_service.modules.kit.db import write_transaction

router = APIRouter(prefix="/api/v1/inspection", tags=["inspection"])

MiB = 1024 * 1024
#: The directory and roster uploads (100,000 rows) and signal batches are larger than the
#: core's JSON limit: module rules handed to the core's body-limit middleware.
BODY_LIMITS = (
    ("POST", r"/api/v1/inspection/(enterprises|inspectors)", 64 * MiB),
    ("POST", r"/api/v1/inspection/signals", 8 * MiB),
)
DEPARTMENT_ID = Path(max_length=64, pattern=r"^[^/]+$")


class DepartmentPart(BaseModel):
    """A core department's part in joint inspection."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = Field(
        None, description="the scenario library's department kind it inspects for, or null"
    )
    coordinator: bool = Field(False, description="the coordinating office (综合行政执法)")


class DepartmentPartOut(DepartmentPart):
    department_id: str


@router.get("/departments", response_model=list[DepartmentPartOut])
async def list_departments(request: Request, who: CallerDep) -> list[dict[str, Any]]:
    """Every department's part: the kind it inspects for and whether it coordinates."""
    state = state_of(request)

    def read() -> list[dict[str, Any]]:
        with state.engine.connect() as conn:
            rows = conn.execute(select(m.department).order_by(m.department.c.department_id))
            return [
                {"department_id": r.department_id, "kind": r.kind, "coordinator": r.coordinator}
                for r in rows
            ]

    return await anyio.to_thread.run_sync(read)


@router.put(
    "/departments/{department_id}",
    response_model=DepartmentPartOut,
    responses=problems(403, 404, 422),
)
async def put_department(
    request: Request,
    who: CallerDep,
    body: DepartmentPart,
    department_id: str = DEPARTMENT_ID,
) -> dict[str, Any]:
    """Map a core department onto a scenario department kind and/or mark it the coordinator
    (an admin's act; the core's departments are the ones it knows)."""
    require_role(who, frozenset({ADMIN}), "map departments")
    if department_id not in who.departments:
        raise NotFoundError(f"the core has no department {department_id}")
    if body.kind is not None and body.kind not in scenarios.DEPARTMENT_KINDS:
        known = ", ".join(scenarios.DEPARTMENT_KINDS)
        raise BadRequestError(f"kind: unknown department kind {body.kind!r}; known: {known}")
    state = state_of(request)
    values = {
        "kind": body.kind,
        "coordinator": body.coordinator,
        "updated_by": who.officer_id,
        "updated_at": utcnow(),
    }

    def write() -> None:
        with write_transaction(state.engine) as conn:
            found = conn.execute(
                m.department.update()
                .where(m.department.c.department_id == department_id)
                .values(**values)
            ).rowcount
            if not found:
                conn.execute(m.department.insert().values(department_id=department_id, **values))

    await anyio.to_thread.run_sync(write)
    return {"department_id": department_id, "kind": body.kind, "coordinator": body.coordinator}
