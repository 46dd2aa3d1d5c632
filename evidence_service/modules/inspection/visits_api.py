"""``/api/v1/inspection/tasks/{task_id}/…`` for the visit, its record and follow-up, and the
published results (``/api/v1/inspection/results``). The database side is ``visits.py``; here
the module reaches the core with the caller's own token: to check the evidence a finding
cites, to transfer it, to capture the record and to ask for and give the co-signature.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

import anyio
import httpx
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from evidence_service.client import ApiError, AsyncEvidenceClient, Evidence, Transfer
from evidence_service.modules.inspection import feedback, visits
from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection.common import (
    WORKERS,
    BadRequestError,
    Caller,
    CallerDep,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    decode_cursor,
    local_date,
    page_of,
    problems,
    require_role,
    state_of,
    utcnow,
)
from evidence_service.modules.inspection.state import InspectionState
from evidence_service.modules.kit.caller import CoreUnavailableError, bearer_token
from evidence_service.modules.kit.db import write_transaction
from signing.jcs import canonicalize

router = APIRouter(prefix="/api/v1/inspection", tags=["inspection"])
T = TypeVar("T")

SENDERS = frozenset({"reviewer", "penalty"})
TASK_ID = Path(max_length=26, pattern=r"^[0-9A-Z]{26}$")
ITEM_CODE = Path(max_length=64, pattern=r"^[a-z0-9_.]+$")
EVIDENCE_ID = r"^[0-9A-Za-z]{1,26}$"


async def _core(
    state: InspectionState,
    token: str,
    doing: str,
    call: Callable[[AsyncEvidenceClient], Awaitable[T]],
) -> T:
    """One exchange with the core as the caller; its refusals become the module's."""
    try:
        async with state.core_client(token) as core:
            return await call(core)
    except ApiError as exc:
        detail = f"{doing}: {exc.problem.get('detail') or exc.problem.get('title') or exc}"
        if exc.status in (403, 404, 409, 422):
            raise {403: ForbiddenError, 404: BadRequestError, 409: ConflictError}.get(
                exc.status, BadRequestError
            )(detail) from exc
        raise CoreUnavailableError(detail) from exc
    except httpx.HTTPError as exc:
        raise CoreUnavailableError(f"{doing}: {exc}") from exc


async def _evidence(core: AsyncEvidenceClient, *, evidence_id: str) -> Evidence:
    return await core.get_evidence(evidence_id)


async def _transfer(core: AsyncEvidenceClient, *, to: str, **kw: Any) -> Transfer:
    return await core.create_transfer(to, **kw)


def _today(state: InspectionState) -> date:
    return local_date(utcnow(), state.config.timezone)


# ----------------------------------------------------------------------------- findings


class FindingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Literal["compliant", "non_compliant", "not_applicable"]
    note: str | None = Field(None, max_length=1000, description="what was found")
    evidence_ids: list[Annotated[str, Field(pattern=EVIDENCE_ID)]] = Field(
        default_factory=list,
        max_length=50,
        description="evidence the department's inspectors captured through the core's ports",
    )
    follow_up: Literal["rectification", "penalty"] = Field(
        "rectification", description="for a non-compliant item: 责令整改 or a penalty case"
    )


class TaskVersion(BaseModel):
    task_id: str
    state: str
    version: int


@router.put(
    "/tasks/{task_id}/findings/{item_code}",
    response_model=TaskVersion,
    responses=problems(401, 403, 404, 409, 422, 502),
)
async def put_finding(
    request: Request,
    who: CallerDep,
    body: FindingIn,
    task_id: str = TASK_ID,
    item_code: str = ITEM_CODE,
) -> dict[str, Any]:
    """A department's finding on one of its check items, citing the evidence its inspectors
    captured (each must be the department's own, as the core says)."""
    require_role(who, WORKERS, "record findings")
    if len(set(body.evidence_ids)) != len(body.evidence_ids):
        raise BadRequestError("evidence_ids: an item of evidence is cited once")
    state = state_of(request)
    token = bearer_token(request)
    for evidence_id in body.evidence_ids:
        item = await _core(
            state,
            token,
            f"evidence {evidence_id}",
            functools.partial(_evidence, evidence_id=evidence_id),
        )
        if item.department_id != who.department_id:
            raise BadRequestError(
                f"evidence {evidence_id} was captured by another department; cite your own"
            )
    now = utcnow()

    def write() -> dict[str, Any]:
        with write_transaction(state.engine) as conn:
            visit = visits.load(conn, task_id, for_update=True)
            visits.put_finding(
                conn,
                visit,
                item_code=item_code,
                department_id=who.department_id,
                result=body.result,
                note=body.note,
                evidence_ids=body.evidence_ids,
                follow_up=body.follow_up,
                officer_id=who.officer_id,
                now=now,
            )
            return {"task_id": task_id, "state": "visited", "version": visit.row.version + 1}

    return await anyio.to_thread.run_sync(write)


