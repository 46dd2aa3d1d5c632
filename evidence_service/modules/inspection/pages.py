"""The joint-inspection pages, server-rendered, no script: warnings (预警) with the office's
"draft a task" form, the task board, one task with its consultation, the visit's findings, the
sharing of evidence and the co-signed record; the feedback figures; and, public (no sign-in),
the draws (双随机、一公开) and the published results (结果公示).

What a page shows and does is what the API's functions show and do (the same functions are
called, with the session's token forwarded to the core as the caller's); how a page signs its
caller in, guards its forms and shows a refusal is the kit's (``kit/pages.py``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from evidence_service.modules.inspection import api, draws, scenarios, tasks, visits_api
from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection.common import (
    WORKERS,
    BadRequestError,
    Caller,
    NotFoundError,
    caller_for_token,
    local_date,
    require_coordinator,
    state_of,
    utcnow,
)
from evidence_service.modules.inspection.draw import commitment_digest
from evidence_service.modules.kit.caller import department_names as kit_department_names
from evidence_service.modules.kit.db import write_transaction
from evidence_service.modules.kit.pages import PageKit, SignedIn, as_bearer, blank, see_other

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
STATE_NAMES = {
    "consulting": "磋商中",
    "scheduled": "已商定",
    "visited": "检查中",
    "recorded": "已签署",
    "closed": "已办结",
    "cancelled": "已取消",
}
WARNING_STATES = {
    "open": "待处理",
    "tasked": "已立任务",
    "resolved": "已解除",
    "dismissed": "已驳回",
}
RESULT_NAMES = {"compliant": "符合", "non_compliant": "不符合", "not_applicable": "不适用"}
SIGNAL_NAMES = {
    "hotline": "12345 投诉",
    "grid": "网格巡查",
    "petition": "信访",
    "inspection_finding": "既往检查发现",
    "penalty": "行政处罚",
    "iot_alarm": "物联感知告警",
}
DRAW_STATES = {
    "planned": "已拟定",
    "committed": "已承诺，等待目标区块",
    "published": "已公布",
    "void": "作废（已公布）",
    "failed": "未提交",
}
RISK_NAMES = {
    "high": "高风险",
    "medium_high": "较高风险",
    "medium": "一般风险",
    "medium_low": "较低风险",
    "low": "低风险",
}
templates.env.globals.update(
    risk_names=RISK_NAMES,
    state_names=STATE_NAMES,
    warning_states=WARNING_STATES,
    result_names=RESULT_NAMES,
    signal_names=SIGNAL_NAMES,
    draw_states=DRAW_STATES,
    kind_names=dict(scenarios.DEPARTMENT_KINDS),
    when=lambda v: "—" if v is None else str(v)[:19].replace("T", " "),
)


async def _caller(request: Request, token: str) -> Caller:
    return await caller_for_token(state_of(request), token)


KIT = PageKit(
    name="inspection",
    templates=templates,
    caller=_caller,
    actors=WORKERS,
    bad_form=BadRequestError,
)
Signed = Annotated[SignedIn, Depends(KIT.signed)]


SignedForm = Annotated[SignedIn, Depends(KIT.signed_form)]
FormText = Annotated[str, Form(max_length=1000)]
pages_router = APIRouter(include_in_schema=False)


async def department_names(request: Request, token: str) -> dict[str, str]:
    """Department names by id, as the core tells the caller (``kit/caller.py``)."""
    return await kit_department_names(state_of(request).core_client(token))


def _mapped(request: Request) -> list[Any]:
    with state_of(request).engine.connect() as conn:
        return list(conn.execute(select(m.department).order_by(m.department.c.department_id)))


def _public(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    response = templates.TemplateResponse(
        request, name, {"who": None, **context}, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# ----------------------------------------------------------------------------- warnings


@pages_router.get("/inspection/warnings", response_class=HTMLResponse)
async def warnings_page(request: Request, signed: Signed) -> Response:
    who = signed.who
    page = await api.list_warnings(
        as_bearer(request, signed.token),
        who,
        state_="open",
        credit_code=None,
        limit=100,
        cursor=None,
    )
    mapped = await anyio.to_thread.run_sync(_mapped, request)
    names = await department_names(request, signed.token)
    invitable = [
        (d.department_id, names.get(d.department_id, d.department_id), d.kind)
        for d in mapped
        if d.kind and d.department_id != who.department_id
    ]
    return KIT.render(
        request,
        "warnings.html",
        who,
        {
            "warnings": page["items"],
            "scenarios": list(scenarios.library().scenarios.values()),
            "invitable": invitable,
        },
    )


@pages_router.post("/inspection/warnings/{warning_id}/task")
async def draft_from_warning(
    request: Request,
    signed: SignedForm,
    warning_id: str,
    scenario: Annotated[str, Form(max_length=64)],
    departments: Annotated[list[str], Form(max_length=20)],
) -> Response:
    """The office drafts the task a warning calls for: the enterprise, a scenario, the
    departments invited (the cap and every rule as ``POST /api/v1/inspection/tasks``)."""
    who = signed.who
    state = state_of(request)

    def write() -> str:
        with state.engine.connect() as conn:
            row = conn.execute(select(m.warning).where(m.warning.c.id == warning_id)).first()
        if row is None:
            raise NotFoundError(f"no warning {warning_id}")
        draft = tasks.Draft(
            credit_code=row.credit_code,
            scenario=scenario,
            origin="warning",
            departments=tuple(d for d in departments if d),
            warning_id=warning_id,
        )
        now = utcnow()
        with write_transaction(state.engine) as conn:
            return tasks.draft_task(
                conn,
                draft,
                who,
                year=_today(request).year,
                now=now,
                annual_cap=state.config.annual_cap,
            )

    require_coordinator(who, "draft tasks")
    task_id = await anyio.to_thread.run_sync(write)
    return see_other(f"/inspection/tasks/{task_id}")


def _today(request: Request) -> date:
    return local_date(utcnow(), state_of(request).config.timezone)


# ---------------------------------------------------------------------------- the board


@pages_router.get("/inspection/tasks", response_class=HTMLResponse)
async def task_board(request: Request, signed: Signed) -> Response:
    """The task board: the tasks the caller may see, in a column per state."""
    who = signed.who
    state = state_of(request)

    def read() -> list[dict[str, Any]]:
        with state.engine.connect() as conn:
            items, _ = tasks.list_tasks(conn, who, tasks.TaskFilter(), limit=200, cursor=None)
            return items

    items = await anyio.to_thread.run_sync(read)
    columns = [
        (code, STATE_NAMES[code], [t for t in items if t["state"] == code])
        for code in ("consulting", "scheduled", "visited", "recorded")
    ]
    return KIT.render(request, "tasks.html", who, {"columns": columns})


# ------------------------------------------------------------------------------ one task


@pages_router.get("/inspection/tasks/{task_id}", response_class=HTMLResponse)
async def task_page(request: Request, signed: Signed, task_id: str) -> Response:
    who = signed.who
    state = state_of(request)

    def read() -> tuple[dict[str, Any], dict[str, Any], Any]:
        with state.engine.connect() as conn:
            detail = tasks.task_detail(conn, task_id, who, state.config.annual_cap)
            found = {
                f.item_code: f
                for f in conn.execute(select(m.finding).where(m.finding.c.task_id == task_id))
            }
            record = conn.execute(select(m.record).where(m.record.c.task_id == task_id)).first()
        return detail, found, record

    detail, found, record = await anyio.to_thread.run_sync(read)
    names = await department_names(request, signed.token)
    participants = [d["department_id"] for d in detail["departments"]]
    mine = who.department_id in participants
    record_out = None
    if record is not None and (mine or who.reads_all):
        record_out = await visits_api.get_record(as_bearer(request, signed.token), who, task_id)
    answered = {d["department_id"]: d["answer"] for d in (record_out or {}).get("departments", [])}
    own_kind = who.kind
    addable = [
        item
        for item in scenarios.library().items.values()
        if own_kind
        and item.department == own_kind
        and item.code not in {i["code"] for i in detail["items"] if i["included"]}
    ]
    return KIT.render(
        request,
        "task.html",
        who,
        {
            "task": detail,
            "names": names,
            "findings": found,
            "record": record_out,
            "mine": mine,
            "lead": who.department_id == detail["lead_department"],
            "reviewer": who.role in visits_api.SENDERS,
            "may_approve": mine
            and record_out is not None
            and record_out["state"] == "signing"
            and answered.get(who.department_id) is None,
            "addable": addable[:50],
            "today": _today(request).isoformat(),
        },
    )


@pages_router.post("/inspection/tasks/{task_id}/actions")
async def task_action(
    request: Request,
    signed: SignedForm,
    task_id: str,
    action: Annotated[str, Form(max_length=20)],
    version: Annotated[int, Form(ge=1)],
    item_code: Annotated[str, Form(max_length=64)] = "",
    on: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """A step of the consultation, as ``POST …/tasks/{id}/actions`` with the page's version."""
    who = signed.who
    state = state_of(request)
    try:
        proposed = date.fromisoformat(on) if on else None
    except ValueError as exc:
        raise BadRequestError(f"date: {on!r} is not a date") from exc
    if action == "cancel" and not reason.strip():
        raise BadRequestError("reason: cancel needs a reason")
    act = tasks.Action(action, blank(item_code), proposed, blank(reason))
    today = _today(request)

    def write() -> None:
        with write_transaction(state.engine) as conn:
            tasks.apply_action(
                conn, task_id, act, who, expected_version=version, now=utcnow(), today=today
            )

    await anyio.to_thread.run_sync(write)
    return see_other(f"/inspection/tasks/{task_id}")


