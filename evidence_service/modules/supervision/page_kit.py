"""What every page of the module shares: who is signed in, the guard on forms, rendering, and
refusals as pages.

The module may not import the web app (``evidence_service.web``), so a page signs its caller
in the way any client of the core would: the web app's session cookie holds a person token
(``api/sessions.py``), which the page forwards to the core as a bearer token to learn who calls
(``GET /api/v1/me``). A page route takes :data:`Signed` (or :data:`SignedForm` when it
writes): without a session, or with one the core refuses, the dependency raises
:class:`SignInRequired`, which the module's handler answers with a 303 to ``/login?next=…``.

A page raises :class:`SupervisionProblem` as the API does; for a request a page serves (the
dependency marked it) the handler renders ``problem.html`` with the problem's status instead of
problem+json (:func:`problem_page`). So a page says what it does, not how it fails.

Forms are guarded against other sites' requests. The core's own anti-forgery token is an HMAC
under a secret the module does not hold (and may not import), so the pages keep their own
double-submit token: a random value in the cookie :data:`CSRF_COOKIE` (HttpOnly,
SameSite=Strict, path /supervision) that every form repeats in a hidden field ``csrf``; a POST
is refused (403, nothing written) when the two differ, when the browser says another site sent
it (``Sec-Fetch-Site``) or when its ``Origin`` is not this site.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import httpx
from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError

from evidence_service.client import ApiError
from evidence_service.modules.kit.problems import ModuleProblem
from evidence_service.modules.supervision.api import (
    INGESTERS,
    Caller,
    CallerRefusedError,
    caller_for_token,
    state_of,
)
from evidence_service.modules.supervision.problems import BadQueryError, SupervisionProblem

SESSION_COOKIE = "evd_session"  # the web app's session cookie (api/sessions.py)
CSRF_COOKIE = "evd_sup_csrf"
OWN_SITE = frozenset({"same-origin", "none"})
PAGE_CALLER = "supervision_page_caller"  # request.state: the signed-in caller of a page
M = TypeVar("M", bound=BaseModel)

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


class SignInRequired(Exception):
    """No session, or one the core refuses: the page sends the browser to sign in."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class PageRefusedError(SupervisionProblem):
    slug, title, status = "page-form-refused", "The form was not sent from this site's page", 403


@dataclass(frozen=True)
class SignedIn:
    token: str  # the session's person token, forwarded to the core
    who: Caller


def _login_location(request: Request) -> str:
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return f"/login?next={quote(target, safe='')}"


async def signed_in(request: Request) -> SignedIn:
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    try:
        who = await caller_for_token(state_of(request), token) if token else None
    except CallerRefusedError:
        who = None
    if who is None:
        raise SignInRequired(_login_location(request))
    setattr(request.state, PAGE_CALLER, who)
    return SignedIn(token, who)


Signed = Annotated[SignedIn, Depends(signed_in)]


def check_form(request: Request, presented: str) -> None:
    site = (request.headers.get("sec-fetch-site") or "").lower()
    if site and site not in OWN_SITE:
        raise PageRefusedError("this form may only be sent from this site's own pages")
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != "null" and origin != own:
        raise PageRefusedError("this form may only be sent from this site's own pages")
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), presented.strip().encode()):
        raise PageRefusedError("the page's anti-forgery token is missing or wrong; reload the page")


async def signed_form(
    request: Request, signed: Signed, csrf: Annotated[str, Form(max_length=128)] = ""
) -> SignedIn:
    """A signed-in caller whose form came from this site's page (checked before anything)."""
    check_form(request, csrf)
    return signed


SignedForm = Annotated[SignedIn, Depends(signed_form)]


def as_bearer(request: Request, token: str) -> Request:
    """The page's request as the module's API sees one: the session's token as a bearer token
    (the API's functions forward ``Authorization`` to the core)."""
    headers = [(k, v) for k, v in request.scope["headers"] if k != b"authorization"]
    headers.append((b"authorization", f"Bearer {token}".encode()))
    return Request({**request.scope, "headers": headers})


def render_page(
    request: Request, name: str, who: Caller, context: dict[str, Any], status: int = 200
) -> Response:
    token = request.cookies.get(CSRF_COOKIE, "")
    fresh = not (16 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum())
    if fresh:
        token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        name,
        {"who": who, "csrf": token, "may_act": who.role in INGESTERS, **context},
        status_code=status,
    )
    if fresh:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            path="/supervision",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def see_other(path: str, **kw: Any) -> RedirectResponse:
    """After a form: the page to read next (303, so a reload does not send the form again)."""
    return RedirectResponse(path, status_code=303, **kw)


def problem_page(request: Request, exc: ModuleProblem) -> Response | None:
    """The refusal as a page, for a request a page serves (None: answer problem+json)."""
    who = getattr(request.state, PAGE_CALLER, None)
    if who is None:
        return None
    return render_page(request, "problem.html", who, {"problem": exc}, status=exc.status)


def form_fields(model: type[M], fields: dict[str, Any]) -> M:
    """A form's fields as the API's body model; a field that does not fit is a 422 page."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"])
        raise BadQueryError(f"{where}: {first['msg']}") from exc


def blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


async def department_names(request: Request, token: str) -> dict[str, str]:
    """Department names by id, as the core tells the caller (decoration: the ids stand in
    when the core cannot say)."""
    try:
        async with state_of(request).core_client(token) as core:
            return {d["id"]: d["name"] for d in await core.departments()}
    except (ApiError, httpx.HTTPError):
        return {}