# ------------------------------------------------------------------------------- sharing


class ShareOut(BaseModel):
    to_department: str
    transfer_id: str
    evidence_ids: list[str]


@router.post(
    "/tasks/{task_id}/share",
    response_model=list[ShareOut],
    responses=problems(401, 403, 404, 409, 422, 502),
)
async def share_evidence(
    request: Request, who: CallerDep, task_id: str = TASK_ID
) -> list[dict[str, Any]]:
    """A reviewer sends the department's evidence of this visit to every other participating
    department through the core's transfer (one transfer per department; sent again, it
    sends only what is new). Each recipient accepts it in its inbox, as any transfer."""
    require_role(who, SENDERS, "share evidence")
    state = state_of(request)

    def owed() -> tuple[visits.Visit, dict[tuple[str, str], list[str]]]:
        with state.engine.connect() as conn:
            visit = visits.load(conn, task_id)
            visits.require_participant(visit, who.department_id)
            return visit, visits.unshared(conn, visit, who.department_id)

    visit, pending = await anyio.to_thread.run_sync(owed)
    sent: list[dict[str, Any]] = []
    for (_, to), ids in sorted(pending.items()):
        key = hashlib.sha256(f"{task_id}|{to}|{','.join(ids)}".encode()).hexdigest()[:32]
        transfer = await _core(
            state,
            bearer_token(request),
            f"sending evidence to {to}",
            functools.partial(
                _transfer,
                to=to,
                evidence_ids=ids,
                note=f"联合检查 {visit.row.title}（任务 {task_id}）",
                idempotency_key=f"inspection-share-{key}",
            ),
        )

        def write(to: str = to, ids: list[str] = ids, transfer_id: str = transfer.id) -> None:
            with write_transaction(state.engine) as conn:
                visits.record_shares(
                    conn,
                    task_id,
                    from_department=who.department_id,
                    to_department=to,
                    evidence_ids=ids,
                    transfer_id=transfer_id,
                    officer_id=who.officer_id,
                    now=utcnow(),
                )

        await anyio.to_thread.run_sync(write)
        sent.append({"to_department": to, "transfer_id": transfer.id, "evidence_ids": ids})
    return sent


# -------------------------------------------------------------------------------- record


class RecordOut(BaseModel):
    task_id: str
    state: str = Field(description="signing, signed, declined or expired")
    evidence_id: str = Field(description="the record as captured in the core")
    digest: str = Field(description="SHA-256 of the record's bytes (JCS)")
    cosignature_id: str
    requested_at: Any
    signed_at: Any
    result: dict[str, Any] = Field(description="what is published once signed")
    departments: list[dict[str, Any]] = Field(description="each department's answer")


def _record_row(state: InspectionState, task_id: str) -> Any:
    with state.engine.connect() as conn:
        return conn.execute(select(m.record).where(m.record.c.task_id == task_id)).first()


async def _record_out(state: InspectionState, token: str, row: Any) -> dict[str, Any]:
    cosignature = await _core(
        state,
        token,
        "reading the co-signature",
        lambda core: core.get_cosignature(row.cosignature_id),
    )
    return {
        "task_id": row.task_id,
        "state": row.state,
        "evidence_id": row.evidence_id,
        "digest": row.digest,
        "cosignature_id": row.cosignature_id,
        "requested_at": row.requested_at,
        "signed_at": row.signed_at,
        "result": row.document,
        "departments": cosignature.get("departments", []),
    }


async def _department_names(state: InspectionState, token: str) -> dict[str, str]:
    listed = await _core(state, token, "reading departments", lambda core: core.departments())
    return {d["id"]: d["name"] for d in listed}