@pages_router.post("/inspection/tasks/{task_id}/findings/{item_code}")
async def finding_form(
    request: Request,
    signed: SignedForm,
    task_id: str,
    item_code: str,
    result: Annotated[str, Form(max_length=20)],
    note: FormText = "",
    evidence_ids: Annotated[str, Form(max_length=2000)] = "",
    follow_up: Annotated[str, Form(max_length=20)] = "rectification",
) -> Response:
    body = KIT.form_fields(
        visits_api.FindingIn,
        {
            "result": result,
            "note": blank(note),
            "evidence_ids": [
                e for e in evidence_ids.replace("，", ",").replace(" ", ",").split(",") if e
            ],
            "follow_up": follow_up,
        },
    )
    await visits_api.put_finding(
        as_bearer(request, signed.token), signed.who, body, task_id=task_id, item_code=item_code
    )
    return see_other(f"/inspection/tasks/{task_id}#item-{item_code}")


@pages_router.post("/inspection/tasks/{task_id}/share")
async def share_form(request: Request, signed: SignedForm, task_id: str) -> Response:
    await visits_api.share_evidence(as_bearer(request, signed.token), signed.who, task_id=task_id)
    return see_other(f"/inspection/tasks/{task_id}#record")


@pages_router.post("/inspection/tasks/{task_id}/record")
async def record_form(request: Request, signed: SignedForm, task_id: str) -> Response:
    await visits_api.make_record(as_bearer(request, signed.token), signed.who, task_id=task_id)
    return see_other(f"/inspection/tasks/{task_id}#record")


