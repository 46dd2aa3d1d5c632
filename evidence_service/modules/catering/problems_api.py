"""``/api/v1/catering/…``: inspections, the problem list, the restaurant's rectification with its
key, escalation by transfer, and penalties decided (``problems.py`` says how each works)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import anyio
import httpx
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.datastructures import UploadFile

from evidence_service.client import ApiError
from evidence_service.modules.catering import models as m
from evidence_service.modules.catering import problems
from evidence_service.modules.catering.common import (
    WORKERS,
    BadRequestError,
    CallerDep,
    CateringProblem,
    ForbiddenError,
    NotFoundError,
    keyset_page,
    require_role,
    state_of,
    utcnow,
)
from evidence_service.modules.catering.common import (
    problems as problem_docs,
)
from evidence_service.modules.catering.state import CateringState
from evidence_service.modules.kit.caller import CoreCaller, CoreUnavailableError, bearer_token
from evidence_service.modules.kit.db import write_transaction

router = APIRouter(prefix="/api/v1/catering", tags=["catering"])

MiB = 1024 * 1024
#: A rectification photo or document, with its form fields.
MAX_RECTIFICATION_BYTES = 20 * MiB
SENDERS = frozenset({"reviewer", "penalty"})
ID = Path(max_length=26, pattern=r"^[0-9A-Za-z]{1,26}$")
EVIDENCE_ID = r"^[0-9A-Za-z]{1,26}$"


class ConflictError(CateringProblem):
    slug, title, status = "conflict", "The problem's state does not allow this", 409


class KeyRefusedError(CateringProblem):
    """The restaurant's key is missing or is not this restaurant's (the route is public: the
    restaurant has no account in the core)."""

    slug, title, status = "restaurant-key", "The restaurant's key does not open this", 401


class NotConfiguredError(CateringProblem):
    slug, title, status = "not-configured", "The module has no service identity", 503


def _restaurant(state: CateringState, restaurant_id: str) -> Any:
    with state.engine.connect() as conn:
        found = conn.execute(select(m.restaurant).where(m.restaurant.c.id == restaurant_id)).first()
    if found is None:
        raise NotFoundError(f"no restaurant {restaurant_id}")
    return found


def _own(who: CoreCaller, restaurant: Any, what: str) -> None:
    require_role(who, WORKERS, what)
    if restaurant.department_id != who.department_id:
        raise ForbiddenError(
            f"restaurant {restaurant.id} is department {restaurant.department_id}'s; only its "
            f"workers may {what}"
        )


# -- the restaurant's key ----------------------------------------------------------------------
@router.post("/restaurants/{restaurant_id}/key", responses=problem_docs(401, 403, 404, 422))
async def issue_key(
    request: Request, who: CallerDep, restaurant_id: Annotated[str, ID]
) -> dict[str, Any]:
    """Issue the restaurant's rectification key (replacing any earlier one). The key is shown
    in this answer only; the module keeps its SHA-256."""
    state = state_of(request)
    restaurant = await anyio.to_thread.run_sync(_restaurant, state, restaurant_id)
    _own(who, restaurant, "issue the restaurant's key")

    def issue() -> str:
        with write_transaction(state.engine) as conn:
            return problems.issue_key(conn, restaurant_id, who.officer_id, utcnow())

    return {"restaurant_id": restaurant_id, "key": await anyio.to_thread.run_sync(issue)}


# -- inspections -------------------------------------------------------------------------------
class FindingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=200, description="the check item found wanting")
    points: float = Field(ge=0, le=100, description="points deducted (index.py)")
    critical: bool = Field(False, description="a 关键项")
    note: str = Field("", max_length=500)


class InspectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    restaurant_id: str = Field(max_length=26, pattern=EVIDENCE_ID)
    inspected_on: date
    findings: list[FindingIn] = Field(default_factory=list, max_length=100)
    incident: bool = Field(False, description="a food-safety incident was found")
    evidence_ids: list[Annotated[str, Field(pattern=EVIDENCE_ID)]] = Field(
        default_factory=list,
        max_length=100,
        description="the officer's evidence of the inspection in the core (their department's)",
    )


@router.post("/inspections", responses=problem_docs(401, 403, 404, 422, 502))
async def record_inspection(request: Request, who: CallerDep, body: InspectionIn) -> dict[str, Any]:
    """Record an on-site inspection of a restaurant of the caller's department: its
    food-safety score and dynamic grade, and a problem for each finding that cost points. The
    evidence named must be items the caller may read in the core."""
    state = state_of(request)
    restaurant = await anyio.to_thread.run_sync(_restaurant, state, body.restaurant_id)
    _own(who, restaurant, "record inspections")
    if body.inspected_on > utcnow().date():
        raise BadRequestError("inspected_on: an inspection cannot be in the future")
    async with state.core_client(bearer_token(request)) as core:
        for evidence_id in dict.fromkeys(body.evidence_ids):
            try:
                await core.get_evidence(evidence_id)
            except ApiError as exc:
                if exc.status >= 500:
                    raise CoreUnavailableError(f"the core did not answer: {exc}") from exc
                raise BadRequestError(
                    f"evidence_ids: {evidence_id} is not an item you may read"
                ) from exc

    def store() -> dict[str, Any]:
        with write_transaction(state.engine) as conn:
            return problems.record_inspection(
                conn,
                restaurant=restaurant,
                inspected_on=body.inspected_on,
                findings=[problems.FindingIn(**f.model_dump()) for f in body.findings],
                incident=body.incident,
                evidence_ids=list(dict.fromkeys(body.evidence_ids)),
                officer_id=who.officer_id,
                department_id=who.department_id,
                now=utcnow(),
                rectify_days=state.config.rectify_days,
            )

    return await anyio.to_thread.run_sync(store)


@router.get("/inspections", responses=problem_docs(401, 403, 422))
async def list_inspections(
    request: Request,
    restaurant_id: Annotated[str | None, Query(max_length=26)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Inspections, newest first."""
    state = state_of(request)
    query = select(m.inspection).order_by(m.inspection.c.id.desc()).limit(limit)
    if restaurant_id:
        query = query.where(m.inspection.c.restaurant_id == restaurant_id)

    def read() -> list[Any]:
        with state.engine.connect() as conn:
            return list(conn.execute(query))

    rows = await anyio.to_thread.run_sync(read)
    return {
        "items": [
            {
                "id": r.id,
                "restaurant_id": r.restaurant_id,
                "inspected_on": r.inspected_on,
                "findings": r.findings,
                "incident": r.incident,
                "score": r.score,
                "grade": r.grade,
                "evidence_ids": r.evidence_ids,
                "officer_id": r.officer_id,
            }
            for r in rows
        ]
    }