@router.post(
    "/tasks/{task_id}/record",
    response_model=RecordOut,
    status_code=201,
    responses=problems(401, 403, 404, 409, 422, 502),
)
async def make_record(request: Request, who: CallerDep, task_id: str = TASK_ID) -> dict[str, Any]:
    """The lead department's reviewer makes the joint inspection record: captured through
    the core's electronic-data port (stored, signed, anchored) and sent to every
    participating department for one BLS co-signature (the lead's approval goes with it)."""
    require_role(who, SENDERS, "make the inspection record")
    state = state_of(request)
    token = bearer_token(request)
    now = utcnow()

    def prepare() -> tuple[visits.Visit, dict[str, Any]]:
        with state.engine.connect() as conn:
            visit = visits.load(conn, task_id)
            visits.require_participant(visit, who.department_id)
            if who.department_id != visit.lead:
                raise ForbiddenError("the lead department makes the record")
            visits.ready_to_record(conn, visit)
            enterprise = conn.execute(
                select(
                    m.enterprise.c.credit_code, m.enterprise.c.name, m.enterprise.c.address
                ).where(m.enterprise.c.credit_code == visit.row.credit_code)
            ).one()
            inspectors = conn.execute(
                select(m.task_inspector.c.officer_id, m.task_inspector.c.department_id)
                .where(m.task_inspector.c.task_id == task_id)
                .order_by(m.task_inspector.c.officer_id)
            ).mappings()
            document = visits.record_document(
                conn,
                visit,
                enterprise=dict(enterprise._mapping),
                inspectors=[dict(i) for i in inspectors],
                made_at=now,
            )
            return visit, document

    visit, document = await anyio.to_thread.run_sync(prepare)
    content = canonicalize(document)
    digest = hashlib.sha256(content).hexdigest()
    captured = await _core(
        state,
        token,
        "capturing the record",
        lambda core: core.capture(
            content,
            port="electronic",
            metadata={
                "title": f"联合检查记录 {visit.row.title}"[:200],
                "description": f"task {task_id}; co-signed by {len(visit.departments)} departments",
            },
            filename=f"inspection-record-{task_id}.json",
            media_type="application/json",
            idempotency_key=f"inspection-record-{task_id}-{digest[:32]}",
        ),
    )
    cosignature = await _core(
        state,
        token,
        "asking for the co-signature",
        lambda core: core.request_cosignature("statement", captured.id, list(visit.departments)),
    )
    names = await _department_names(state, token)
    published = visits.public_result(document, names)

    def write() -> None:
        with write_transaction(state.engine) as conn:
            current = visits.load(conn, task_id, for_update=True)
            visits.ready_to_record(conn, current)
            visits.store_record(
                conn,
                current,
                evidence_id=captured.id,
                digest=digest,
                cosignature_id=cosignature["id"],
                published=published,
                officer_id=who.officer_id,
                now=now,
            )
            visits.settle_record(
                conn,
                current,
                status=cosignature["status"],
                now=now,
                today=_today(state),
                settings=state.config.risk,
            )

    await anyio.to_thread.run_sync(write)
    return await _record_out(
        state, token, await anyio.to_thread.run_sync(_record_row, state, task_id)
    )


async def _settle(state: InspectionState, task_id: str, status: str) -> None:
    def write() -> None:
        with write_transaction(state.engine) as conn:
            visit = visits.load(conn, task_id, for_update=True)
            visits.settle_record(
                conn,
                visit,
                status=status,
                now=utcnow(),
                today=_today(state),
                settings=state.config.risk,
            )

    await anyio.to_thread.run_sync(write)


@router.post(
    "/tasks/{task_id}/record/approve",
    response_model=RecordOut,
    responses=problems(401, 403, 404, 409, 422, 502),
)
async def approve_record(
    request: Request, who: CallerDep, task_id: str = TASK_ID
) -> dict[str, Any]:
    """A participating department's reviewer consents to the record: the core's co-signature
    approval. The last approval makes the BLS aggregate; the task is then recorded, its
    result published and its follow-ups opened."""
    require_role(who, SENDERS, "co-sign the inspection record")
    state = state_of(request)
    token = bearer_token(request)

    def current() -> Any:
        with state.engine.connect() as conn:
            visits.require_participant(visits.load(conn, task_id), who.department_id)
        return _record_row(state, task_id)

    row = await anyio.to_thread.run_sync(current)
    if row is None or row.state != "signing":
        raise ConflictError(
            f"the task has no record waiting for signatures ({row.state if row else 'none'})"
        )
    answered = await _core(
        state,
        token,
        "approving the co-signature",
        lambda core: core.approve_cosignature(row.cosignature_id),
    )
    await _settle(state, task_id, answered["status"])
    return await _record_out(
        state, token, await anyio.to_thread.run_sync(_record_row, state, task_id)
    )


