"""``/api/v1/supervision/reviews…`` and ``/api/v1/supervision/cockpit``: case-file review
(案卷评查) and the efficiency figures (效能评价).

Who: the supervision office's workers (a department of kind ``audit``) start reviews and decide
items; its reviewers and penalty officers finalize (finalizing seals with the office's seal,
which only they hold); auditors read everything; a department reads the reviews and figures of
its own records. The core's policy table lets the roles through first (``api/policy.py``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
import httpx
from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.client import ApiError, call_capture, call_seal
from evidence_service.modules.supervision import indicators
from evidence_service.modules.supervision import review as rv
from evidence_service.modules.supervision.api import (
    READERS,
    Caller,
    CallerDep,
    bearer_token,
    state_of,
)
from evidence_service.modules.supervision.problems import (
    BadQueryError,
    CoreUnavailableError,
    ForbiddenDepartmentError,
    RecordNotFoundError,
    SupervisionProblem,
)
from evidence_service.modules.supervision.review_pdf import (
    ReviewResultDocument,
    ReviewResultItem,
    render_review_pdf,
)
from evidence_service.modules.supervision.schemas import (
    PROBLEM_JSON,
    PROBLEM_REF,
    CockpitPublic,
    ReviewPage,
    ReviewPublic,
    pdf_answer,
)
from evidence_service.modules.supervision.schemas import problems as _problems
from evidence_service.modules.supervision.state import SupervisionState

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])
OFFICE_WORKERS = frozenset({"officer", "reviewer", "penalty"})
SEALERS = frozenset({"reviewer", "penalty"})
MAX_NOTE = 1000
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class ReviewConflict(SupervisionProblem):
    slug, title, status = "conflict", "The review does not allow this now", 409


class ResultMismatch(SupervisionProblem):
    """The stored review no longer renders to the sealed bytes (a defect, never expected)."""

    slug, title, status = "result-mismatch", "The result does not match its sealed digest", 500


class ReviewStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record_id: Id


class ItemDecision(BaseModel):
    """A veto item takes ``passed``; a scored item ``deducted`` (0 … its points)."""

    model_config = ConfigDict(extra="forbid")
    passed: bool | None = None
    deducted: int | None = Field(default=None, ge=0, le=100)
    note: str = Field(default="", max_length=MAX_NOTE)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The shared problem answers, and 409 (a review's state refuses the action)."""
    answers = _problems(*(s for s in statuses if s != 409))
    if 409 in statuses:
        answers[409] = {
            "description": "The review's state refuses this (final, being sealed, undecided "
            "items, an item the data decides, an open review already) (problem+json)",
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
    return answers


def _grading(state: SupervisionState) -> rv.Grading:
    return rv.Grading(state.config.review_excellent, state.config.review_pass)


def _rules(state: SupervisionState, now: datetime) -> rv.Rules:
    return rv.Rules(today=now.date(), major_decision_fen=state.config.major_decision_fen)


def _office_worker(who: Caller, what: str, roles: frozenset[str] = OFFICE_WORKERS) -> None:
    if not who.office or who.role not in roles:
        raise ForbiddenDepartmentError(
            f"only the supervision office's {', '.join(sorted(roles))} may {what}"
        )


def _reader(who: Caller) -> None:
    if who.role not in READERS:
        raise ForbiddenDepartmentError(f"role {who.role} may not read reviews")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _view(found: dict[str, Any], grading: rv.Grading) -> dict[str, Any]:
    result = rv.score(
        found["checklist"],
        [rv.Decided(i["code"], i["passed"], i["deducted"]) for i in found["items"]],
        excellent=grading.excellent,
        passing=grading.passing,
    )
    body = {
        k: found[k]
        for k in (
            "id", "record_id", "department_id", "case_number", "title", "kind", "checklist",
            "status", "reviewer_id", "created_at", "finalized_by", "finalized_at",
            "result_evidence_id", "result_sha256", "result_seal", "items",
        )
    }  # fmt: skip
    body.update(
        vetoed=result.vetoed,
        presentation=result.presentation,
        content=result.content,
        score=result.total,
        grade=found["grade"] if found["status"] == rv.FINAL else None,
        provisional_grade=result.grade,
        undecided=list(result.undecided),
    )
    return jsonable_encoder(body)


async def _visible(state: SupervisionState, review_id: str, who: Caller) -> dict[str, Any]:
    found = await anyio.to_thread.run_sync(lambda: rv.read_review(state.engine, review_id))
    if found is None or not (who.sees_all or found["department_id"] == who.department_id):
        raise RecordNotFoundError(f"no review {review_id}")
    return found


@router.post(
    "/reviews",
    status_code=201,
    summary="Start a case-file review of a record (automatic items decided from the data)",
    response_model=ReviewPublic,
    responses=problems(401, 403, 404, 409, 422, 502),
)
async def start_review(request: Request, body: ReviewStart, who: CallerDep) -> Any:
    _office_worker(who, "start reviews")
    state = state_of(request)
    now = _now()
    try:
        review_id = await anyio.to_thread.run_sync(
            lambda: rv.start_review(
                state.engine,
                body.record_id,
                reviewer_id=who.officer_id,
                rules=_rules(state, now),
                grading=_grading(state),
                now=now,
            )
        )
    except rv.ReviewConflictError as exc:
        raise ReviewConflict(str(exc)) from exc
    if review_id is None:
        raise RecordNotFoundError(f"no record {body.record_id}")
    found = await _visible(state, review_id, who)
    return JSONResponse(_view(found, _grading(state)), status_code=201)


@router.get(
    "/reviews",
    summary="Case-file reviews (in id order, cursor-paginated)",
    response_model=ReviewPage,
    responses=problems(401, 403, 422, 502),
)
async def list_reviews(
    request: Request,
    who: CallerDep,
    record_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(draft|sealing|final)$")] = None,
    department_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9A-Z]+$")] = None,
) -> Any:
    _reader(who)
    state = state_of(request)
    if not who.sees_all:
        if department_id not in (None, who.department_id):
            return {"items": [], "next_cursor": None}
        department_id = who.department_id
    rows, next_cursor = await anyio.to_thread.run_sync(
        lambda: rv.list_reviews(
            state.engine,
            department_id=department_id,
            record_id=record_id,
            status=status,
            limit=limit,
            after=cursor,
        )
    )
    return {"items": jsonable_encoder(rows), "next_cursor": next_cursor}


