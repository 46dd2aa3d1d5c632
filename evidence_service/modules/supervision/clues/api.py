"""``/api/v1/supervision/models|runs|clues``: the clue centre's routes.

Who: everyone the core's policy lets through reads the model list and the runs; the office (a
department of kind ``audit``) and auditors see every department's clues, any other department
only its own (another's clue answers 404, as in the core). A run on demand is for the office's
workers and auditors; it runs in a worker thread and answers the finished run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from evidence_service.modules.supervision import indicators
from evidence_service.modules.supervision.api import (
    AUDITOR,
    INGESTERS,
    READERS,
    CallerDep,
    _require,
    state_of,
)
from evidence_service.modules.supervision.clues import registry, runner
from evidence_service.modules.supervision.problems import (
    BadQueryError,
    ForbiddenDepartmentError,
    RecordNotFoundError,
    SupervisionProblem,
)
from evidence_service.modules.supervision.records import decode_cursor, encode_cursor
from evidence_service.modules.supervision.schemas import (
    CluePage,
    CluePublic,
    ModelPublic,
    RunPage,
    RunPublic,
    RunRequest,
    problems,
)

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision: clues"])
Id = Annotated[str | None, Query(max_length=64)]


class RunFailedProblem(SupervisionProblem):
    slug, title, status = "run-failed", "A problem model failed", 500


def _cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor)
    except ValueError as exc:
        raise BadQueryError(f"cursor: {exc}") from exc


@router.get(
    "/models",
    summary="Every problem model: code, name, legal basis, severity, what it finds",
    response_model=list[ModelPublic],
    responses=problems(401, 403, 502),
)
async def list_models(who: CallerDep) -> Any:
    _require(who, READERS, "read the problem models")
    return [m.public() for m in registry.MODELS]


@router.post(
    "/runs",
    summary="Run all or some problem models now (office workers and auditors)",
    status_code=201,
    response_model=RunPublic,
    responses=problems(401, 403, 422, 500, 502),
)
async def start_run(
    request: Request, body: RunRequest, who: CallerDep, background: BackgroundTasks
) -> Any:
    if not (who.role == AUDITOR or (who.office and who.role in INGESTERS)):
        raise ForbiddenDepartmentError(
            "only the supervision office's workers and auditors start runs of the models"
        )
    try:
        registry.select_models(body.models)
    except registry.UnknownModelError as exc:
        raise BadQueryError(
            f"no problem model {', '.join(exc.codes[:20])}; see GET /api/v1/supervision/models",
            errors=[{"loc": "body.models", "msg": f"unknown model {c}"} for c in exc.codes[:100]],
        ) from exc
    state = state_of(request)
    try:
        done = await anyio.to_thread.run_sync(
            lambda: runner.run_models(
                state.engine,
                codes=body.models,
                mode=body.mode,
                trigger="demand",
                started_by=who.officer_id,
                params=dict(state.config.model_params),
            )
        )
    except runner.RunFailedError as exc:
        raise RunFailedProblem(str(exc), run_id=exc.run_id) from exc
    # the cockpit counts clues: rebuild its summary after answering
    background.add_task(indicators.refresh_if_idle, state.engine, now=runner.utcnow())
    return JSONResponse(jsonable_encoder(done), status_code=201)


@router.get(
    "/runs",
    summary="Runs of the problem models, newest first (cursor-paginated)",
    response_model=RunPage,
    responses=problems(401, 403, 422, 502),
)
async def list_runs(
    request: Request,
    who: CallerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    _require(who, READERS, "read runs")
    before = _cursor(cursor)
    state = state_of(request)
    page, last = await anyio.to_thread.run_sync(
        lambda: runner.list_runs(state.engine, limit=limit, before=before)
    )
    return {"items": jsonable_encoder(page), "next_cursor": encode_cursor(last) if last else None}


@router.get(
    "/runs/{run_id}",
    summary="One run of the problem models",
    response_model=RunPublic,
    responses=problems(401, 403, 404, 422, 502),
)
async def get_run(request: Request, run_id: str, who: CallerDep) -> Any:
    _require(who, READERS, "read runs")
    state = state_of(request)
    found = await anyio.to_thread.run_sync(lambda: runner.get_run(state.engine, run_id[:64]))
    if found is None:
        raise RecordNotFoundError(f"no run {run_id[:64]}")
    return jsonable_encoder(found)


@router.get(
    "/clues",
    summary="Clues the models found (filterable, cursor-paginated); each links its records "
    "and evidence",
    response_model=CluePage,
    responses=problems(401, 403, 422, 502),
)
async def list_clues(
    request: Request,
    who: CallerDep,
    model: Id = None,
    status: Literal["open", "closed"] | None = None,
    department_id: Id = None,
    severity: Literal["high", "medium", "low"] | None = None,
    record_id: Id = None,
    evidence_id: Id = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    _require(who, READERS, "read clues")
    after = _cursor(cursor)
    flt = runner.ClueFilter(
        departments=None if who.sees_all else frozenset({who.department_id}),
        model=model,
        status=status,
        department_id=department_id,
        severity=severity,
        record_id=record_id,
        evidence_id=evidence_id,
    )
    state = state_of(request)
    page, last = await anyio.to_thread.run_sync(
        lambda: runner.search_clues(state.engine, flt, limit=limit, after=after)
    )
    return {"items": jsonable_encoder(page), "next_cursor": encode_cursor(last) if last else None}


@router.get(
    "/clues/{clue_id}",
    summary="One clue with its links",
    response_model=CluePublic,
    responses=problems(401, 403, 404, 422, 502),
)
async def get_clue(request: Request, clue_id: str, who: CallerDep) -> Any:
    _require(who, READERS, "read clues")
    state = state_of(request)
    found = await anyio.to_thread.run_sync(lambda: runner.get_clue(state.engine, clue_id[:64]))
    if found is None or not (who.sees_all or found["department_id"] == who.department_id):
        raise RecordNotFoundError(f"no clue {clue_id[:64]}")
    return jsonable_encoder(found)
