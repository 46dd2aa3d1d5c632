"""Request dependencies and the small helpers routers share: services, the authenticated
actor, role checks, the Idempotency-Key and content-digest headers, and a
custody event recorded in a transaction of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from evidence_service.access.identity import Actor
from evidence_service.access.models import Role
from evidence_service.access.refusals import Refusal, RefusalRecorder
from evidence_service.api import policy
from evidence_service.api.sessions import actor_for_session, session_token
from evidence_service.capture.callers import actor_for_token, read_session
from evidence_service.core.digests import is_hex64
from evidence_service.core.errors import (
    BadRequestError,
    EvidenceError,
    ForbiddenError,
    InvalidTokenError,
    MissingTokenError,
    NotFoundError,
)
from evidence_service.core.logs import current_request_id
from evidence_service.core.metrics import may_scrape
from evidence_service.core.text import check_text_tree, first_unsafe
from evidence_service.custody.log import CustodyAction, record_event
from evidence_service.services import Services

# The dependencies are coroutines that hand only their database work to a worker thread: a
# plain ``def`` dependency costs a thread hop per request even when it has nothing to look up.


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_actor(request: Request, services: ServicesDep) -> Actor:
    known = getattr(request.state, "actor", None)
    if known is not None:  # resolved once per request, by the policy check
        return known  # type: ignore[no-any-return]
    return await run_in_threadpool(resolve_actor, request, services)


def resolve_actor(request: Request, services: Services, *, remembered: bool = False) -> Actor:
    """The authenticated caller, from the bearer token or the web app's session cookie.
    ``remembered``: for a route that confirms the token where it records its effect
    (``policy.Rule.confirmed``), what the token stood for a moment ago will do."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        cookie = session_token(request)
        if cookie is not None:  # a page of the web app (api/sessions.py)
            return actor_for_session(request, services, cookie, remembered=remembered)
        raise MissingTokenError("send Authorization: Bearer <token>")
    if scheme.lower() != "bearer" or not token.strip():
        raise MissingTokenError("the Authorization header must be 'Bearer <token>'")
    if remembered:
        return services.callers.actor(token.strip(), now=services.clock())
    return actor_for_token(services.engine, token.strip(), now=services.clock())


CurrentActor = Annotated[Actor, Depends(get_actor)]


def _sends_credentials(request: Request) -> bool:
    return bool(request.headers.get("authorization")) or session_token(request) is not None


async def get_optional_actor(request: Request, services: ServicesDep) -> Actor | None:
    """The caller on public endpoints: None without a token; a bad token is still a 401."""
    return await get_actor(request, services) if _sends_credentials(request) else None


def resolve_optional_actor(request: Request, services: Services) -> Actor | None:
    return resolve_actor(request, services) if _sends_credentials(request) else None


OptionalActor = Annotated[Actor | None, Depends(get_optional_actor)]


async def enforce_policy(request: Request) -> None:
    """Every route's access rule (evidence_service/policy.py), checked before the route runs:
    401 without a token where one is needed, 403 for a role the route refuses, 404 for a
    record named in the path that is not the caller's department's to see."""
    services: Services = request.app.state.services  # not a dependency: one less to solve
    method, path = request.method, policy.route_template(request)
    rule = policy.rule_for(method, path)
    if rule.page:  # a page signs its caller in from the cookie, or redirects to /login
        request.state.actor = None
        refuse_unsafe_parameters(request)
        return
    if rule.scrape and may_scrape(services.settings, request.headers.get("authorization")):
        request.state.actor = None
        return
    # The request id is read here: the worker thread has its own context.
    request.state.policy_check = (rule, method, path, current_request_id())
    if not rule.in_route:  # else the route runs it in its own worker thread
        await run_in_threadpool(check_in_route, request)


_REFUSALS = (MissingTokenError, InvalidTokenError, ForbiddenError, NotFoundError)


def check_in_route(request: Request) -> Actor | None:
    """The access check :func:`enforce_policy` prepared for this request, in a worker thread:
    run there by :func:`enforce_policy` itself, or, for a route whose rule says ``in_route``, by
    the route in the thread that does its work, before it reads the body (one thread hop
    instead of two). A refusal (401/403/404) is recorded before it is raised. Returns the
    caller (also kept as ``request.state.actor``)."""
    services: Services = request.app.state.services
    rule, method, path, request_id = request.state.policy_check
    try:
        _enforce_rule(request, services, rule, method, path)
    except _REFUSALS as refused:
        _record_refusal(request, services, refused, request_id)
        raise
    return request.state.actor  # type: ignore[no-any-return]


def record_refusal(request: Request, refused: EvidenceError) -> None:
    """Log a refusal the route itself met after :func:`check_in_route` let it in (a capture
    whose token was revoked while it streamed), as that check logs its own."""
    _, _, _, request_id = request.state.policy_check
    _record_refusal(request, request.app.state.services, refused, request_id)


