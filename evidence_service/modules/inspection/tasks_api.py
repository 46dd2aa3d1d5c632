"""``/api/v1/inspection/tasks…``: drafting a joint inspection and its online consultation
(线上磋商) — the rules are in ``tasks.py``.

Who: the coordinating office's workers draft tasks and cancel them; the workers of a department
taking part join the consultation (leave, add or drop items of their kind, propose a date);
any worker of a department whose kind the scenario has items of may join a consulting task.
Coordinators and auditors read every task; other departments read theirs and the ones they
could join. A task the caller may not see answers 404, as a missing one does.

Concurrency: a task's ``version`` is its ``ETag``; an action must send ``If-Match:
"<version>"`` (without: 428), answered 412 when the task changed since, and the check and the
write happen under the task's row lock. A draft counts the enterprise's tasks of the year and
inserts under a lock on the enterprise's row, so the published annual cap holds under
concurrent drafts.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.modules.inspection import tasks
from evidence_service.modules.inspection.common import (
    READERS,
    WORKERS,
    BadRequestError,
    Caller,
    CallerDep,
    InspectionProblem,
    local_date,
    problems,
    require_coordinator,
    require_role,
    state_of,
)
from evidence_service.modules.kit.db import write_transaction
from evidence_service.modules.kit.problems import PROBLEM_JSON, PROBLEM_REF

TaskState = Literal["consulting", "scheduled", "visited", "recorded", "closed", "cancelled"]

router = APIRouter(prefix="/api/v1/inspection", tags=["inspection"])

TASK_ID = Path(max_length=26, pattern=r"^[0-9A-Za-z]{1,26}$")
DEPARTMENT = Field(min_length=1, max_length=64, pattern=r"^[^/]+$")
#: the fields each action takes besides ``action`` (any other is refused)
ACTION_FIELDS: dict[str, frozenset[str]] = {
    "join": frozenset(),
    "leave": frozenset(),
    "add_item": frozenset({"item_code"}),
    "drop_item": frozenset({"item_code"}),
    "propose_date": frozenset({"date"}),
    "cancel": frozenset({"reason"}),
}


class PreconditionRequiredError(InspectionProblem):
    """An action came without ``If-Match``: the consultation never acts on a version unseen."""

    slug, title, status = "precondition-required", "Send If-Match with the task's version", 428


#: 409, 412 and 428 of the actions, for the OpenAPI document
_PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}
ACTION_PROBLEMS: dict[int | str, Any] = {
    428: {"description": "If-Match is missing (problem+json)", "content": _PROBLEM},
}


def clock() -> datetime:
    """Now (a dependency, so tests can fix the clock with ``app.dependency_overrides``)."""
    return datetime.now(UTC)


ClockDep = Annotated[datetime, Depends(clock)]


def _today(request: Request, now: datetime) -> date:
    return local_date(now, state_of(request).config.timezone)


# ------------------------------------------------------------------------------ bodies


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credit_code: str = Field(min_length=18, max_length=18, description="统一社会信用代码")
    scenario: str = Field(min_length=1, max_length=64, description="a scenario of the library")
    title: str | None = Field(
        None, min_length=1, max_length=tasks.TITLE_LENGTH,
        description="default: “<enterprise> <scenario>联合检查”",
    )  # fmt: skip
    origin: Literal["warning", "plan"]
    warning_id: str | None = Field(
        None, min_length=1, max_length=26, description="required iff origin is warning"
    )
    departments: list[Annotated[str, DEPARTMENT]] = Field(
        min_length=1,
        max_length=tasks.MAX_INVITED,
        description="core department ids invited besides the lead (the caller's department)",
    )


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["join", "leave", "add_item", "drop_item", "propose_date", "cancel"]
    item_code: str | None = Field(
        None, min_length=1, max_length=64, description="add_item, drop_item"
    )
    date: dt.date | None = Field(
        None, description="propose_date: the date the department agrees to"
    )
    reason: str | None = Field(None, min_length=1, max_length=500, description="cancel")


class ScenarioRef(BaseModel):
    code: str
    name: str


class EnterpriseName(BaseModel):
    credit_code: str
    name: str | None = Field(description="null if the directory no longer lists it")


class EnterpriseRef(EnterpriseName):
    address: str | None
    risk_class: str | None


class TaskDepartmentOut(BaseModel):
    department_id: str
    kind: str | None
    proposed_on: date | None
    lead: bool


class TaskItemOut(BaseModel):
    code: str
    text: str
    department_kind: str | None
    department_id: str
    basis: str | None = Field(description="《law》第N条")
    included: bool


class TaskInspectorOut(BaseModel):
    officer_id: str
    department_id: str
    drawn: bool


class CapOut(BaseModel):
    annual_cap: int
    inspections_this_year: int


class TaskOut(BaseModel):
    id: str
    title: str
    state: str
    origin: str
    warning_id: str | None
    draw_id: str | None
    scenario: ScenarioRef
    enterprise: EnterpriseRef
    year: int
    planned_on: date | None
    lead_department: str
    departments: list[TaskDepartmentOut]
    items: list[TaskItemOut]
    inspectors: list[TaskInspectorOut]
    cap: CapOut
    version: int
    created_at: datetime
    updated_at: datetime
    cancel_reason: str | None = Field(description="why the office cancelled it")


class TaskSummaryOut(BaseModel):
    id: str
    title: str
    state: str
    origin: str
    warning_id: str | None
    draw_id: str | None
    scenario: ScenarioRef
    enterprise: EnterpriseName
    year: int
    planned_on: date | None
    lead_department: str
    departments: list[str] = Field(description="the departments taking part, the lead first")
    version: int
    created_at: datetime
    updated_at: datetime


class TaskPage(BaseModel):
    items: list[TaskSummaryOut]
    next_cursor: str | None


# ------------------------------------------------------------------------------ helpers


def _answer(body: dict[str, Any], status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status,
        headers={"ETag": f'"{body["version"]}"', **headers},
    )


def _if_match(value: str | None) -> int:
    if value is None:
        raise PreconditionRequiredError(
            'If-Match: send the task\'s version as its ETag gave it, e.g. "3"'
        )
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 9:
        raise BadRequestError('If-Match: give the task\'s version, e.g. "3"')
    return int(text)


def _action(body: ActionIn) -> tasks.Action:
    """The action's own fields present, no other's."""
    wanted = ACTION_FIELDS[body.action]
    given = {f for f in ("item_code", "date", "reason") if getattr(body, f) is not None}
    missing, stray = sorted(wanted - given), sorted(given - wanted)
    if missing or stray:
        parts = [f"needs {', '.join(missing)}"] if missing else []
        parts += [f"takes no {', '.join(stray)}"] if stray else []
        raise BadRequestError(f"{body.action} {' and '.join(parts)}")
    reason = body.reason.strip() if body.reason is not None else None
    if body.action == "cancel" and not reason:
        raise BadRequestError("reason: cancel needs a reason")
    return tasks.Action(body.action, body.item_code, body.date, reason)


async def _detail(request: Request, task_id: str, who: Caller | None) -> dict[str, Any]:
    state = state_of(request)

    def read() -> dict[str, Any]:
        with state.engine.connect() as conn:
            return tasks.task_detail(conn, task_id, who, state.config.annual_cap)

    return await anyio.to_thread.run_sync(read)


# ------------------------------------------------------------------------------ routes


@router.post(
    "/tasks",
    summary="Draft a joint inspection from a warning or a plan (refused at the annual cap)",
    status_code=201,
    response_model=TaskOut,
    responses=problems(401, 403, 404, 409, 422, 502),
)
async def draft_task(request: Request, body: DraftIn, who: CallerDep, now: ClockDep) -> Any:
    require_coordinator(who, "draft tasks")
    if (body.origin == "warning") != (body.warning_id is not None):
        raise BadRequestError("warning_id: give it when origin is warning, and only then")
    state = state_of(request)
    draft = tasks.Draft(
        credit_code=body.credit_code,
        scenario=body.scenario,
        origin=body.origin,
        departments=tuple(body.departments),
        title=body.title.strip() if body.title and body.title.strip() else None,
        warning_id=body.warning_id,
    )
    year = _today(request, now).year

    def write() -> str:
        with write_transaction(state.engine) as conn:
            return tasks.draft_task(
                conn, draft, who, year=year, now=now, annual_cap=state.config.annual_cap
            )

    task_id = await anyio.to_thread.run_sync(write)
    detail = await _detail(request, task_id, who)
    return _answer(detail, 201, Location=f"{router.prefix}/tasks/{task_id}")


@router.get(
    "/tasks",
    summary="List the tasks the caller may see, newest first (cursor-paginated)",
    response_model=TaskPage,
    responses=problems(401, 403, 422, 502),
)
async def list_tasks(
    request: Request,
    who: CallerDep,
    state: Annotated[TaskState | None, Query()] = None,
    credit_code: Annotated[str | None, Query(min_length=1, max_length=18)] = None,
    year: Annotated[int | None, Query(ge=2000, le=9999)] = None,
    department_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    require_role(who, READERS, "read tasks")
    module = state_of(request)
    most = module.config.max_page_size
    if limit is not None and limit > most:
        raise BadRequestError(f"limit: at most {most}")
    flt = tasks.TaskFilter(state, credit_code, year, department_id)

    def read() -> tuple[list[dict[str, Any]], str | None]:
        with module.engine.connect() as conn:
            return tasks.list_tasks(conn, who, flt, limit=limit or 50, cursor=cursor)

    items, next_cursor = await anyio.to_thread.run_sync(read)
    return {"items": jsonable_encoder(items), "next_cursor": next_cursor}


@router.get(
    "/tasks/{task_id}",
    summary="One task: its departments, items, inspectors and the cap (ETag: its version)",
    response_model=TaskOut,
    responses=problems(401, 403, 404, 422, 502),
)
async def get_task(request: Request, who: CallerDep, task_id: str = TASK_ID) -> Any:
    require_role(who, READERS, "read tasks")
    return _answer(await _detail(request, task_id, who))


@router.post(
    "/tasks/{task_id}/actions",
    summary="A step of the online consultation: join, leave, add or drop an item, propose a "
    "date, cancel (If-Match required)",
    response_model=TaskOut,
    responses={**problems(401, 403, 404, 409, 412, 422, 502), **ACTION_PROBLEMS},
)
async def act(
    request: Request,
    body: ActionIn,
    who: CallerDep,
    now: ClockDep,
    task_id: str = TASK_ID,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
) -> Any:
    require_role(who, WORKERS, "act on tasks")
    expected = _if_match(if_match)
    action = _action(body)
    today = _today(request, now)
    state = state_of(request)

    def write() -> None:
        with write_transaction(state.engine) as conn:
            tasks.apply_action(
                conn, task_id, action, who, expected_version=expected, now=now, today=today
            )

    await anyio.to_thread.run_sync(write)
    return _answer(await _detail(request, task_id, None))  # even if it left the task
