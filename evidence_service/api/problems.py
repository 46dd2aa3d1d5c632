"""RFC 9457 problem+json for every error answer."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from evidence_service.core.errors import PROBLEM_BASE, DatabaseUnavailableError, EvidenceError
from evidence_service.core.logs import current_request_id

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    """A problem+json answer; its ``request_id`` is the request's (``api/request_ids.py``)."""
    request_id = current_request_id()
    if request_id is not None:
        body = {**body, "request_id": request_id}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(EvidenceError)
    async def _evidence_error(request: Request, exc: EvidenceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if "offset" in exc.extra:
            headers = {**(headers or {}), "Upload-Offset": str(exc.extra["offset"])}
        if "retry_after" in exc.extra:
            headers = {**(headers or {}), "Retry-After": str(exc.extra["retry_after"])}
        return problem_response(exc.status, exc.problem(request.url.path), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": str(e.get("msg"))}
            for e in exc.errors()
        ]
        return problem_response(
            422,
            {
                "type": PROBLEM_BASE + "invalid-request",
                "title": "The request does not match the API",
                "status": 422,
                "detail": f"{errors[0]['loc']}: {errors[0]['msg']}" if errors else "invalid",
                "instance": request.url.path,
                "errors": errors,
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem_response(
            exc.status_code,
            {
                "type": PROBLEM_BASE + slug,
                "title": str(exc.detail),
                "status": exc.status_code,
                "detail": str(exc.detail),
                "instance": request.url.path,
            },
            getattr(exc, "headers", None),
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if not (exc.connection_invalidated or isinstance(exc, OperationalError)):
            return await _unexpected(request, exc)
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        problem = DatabaseUnavailableError(
            "the database connection was lost or refused; nothing was recorded for this "
            "request, retry it"
        )
        return problem_response(503, problem.problem(request.url.path), {"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            {
                "type": PROBLEM_BASE + "internal",
                "title": "Internal error",
                "status": 500,
                "detail": "the service failed; nothing was recorded for this request",
                "instance": request.url.path,
            },
        )
