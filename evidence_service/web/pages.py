"""The web app's pages: sign-in, enrolment, home, capture and an evidence item.

Pages authenticate themselves from the session cookie (``api/sessions.py``): a page that needs
a signed-in officer redirects to ``/login`` instead of answering 401, and what a page shows is
decided by the same access rule as the API route that serves the same data. Forms carry the
session's anti-forgery token in a hidden field and are refused from another site.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, col, select
from starlette.staticfiles import StaticFiles

from evidence_service.access.identity import Actor
from evidence_service.access.models import Officer
from evidence_service.access.passwords import (
    InvalidCredentialsError,
    WeakPasswordError,
    csrf_matches,
    csrf_token,
    enrol_with_password,
    sign_in_with_password,
    sign_in_with_token,
    sign_out,
)
from evidence_service.api.deps import ServicesDep, actor_may, record_custody
from evidence_service.api.sessions import (
    SESSION_COOKIE,
    CsrfError,
    csrf_key,
    from_other_site,
    session_token,
)
from evidence_service.capture.callers import actor_for_token
from evidence_service.capture.ports.registry import PORT_IDS
from evidence_service.capture.views import evidence_body, evidence_custody
from evidence_service.capture.visibility import evidence_clause
from evidence_service.cases.cases import CaseFilter, case_page
from evidence_service.cases.links import item_relations
from evidence_service.cases.models import Case, CaseEvidenceEntry, CaseStatus
from evidence_service.cases.search import EvidenceFilter, evidence_page
from evidence_service.core.clock import parse_rfc3339
from evidence_service.core.errors import InvalidEnrolmentCodeError, InvalidTokenError
from evidence_service.custody.log import CustodyAction
from evidence_service.services import Services
from evidence_service.verify.proof import MAX_PROOF_BYTES

HERE = Path(__file__).parent
LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
LANG_COOKIE = "evd_lang"
ZONE = ZoneInfo("Asia/Shanghai")
#: The open cases of the department the capture page offers to link a new item to.
CAPTURE_CASES = 50

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")
static_files = StaticFiles(directory=HERE / "static")


@cache
def catalogue(lang: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((HERE / "i18n" / f"{lang}.json").read_text("utf-8"))
    return loaded


def language(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def local_time(value: str | datetime | None) -> str:
    """A time as officers read it: Asia/Shanghai, to the second."""
    if value is None:
        return ""
    moment = parse_rfc3339(value) if isinstance(value, str) else value
    return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")


templates.env.filters["local_time"] = local_time


def day_start(value: str, *, next_day: bool = False) -> datetime:
    """A date typed on a form (YYYY-MM-DD) as 00:00 of that day in Asia/Shanghai — or of the
    day after, the exclusive end of a range that includes the day; ValueError otherwise."""
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date() + timedelta(days=int(next_day))
    except (ValueError, OverflowError):
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return datetime.combine(day, time.min, tzinfo=ZONE)


class SignInRequired(Exception):
    """A page needs a signed-in officer (answered with a redirect to /login)."""


def page_actor(request: Request, services: Services) -> Actor | None:
    token = session_token(request)
    if token is None:
        return None
    try:
        return actor_for_token(services.engine, token, now=services.clock())
    except InvalidTokenError:
        return None


def require_actor(request: Request, services: Services) -> Actor:
    actor = page_actor(request, services)
    if actor is None:
        raise SignInRequired
    return actor


def render(
    request: Request,
    services: Services,
    name: str,
    actor: Actor | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = language(request)
    words = catalogue(lang)
    token = session_token(request)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "t": lambda key: words.get(key, key),
            "lang": lang,
            "other_lang": "en" if lang == "zh-CN" else "zh-CN",
            "actor": actor,
            "csrf": csrf_token(csrf_key(services.settings), token) if actor and token else "",
            **context,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, samesite="strict", max_age=365 * 86400)
    response.headers["Cache-Control"] = "no-store"
    return response


def refuse_foreign_form(request: Request) -> None:
    """A page form posted from another site is refused (its Sec-Fetch-Site or Origin says so)."""
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if from_other_site(request) or (origin is not None and origin != "null" and origin != own):
        raise CsrfError("this form may only be sent from this site's own pages")


def check_form_csrf(request: Request, services: Services, presented: str) -> None:
    refuse_foreign_form(request)
    token = session_token(request)
    if token is None or not csrf_matches(csrf_key(services.settings), token, presented):
        raise CsrfError("the page's anti-forgery token is missing or wrong; reload the page")


def signed_in(
    request: Request, services: Services, issued: dict[str, Any], target: str
) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued["token"],
        max_age=services.settings.web_session_hours * 3600,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
        path="/",
    )
    return response


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site only."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _session_ttl(services: Services) -> timedelta:
    return timedelta(hours=services.settings.web_session_hours)


# ---------------------------------------------------------------------------------- sign-in


@router.get("/login")
def login_page(request: Request, services: ServicesDep) -> Response:
    return render(
        request, services, "login.html", None, next=safe_next(request.query_params.get("next"))
    )


@router.post("/login")
def login(
    request: Request,
    services: ServicesDep,
    officer_id: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    token: Annotated[str, Form(max_length=512)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",  # noqa: A002 - the form's field
) -> Response:
    refuse_foreign_form(request)
    try:
        if token.strip():
            issued = sign_in_with_token(
                services.engine, token, clock=services.clock, ttl=_session_ttl(services)
            )
        else:
            issued = sign_in_with_password(
                services.engine,
                officer_id.strip(),
                password,
                clock=services.clock,
                ttl=_session_ttl(services),
            )
    except InvalidCredentialsError:
        return render(
            request,
            services,
            "login.html",
            None,
            status_code=401,
            error="login.failed",
            next=safe_next(next),
        )
    return signed_in(request, services, issued, safe_next(next))


@router.get("/enrol")
def enrol_page(request: Request, services: ServicesDep) -> Response:
    return render(request, services, "enrol.html", None)


@router.post("/enrol")
def enrol(
    request: Request,
    services: ServicesDep,
    code: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    confirm: Annotated[str, Form(max_length=1024)],
) -> Response:
    refuse_foreign_form(request)
    error = None
    if password != confirm:
        error = "enrol.mismatch"
    else:
        try:
            issued = enrol_with_password(
                services.engine, code, password, clock=services.clock, ttl=_session_ttl(services)
            )
        except WeakPasswordError:
            error = "enrol.weak"
        except InvalidEnrolmentCodeError:
            error = "enrol.failed"
    if error is not None:
        status = 401 if error == "enrol.failed" else 422
        return render(request, services, "enrol.html", None, status_code=status, error=error)
    return signed_in(request, services, issued, "/")


@router.post("/logout")
def logout(
    request: Request, services: ServicesDep, csrf: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    token = session_token(request)
    if token is not None:
        check_form_csrf(request, services, csrf)
        sign_out(services.engine, token, now=services.clock())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ------------------------------------------------------------------------------------ pages


@router.get("/")
def home(request: Request, services: ServicesDep) -> Response:
    actor = require_actor(request, services)
    page = evidence_page(
        services.engine,
        EvidenceFilter(officer_id=actor.officer_id, visible=evidence_clause(actor)),
        limit=20,
        cursor=None,
        sort="-received_at",
    )
    from evidence_service.web.case_pages import pending_inbox_count

    inbox = pending_inbox_count(services, actor)
    return render(request, services, "home.html", actor, items=page["items"], inbox=inbox)


@router.get("/capture")
def capture_page(request: Request, services: ServicesDep) -> Response:
    actor = require_actor(request, services)
    with Session(services.engine) as session:  # the 执法证 number the record forms start with
        officer = session.get(Officer, actor.officer_id)
    cert_no = officer.cert_no if officer is not None else None
    link = "/api/v1/cases/{case_id}/evidence"
    rows, _ = case_page(
        services.engine,
        CaseFilter(actor.department_id, status=CaseStatus.open),
        limit=CAPTURE_CASES,
        cursor=None,
    )
    cases = [c for c in rows if actor_may(services, actor, "POST", link, case_id=c["id"])]
    return render(
        request, services, "capture.html", actor, ports=PORT_IDS, cert_no=cert_no, cases=cases
    )


@router.get("/evidence/{evidence_id}")
def evidence_item(evidence_id: str, request: Request, services: ServicesDep) -> Response:
    actor = require_actor(request, services)
    path = "/api/v1/evidence/{evidence_id}"
    if len(evidence_id) > 26 or not actor_may(
        services, actor, "GET", path, evidence_id=evidence_id
    ):
        return render(request, services, "missing.html", actor, status_code=404)
    item = evidence_body(services.engine, evidence_id)
    record_custody(services, actor, evidence_id, CustodyAction.viewed)
    custody = evidence_custody(services.engine, evidence_id)
    relations = [
        r
        for r in item_relations(services.engine, evidence_id)
        if actor_may(services, actor, "GET", path, evidence_id=r["evidence_id"])
    ]
    with Session(services.engine) as session:
        entries = session.exec(
            select(Case.id, Case.case_number, Case.title, CaseEvidenceEntry.purpose)
            .join(CaseEvidenceEntry, col(CaseEvidenceEntry.case_id) == col(Case.id))
            .where(col(CaseEvidenceEntry.evidence_id) == evidence_id)
            .order_by(col(Case.opened_at))
        ).all()
    cases = [
        {"id": case_id, "case_number": number, "title": title, "purpose": purpose}
        for case_id, number, title, purpose in entries
        if actor_may(services, actor, "GET", "/api/v1/cases/{case_id}", case_id=case_id)
    ]
    return render(
        request,
        services,
        "evidence.html",
        actor,
        item=item,
        custody=custody,
        relations=relations,
        cases=cases,
    )


@router.get("/evidence/{evidence_id}/proof-qr.svg")
def proof_qr(evidence_id: str, request: Request, services: ServicesDep) -> Response:
    """A QR code of the item's proof URL, for the receipt (the same access rule as the proof)."""
    actor = require_actor(request, services)
    path = "/api/v1/evidence/{evidence_id}/proof"
    if len(evidence_id) > 26 or not actor_may(
        services, actor, "GET", path, evidence_id=evidence_id
    ):
        return Response(status_code=404)
    url = str(request.base_url).rstrip("/") + path.format(evidence_id=evidence_id)
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False)
    return Response(
        buffer.getvalue(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.get("/verify")
def verify_page(request: Request, services: ServicesDep) -> Response:
    """Public: anyone checks a file against its proof; the page runs the steps in the browser."""
    return render(
        request,
        services,
        "verify.html",
        page_actor(request, services),
        base_url=str(request.base_url),
        max_proof_bytes=MAX_PROOF_BYTES,
    )


def install_web(app: Any) -> None:
    """Mount the pages, their static files and the sign-in redirect."""
    from evidence_service.web import (  # their routes use this module's helpers
        admin_pages,
        audit_pages,
        case_pages,
        notice_pages,
        search_pages,
    )

    app.include_router(router)
    app.include_router(search_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(notice_pages.router)
    app.include_router(case_pages.router)
    app.mount("/static", static_files, name="static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
