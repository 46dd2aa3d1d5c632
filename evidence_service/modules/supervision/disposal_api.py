"""``/api/v1/supervision/disposals…``: the disposal centre's routes.

Who: the supervision office (an ``audit`` department) opens and works disposals — its officers
work them, its reviewers seal and send the notice and close; the supervised department's
workers see their own disposals and answer (its reviewers send the rectification report back,
any worker acknowledges a warning); auditors read everything and act on nothing. Another
department's disposal answers 404, as in the core.

Concurrency: ``GET`` answers the disposal's ``version`` and an ``ETag`` of it; an action sent
with ``If-Match: "<version>"`` that is no longer current answers 412 and writes nothing. An
action without ``If-Match`` applies to the current state; either way the check and the write
happen under the disposal's row lock (``disposal.py``), so an illegal transition is 409.

The notice (``send_notice``) is rendered from the decision, captured through the core's
documentary port as the office reviewer, its SHA-256 sealed with the office's seal and sent by
a transfer to the supervised department — all with the caller's own token and idempotency keys
named for the disposal's version, so a retried send reuses the same capture and transfer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import anyio
import httpx
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.client import ApiError, AsyncEvidenceClient, Transfer
from evidence_service.modules.supervision import disposal as machine
from evidence_service.modules.supervision.api import (
    INGESTERS,
    READERS,
    Caller,
    CallerDep,
    _require,
    bearer_token,
    state_of,
)
from evidence_service.modules.supervision.disposal import (
    Change,
    DisposalFilter,
    DisposalRules,
    IllegalTransitionError,
)
from evidence_service.modules.supervision.notice_pdf import NoticeDocument, render_notice_pdf
from evidence_service.modules.supervision.problems import (
    BadQueryError,
    CoreUnavailableError,
    ForbiddenDepartmentError,
    RecordNotFoundError,
    SupervisionProblem,
)
from evidence_service.modules.supervision.schemas import (
    PROBLEM_JSON,
    PROBLEM_REF,
    pdf_answer,
    problems,
)

router = APIRouter(prefix="/api/v1/supervision/disposals", tags=["supervision"])
ID = r"^[0-9A-Za-z._:-]{1,64}$"
NOTE = 2000


#: The answers beyond the case centre's (``schemas.problems``), for the OpenAPI document.
_PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}
STATE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The state machine does not allow the action now (problem+json)",
        "content": _PROBLEM,
    },
    412: {
        "description": "If-Match names a version that is no longer current (problem+json)",
        "content": _PROBLEM,
    },
}


class CoreRefusedError(SupervisionProblem):
    """The core refused a call the disposal needed (its status is in ``core_status``)."""

    slug, title, status = "core-refused", "The evidence core refused a step of the disposal", 502


class BadReplyError(SupervisionProblem):
    slug, title, status = "bad-reply", "The reply's transfer does not carry the report", 422


def clock() -> datetime:
    """Now (a dependency, so tests can fix the clock with ``app.dependency_overrides``)."""
    return datetime.now(UTC)


ClockDep = Annotated[datetime, Depends(clock)]


def rules_of(request: Request) -> DisposalRules:
    """The locality's deadlines (``SupervisionConfig.disposal_rules``)."""
    return state_of(request).config.disposal_rules


def _today(now: datetime, rules: DisposalRules) -> date:
    return now.astimezone(ZoneInfo(rules.timezone)).date()


# ------------------------------------------------------------------------------ bodies


class OpenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clue_id: str = Field(pattern=ID)
    procedure: Literal["general", "simple", "warning"]
    note: str = Field("", max_length=NOTE)
    due_on: date | None = Field(None, description="the first deadline (default: the rules')")


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal[
        "assign", "investigate", "decide", "send_notice", "return_reply",
        "close", "warn", "acknowledge",
    ]  # fmt: skip
    note: str = Field("", max_length=NOTE)
    assignee_id: str | None = Field(None, pattern=ID, description="assign: default the caller")
    facts: str | None = Field(None, max_length=NOTE, description="decide: 事实和理由")
    basis: str | None = Field(None, max_length=1000, description="decide: 依据")
    decision: str | None = Field(None, max_length=NOTE, description="decide: 监督决定")
    correction_days: int | None = Field(None, ge=1, le=365, description="decide: 整改期限")


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    transfer_id: str = Field(pattern=ID, description="the transfer back to the office")
    evidence_id: str | None = Field(None, pattern=ID, description="the report (default: the item)")
    note: str = Field("", max_length=NOTE)