# -- the problem list --------------------------------------------------------------------------
def problem_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "restaurant_id": row.restaurant_id,
        "source": row.source,
        "kind": row.kind,
        "title": row.title,
        "state": row.state,
        "alarm_id": row.alarm_id,
        "inspection_id": row.inspection_id,
        "opened_at": row.opened_at,
        "due_at": row.due_at,
        "reopened": row.reopened,
        "closed_at": row.closed_at,
        "rectification_evidence_id": row.rectification_evidence_id,
        "rectification_note": row.rectification_note,
        "escalation": row.escalation,
        "transfer_id": row.transfer_id,
        "penalty": row.penalty,
    }


@router.get("/problems", responses=problem_docs(401, 403, 422))
async def list_problems(
    request: Request,
    state_filter: Annotated[str | None, Query(alias="state", pattern="^(open|closed)$")] = None,
    restaurant_id: Annotated[str | None, Query(max_length=26)] = None,
    queued: Annotated[bool, Query(description="only problems queued for a reviewer")] = False,
    after: Annotated[str | None, Query(max_length=26, pattern=EVIDENCE_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The problem list, newest first (``after``: the last id of a page)."""
    state = state_of(request)
    query = select(m.problem).order_by(m.problem.c.id.desc()).limit(limit + 1)
    if state_filter:
        query = query.where(m.problem.c.state == state_filter)
    if restaurant_id:
        query = query.where(m.problem.c.restaurant_id == restaurant_id)
    if queued:
        query = query.where(m.problem.c.escalation == "queued")
    if after:
        query = query.where(m.problem.c.id < after)

    return await keyset_page(state, query, limit, problem_json)


def _problem(state: CateringState, problem_id: str) -> tuple[Any, list[str]]:
    with state.engine.connect() as conn:
        row = conn.execute(select(m.problem).where(m.problem.c.id == problem_id)).first()
        if row is None:
            raise NotFoundError(f"no problem {problem_id}")
        return row, problems.evidence_of(conn, row)


@router.get("/problems/{problem_id}", responses=problem_docs(401, 403, 404, 422))
async def get_problem(request: Request, problem_id: Annotated[str, ID]) -> dict[str, Any]:
    """One problem with the core's evidence behind it (what a transfer would send)."""
    row, evidence = await anyio.to_thread.run_sync(_problem, state_of(request), problem_id)
    return {**problem_json(row), "evidence_ids": evidence}


@router.post(
    "/problems/{problem_id}/rectification",
    responses=problem_docs(401, 404, 409, 413, 422, 502, 503),
)
async def rectify(request: Request, problem_id: Annotated[str, ID]) -> dict[str, Any]:
    """The restaurant's rectification (销号): a ``multipart/form-data`` form with ``file`` (a
    photo or document, at most 20 MiB) and ``note``, sent with the restaurant's key in
    ``X-Restaurant-Key``. The file is captured through the core with the module's service
    identity, naming the restaurant and the problem, and the problem closes citing it."""
    state = state_of(request)
    key = request.headers.get("x-restaurant-key", "")
    row, _ = await anyio.to_thread.run_sync(_problem, state, problem_id)

    def opens() -> bool:
        with state.engine.connect() as conn:
            return problems.key_opens(conn, row.restaurant_id, key)

    if not key or not await anyio.to_thread.run_sync(opens):
        raise KeyRefusedError("send the restaurant's rectification key in X-Restaurant-Key")
    if row.state != "open":
        raise ConflictError(f"problem {problem_id} is {row.state}")
    token = state.config.service_token
    if not token:  # asked only of a restaurant whose key opened the problem
        raise NotConfiguredError("the catering module has no service token to capture with")
    try:
        form = await request.form(max_files=1, max_fields=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable form is the sender's fault
        raise BadRequestError(f"send a multipart/form-data form: {exc}") from exc
    upload, note = form.get("file"), form.get("note", "")
    if not isinstance(upload, UploadFile) or not isinstance(note, str):
        raise BadRequestError("the form needs a 'file' part and a text 'note'")
    if len(note) > 1000:
        raise BadRequestError("note: at most 1,000 characters")
    content = await upload.read(MAX_RECTIFICATION_BYTES + 1)
    if not content or len(content) > MAX_RECTIFICATION_BYTES:
        raise BadRequestError("file: send a non-empty file of at most 20 MiB")
    restaurant = await anyio.to_thread.run_sync(_restaurant, state, row.restaurant_id)
    metadata = {
        "title": f"整改材料：{restaurant.name} {row.title}"[:200],
        "description": (
            f"餐饮单位 {restaurant.name}（统一社会信用代码 {restaurant.credit_code}）"
            f"提交的问题整改材料；问题 {row.id}（{row.title}）。\n{note}"
        )[:4000],
    }
    try:
        async with state.core_client(token) as core:
            item = await core.capture(
                content,
                port="electronic",
                metadata=metadata,
                filename=(upload.filename or "rectification.bin")[:200],
                media_type=upload.content_type or "application/octet-stream",
            )
    except (ApiError, httpx.HTTPError) as exc:
        raise CoreUnavailableError(f"the core did not take the rectification: {exc}") from exc

    def close() -> None:
        with write_transaction(state.engine) as conn:
            problems.close_with_rectification(conn, problem_id, item.id, note, utcnow())

    try:
        await anyio.to_thread.run_sync(close)
    except problems.ProblemStateError as exc:
        raise ConflictError(str(exc)) from exc
    return {"problem_id": problem_id, "state": "closed", "rectification_evidence_id": item.id}


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_department_id: str | None = Field(
        None,
        max_length=64,
        description="the department to transfer to; default the configured comprehensive "
        "enforcement department",
    )
    note: str = Field("", max_length=1000)


@router.post(
    "/problems/{problem_id}/transfer", responses=problem_docs(401, 403, 404, 409, 422, 502)
)
async def transfer(
    request: Request, who: CallerDep, problem_id: Annotated[str, ID], body: TransferIn
) -> dict[str, Any]:
    """Transfer a problem's evidence with one request (a reviewer or penalty officer of the
    restaurant's department): the core's transfer, sealed as every transfer is, of the
    device-hours covering its alarm, its rectification and its inspection's evidence."""
    return await transfer_problem(
        state_of(request),
        bearer_token(request),
        who,
        problem_id,
        to_department_id=body.to_department_id,
        note=body.note,
    )


async def transfer_problem(
    state: CateringState,
    token: str,
    who: CoreCaller,
    problem_id: str,
    *,
    to_department_id: str | None = None,
    note: str = "",
) -> dict[str, Any]:
    """:func:`transfer`'s work, for the route and for the problem list's button (``token``:
    the caller's own, with which the core makes the transfer)."""
    require_role(who, SENDERS, "transfer a problem's evidence")
    row, evidence = await anyio.to_thread.run_sync(_problem, state, problem_id)
    restaurant = await anyio.to_thread.run_sync(_restaurant, state, row.restaurant_id)
    _own_department(who, restaurant)
    if row.escalation == "transferred":
        raise ConflictError(f"problem {problem_id} was transferred already ({row.transfer_id})")
    if not evidence:
        raise ConflictError(
            f"problem {problem_id} has no captured evidence yet (its hours are captured once "
            "they end)"
        )
    target = to_department_id or state.config.enforcement_department
    if not target:
        raise BadRequestError("to_department_id: name the department (none is configured)")
    note = note or f"餐饮智管平台问题移送：{restaurant.name} {row.title}（问题 {row.id}）"
    async with state.core_client(token) as core:
        try:
            departments = await core.departments()
            to = next((d["id"] for d in departments if target in (d["id"], d.get("code"))), None)
            if to is None:
                raise BadRequestError(f"to_department_id: no department {target}")
            made = await core.create_transfer(
                to,
                evidence_ids=evidence,
                note=note[:1000],
                idempotency_key=f"catering-problem-{row.id}-{row.reopened}",
            )
        except ApiError as exc:
            if exc.status >= 500:
                raise CoreUnavailableError(f"the core did not answer: {exc}") from exc
            raise ConflictError(
                f"the core refused the transfer: {exc.problem.get('detail', exc)}"
            ) from exc

    def mark() -> None:
        with write_transaction(state.engine) as conn:
            problems.mark_transferred(conn, problem_id, made.id, who.officer_id, utcnow())

    await anyio.to_thread.run_sync(mark)
    return {"problem_id": problem_id, "transfer_id": made.id, "evidence_ids": evidence}


def _own_department(who: CoreCaller, restaurant: Any) -> None:
    if restaurant.department_id != who.department_id:
        raise ForbiddenError(
            f"restaurant {restaurant.id} is department {restaurant.department_id}'s"
        )


class PenaltyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision_no: str = Field(min_length=1, max_length=64, description="处罚决定书文号")
    decided_on: date
    amount_yuan: float = Field(ge=0, le=10_000_000)


@router.post("/problems/{problem_id}/penalty", responses=problem_docs(401, 403, 404, 422))
async def record_penalty(
    request: Request, who: CallerDep, problem_id: Annotated[str, ID], body: PenaltyIn
) -> dict[str, Any]:
    """Record the penalty decided on a problem (shown on the public page: number, date and
    amount — no names)."""
    state = state_of(request)
    row, _ = await anyio.to_thread.run_sync(_problem, state, problem_id)
    restaurant = await anyio.to_thread.run_sync(_restaurant, state, row.restaurant_id)
    require_role(who, WORKERS, "record a penalty")
    if who.department_id != restaurant.department_id and row.transfer_id is None:
        raise ForbiddenError("only the restaurant's department records a penalty")
    penalty = {
        "decision_no": body.decision_no,
        "decided_on": body.decided_on.isoformat(),
        "amount_yuan": body.amount_yuan,
    }

    def store() -> None:
        with write_transaction(state.engine) as conn:
            conn.execute(
                m.problem.update().where(m.problem.c.id == problem_id).values(penalty=penalty)
            )

    await anyio.to_thread.run_sync(store)
    return {"problem_id": problem_id, "penalty": penalty}
