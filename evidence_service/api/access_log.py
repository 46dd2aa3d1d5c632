"""One access-log line and the HTTP metrics for every request.

The line names the method, the route *template* (``/api/v1/evidence/{evidence_id}``), the
status, the duration and the actor's opaque id; the request id comes with every log line
(``core/logs.py``). It never holds the raw path, the query string, a header or a body, so no
token, enrolment code, passphrase or party identifier can reach the log through it. Requests
refused before routing (body and rate limits) are matched to their template here; a path that
matches no route is counted as ``unmatched``, so labels stay bounded whatever callers send.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evidence_service.core.metrics import (
    HTTP_LATENCY,
    HTTP_REQUESTS,
    UNMATCHED_ROUTE,
    status_class,
)

access_log = logging.getLogger("evidence_service.access")


@dataclass(frozen=True)
class Template:
    path: str
    pattern: re.Pattern[str]
    methods: frozenset[str]


def templates_of(routes: Iterable[Any]) -> list[Template]:
    """Every route's template, included routers flattened (FastAPI keeps them nested)."""
    found: list[Template] = []
    for route in routes:
        nested = getattr(getattr(route, "original_router", None), "routes", None)
        if nested is not None:
            found += templates_of(nested)
        elif isinstance(getattr(route, "path", None), str):
            pattern, _, _ = compile_path(route.path)
            found.append(
                Template(route.path, pattern, frozenset(getattr(route, "methods", None) or ()))
            )
    return found


class RouteTemplates:
    """Find the template of a request that no route served (refused before routing)."""

    def __init__(self, routes: Sequence[Any]) -> None:
        self.routes = routes
        self._templates: list[Template] | None = None

    def __call__(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None and isinstance(getattr(route, "path", None), str):
            return str(route.path)
        if self._templates is None:  # built on first use: every route is included by then
            self._templates = templates_of(self.routes)
        path, method = scope["path"], scope["method"]
        fallback = UNMATCHED_ROUTE
        for template in self._templates:
            if template.pattern.fullmatch(path):
                if not template.methods or method in template.methods:
                    return template.path
                fallback = template.path  # 405: the path is known
        return fallback


def actor_id(scope: Scope) -> str | None:
    state: Any = scope.get("state") or {}
    actor = state.get("actor") if isinstance(state, dict) else None
    return getattr(actor, "officer_id", None)


class AccessLog:
    """ASGI middleware: time the request, count it, and log one line when it ends."""

    def __init__(self, app: ASGIApp, routes: Sequence[Any]) -> None:
        self.app = app
        self.route_template = RouteTemplates(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it answers

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            seconds = time.perf_counter() - started
            method, route = scope["method"], self.route_template(scope)
            HTTP_REQUESTS.labels(route=route, method=method, status=status_class(status)).inc()
            HTTP_LATENCY.labels(route=route, method=method).observe(seconds)
            actor = actor_id(scope)
            access_log.info(
                "%s %s %s %.1f ms",
                method,
                route,
                status,
                seconds * 1000,
                extra={
                    "http_method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "actor_id": actor,
                },
            )