class StepPublic(BaseModel):
    position: int
    at: datetime
    actor_id: str
    action: str
    from_state: str | None
    to_state: str
    note: str
    details: dict[str, Any]


class DisposalPublic(BaseModel):
    id: str
    clue_id: str
    procedure: str
    state: str
    department_id: str
    assignee_id: str | None
    due_on: date | None
    light: str | None = Field(description="red (overdue), amber, green; null when closed")
    overdue: bool
    opened_by: str
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    outcome: str | None
    notice_evidence_id: str | None
    notice_sha256: str | None
    notice_seal: dict[str, Any] | None
    notice_transfer_id: str | None
    reply_transfer_id: str | None
    reply_evidence_id: str | None
    version: int
    steps: list[StepPublic] | None = None


class DisposalPage(BaseModel):
    items: list[DisposalPublic]
    next_cursor: str | None


# ------------------------------------------------------------------------------ helpers


def held_by(who: Caller, row: dict[str, Any]) -> frozenset[str]:
    """The capacities ``who`` holds towards the disposal ``row`` (``disposal.capacities``)."""
    return machine.capacities(
        role=who.role,
        department_id=who.department_id,
        office=who.office,
        disposal_department=row["department_id"],
    )


def _visible(who: Caller, row: dict[str, Any] | None, disposal_id: str) -> dict[str, Any]:
    if row is None or not (who.sees_all or row["department_id"] == who.department_id):
        raise RecordNotFoundError(f"no disposal {disposal_id}")
    return row


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 9:
        raise BadQueryError('If-Match: give the disposal\'s version, e.g. "3"')
    return int(text)


def _answer(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers={"ETag": f'"{body["version"]}"'}
    )


async def core_step(call: Callable[[], Any], doing: str) -> Any:
    """A core call, its refusals mapped to the module's problems (502, naming the step)."""
    try:
        return await call()
    except ApiError as exc:
        detail = exc.problem.get("detail", "")
        raise CoreRefusedError(f"{doing}: {detail}", core_status=exc.status) from exc
    except httpx.HTTPError as exc:
        raise CoreUnavailableError(f"{doing}: {exc}") from exc


def decision_of(detail: dict[str, Any]) -> dict[str, Any]:
    found = [s for s in detail["steps"] if s["action"] == "decide"]
    if not found:
        raise IllegalTransitionError(
            "the disposal has no decision yet: a notice is made from one", state=detail["state"]
        )
    return {**found[-1]["details"], "at": found[-1]["at"]}


async def _render_notice(
    core: AsyncEvidenceClient, detail: dict[str, Any], rules: DisposalRules
) -> bytes:
    """The notice of a decided disposal, as the office sends it (same input, same bytes),
    dated on the office's calendar (``rules.timezone``), whatever the database returns."""
    decided = decision_of(detail)
    names = {d["id"]: d["name"] for d in await core_step(core.departments, "listing departments")}
    office_id = decided["office_id"]
    answer = await core_step(
        lambda: core.http.get(f"/api/v1/departments/{office_id}/seal.png"), "the office's seal"
    )
    if answer.status_code != 200:
        raise CoreRefusedError("the office's seal image", core_status=answer.status_code)
    at = decided["at"].astimezone(ZoneInfo(rules.timezone))
    doc = NoticeDocument(
        number=detail["id"],
        office=names.get(office_id, office_id),
        supervised=names.get(detail["department_id"], detail["department_id"]),
        facts=decided["facts"],
        basis=decided["basis"],
        decision=decided["decision"],
        deadline=date.fromisoformat(decided["deadline"]),
        issued_at=at,
        clue_id=detail["clue_id"],
    )
    png = answer.content
    return await anyio.to_thread.run_sync(lambda: render_notice_pdf(doc, seal_png=png))


