"""RFC 9457 problem answers in the core's shape (``core/errors.py``), raised by a module.

A module imports no core wing, so each has its own base exception (a subclass of
:class:`ModuleProblem`) and installs one handler for it; the ``type`` URIs share the core's
base, and ``request_id`` is the one the core's middleware gave the request (its
``X-Request-ID``), so a client reads every refusal the same way, whoever raised it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

PROBLEM_BASE = "https://evidence-custody.org/problems/"
PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"  # the core's OpenAPI document defines it
REQUEST_ID_VAR = "evidence_request_id"  # core/logs.py


class ModuleProblem(Exception):
    slug = "module-error"
    title = "Module error"
    status = 400

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self, instance: str) -> dict[str, Any]:
        body = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        return {**body, **self.extra}


def request_id() -> str | None:
    """The request id the core's middleware set for this request: its context variable,
    found by name (a module imports nothing of ``core.logs``)."""
    for var, value in contextvars.copy_context().items():
        if var.name == REQUEST_ID_VAR and isinstance(value, str):
            return value
    return None


def problem_response(request: Request, exc: ModuleProblem) -> JSONResponse:
    body = exc.problem(request.url.path)
    rid = request_id()
    if rid:
        body["request_id"] = rid
    return JSONResponse(body, status_code=exc.status, media_type=PROBLEM_JSON)


PageRenderer = Callable[[Request, ModuleProblem], Response | None]


def install_problem_handler(app: FastAPI, page: PageRenderer | None = None) -> None:
    """Every module's problems answer problem+json, or a page where one of the modules' page
    renderers gives one (each recognises the requests its own pages serve, and answers None
    for the rest). Each module calls this at install; the handler is added once."""
    pages: list[PageRenderer] | None = getattr(app.state, "module_problem_pages", None)
    if pages is None:
        pages = []
        app.state.module_problem_pages = pages

        async def _problem(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, ModuleProblem)
            for render in pages:
                shown = render(request, exc)
                if shown is not None:
                    return shown
            return problem_response(request, exc)

        app.add_exception_handler(ModuleProblem, _problem)
    if page is not None:
        pages.append(page)


def problem_answers(descriptions: Mapping[int, str], *statuses: int) -> dict[int | str, Any]:
    """The OpenAPI ``responses`` of a route's refusals, each a problem+json ``Problem``."""
    return {
        status: {
            "description": descriptions[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
        for status in statuses
    }
