"""``/api/v1/inspection/draws…``: the double-random draws (双随机、一公开), run and published.

Who: the coordinating office's workers start a draw and resume one (``common.require_coordinator``);
anyone reads the list and a published draw — the public page of 一公开, without who made it.

Order (docs/draw-format.md §1): the request names the target block from the chain's height,
plans the commitment from the stored directory (enterprises at the year's cap left out), stores
the draw and hands the commitment to the core's anchoring — all before the target block exists.
It answers 202; a background job (``draws.start``, with the caller's token in memory only)
waits for the anchor and the target block and publishes ``DRAW.json`` with the tasks, or the
draw void. A job that times out leaves the draw ``committed``, and a commitment the core did
not answer for leaves it ``planned``: ``POST …/advance`` resumes either. Once the commitment may
have left, a draw ends published or void, never failed: it is not drawn again in secret.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

import anyio
import httpx
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from evidence_service.client import ApiError, AsyncEvidenceClient
from evidence_service.modules.inspection import draws, scenarios
from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection.common import (
    BadRequestError,
    CallerDep,
    ConflictError,
    InspectionProblem,
    NotFoundError,
    decode_cursor,
    encode_cursor,
    new_id,
    problems,
    require_coordinator,
    state_of,
    utcnow,
)
from evidence_service.modules.inspection.draw import BadCommitmentError
from evidence_service.modules.inspection.plan import DrawTarget, PlanError
from evidence_service.modules.inspection.publish import chain_of, choose_target, post_commitment
from evidence_service.modules.kit.caller import CoreUnavailableError, bearer_token

router = APIRouter(prefix="/api/v1/inspection", tags=["inspection"])

DRAW_ID = Path(max_length=64, pattern=r"^[0-9A-Za-z]+$")
DrawState = Literal["planned", "committed", "published", "void", "failed"]
RiskClassName = Literal["high", "medium_high", "medium", "medium_low", "low"]
#: A decimal between 0 and 1 ("0.08", "1"): ``plan.py`` reads it exactly, as a fraction.
Ratio = Annotated[str, Field(max_length=24, pattern=r"^(0(\.[0-9]{1,20})?|1(\.0{1,20})?)$")]
DepartmentId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^/]+$")]


class DrawNotPublishedError(InspectionProblem):
    """The draw's DRAW.json does not exist yet (or never will: a failed draw)."""

    slug, title, status = "draw-not-published", "The draw is not published", 409


class DrawCoreError(InspectionProblem):
    """The core refused or did not take the commitment: the draw failed, nothing anchored."""

    slug, title, status = "draw-failed", "The draw's commitment could not be anchored", 502


class DrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1, max_length=200, description="what the draw is for")
    scenario: str = Field(
        min_length=1, max_length=64, description="the scenario library's code of the tasks"
    )
    departments: list[DepartmentId] = Field(
        min_length=2, max_length=20, description="the inspecting core departments, in order"
    )
    per_department: int = Field(1, ge=1, le=5, description="inspectors per department")
    ratios: dict[RiskClassName, Ratio] | None = Field(
        None, description="sampling ratio per credit-risk class (unnamed: the configured one)"
    )

    @field_validator("task")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        value = value.strip()
        if not value or any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
            raise ValueError("text without control or format characters")
        return value

    @field_validator("departments")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a department is named twice")
        return value


class LeftOut(BaseModel):
    credit_code: str
    reason: str = Field(description="at-cap or too-few-inspectors")


class DrawSummary(BaseModel):
    draw_id: str
    task: str
    state: DrawState
    target_block: int
    inputs_digest: str = Field(description="SHA-256(JCS(commitment)), hex (draw-format §1)")
    created_at: datetime
    published_at: datetime | None
    void: str | None = Field(description="why a published draw is void (anchored-too-late)")
    selected: int | None = Field(description="enterprises selected, once published")


class DrawStarted(DrawSummary):
    left_out: list[LeftOut] = Field(description="enterprises kept out before the commitment")


class DrawPage(BaseModel):
    items: list[DrawSummary]
    next_cursor: str | None


def _started(row: dict[str, Any]) -> JSONResponse:
    body = {
        **draws.summary(row),
        "left_out": [{"credit_code": c, "reason": r} for c, r in row["left_out"]],
    }
    return JSONResponse(
        DrawStarted.model_validate(body).model_dump(mode="json"),  # as the list writes it
        status_code=202,
        headers={"Location": f"/api/v1/inspection/draws/{row['id']}"},
    )


def _mapped(state_engine: Any, departments: list[str]) -> set[str]:
    """The named departments mapped onto a scenario department kind."""
    with state_engine.connect() as conn:
        rows = conn.execute(
            select(m.department.c.department_id).where(
                m.department.c.department_id.in_(departments), m.department.c.kind.is_not(None)
            )
        )
        return {r.department_id for r in rows}


async def _load(request: Request, draw_id: str) -> dict[str, Any]:
    row = await anyio.to_thread.run_sync(draws.get_row, state_of(request).engine, draw_id)
    if row is None:
        raise NotFoundError(f"no draw {draw_id}")
    return row