def _record_refusal(
    request: Request, services: Services, refused: EvidenceError, request_id: str | None
) -> None:
    """Write the refusal to the refused-request log (``access/refusals.py``), outside the
    custody log; a failed write is logged there and the refusal is answered all the same."""
    recorder: RefusalRecorder = request.app.state.refusals  # made with the app (app.py)
    actor: Actor | None = getattr(request.state, "actor", None)
    recorder.record(
        Refusal(
            at=services.clock(),
            method=request.method,
            route=policy.route_template(request),
            status=refused.status,
            problem_type=refused.type_uri(),
            request_id=request_id,
            actor_id=actor.officer_id if actor else None,
            token_id=(actor.token_id or None) if actor else None,
            department_id=actor.department_id if actor else None,
        )
    )


def _enforce_rule(
    request: Request, services: Services, rule: policy.Rule, method: str, path: str
) -> None:
    """The part of :func:`enforce_policy` that reads the database, in a worker thread."""
    actor = resolve_optional_actor(request, services) if rule.roles is None else None
    if rule.roles is not None:
        actor = resolve_actor(request, services, remembered=rule.confirmed)
    request.state.actor = actor  # known to the access log, also when refused below
    limiter = getattr(request.app.state, "rate_limiter", None)
    if actor is not None and limiter is not None:
        limiter.check_actor(actor, method, path)  # 429 before any lookup of the records
    refuse_unsafe_parameters(request)
    with read_session(services.engine) as session:
        policy.decide(session, actor, method, path, dict(request.path_params))


def actor_may(services: Services, actor: Actor, method: str, path: str, **path_params: str) -> bool:
    """Whether the access rule of ``method path`` lets ``actor`` act on the records named — for
    a route that meets ids in what it reads (a proof naming an item) rather than in its path.
    An id that could name nothing here (a control character in it) is simply not visible."""
    if any(first_unsafe(value) is not None for value in path_params.values()):
        return False
    try:
        with read_session(services.engine) as session:
            policy.decide(session, actor, method, path, path_params)
    except (ForbiddenError, NotFoundError):
        return False
    return True


def refuse_unsafe_parameters(request: Request) -> None:
    """Path and query parameters name records and filter lists: one holding a control or
    bidirectional-override character (a NUL above all, which PostgreSQL cannot even compare)
    names nothing here and is refused, 422 ``unsafe-text``, before anything looks it up."""
    check_text_tree(dict(request.path_params), "path")
    for name, value in request.query_params.multi_items():
        check_text_tree(name, "query parameter name")
        check_text_tree(value, f"query.{name}")


CAPTURE_ROLES = frozenset({Role.officer, Role.reviewer, Role.penalty})


def require_roles(*roles: Role) -> Callable[[Actor], Awaitable[Actor]]:
    allowed = frozenset(roles)

    async def check(actor: CurrentActor) -> Actor:
        return _held_to(allowed, actor)

    return check


CaptureActor = Annotated[Actor, Depends(require_roles(*CAPTURE_ROLES))]


def capture_actor(request: Request) -> Actor:
    """:data:`CaptureActor` for a route that declares no dependencies of its own: the caller
    the policy check resolved (:func:`check_in_route`, which it runs), held to the same roles.
    Solving the dependencies of a request costs FastAPI more than many a route's own work, so
    the busiest route (one-request captures) reads what the policy check already found."""
    actor = check_in_route(request)
    if actor is None:  # the policy rule of a capture route always names roles
        raise MissingTokenError("send Authorization: Bearer <token>")
    return _held_to(CAPTURE_ROLES, actor)


def _held_to(allowed: frozenset[Role], actor: Actor) -> Actor:
    """``actor``, if its role is one of ``allowed``; else 403."""
    if actor.role not in allowed:
        raise ForbiddenError(
            f"role {actor.role} may not do this (allowed: {', '.join(sorted(allowed))})"
        )
    return actor


AdminActor = Annotated[Actor, Depends(require_roles(Role.admin))]

#: The Idempotency-Key header of the JSON POSTs (see ``api/idempotency.py``).
#: The longest Idempotency-Key the API takes (422 beyond), on every route that takes one.
MAX_IDEMPOTENCY_KEY = 255
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=MAX_IDEMPOTENCY_KEY)]


def check_sha256_header(value: str | None) -> str | None:
    if value is None:
        return None
    if not is_hex64(value.strip(), any_case=True):
        raise BadRequestError("X-Content-SHA256 must be 64 hex digits")
    return value.strip().lower()


def record_custody(
    services: Services,
    actor: Actor,
    evidence_id: str | None,
    action: CustodyAction,
    **details: Any,
) -> None:
    """Append one custody event (about an item, or none), in a transaction of its own. A
    check (``verified``, ``seal_verified``) repeating one the same caller had recorded within
    the hour is not written again (``custody/log.py``)."""
    record_event(
        services.engine,
        action=action,
        clock=services.ingestor.clock,
        evidence_id=evidence_id,
        actor_id=actor.officer_id,
        department_id=actor.department_id,
        details=details,
    )