@router.get(
    "/reviews/{review_id}",
    summary="One review with its checklist items",
    response_model=ReviewPublic,
    responses=problems(401, 403, 404, 422, 502),
)
async def get_review(request: Request, review_id: str, who: CallerDep) -> Any:
    _reader(who)
    state = state_of(request)
    return _view(await _visible(state, review_id, who), _grading(state))


@router.put(
    "/reviews/{review_id}/items/{code}",
    summary="Decide a reviewer's item (veto: passed; scored: deducted points)",
    response_model=ReviewPublic,
    responses=problems(401, 403, 404, 409, 422, 502),
)
async def decide_item(
    request: Request, review_id: str, code: str, body: ItemDecision, who: CallerDep
) -> Any:
    _office_worker(who, "decide review items")
    state = state_of(request)
    try:
        found = await anyio.to_thread.run_sync(
            lambda: rv.decide_item(
                state.engine,
                review_id,
                code,
                passed=body.passed,
                deducted=body.deducted,
                note=body.note,
                officer_id=who.officer_id,
                grading=_grading(state),
                now=_now(),
            )
        )
    except KeyError as exc:
        raise RecordNotFoundError(f"review {review_id} has no item {code[:64]}") from exc
    except rv.ReviewConflictError as exc:
        raise ReviewConflict(str(exc)) from exc
    except ValueError as exc:
        raise BadQueryError(str(exc)) from exc
    if not found:
        raise RecordNotFoundError(f"no review {review_id}")
    return _view(await _visible(state, review_id, who), _grading(state))