@router.post(
    "/draws",
    summary="Start a double-random draw: planned, committed and anchored before its block",
    status_code=202,
    response_model=DrawStarted,
    responses=problems(401, 403, 422, 502),
)
async def start_draw(request: Request, who: CallerDep, body: DrawIn) -> JSONResponse:
    require_coordinator(who, "run draws")
    try:
        scenarios.by_code(body.scenario)
    except KeyError as exc:
        raise BadRequestError(f"scenario: no scenario {body.scenario!r} in the library") from exc
    state = state_of(request)
    config, engine = state.config, state.engine
    mapped = await anyio.to_thread.run_sync(_mapped, engine, body.departments)
    unmapped = [d for d in body.departments if d not in mapped]
    if unmapped:
        raise BadRequestError(
            f"departments: not mapped onto a department kind: {', '.join(unmapped)} "
            "(PUT /api/v1/inspection/departments/{department_id})"
        )
    token, now = bearer_token(request), utcnow()
    draw_id = new_id()
    async with state.core_client(token) as core:
        try:
            chain_id, registry = await chain_of(core)
            target_block = await choose_target(core, lead=config.draw_lead_blocks)
        except (ApiError, httpx.HTTPError, TimeoutError) as exc:
            raise CoreUnavailableError(f"reading the chain from the core: {exc}") from exc
        target = DrawTarget(draw_id, body.task, chain_id, registry, target_block)
        ratios = dict(config.ratios)
        for risk_class, ratio in (body.ratios or {}).items():
            ratios[risk_class] = ratio
        try:
            plan = await anyio.to_thread.run_sync(
                lambda: draws.plan_from_directory(
                    engine,
                    target,
                    body.departments,
                    per_department=body.per_department,
                    ratios=ratios,
                    annual_cap=config.annual_cap,
                    year=draws.year_of(now, config.timezone),
                )
            )
        except (PlanError, BadCommitmentError) as exc:
            raise BadRequestError(f"the draw cannot be planned: {exc}") from exc
        if not any(s["k"] for s in plan.commitment["strata"]):
            raise BadRequestError(
                "nothing to draw: no enterprise of the directory can be drawn with these "
                f"ratios ({len(plan.left_out)} left out)"
            )
        intent = draws.Intent(body.scenario, who.department_id)
        await anyio.to_thread.run_sync(
            lambda: draws.insert_planned(engine, plan, intent, created_by=who.officer_id, now=now)
        )
        await _commit(request, core, draw_id, plan.commitment)
    draws.start(state, draw_id, token)
    return _started(await _load(request, draw_id))


async def _commit(
    request: Request, core: AsyncEvidenceClient, draw_id: str, commitment: dict[str, Any]
) -> None:
    """Hand a planned draw's commitment to the core and record it committed. A refusal fails
    the draw (never anchored: nothing to void). No answer at all leaves it planned — the core
    may have taken it — for ``…/advance`` to post again (the same document is the same anchor)."""
    engine = state_of(request).engine
    try:
        anchor_id = await post_commitment(core, commitment)
    except ApiError as exc:
        await anyio.to_thread.run_sync(draws.mark_failed, engine, draw_id, str(exc))
        raise DrawCoreError(
            f"the core refused the commitment: {exc}", draw_id=draw_id, state="failed"
        ) from exc
    except httpx.HTTPError as exc:
        raise DrawCoreError(
            f"the core did not answer; advance the draw to post its commitment again: {exc}",
            draw_id=draw_id,
            state="planned",
        ) from exc
    await anyio.to_thread.run_sync(draws.mark_committed, engine, draw_id, anchor_id)


@router.post(
    "/draws/{draw_id}/advance",
    summary="Resume a draw whose job stopped (timed out, the core unanswering, a restart)",
    status_code=202,
    response_model=DrawStarted,
    responses=problems(401, 403, 404, 409, 422, 502),
)
async def advance_draw(
    request: Request, who: CallerDep, draw_id: Annotated[str, DRAW_ID]
) -> JSONResponse:
    row = await _load(request, draw_id)  # draws are public: existence first
    require_coordinator(who, "advance draws")
    if row["state"] not in ("planned", "committed"):
        raise ConflictError(
            f"draw {draw_id} is {row['state']}: only a planned or committed draw advances",
            state=row["state"],
        )
    state, token = state_of(request), bearer_token(request)
    if draw_id in state.running:
        raise ConflictError(f"draw {draw_id} is advancing already", state=row["state"])
    if row["state"] == "planned":  # its commitment may not have reached the core
        async with state.core_client(token) as core:
            await _commit(request, core, draw_id, row["commitment"])
    if not draws.start(state, draw_id, token):
        raise ConflictError(f"draw {draw_id} is advancing already", state="committed")
    return _started(await _load(request, draw_id))


@router.get(
    "/draws",
    summary="The published list of draws (public), newest first",
    response_model=DrawPage,
    responses=problems(401, 422),
)
async def list_draws(
    request: Request,
    state: Annotated[DrawState | None, Query()] = None,
    limit: Annotated[int, Query(ge=1)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Every draw with its inputs digest, block and outcome — never who made it."""
    module = state_of(request)
    if limit > module.config.max_page_size:
        raise BadRequestError(f"limit: at most {module.config.max_page_size}")
    after = decode_cursor(cursor) if cursor is not None else None
    rows = await anyio.to_thread.run_sync(
        lambda: draws.list_rows(module.engine, state=state, limit=limit + 1, after=after)
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [draws.summary(r) for r in rows],
        "next_cursor": encode_cursor(rows[-1]["id"]) if more else None,
    }


@router.get(
    "/draws/{draw_id}",
    summary="A published draw's DRAW.json (public), exactly as stored, to verify offline",
    response_model=dict[str, Any],
    responses=problems(401, 404, 409, 422),
)
async def get_draw(request: Request, draw_id: Annotated[str, DRAW_ID]) -> JSONResponse:
    """``DRAW.json`` (docs/draw-format.md §5), published or void; ``evidence inspection
    verify-draw`` checks a downloaded copy against the chain."""
    row = await _load(request, draw_id)
    if row["state"] not in ("published", "void"):
        raise DrawNotPublishedError(
            f"draw {draw_id} is {row['state']}; its DRAW.json is published once its target "
            "block is confirmed",
            state=row["state"],
            target_block=row["target_block"],
        )
    return JSONResponse(row["document"], media_type="application/json")
