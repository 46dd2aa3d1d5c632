"""What every page of the module shares: the kit's page plumbing (``kit/pages.py``: who is
signed in, the guard on forms, rendering, refusals as pages) bound to this module's templates,
caller and cookie, and the names its templates use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.templating import Jinja2Templates

from evidence_service.modules.kit.caller import department_names as kit_department_names
from evidence_service.modules.kit.pages import SESSION_COOKIE as SESSION_COOKIE
from evidence_service.modules.kit.pages import PageKit, SignedIn
from evidence_service.modules.kit.pages import PageRefusedError as PageRefusedError
from evidence_service.modules.kit.pages import SignInRequired as SignInRequired
from evidence_service.modules.kit.pages import as_bearer as as_bearer
from evidence_service.modules.kit.pages import blank as blank
from evidence_service.modules.kit.pages import see_other as see_other
from evidence_service.modules.supervision.api import (
    INGESTERS,
    Caller,
    caller_for_token,
    state_of,
)
from evidence_service.modules.supervision.problems import BadQueryError

CSRF_COOKIE = "evd_sup_csrf"

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

PROCEDURES = (("general", "一般程序"), ("simple", "简易程序"), ("warning", "预警"))
SEVERITIES = (("high", "高"), ("medium", "中"), ("low", "低"))
STATUSES = (("open", "待处置"), ("closed", "已关闭"))
LIGHTS = {"red": "红灯（已超期）", "amber": "黄灯（临近期限）", "green": "绿灯"}
STATES = {
    "open": "待处置",
    "assigned": "已分派",
    "investigating": "调查中",
    "decided": "已决定",
    "rectifying": "整改中",
    "replied": "已报告",
    "warned": "已预警",
    "closed": "已关闭",
}
ACTION_NAMES = {
    "assign": "分派",
    "investigate": "开始调查",
    "decide": "作出监督决定",
    "send_notice": "盖章并送达通知书",
    "reply": "报送整改报告",
    "return_reply": "退回整改报告",
    "close": "办结",
    "warn": "发出预警",
    "acknowledge": "确认收到预警",
}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _when(value: Any) -> str:
    """A timestamp as the pages show it: to the second, in UTC as stored."""
    return "—" if value is None else str(value)[:19].replace("T", " ")


templates.env.globals.update(
    pct=_pct,
    num=_num,
    when=_when,
    procedure_names=dict(PROCEDURES),
    severity_names=dict(SEVERITIES),
    status_names=dict(STATUSES),
    state_names=STATES,
    light_names=LIGHTS,
    action_names=ACTION_NAMES,
)

FormText = Annotated[str, Form(max_length=2000)]


async def _caller(request: Request, token: str) -> Caller:
    return await caller_for_token(state_of(request), token)


KIT = PageKit(
    name="supervision",
    templates=templates,
    caller=_caller,
    actors=INGESTERS,
    bad_form=BadQueryError,
    csrf_cookie=CSRF_COOKIE,
)
PAGE_CALLER = KIT.marker
Signed = Annotated[SignedIn, Depends(KIT.signed)]


SignedForm = Annotated[SignedIn, Depends(KIT.signed_form)]
render_page = KIT.render
problem_page = KIT.problem_page
form_fields = KIT.form_fields


async def department_names(request: Request, token: str) -> dict[str, str]:
    """Department names by id, as the core tells the caller (``kit/caller.py``)."""
    return await kit_department_names(state_of(request).core_client(token))
