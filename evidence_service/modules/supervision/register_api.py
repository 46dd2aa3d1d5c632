"""``/api/v1/supervision/certificates`` (the 执法证 register) and ``/api/v1/supervision/sync``
(the read models of the core's feeds).

The register is the office's: its workers write any department's certificates, a department's
workers only their own (a number already registered to another department is that
department's: 403). Auditors and the office read every department's; others their own. The sync
reads the core's feeds with the caller's own token, so it sees exactly what the caller may.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from evidence_service.modules.supervision import certificates, sync
from evidence_service.modules.supervision.api import (
    INGESTERS,
    READERS,
    CallerDep,
    _refuse_rows,
    _require,
    bearer_token,
    refuse_foreign_rows,
    refuse_unknown_departments,
    state_of,
)
from evidence_service.modules.supervision.problems import (
    BadBatchError,
    BadQueryError,
    CoreUnavailableError,
    RecordNotFoundError,
    SupervisionProblem,
    UnsupportedMediaError,
)
from evidence_service.modules.supervision.schemas import problems

register_router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])
#: Certificates in one POST at most.
MAX_CERTIFICATES = 5000


class TooManyCertificatesError(SupervisionProblem):
    slug, title, status = "too-many-records", "Certificate batch too large", 413


class CertificatePublic(BaseModel):
    cert_no: str
    holder: str
    department_id: str
    officer_id: str | None
    valid_from: date
    valid_to: date
    revoked_on: date | None


class CertificatePage(BaseModel):
    items: list[CertificatePublic]
    next_cursor: str | None


class RegisterAnswer(BaseModel):
    created: int = Field(description="numbers new to the register")
    updated: int = Field(description="numbers already registered, replaced")
    cert_nos: list[str]


class SyncAnswer(BaseModel):
    scope: str = Field(description="all (an auditor's reading) or the caller's department")
    feeds: dict[str, dict[str, Any]]


CERT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "maxItems": MAX_CERTIFICATES,
                    "items": certificates.CertificateIn.model_json_schema(),
                }
            }
        },
    }
}


@register_router.post(
    "/certificates",
    summary="Register or replace 执法证 certificates (JSON array; all or nothing)",
    status_code=201,
    response_model=RegisterAnswer,
    responses={
        **problems(401, 403, 413, 415, 422, 502),
        200: {"model": RegisterAnswer, "description": "Every number was already registered"},
    },
    openapi_extra=CERT_BODY,
)
async def register_certificates(request: Request, who: CallerDep) -> JSONResponse:
    _require(who, INGESTERS, "register certificates")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaError(f"send application/json, not {media or 'nothing'}")
    try:
        raw = json.loads(await request.body())
    except ValueError as exc:
        raise BadBatchError("the body is not JSON", errors=[]) from exc
    if not isinstance(raw, list) or not raw:
        raise BadBatchError("send a non-empty JSON array of certificates", errors=[])
    if len(raw) > MAX_CERTIFICATES:
        raise TooManyCertificatesError(f"{len(raw)} certificates; at most {MAX_CERTIFICATES}")
    try:
        certs = certificates.validate(raw)
    except certificates.RegisterInvalid as exc:
        raise _refuse_rows(exc.rows, "are not valid certificates") from exc
    refuse_unknown_departments(who, [c.department_id for c in certs])
    state = state_of(request)
    if not who.office:  # the batch's own rows, and numbers another department registered
        owners = await anyio.to_thread.run_sync(
            lambda: certificates.departments_of(state.engine, [c.cert_no for c in certs])
        )
        foreign = [
            i
            for i, c in enumerate(certs)
            if c.department_id != who.department_id
            or owners.get(c.cert_no, who.department_id) != who.department_id
        ]
        refuse_foreign_rows(who, foreign, does="registers only its own certificates")
    result = await anyio.to_thread.run_sync(lambda: certificates.upsert(state.engine, certs))
    body = {
        "created": result.created,
        "updated": result.updated,
        "cert_nos": [c.cert_no for c in certs],
    }
    return JSONResponse(body, status_code=201 if result.created else 200)


@register_router.get(
    "/certificates",
    summary="The 执法证 register (cursor-paginated by number)",
    response_model=CertificatePage,
    responses=problems(401, 403, 422, 502),
)
async def list_certificates(
    request: Request,
    who: CallerDep,
    department_id: Annotated[str | None, Query(max_length=64)] = None,
    officer_id: Annotated[str | None, Query(max_length=26)] = None,
    valid_on: Annotated[date | None, Query(description="only certificates valid that day")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=32, pattern=certificates.CERT_NO)] = None,
) -> Any:
    _require(who, READERS, "read the register")
    state = state_of(request)
    items, next_cursor = await anyio.to_thread.run_sync(
        lambda: certificates.search(
            state.engine,
            departments=None if who.sees_all else frozenset({who.department_id}),
            department_id=department_id,
            officer_id=officer_id,
            valid_on=valid_on,
            limit=limit,
            after=cursor,
        )
    )
    return {"items": items, "next_cursor": next_cursor}


@register_router.get(
    "/certificates/{cert_no}",
    summary="One 执法证 certificate",
    response_model=CertificatePublic,
    responses=problems(401, 403, 404, 422, 502),
)
async def get_certificate(request: Request, cert_no: str, who: CallerDep) -> Any:
    _require(who, READERS, "read the register")
    if len(cert_no) > 32:
        raise BadQueryError("cert_no: at most 32 characters")
    state = state_of(request)
    found = await anyio.to_thread.run_sync(lambda: certificates.get(state.engine, cert_no))
    if found is None or not (who.sees_all or found["department_id"] == who.department_id):
        raise RecordNotFoundError(f"no certificate {cert_no}")
    return found


@register_router.post(
    "/sync",
    summary="Bring the read models of the core's feeds up to date, with the caller's token",
    response_model=SyncAnswer,
    responses=problems(401, 403, 502),
)
async def sync_feeds(request: Request, who: CallerDep) -> Any:
    """Reads the evidence, refusals and transfers feeds from where the caller's scope last
    stopped (``all`` for an auditor, else the caller's department), a bounded number of pages
    each (``more`` says when lines remain: call again). A department worker may not read the
    refusals feed: it is skipped (``skipped: forbidden``)."""
    _require(who, READERS, "sync the read models")
    state = state_of(request)
    sees_all = who.role == "auditor"
    scope = "all" if sees_all else who.department_id
    out = sync.SyncResult(scope=scope)
    async with state.core_client(bearer_token(request)) as core:
        for feed in sync.FEEDS:
            key = sync.scope_key(feed, sees_all=sees_all, department_id=who.department_id)
            try:
                out.feeds[feed] = await sync.sync_feed(
                    core, state.engine, feed, key, run_sync=anyio.to_thread.run_sync
                )
            except sync.FeedError as exc:
                raise CoreUnavailableError(str(exc)) from exc
    return out.public()