def _detail(request: Request, disposal_id: str, now: datetime) -> Any:
    rules = rules_of(request)
    engine = state_of(request).engine
    return anyio.to_thread.run_sync(
        lambda: machine.disposal_detail(engine, disposal_id, _today(now, rules), rules)
    )


# ------------------------------------------------------------------------------ routes


@router.post(
    "",
    summary="Open a disposal of a clue by a procedure (general, simple or warning)",
    status_code=201,
    response_model=DisposalPublic,
    responses=problems(401, 403, 404, 422, 502),
)
async def open_disposal(
    request: Request, body: OpenIn, who: CallerDep, now: ClockDep
) -> JSONResponse:
    _require(who, INGESTERS, "open disposals")
    if not who.office:
        raise ForbiddenDepartmentError("only the supervision office opens disposals")
    rules, engine = rules_of(request), state_of(request).engine
    today = _today(now, rules)
    if body.due_on is not None and body.due_on < today:
        raise BadQueryError("due_on: a deadline in the past")
    disposal_id = await anyio.to_thread.run_sync(
        lambda: machine.open_disposal(
            engine,
            clue_id=body.clue_id,
            procedure=body.procedure,
            actor_id=who.officer_id,
            note=body.note,
            now=now,
            today=today,
            rules=rules,
            due_on=body.due_on,
        )  # fmt: skip
    )
    return _answer(await _detail(request, disposal_id, now), 201)