def result_document(
    found: dict[str, Any], names: dict[str, str], grading: rv.Grading
) -> ReviewResultDocument:
    """What the result PDF says, from the stored review (the same bytes every time)."""
    result = rv.score(
        found["checklist"],
        [rv.Decided(i["code"], i["passed"], i["deducted"]) for i in found["items"]],
        excellent=grading.excellent,
        passing=grading.passing,
    )
    finalized = found["finalized_at"]
    return ReviewResultDocument(
        review_id=found["id"],
        record_id=found["record_id"],
        case_number=found["case_number"],
        title=found["title"],
        kind=found["kind"],
        department=names["department"],
        office=names["office"],
        checklist=found["checklist"],
        reviewer=names["reviewer"],
        finalized_at=finalized,
        vetoed=result.vetoed,
        presentation=result.presentation,
        content=result.content,
        total=result.total,
        grade=result.grade,
        items=[
            ReviewResultItem(
                i["code"], i["name"], i["section"], i["points"], i["auto"],
                bool(i["passed"]), i["deducted"], i["note"],
            )
            for i in found["items"]
        ],
    )  # fmt: skip


@router.post(
    "/reviews/{review_id}/finalize",
    summary="Finalize: every item decided; the result PDF is captured, sealed and anchored",
    response_model=ReviewPublic,
    responses=problems(401, 403, 404, 409, 422, 502),
)
async def finalize_review(request: Request, review_id: str, who: CallerDep) -> Any:
    _office_worker(who, "finalize reviews (they seal with the office's seal)", SEALERS)
    state = state_of(request)
    await _visible(state, review_id, who)
    grading = _grading(state)
    now = _now()
    try:
        claimed = await anyio.to_thread.run_sync(
            lambda: rv.claim_for_sealing(
                state.engine, review_id, rules=_rules(state, now), grading=grading
            )
        )
    except rv.ReviewConflictError as exc:
        raise ReviewConflict(str(exc)) from exc
    if claimed is None:
        raise RecordNotFoundError(f"no review {review_id}")
    found, result = claimed
    try:
        async with state.core_client(bearer_token(request)) as core:
            me = await core.me()
            departments = {d["id"]: d["name"] for d in await core.departments()}
            names = {
                "department": departments.get(found["department_id"], found["department_id"]),
                "office": departments.get(who.department_id, who.department_id),
                "reviewer": str(me.get("name") or who.officer_id),
            }
            pdf = render_review_pdf(result_document({**found, "finalized_at": now}, names, grading))
            digest = hashlib.sha256(pdf).hexdigest()
            captured = await core.run(
                call_capture(
                    pdf,
                    port="documentary",
                    metadata={
                        "title": f"案卷评查结果 {found['case_number']}"[:200],
                        "description": f"supervision review {review_id}",
                        "tags": [{"type": "free", "value": "案卷评查"}],
                    },
                    filename=f"review-{review_id}.pdf",
                    media_type="application/pdf",
                    idempotency_key=f"supervision-review-{review_id}-{digest[:16]}",
                )
            )
            seal = await core.run(call_seal(who.department_id, digest))
    except (ApiError, httpx.HTTPError) as exc:
        await anyio.to_thread.run_sync(lambda: rv.release_claim(state.engine, review_id))
        raise CoreUnavailableError(f"capturing or sealing the result failed: {exc}") from exc
    except BaseException:
        await anyio.to_thread.run_sync(lambda: rv.release_claim(state.engine, review_id))
        raise
    await anyio.to_thread.run_sync(
        lambda: rv.seal_final(
            state.engine,
            review_id,
            result=result,
            officer_id=who.officer_id,
            finalized_at=now,
            evidence_id=captured.id,
            sha256=digest,
            seal=seal.raw,
            names=names,
        )
    )
    return _view(await _visible(state, review_id, who), grading)


