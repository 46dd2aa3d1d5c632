"""The module's pages in the web app: ``/supervision/cockpit`` (数据驾驶舱), server-rendered,
no script.

The module may not import the web app (``evidence_service.web``), so the page signs its caller
in the way any client of the core would: the web app's session cookie holds a person token
(``api/sessions.py``), which the page forwards to the core as a bearer token to learn who calls
(``GET /api/v1/me``). Without a cookie, or with one the core refuses, it redirects to
``/login`` as the core's pages do. The figures are those of ``GET /api/v1/supervision/cockpit``
(the same function computes both).
"""

from __future__ import annotations

import hmac
import json
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import anyio
import httpx
from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from evidence_service.client import ApiError
from evidence_service.modules.supervision import cockpit_svg
from evidence_service.modules.supervision.api import (
    AUDITOR,
    INGESTERS,
    READERS,
    Caller,
    CallerRefusedError,
    _require,
    caller_for_token,
    state_of,
)
from evidence_service.modules.supervision.clues import registry, runner
from evidence_service.modules.supervision.clues.api import start_run
from evidence_service.modules.supervision.problems import (
    BadQueryError,
    RecordNotFoundError,
    SupervisionProblem,
)
from evidence_service.modules.supervision.records import decode_cursor, encode_cursor
from evidence_service.modules.supervision.review_api import cockpit_figures
from evidence_service.modules.supervision.schemas import RunRequest
from evidence_service.modules.supervision.state import SupervisionState

SESSION_COOKIE = "evd_session"  # the web app's session cookie (api/sessions.py)
LEVELS = (("department", "部门"), ("city", "设区市"), ("region", "区县"), ("officer", "执法人员"))

pages_router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


templates.env.globals.update(pct=_pct, num=_num)


async def _page_caller(state: SupervisionState, token: str) -> Caller | None:
    """The signed-in officer as the core knows them; None when the core refuses the token."""
    try:
        return await caller_for_token(state, token)
    except CallerRefusedError:
        return None