@router.get(
    "",
    summary="List disposals (cursor-paginated), with their lights",
    response_model=DisposalPage,
    responses=problems(401, 403, 422, 502),
)
async def list_disposals(
    request: Request,
    who: CallerDep,
    now: ClockDep,
    state: Annotated[str | None, Query(max_length=16)] = None,
    procedure: Annotated[Literal["general", "simple", "warning"] | None, Query()] = None,
    department_id: Annotated[str | None, Query(max_length=64)] = None,
    clue_id: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    _require(who, READERS, "read disposals")
    rules, engine = rules_of(request), state_of(request).engine
    flt = DisposalFilter(
        departments=None if who.sees_all else frozenset({who.department_id}),
        state=state,
        procedure=procedure,
        department_id=department_id,
        clue_id=clue_id,
        overdue=overdue,
    )
    try:
        page, next_cursor = await anyio.to_thread.run_sync(
            lambda: machine.list_disposals(
                engine, flt, today=_today(now, rules), rules=rules, limit=limit, cursor=cursor
            )
        )
    except ValueError as exc:
        raise BadQueryError(f"cursor: {exc}") from exc
    return {"items": jsonable_encoder(page), "next_cursor": next_cursor}


@router.get(
    "/{disposal_id}",
    summary="One disposal with its steps (ETag: its version)",
    response_model=DisposalPublic,
    responses=problems(401, 403, 404, 422, 502),
)
async def get_disposal(
    request: Request, disposal_id: str, who: CallerDep, now: ClockDep
) -> JSONResponse:
    _require(who, READERS, "read disposals")
    return _answer(_visible(who, await _detail(request, disposal_id, now), disposal_id))


@router.post(
    "/{disposal_id}/actions",
    summary="Take the disposal one step (409 when the state machine does not allow it)",
    response_model=DisposalPublic,
    responses={**problems(401, 403, 404, 422, 502), **STATE_PROBLEMS},
)
async def act(
    request: Request,
    disposal_id: str,
    body: ActionIn,
    who: CallerDep,
    now: ClockDep,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
) -> JSONResponse:
    _require(who, INGESTERS, "act on disposals")
    expected = _if_match(if_match)
    rules, engine = rules_of(request), state_of(request).engine
    today = _today(now, rules)
    detail = _visible(who, await _detail(request, disposal_id, now), disposal_id)
    held = held_by(who, detail)
    # the same checks the write makes, first: an illegal action never reaches the core
    machine.check_transition(detail, body.action, held, expected_version=expected)
    change = await _prepare(request, body, who, detail, held, now, today, rules)
    await anyio.to_thread.run_sync(
        lambda: machine.apply_transition(
            engine,
            disposal_id,
            body.action,
            held,
            change,
            actor_id=who.officer_id,
            now=now,
            today=today,
            rules=rules,
            expected_version=detail["version"],
        )  # fmt: skip
    )
    return _answer(await _detail(request, disposal_id, now))


async def _prepare(
    request: Request,
    body: ActionIn,
    who: Caller,
    detail: dict[str, Any],
    held: frozenset[str],
    now: datetime,
    today: date,
    rules: DisposalRules,
) -> Change:
    """What the action writes besides the state, after any calls to the core it needs."""
    note = body.note.strip()
    if body.action == "assign":
        assignee = body.assignee_id or who.officer_id
        return Change(note, {"assignee_id": assignee}, values={"assignee_id": assignee})
    if body.action == "decide":
        missing = [
            f for f in ("facts", "basis", "decision") if not (getattr(body, f) or "").strip()
        ]
        if missing:
            raise BadQueryError(f"decide needs {', '.join(missing)}", missing=missing)
        days = body.correction_days or rules.correction_days
        details = {
            "facts": (body.facts or "").strip(),
            "basis": (body.basis or "").strip(),
            "decision": (body.decision or "").strip(),
            "correction_days": days,
            "deadline": (today + timedelta(days=days)).isoformat(),
            "office_id": who.department_id,
        }
        return Change(note, details)
    if body.action == "send_notice":
        return await _send_notice(request, who, detail)
    if detail["procedure"] == "general" and body.action in ("close", "return_reply"):
        return await _decide_reply(request, body.action, note, detail)
    return Change(note)


async def _send_notice(request: Request, who: Caller, detail: dict[str, Any]) -> Change:
    key = f"supervision-notice-{detail['id']}-v{detail['version']}"
    deadline = date.fromisoformat(decision_of(detail)["deadline"])
    async with state_of(request).core_client(bearer_token(request)) as core:
        pdf = await _render_notice(core, detail, rules_of(request))
        digest = hashlib.sha256(pdf).hexdigest()
        item = await core_step(
            lambda: core.capture(
                pdf, port="documentary", metadata={"title": f"行政执法监督通知书 {detail['id']}"},
                filename=f"notice-{detail['id']}.pdf", media_type="application/pdf",
                idempotency_key=f"{key}-capture",
            ),
            "capturing the notice",
        )  # fmt: skip
        seal = await core_step(lambda: core.seal(who.department_id, digest), "sealing the notice")
        sent = await core_step(
            lambda: core.create_transfer(
                detail["department_id"], evidence_ids=[item.id], idempotency_key=f"{key}-send",
                note=f"执法监督通知书 {detail['id']}：请于{deadline.isoformat()}前整改并书面报告",
            ),
            "sending the notice",
        )  # fmt: skip
    details = {
        "evidence_id": item.id,
        "sha256": digest,
        "transfer_id": sent.id,
        "manifest_digest": sent.manifest_digest,
    }
    values = {
        "notice_evidence_id": item.id,
        "notice_sha256": digest,
        "notice_seal": seal.raw,
        "notice_transfer_id": sent.id,
    }
    return Change("", details, due_on=deadline, values=values)


async def _decide_reply(request: Request, action: str, note: str, detail: dict[str, Any]) -> Change:
    """Closing accepts the report's transfer as the office (if it is still pending);
    returning the report rejects it with the note as the reason."""
    transfer_id = detail["reply_transfer_id"]
    if not note:
        return Change(note)  # the write refuses it (422) before anything else
    async with state_of(request).core_client(bearer_token(request)) as core:
        found: Transfer = await core_step(lambda: core.get_transfer(transfer_id), "the report")
        status = found.status
        if action == "close" and status == "pending":
            await core_step(lambda: core.accept_transfer(transfer_id), "accepting the report")
            status = "accepted"
        elif action == "close" and status != "accepted":
            raise IllegalTransitionError(
                f"the report's transfer {transfer_id} is {status}: return the report instead",
                state=detail["state"],
            )
        elif action == "return_reply" and status == "pending":
            await core_step(lambda: core.reject_transfer(transfer_id, note), "returning the report")
            status = "rejected"
    details = {"transfer_id": transfer_id, "transfer_status": status}
    values = {} if action == "close" else {"reply_transfer_id": None, "reply_evidence_id": None}
    return Change(note, details, values=values)


@router.get(
    "/{disposal_id}/notice.pdf",
    summary="The supervision notice (执法监督通知书) as PDF: the bytes sealed and sent",
    response_class=Response,
    responses={
        **problems(401, 403, 404, 422, 502),
        409: STATE_PROBLEMS[409],
        **pdf_answer("the notice, byte for byte as sealed and sent"),
    },
)
async def notice_pdf(request: Request, disposal_id: str, who: CallerDep, now: ClockDep) -> Response:
    _require(who, READERS, "read disposals")
    detail = _visible(who, await _detail(request, disposal_id, now), disposal_id)
    async with state_of(request).core_client(bearer_token(request)) as core:
        pdf = await _render_notice(core, detail, rules_of(request))
    digest = hashlib.sha256(pdf).hexdigest()
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="notice-{disposal_id}.pdf"',
            "X-Content-SHA256": digest,
        },
    )