@router.get(
    "/tasks/{task_id}/record", response_model=RecordOut, responses=problems(401, 403, 404, 422, 502)
)
async def get_record(request: Request, who: CallerDep, task_id: str = TASK_ID) -> dict[str, Any]:
    """The record's state and each department's answer (the co-signature's, as the core
    says). The record's own state moves only through ``…/record/approve``."""
    state = state_of(request)
    token = bearer_token(request)

    def current() -> Any:
        with state.engine.connect() as conn:
            visit = visits.load(conn, task_id)
            if not who.reads_all:
                visits.require_participant(visit, who.department_id)
        return _record_row(state, task_id)

    row = await anyio.to_thread.run_sync(current)
    if row is None:
        raise NotFoundError(f"the task {task_id} has no record yet")
    out = await _record_out(state, token, row)
    return out


# ------------------------------------------------------------------------------ results


class ResultOut(BaseModel):
    task_id: str
    signed_at: Any
    record_evidence_id: str
    record_digest: str
    cosignature_id: str
    result: dict[str, Any]


class ResultPage(BaseModel):
    items: list[ResultOut]
    next_cursor: str | None


def _result_out(row: Any) -> dict[str, Any]:
    return {
        "task_id": row.task_id,
        "signed_at": row.signed_at,
        "record_evidence_id": row.evidence_id,
        "record_digest": row.digest,
        "cosignature_id": row.cosignature_id,
        "result": row.document,
    }