@pages_router.get("/supervision/cockpit", response_class=HTMLResponse)
async def cockpit_page(
    request: Request,
    level: Annotated[str, Query(max_length=16)] = "department",
    period: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    state = state_of(request)
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    who = await _page_caller(state, token) if token else None
    if who is None:
        target = quote(str(request.url.path), safe="")
        return RedirectResponse(f"/login?next={target}", status_code=303)
    figures = await cockpit_figures(
        state, who, token=token, level=level, period=period or None, background=None
    )
    names = {row["key"]: row["name"] for row in figures["rows"]}
    level_name = dict(LEVELS)[figures["level"]]
    context: dict[str, Any] = {
        "figures": figures,
        "levels": LEVELS,
        "level_name": level_name,
        "who_sees_all": who.sees_all,
        "as_of": figures["as_of"].isoformat(timespec="seconds") if figures["as_of"] else "—",
        "indicator_names": list(cockpit_svg.INDICATOR_NAMES.items()),
        "gauge": cockpit_svg.gauge(figures["total"]["composite"], "综合得分"),
        "indicator_bars": cockpit_svg.indicator_bars(figures["total"], "各项指标（合计）"),
        "composite_bars": cockpit_svg.composite_bars(
            figures["rows"][:50], names, f"综合得分（按{level_name}）"
        ),
    }
    return templates.TemplateResponse(request, "cockpit.html", context)


# ------------------------------------------------------------------ clue centre and disposals
#
# The forms below write, so they are guarded against other sites' requests. The core's own
# anti-forgery token is an HMAC under a secret the module does not hold (and may not import),
# so these pages keep their own double-submit token: a random value in the cookie
# ``CSRF_COOKIE`` (HttpOnly, SameSite=Strict, path /supervision) that every form repeats in a
# hidden field; a POST is refused (403, nothing written) when the two differ, when the browser
# says another site sent it (``Sec-Fetch-Site``) or when its ``Origin`` is not this site.

CSRF_COOKIE = "evd_sup_csrf"
CSRF_FIELD = "csrf"
OWN_SITE = frozenset({"same-origin", "none"})
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
FormText = Annotated[str, Form(max_length=2000)]
templates.env.globals.update(
    procedure_names=dict(PROCEDURES),
    severity_names=dict(SEVERITIES),
    status_names=dict(STATUSES),
    state_names=STATES,
    light_names=LIGHTS,
    action_names=ACTION_NAMES,
)


def _when(value: Any) -> str:
    """A timestamp as the pages show it: to the second, in UTC as stored."""
    return "—" if value is None else str(value)[:19].replace("T", " ")


templates.env.globals["when"] = _when


class PageRefusedError(SupervisionProblem):
    slug, title, status = "page-form-refused", "The form was not sent from this site's page", 403


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def session_of(request: Request) -> tuple[str, Caller] | None:
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    who = await _page_caller(state_of(request), token) if token else None
    return (token, who) if who is not None else None


def as_bearer(request: Request, token: str) -> Request:
    """The page's request as the module's API sees one: the session's token as a bearer token
    (the API's functions forward ``Authorization`` to the core)."""
    headers = [(k, v) for k, v in request.scope["headers"] if k != b"authorization"]
    headers.append((b"authorization", f"Bearer {token}".encode()))
    return Request({**request.scope, "headers": headers})


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


def problem_page(request: Request, who: Caller, exc: SupervisionProblem) -> Response:
    return render_page(request, "problem.html", who, {"problem": exc}, status=exc.status)


def form_error(request: Request, who: Caller, exc: ValidationError) -> Response:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
    where = ".".join(str(p) for p in first["loc"])
    return problem_page(request, who, BadQueryError(f"{where}: {first['msg']}"))


def blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


@pages_router.get("/supervision/clues", response_class=HTMLResponse)
async def clues_page(
    request: Request,
    model: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    department_id: Annotated[str | None, Query(max_length=64)] = None,
    severity: Annotated[str | None, Query(max_length=16)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    ran: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    signed = await session_of(request)
    if signed is None:
        return to_login(request)
    _, who = signed
    chosen = {
        "model": blank(model),
        "status": blank(status),
        "department_id": blank(department_id),
        "severity": blank(severity),
    }
    state = state_of(request)
    try:
        _require(who, READERS, "read clues")
        if chosen["status"] not in (None, "open", "closed"):
            raise BadQueryError("status: open or closed")
        if chosen["severity"] not in (None, "high", "medium", "low"):
            raise BadQueryError("severity: high, medium or low")
        after = decode_cursor(cursor) if cursor else None
    except ValueError as exc:
        return problem_page(request, who, BadQueryError(f"cursor: {exc}"))
    except SupervisionProblem as exc:
        return problem_page(request, who, exc)
    flt = runner.ClueFilter(
        departments=None if who.sees_all else frozenset({who.department_id}), **chosen
    )
    page, last = await anyio.to_thread.run_sync(
        lambda: runner.search_clues(state.engine, flt, limit=50, after=after)
    )
    names = await department_names(state, request)
    more = (
        {k: v for k, v in chosen.items() if v} | {"cursor": encode_cursor(last)} if last else None
    )
    run = None
    if ran:
        run = await anyio.to_thread.run_sync(lambda: runner.get_run(state.engine, ran[:64]))
    context = {
        "clues": page,
        "chosen": chosen,
        "models": [(m.code, m.name) for m in registry.MODELS],
        "departments": sorted(names.items(), key=lambda kv: kv[1]) if who.sees_all else [],
        "names": names,
        "next_link": f"/supervision/clues?{urlencode(more)}" if more else None,
        "may_run": who.role == AUDITOR or (who.office and who.role in INGESTERS),
        "run": run,
    }
    return render_page(request, "clues.html", who, context)


async def department_names(state: SupervisionState, request: Request) -> dict[str, str]:
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    try:
        async with state.core_client(token) as core:
            return {d["id"]: d["name"] for d in await core.departments()}
    except (ApiError, httpx.HTTPError):  # decoration: the ids stand in when the core cannot say
        return {}


@pages_router.post("/supervision/runs", response_class=HTMLResponse)
async def run_page(request: Request, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    signed = await session_of(request)
    if signed is None:
        return to_login(request)
    token, who = signed
    tasks = BackgroundTasks()  # the cockpit's summary, rebuilt after answering (as the API)
    try:
        check_form(request, csrf)
        done = await start_run(as_bearer(request, token), RunRequest(models=None), who, tasks)
    except SupervisionProblem as exc:
        return problem_page(request, who, exc)
    run_id = json.loads(bytes(done.body))["id"]
    return RedirectResponse(
        f"/supervision/clues?ran={quote(run_id)}", status_code=303, background=tasks
    )


@pages_router.get("/supervision/clues/{clue_id}", response_class=HTMLResponse)
async def clue_page(request: Request, clue_id: str) -> Response:
    signed = await session_of(request)
    if signed is None:
        return to_login(request)
    _, who = signed
    state = state_of(request)
    found = await anyio.to_thread.run_sync(lambda: runner.get_clue(state.engine, clue_id[:64]))
    if found is None or not (who.sees_all or found["department_id"] == who.department_id):
        return problem_page(request, who, RecordNotFoundError(f"no clue {clue_id[:64]}"))
    model = registry.BY_CODE.get(found["model"])
    context = {
        "clue": found,
        "model": model,
        "names": await department_names(state, request),
        "procedures": PROCEDURES,
        "may_open": who.office and who.role in INGESTERS and found["disposal"] is None,
    }
    return render_page(request, "clue.html", who, context)
