"""What every module's pages share: who is signed in, the guard on forms, rendering, and
refusals as pages (:class:`PageKit`, one per module).

A module may not import the web app (``evidence_service.web``), so a page signs its caller in
the way any client of the core would: the web app's session cookie holds a person token
(``api/sessions.py``), which the page forwards to the core as a bearer token to learn who calls
(``GET /api/v1/me``). A page route takes the kit's ``signed`` dependency (``signed_form`` when
it writes): without a session, or with one the core refuses, it raises :class:`SignInRequired`,
which :func:`install_page_handlers` answers with a 303 to ``/login?next=…``.

A page raises the module's problems as the API does; for a request a page serves (the
dependency marked it) the kit's :meth:`PageKit.problem_page` renders ``problem.html`` with the
problem's status instead of problem+json. So a page says what it does, not how it fails.

Forms are guarded against other sites' requests. The core's own anti-forgery token is an HMAC
under a secret a module does not hold (and may not import), so the pages keep their own
double-submit token: a random value in the module's cookie (HttpOnly, SameSite=Strict, path
``/<module>``) that every form repeats in a hidden field ``csrf``; a POST is refused (403,
nothing written) when the two differ, when the browser says another site sent it
(``Sec-Fetch-Site``) or when its ``Origin`` is not this site.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError

from evidence_service.modules.kit.caller import CallerRefusedError
from evidence_service.modules.kit.problems import ModuleProblem

SESSION_COOKIE = "evd_session"  # the web app's session cookie (api/sessions.py)
OWN_SITE = frozenset({"same-origin", "none"})
M = TypeVar("M", bound=BaseModel)


class SignInRequired(Exception):
    """No session, or one the core refuses: the page sends the browser to sign in."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class PageRefusedError(ModuleProblem):
    slug, title, status = "page-form-refused", "The form was not sent from this site's page", 403


@dataclass(frozen=True)
class SignedIn:
    token: str  # the session's person token, forwarded to the core
    who: Any  # the module's caller


def login_location(request: Request) -> str:
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return f"/login?next={quote(target, safe='')}"


def see_other(path: str, **kw: Any) -> RedirectResponse:
    """After a form: the page to read next (303, so a reload does not send the form again)."""
    return RedirectResponse(path, status_code=303, **kw)


def blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def as_bearer(request: Request, token: str) -> Request:
    """The page's request as the module's API sees one: the session's token as a bearer token
    (the API's functions forward ``Authorization`` to the core)."""
    headers = [(k, v) for k, v in request.scope["headers"] if k != b"authorization"]
    headers.append((b"authorization", f"Bearer {token}".encode()))
    return Request({**request.scope, "headers": headers})


async def _to_login(_request: Request, exc: Exception) -> Response:
    location = exc.location if isinstance(exc, SignInRequired) else "/login"
    return RedirectResponse(location, status_code=303)


def install_page_handlers(app: FastAPI) -> None:
    """Pages without a session go to sign in (added once, whichever module asks first)."""
    app.add_exception_handler(SignInRequired, _to_login)


class PageKit:
    """One module's page plumbing: ``name`` ("inspection") is its path prefix and names its
    cookie; ``caller`` asks the core who holds a token; ``actors`` are the roles that see the
    pages' forms; ``bad_form`` is the module's 422 problem."""

    def __init__(
        self,
        *,
        name: str,
        templates: Jinja2Templates,
        caller: Callable[[Request, str], Awaitable[Any]],
        actors: frozenset[str],
        bad_form: type[ModuleProblem],
        csrf_cookie: str | None = None,
    ) -> None:
        self.name = name
        self.templates = templates
        self.caller = caller
        self.actors = actors
        self.bad_form = bad_form
        self.csrf_cookie = csrf_cookie or f"evd_{name}_csrf"
        self.marker = f"{name}_page_caller"  # request.state: the signed-in caller of a page

    async def signed(self, request: Request) -> SignedIn:
        token = request.cookies.get(SESSION_COOKIE, "").strip()
        try:
            who = await self.caller(request, token) if token else None
        except CallerRefusedError:
            who = None
        if who is None:
            raise SignInRequired(login_location(request))
        setattr(request.state, self.marker, who)
        return SignedIn(token, who)

    async def signed_form(
        self, request: Request, csrf: Annotated[str, Form(max_length=128)] = ""
    ) -> SignedIn:
        """A signed-in caller whose form came from this site's page (checked before
        anything else, so a refused form writes nothing)."""
        signed = await self.signed(request)
        self.check_form(request, csrf)
        return signed

    def check_form(self, request: Request, presented: str) -> None:
        site = (request.headers.get("sec-fetch-site") or "").lower()
        if site and site not in OWN_SITE:
            raise PageRefusedError("this form may only be sent from this site's own pages")
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin is not None and origin != "null" and origin != own:
            raise PageRefusedError("this form may only be sent from this site's own pages")
        expected = request.cookies.get(self.csrf_cookie, "")
        if not expected or not hmac.compare_digest(expected.encode(), presented.strip().encode()):
            raise PageRefusedError(
                "the page's anti-forgery token is missing or wrong; reload the page"
            )

    def render(
        self, request: Request, name: str, who: Any, context: dict[str, Any], status: int = 200
    ) -> Response:
        token = request.cookies.get(self.csrf_cookie, "")
        fresh = not (16 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum())
        if fresh:
            token = secrets.token_urlsafe(24)
        response = self.templates.TemplateResponse(
            request,
            name,
            {"who": who, "csrf": token, "may_act": who.role in self.actors, **context},
            status_code=status,
        )
        if fresh:
            response.set_cookie(
                self.csrf_cookie,
                token,
                path=f"/{self.name}",
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        response.headers["Cache-Control"] = "no-store"
        return response

    def problem_page(self, request: Request, exc: ModuleProblem) -> Response | None:
        """The refusal as a page, for a request one of this module's pages serves (None:
        answer problem+json, or another module's page)."""
        who = getattr(request.state, self.marker, None)
        if who is None:
            return None
        return self.render(request, "problem.html", who, {"problem": exc}, status=exc.status)

    def form_fields(self, model: type[M], fields: dict[str, Any]) -> M:
        """A form's fields as the API's body model; a field that does not fit is a 422
        page."""
        try:
            return model.model_validate(fields)
        except ValidationError as exc:
            first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
            where = ".".join(str(p) for p in first["loc"])
            raise self.bad_form(f"{where}: {first['msg']}") from exc