@router.post(
    "/{disposal_id}/reply",
    summary="The supervised department's written report, sent back by a transfer to the office",
    response_model=DisposalPublic,
    responses={**problems(401, 403, 404, 422, 502), **STATE_PROBLEMS},
)
async def reply(
    request: Request,
    disposal_id: str,
    body: ReplyIn,
    who: CallerDep,
    now: ClockDep,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
) -> JSONResponse:
    _require(who, INGESTERS, "reply to disposals")
    expected = _if_match(if_match)
    rules, engine = rules_of(request), state_of(request).engine
    detail = _visible(who, await _detail(request, disposal_id, now), disposal_id)
    held = held_by(who, detail)
    machine.check_transition(detail, "reply", held, expected_version=expected, route="reply")
    office_id = decision_of(detail)["office_id"]
    async with state_of(request).core_client(bearer_token(request)) as core:
        notice: Transfer = await core_step(
            lambda: core.get_transfer(detail["notice_transfer_id"]), "the notice's transfer"
        )
        if notice.status != "accepted":
            raise IllegalTransitionError(
                f"accept the notice's transfer {notice.id} first (it is {notice.status})",
                state=detail["state"],
            )
        try:
            back = await core.get_transfer(body.transfer_id)
        except ApiError as exc:
            raise BadReplyError(f"no transfer {body.transfer_id} your department sent") from exc
    _check_reply(back, body, detail["department_id"], office_id)
    evidence_id = body.evidence_id or back.evidence_ids[0]
    change = Change(
        body.note.strip(),
        {
            "transfer_id": back.id,
            "evidence_id": evidence_id,
            "manifest_digest": back.manifest_digest,
        },
        values={"reply_transfer_id": back.id, "reply_evidence_id": evidence_id},
    )
    await anyio.to_thread.run_sync(
        lambda: machine.apply_transition(
            engine,
            disposal_id,
            "reply",
            held,
            change,
            actor_id=who.officer_id,
            now=now,
            today=_today(now, rules),
            rules=rules,
            expected_version=detail["version"],
            route="reply",
        )  # fmt: skip
    )
    return _answer(await _detail(request, disposal_id, now))


def _check_reply(back: Transfer, body: ReplyIn, department_id: str, office_id: str) -> None:
    if back.from_department_id != department_id or back.to_department_id != office_id:
        raise BadReplyError(
            f"transfer {back.id} must go from the supervised department to the office"
        )
    if back.status not in ("pending", "accepted"):
        raise BadReplyError(f"transfer {back.id} is {back.status}")
    items = back.evidence_ids
    if body.evidence_id is None and len(items) != 1:
        raise BadReplyError("name the report's evidence_id: the transfer carries several items")
    if body.evidence_id is not None and body.evidence_id not in items:
        raise BadReplyError(f"transfer {back.id} does not carry {body.evidence_id}")