@pages_router.post("/inspection/tasks/{task_id}/record/approve")
async def approve_form(request: Request, signed: SignedForm, task_id: str) -> Response:
    await visits_api.approve_record(as_bearer(request, signed.token), signed.who, task_id=task_id)
    return see_other(f"/inspection/tasks/{task_id}#record")


# ------------------------------------------------------------------------------ feedback


@pages_router.get("/inspection/feedback", response_class=HTMLResponse)
async def feedback_page(request: Request, signed: Signed) -> Response:
    figures = await visits_api.get_feedback(as_bearer(request, signed.token), signed.who, year=None)
    names = await department_names(request, signed.token)
    return KIT.render(request, "feedback.html", signed.who, {"figures": figures, "names": names})


# ------------------------------------------------------------------------ public: draws


@pages_router.get("/inspection/draws", response_class=HTMLResponse)
async def draws_page(request: Request) -> Response:
    """Every draw, public: its inputs digest, target block, state and how many it drew."""
    state = state_of(request)
    rows = await anyio.to_thread.run_sync(
        lambda: draws.list_rows(state.engine, state=None, limit=100, after=None)
    )
    return _public(request, "draws.html", {"draws": [draws.summary(r) for r in rows]})


@pages_router.get("/inspection/draws/{draw_id}", response_class=HTMLResponse)
async def draw_page(request: Request, draw_id: str) -> Response:
    """One draw, public: what was committed (its digest), where it was anchored, the block
    whose hash seeded it, and the result — or why it is void."""
    state = state_of(request)
    row = await anyio.to_thread.run_sync(draws.get_row, state.engine, draw_id[:64])
    if row is None:
        return _public(request, "public_problem.html", {"detail": f"没有抽取 {draw_id[:64]}"}, 404)
    names: dict[str, str] = {}
    departments: dict[str, str] = {}

    def enterprise_names() -> None:
        with state.engine.connect() as conn:
            departments.update(
                (d.department_id, d.name)
                for d in conn.execute(select(m.department.c.department_id, m.department.c.name))
                if d.name
            )
        codes = {
            s["enterprise"]
            for s in ((row["document"] or {}).get("result") or {}).get("selected", [])
        }
        if codes:
            with state.engine.connect() as conn:
                names.update(
                    conn.execute(
                        select(m.enterprise.c.credit_code, m.enterprise.c.name).where(
                            m.enterprise.c.credit_code.in_(sorted(codes))
                        )
                    ).all()
                )

    await anyio.to_thread.run_sync(enterprise_names)
    return _public(
        request,
        "draw.html",
        {
            "draw": draws.summary(row),
            "document": row["document"] if row["state"] in ("published", "void") else None,
            "commitment": row["commitment"],
            "left_out": row["left_out"],
            "names": names,
            "departments": departments,
            "digest": commitment_digest(row["commitment"]).hex(),
        },
    )


@pages_router.get("/inspection/results/{task_id}", response_class=HTMLResponse)
async def result_page(request: Request, task_id: str) -> Response:
    """A published result (结果公示), public: no person, no note, no evidence id."""
    try:
        result = await visits_api.get_result(request, task_id=task_id[:26])
    except NotFoundError:
        return _public(request, "public_problem.html", {"detail": "该检查结果尚未公示"}, 404)
    return _public(request, "result.html", {"result": result})
