"""RFC 9457 problem answers in the core's shape (``core/errors.py``), raised by the module.

The module imports no core wing, so it has its own exception and handler; the ``type`` URIs
share the core's base, and ``request_id`` is the one the core's middleware gave the request
(its ``X-Request-ID``), so a client reads every refusal the same way.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

PROBLEM_BASE = "https://evidence-custody.org/problems/"
PROBLEM_JSON = "application/problem+json"
REQUEST_ID_VAR = "evidence_request_id"  # core/logs.py


class SupervisionProblem(Exception):
    slug = "supervision-error"
    title = "Supervision module error"
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


class BadBatchError(SupervisionProblem):
    """Rows that cannot be records; ``errors`` lists each bad row with what is wrong."""

    slug, title, status = "bad-records", "Records batch refused", 422


class UnsupportedMediaError(SupervisionProblem):
    slug, title, status = "wrong-media-type", "Send JSON or CSV records", 415


class ForbiddenDepartmentError(SupervisionProblem):
    slug, title, status = "forbidden", "Your role does not allow this action", 403


class RecordNotFoundError(SupervisionProblem):
    slug, title, status = "not-found", "No such resource", 404


class BadQueryError(SupervisionProblem):
    slug, title, status = "invalid-request", "The request does not match the API", 422


class CoreUnavailableError(SupervisionProblem):
    slug, title, status = "core-unavailable", "The evidence core did not answer", 502


def _request_id() -> str | None:
    """The request id the core's middleware set for this request: its context variable,
    found by name (the module imports nothing of ``core.logs``)."""
    for var, value in contextvars.copy_context().items():
        if var.name == REQUEST_ID_VAR and isinstance(value, str):
            return value
    return None


def install_problem_handler(
    app: FastAPI, page: Callable[[Request, SupervisionProblem], Response | None]
) -> None:
    """Problems answer problem+json, or ``page``'s HTML where it gives one (a page's request)."""

    @app.exception_handler(SupervisionProblem)
    async def _problem(request: Request, exc: SupervisionProblem) -> Response:
        shown = page(request, exc)
        if shown is not None:
            return shown
        body = exc.problem(request.url.path)
        request_id = _request_id()
        if request_id:
            body["request_id"] = request_id
        return JSONResponse(body, status_code=exc.status, media_type=PROBLEM_JSON)