@router.get("/results", response_model=ResultPage, responses=problems(401, 422))
async def list_results(
    request: Request,
    credit_code: Annotated[str | None, Query(max_length=18)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Published inspection results (结果公示), newest first: co-signed records without
    personal data. Public."""
    state = state_of(request)
    size = min(limit, state.config.max_page_size)
    query = (
        select(m.record)
        .where(m.record.c.state == "signed")
        .order_by(m.record.c.task_id.desc())
        .limit(size + 1)
    )
    if credit_code:
        query = query.join(m.task, m.task.c.id == m.record.c.task_id).where(
            m.task.c.credit_code == credit_code
        )
    if cursor:
        query = query.where(m.record.c.task_id < decode_cursor(cursor))

    return await page_of(state, query, size, key=lambda r: r.task_id, out=lambda r: _result_out(r))


@router.get("/results/{task_id}", response_model=ResultOut, responses=problems(401, 404, 422))
async def get_result(request: Request, task_id: str = TASK_ID) -> dict[str, Any]:
    """One published result. Public; a record not yet co-signed is not published (404)."""
    row = await anyio.to_thread.run_sync(_record_row, state_of(request), task_id)
    if row is None or row.state != "signed":
        raise NotFoundError(f"no published result for task {task_id}")
    return _result_out(row)


# ---------------------------------------------------------------------------- follow-up


class FollowUpOut(BaseModel):
    id: str
    task_id: str
    item_code: str
    department_id: str
    credit_code: str
    kind: str = Field(description="rectification (责令整改) or penalty (a case in the core)")
    state: str
    core_case_id: str | None
    due_on: date | None
    note: str | None
    created_at: Any
    closed_at: Any


class FollowUpPage(BaseModel):
    items: list[FollowUpOut]
    next_cursor: str | None


def _follow_up_out(row: Any) -> dict[str, Any]:
    return {c: getattr(row, c) for c in FollowUpOut.model_fields}


FOLLOW_UP_ID = Path(max_length=26, pattern=r"^[0-9A-Z]{26}$")


@router.get("/follow-ups", response_model=FollowUpPage, responses=problems(401, 403, 422))
async def list_follow_ups(
    request: Request,
    who: CallerDep,
    state_: Annotated[Literal["open", "closed"] | None, Query(alias="state")] = None,
    department_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Follow-ups of findings, newest first: a department sees its own; the office and
    auditors every department's."""
    if not who.reads_all:
        if department_id not in (None, who.department_id):
            raise ForbiddenError("a department reads only its own follow-ups")
        department_id = who.department_id
    state = state_of(request)
    size = min(limit, state.config.max_page_size)
    query = select(m.follow_up).order_by(m.follow_up.c.id.desc()).limit(size + 1)
    if state_:
        query = query.where(m.follow_up.c.state == state_)
    if department_id:
        query = query.where(m.follow_up.c.department_id == department_id)
    if cursor:
        query = query.where(m.follow_up.c.id < decode_cursor(cursor))

    return await page_of(state, query, size, key=lambda r: r.id, out=lambda r: _follow_up_out(r))


def _own_follow_up(state: InspectionState, who: Caller, follow_up_id: str) -> Any:
    with state.engine.connect() as conn:
        row = conn.execute(select(m.follow_up).where(m.follow_up.c.id == follow_up_id)).first()
    if row is None or (row.department_id != who.department_id and not who.reads_all):
        raise NotFoundError(f"no follow-up {follow_up_id}")
    if row.department_id != who.department_id:
        raise ForbiddenError(f"follow-up {follow_up_id} is department {row.department_id}'s")
    if row.state != "open":
        raise ConflictError(f"the follow-up is {row.state}")
    return row


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=1000, description="what was done (整改情况)")


@router.post(
    "/follow-ups/{follow_up_id}/close",
    response_model=FollowUpOut,
    responses=problems(401, 403, 404, 409, 422),
)
async def close_follow_up(
    request: Request, who: CallerDep, body: CloseIn, follow_up_id: str = FOLLOW_UP_ID
) -> dict[str, Any]:
    """The owning department closes a follow-up: the rectification is done, or the penalty
    case it opened has taken over."""
    require_role(who, WORKERS, "close a follow-up")
    state = state_of(request)

    def write() -> Any:
        _own_follow_up(state, who, follow_up_id)
        with write_transaction(state.engine) as conn:
            conn.execute(
                m.follow_up.update()
                .where(m.follow_up.c.id == follow_up_id, m.follow_up.c.state == "open")
                .values(
                    state="closed",
                    closed_at=utcnow(),
                    closed_by=who.officer_id,
                    note=body.note,
                )
            )
            return conn.execute(select(m.follow_up).where(m.follow_up.c.id == follow_up_id)).one()

    return _follow_up_out(await anyio.to_thread.run_sync(write))


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_number: str = Field(min_length=1, max_length=64, description="the department's 案号")


@router.post(
    "/follow-ups/{follow_up_id}/case",
    response_model=FollowUpOut,
    responses=problems(401, 403, 404, 409, 422, 502),
)
async def open_case(
    request: Request, who: CallerDep, body: CaseIn, follow_up_id: str = FOLLOW_UP_ID
) -> dict[str, Any]:
    """The owning department opens the penalty case of a finding in the core (立案), linking
    the evidence of its finding; the follow-up names the case."""
    require_role(who, WORKERS, "open a case")
    state = state_of(request)
    token = bearer_token(request)
    row = await anyio.to_thread.run_sync(_own_follow_up, state, who, follow_up_id)
    if row.core_case_id:
        raise ConflictError(f"the follow-up already has case {row.core_case_id}")

    def cited() -> list[str]:
        with state.engine.connect() as conn:
            ids = conn.execute(
                select(m.finding.c.evidence_ids).where(
                    m.finding.c.task_id == row.task_id, m.finding.c.item_code == row.item_code
                )
            ).scalar_one()
        return list(ids)

    evidence_ids = await anyio.to_thread.run_sync(cited)

    async def create(core: AsyncEvidenceClient) -> str:
        case = await core.create_case(
            body.case_number,
            kind="penalty",
            title=f"联合检查发现问题：{row.item_code}（企业 {row.credit_code}）"[:200],
        )
        for evidence_id in evidence_ids:
            await core.link_evidence(case.id, evidence_id, purpose="联合检查现场检查发现")
        return case.id

    case_id = await _core(state, token, "opening the case", create)

    def write() -> Any:
        with write_transaction(state.engine) as conn:
            conn.execute(
                m.follow_up.update()
                .where(m.follow_up.c.id == follow_up_id)
                .values(core_case_id=case_id, kind="penalty")
            )
            return conn.execute(select(m.follow_up).where(m.follow_up.c.id == follow_up_id)).one()

    return _follow_up_out(await anyio.to_thread.run_sync(write))


# ------------------------------------------------------------------------------ feedback


class FeedbackOut(BaseModel):
    year: int
    totals: dict[str, Any] = Field(
        description="enterprises visited, joint visits, the department inspections they "
        "replaced, inspections per enterprise before and after, reduction; tasks by state; "
        "warnings by state"
    )
    regions: list[dict[str, Any]]
    departments: list[dict[str, Any]]


@router.get("/feedback", response_model=FeedbackOut, responses=problems(401, 403, 422))
async def get_feedback(
    request: Request,
    who: CallerDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    """评价反馈: inspections per enterprise before and after joint inspection, tasks,
    findings and warnings, per department and region (``feedback.py``)."""
    state = state_of(request)
    chosen = year or _today(state).year

    def read() -> dict[str, Any]:
        with state.engine.connect() as conn:
            return feedback.feedback(conn, chosen)

    return await anyio.to_thread.run_sync(read)