@router.get(
    "/reviews/{review_id}/result.pdf",
    summary="The final review's result: the PDF whose SHA-256 the office sealed",
    response_class=Response,
    responses={
        **problems(401, 403, 404, 409, 422, 502),
        **pdf_answer("the sealed result"),
    },
)
async def result_pdf(request: Request, review_id: str, who: CallerDep) -> Response:
    _reader(who)
    state = state_of(request)
    found = await _visible(state, review_id, who)
    if found["status"] != rv.FINAL:
        raise ReviewConflict(f"review {review_id} is {found['status']}; it has no result yet")
    doc = result_document(found, found["result_names"], _grading(state))
    pdf = await anyio.to_thread.run_sync(lambda: render_review_pdf(doc))
    digest = hashlib.sha256(pdf).hexdigest()
    if digest != found["result_sha256"]:
        raise ResultMismatch(f"the result renders to {digest}, not the sealed digest")
    headers = {
        "X-Content-SHA256": digest,
        "X-Evidence-Id": found["result_evidence_id"],
        "Content-Disposition": f'attachment; filename="review-{review_id}.pdf"',
    }
    return Response(pdf, media_type="application/pdf", headers=headers)


# --------------------------------------------------------------------------- cockpit


async def cockpit_figures(
    state: SupervisionState,
    who: Caller,
    *,
    token: str,
    level: str,
    period: str | None,
    background: BackgroundTasks | None,
) -> dict[str, Any]:
    """The cockpit's figures for ``who`` (a department: its own records only); what the JSON
    route answers and the page draws."""
    if who.role not in READERS:
        raise ForbiddenDepartmentError(f"role {who.role} may not read the cockpit")
    if level not in indicators.LEVELS:
        raise BadQueryError(f"level is one of {', '.join(indicators.LEVELS)}")
    try:
        bounds = indicators.period_bounds(period)
    except ValueError as exc:
        raise BadQueryError(str(exc)) from exc
    engine, config = state.engine, state.config
    as_of = await anyio.to_thread.run_sync(lambda: indicators.refreshed_at(engine))
    now = datetime.now(UTC)
    if as_of is None:
        await anyio.to_thread.run_sync(lambda: indicators.refresh_summary(engine, now=now))
    elif background is not None:
        age = (now - as_of).total_seconds()
        if age > config.cockpit_max_age_s:
            background.add_task(indicators.refresh_if_idle, engine, now=now)
    query = indicators.CockpitQuery(
        level=level,
        period=bounds,
        department_id=None if who.sees_all else who.department_id,
        limit=config.cockpit_max_rows,
    )
    weights = dict(config.indicator_weights)
    figures = await anyio.to_thread.run_sync(lambda: indicators.cockpit(engine, query, weights))
    names: dict[str, str] = {}
    if level == "department":
        try:
            async with state.core_client(token) as core:
                names = {d["id"]: d["name"] for d in await core.departments()}
        except (ApiError, httpx.HTTPError) as exc:
            raise CoreUnavailableError(f"the core's department list failed: {exc}") from exc
    for row in figures["rows"]:
        row["name"] = names.get(row["key"], row["key"])
    return {**figures, "period": period, "weights": weights}


@router.get(
    "/cockpit",
    summary="Efficiency indicators per department, region, city or officer (from the summary)",
    response_model=CockpitPublic,
    responses=problems(401, 403, 422, 502),
)
async def cockpit(
    request: Request,
    who: CallerDep,
    background: BackgroundTasks,
    level: Annotated[str, Query(max_length=16)] = "department",
    period: Annotated[str | None, Query(max_length=7, description="YYYY or YYYY-MM")] = None,
) -> Any:
    figures = await cockpit_figures(
        state_of(request),
        who,
        token=bearer_token(request),
        level=level,
        period=period,
        background=background,
    )
    return jsonable_encoder(figures)
