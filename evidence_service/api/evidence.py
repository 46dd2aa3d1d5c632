"""/api/v1/evidence: streamed capture, metadata, content with Range, derived files, custody."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.api import schemas
from evidence_service.api.deps import (
    MAX_IDEMPOTENCY_KEY,
    CaptureActor,
    CurrentActor,
    ServicesDep,
    capture_actor,
    check_sha256_header,
    record_custody,
    record_refusal,
)
from evidence_service.api.responses import binary, header, ok, problems
from evidence_service.api.streaming import consume_body
from evidence_service.capture.client_signing import prepare_capture
from evidence_service.capture.content import derived_file, evidence_content
from evidence_service.capture.intake import capture_from_form
from evidence_service.capture.metadata import TagType
from evidence_service.capture.ports.registry import get_port
from evidence_service.capture.views import evidence_body, evidence_custody
from evidence_service.capture.visibility import evidence_clause
from evidence_service.cases.search import EvidenceFilter, evidence_page
from evidence_service.core.clock import to_utc
from evidence_service.core.cursors import MAX_PAGE
from evidence_service.core.digests import HEX64_ANY_CASE
from evidence_service.core.errors import BadRequestError, EvidenceError, InvalidTokenError
from evidence_service.core.metrics import count_capture
from evidence_service.custody.log import CustodyAction
from evidence_service.services import Services

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])

ROUTE_CREATE = "POST /api/v1/evidence"

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["port", "metadata", "file"],
                    "properties": {
                        "port": {"type": "string", "description": "capture port id"},
                        "metadata": {
                            "type": "string",
                            "description": "JSON: title, description, captured_at, location, tags",
                        },
                        "file": {"type": "string", "format": "binary"},
                    },
                },
                "encoding": {"metadata": {"contentType": "application/json"}},
            }
        },
    }
}


#: The headers of a capture: documented here, read by the route itself (``create_evidence``).
CAPTURE_HEADERS: dict[str, Any] = {
    "parameters": [
        {
            "name": "x-content-sha256",
            "in": "header",
            "required": False,
            "schema": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "title": "X-Content-Sha256",
            },
        },
        {
            "name": "idempotency-key",
            "in": "header",
            "required": False,
            "schema": {
                "anyOf": [{"type": "string", "maxLength": MAX_IDEMPOTENCY_KEY}, {"type": "null"}],
                "title": "Idempotency-Key",
            },
        },
    ]
}


@router.post(
    "",
    status_code=201,
    openapi_extra={**UPLOAD_BODY, **CAPTURE_HEADERS},
    summary="Capture evidence (streamed)",
    responses={
        **ok(schemas.Evidence, 201),
        **problems(400, 401, 403, 404, 409, 413, 415, 422, 503),
    },
)
async def create_evidence(request: Request) -> JSONResponse:
    """Fields ``port`` and ``metadata`` must precede ``file``. The file is streamed to storage
    while SHA-256 and SM3 are computed; a wrong ``X-Content-SHA256`` keeps nothing (422)."""
    # The busiest route declares no dependencies (FastAPI's solving of them cost more than the
    # route's own work on the event loop) and runs its access check in the thread that reads
    # the body, before it reads a byte (policy.Rule.in_route).
    services: Services = request.app.state.services

    def capture(body: Iterator[bytes]) -> tuple[int, dict[str, Any]]:
        try:
            return capture_from_form(
                body,
                content_type=request.headers.get("content-type", ""),
                max_metadata_bytes=services.settings.max_metadata_bytes,
                actor=request.state.actor,
                ingestor=services.ingestor,
                pki=services.pki,
                declared_sha256=check_sha256_header(request.headers.get("x-content-sha256")),
                idempotency_key=idempotency_header(request),
                route=ROUTE_CREATE,
            )
        except InvalidTokenError as refused:  # revoked while the upload streamed
            record_refusal(request, refused)
            raise

    status, body = await consume_body(request, capture, check=partial(capture_actor, request))
    if status == 201:  # a new item (200: an idempotent replay of one counted before)
        count_capture(body["port"], body["size"])
    return JSONResponse(
        body, status_code=status, headers={"Location": f"{router.prefix}/{body['id']}"}
    )


def idempotency_header(request: Request) -> str | None:
    """The ``Idempotency-Key`` header, held to the length the API documents (422 beyond)."""
    key = request.headers.get("idempotency-key")
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
        raise RequestValidationError(
            [
                {
                    "loc": ("header", "idempotency-key"),
                    "msg": f"String should have at most {MAX_IDEMPOTENCY_KEY} characters",
                    "type": "string_too_long",
                }
            ]
        )
    return key


class PrepareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: str = Field(max_length=32)
    metadata: str = Field(description="the same metadata JSON text the upload will carry")
    sha256: str = Field(pattern=HEX64_ANY_CASE)
    sm3: str = Field(pattern=HEX64_ANY_CASE)
    size: int = Field(ge=0)
    media_type: str = Field(
        max_length=128, description="the type the port will detect (e.g. application/pdf)"
    )


@router.post(
    "/prepare",
    status_code=201,
    summary="Step 1 of a client-signed capture",
    responses={**ok(schemas.PreparedCapture, 201), **problems(400, 401, 403, 404, 422)},
)
def prepare(payload: PrepareRequest, services: ServicesDep, actor: CaptureActor) -> dict[str, Any]:
    """Returns the statement the server will build for this file and its JCS bytes (base64
    ``payload``) for the officer's own key to sign. Then upload as usual, adding the form fields
    ``prepared_id`` and ``signature`` (the PROOF_FORMAT.md signature block as JSON) before the
    file. A bad signature, or bytes that do not give this statement, are refused (422) and
    nothing is kept. Valid for one hour, usable once."""
    return jsonable_encoder(
        prepare_capture(
            services.pki,
            actor,
            port_id=payload.port,
            metadata_raw=payload.metadata,
            sha256=payload.sha256,
            sm3=payload.sm3,
            size=payload.size,
            media_type=payload.media_type,
            max_metadata_bytes=services.settings.max_metadata_bytes,
            size_limit=services.ingestor.size_limit(payload.port),
        )
    )


@router.get(
    "",
    summary="List evidence (newest first, cursor-paginated)",
    responses={**ok(schemas.EvidencePage), **problems(400, 401, 403, 422)},
)
def list_items(
    services: ServicesDep,
    actor: CurrentActor,
    port: Annotated[str | None, Query(max_length=32)] = None,
    officer_id: Annotated[str | None, Query(max_length=26)] = None,
    department_id: Annotated[str | None, Query(max_length=26)] = None,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    tag_type: TagType | None = None,
    tag_value: Annotated[str | None, Query(max_length=200)] = None,
    case_id: Annotated[str | None, Query(max_length=26)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="text")] = None,
    party_id: Annotated[str | None, Query(max_length=26)] = None,
    captured_from: datetime | None = None,
    captured_to: datetime | None = None,
    near_lat: float | None = None,
    near_lon: float | None = None,
    within_m: float | None = None,
    sort: Annotated[
        str, Query(description="-received_at (default), received_at, -captured_at or captured_at")
    ] = "-received_at",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Times must carry a zone and lie within the years 0001-9999 in UTC (else 400)."""
    near_parts = (near_lat, near_lon, within_m)
    if any(v is not None for v in near_parts) and any(v is None for v in near_parts):
        raise BadRequestError("a place search needs near_lat, near_lon and within_m together")
    if port:
        get_port(port)
    return evidence_page(
        services.engine,
        EvidenceFilter(
            port,
            officer_id,
            department_id,
            _utc_param("received_from", received_from),
            _utc_param("received_to", received_to),
            tag_type.value if tag_type else None,
            tag_value,
            case_id,
            q,
            party_id,
            _utc_param("captured_from", captured_from),
            _utc_param("captured_to", captured_to),
            (near_lat, near_lon, within_m) if within_m is not None else None,  # type: ignore[arg-type]
            evidence_clause(actor),
        ),
        limit=limit,
        cursor=cursor,
        sort=sort,
    )


def _utc_param(name: str, value: datetime | None) -> datetime | None:
    """A time filter in UTC; 400 without a zone or outside the years 0001-9999 in UTC."""
    if value is None:
        return None
    try:
        return to_utc(value)
    except ValueError as exc:
        raise BadRequestError(f"{name}: {exc}") from exc


@router.get(
    "/{evidence_id}",
    summary="Evidence metadata (records a 'viewed' custody event)",
    responses={**ok(schemas.Evidence), **problems(401, 403, 404, 422)},
)
def get_item(evidence_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    body = evidence_body(services.engine, evidence_id)
    record_custody(services, actor, evidence_id, CustodyAction.viewed)
    return body


RANGE_RE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
#: A byte position of more digits (leading zeros aside) lies past the end of any file: 2**63
#: has 19. Thousands of digits are never converted to an int (Python refuses past 4300).
MAX_POSITION_DIGITS = 19
PAST_ANY_END = 10**MAX_POSITION_DIGITS
CONTENT_HEADERS = {
    "Accept-Ranges": header("bytes"),
    "ETag": header('"<sha256>"'),
    "X-Content-SHA256": header("SHA-256 of the whole file"),
    "X-Content-SM3": header("SM3 of the whole file"),
}


def _position(digits: str) -> int:
    significant = digits.lstrip("0") or "0"
    return int(significant) if len(significant) <= MAX_POSITION_DIGITS else PAST_ANY_END


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=a-b`` / ``a-`` / ``-n`` range → inclusive (start, end); None for the whole
    file (no Range, or RFC 9110 §14.1.2's one satisfiable range of an empty file, a non-zero
    suffix, which no 206 ``Content-Range`` can name: the empty file is sent whole, 200).
    Unsatisfiable or malformed: :class:`RangeNotSatisfiable`. Positions past any file's end
    are taken as such, whatever their number of digits."""
    if header is None:
        return None
    match = RANGE_RE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        raise RangeNotSatisfiable(size)
    first, last = match.group(1), match.group(2)
    if not first:
        length = _position(last)
        if length == 0:
            raise RangeNotSatisfiable(size)
        if size == 0:
            return None
        return max(0, size - length), size - 1
    start = _position(first)
    end = min(_position(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(size)
    return start, end


class RangeNotSatisfiable(EvidenceError):
    slug, title, status = "range-not-satisfiable", "The requested range is outside the file", 416

    def __init__(self, size: int) -> None:
        super().__init__(f"the file has {size} bytes", size=size)


@router.get(
    "/{evidence_id}/content",
    summary="The evidence bytes (HTTP Range supported)",
    response_class=StreamingResponse,
    responses={
        **binary(
            "application/octet-stream",
            description="The whole file, served with the item's own media type",
            headers=CONTENT_HEADERS,
        ),
        **binary(
            "application/octet-stream",
            status=206,
            description="The requested byte range (Range: bytes=a-b)",
            headers={**CONTENT_HEADERS, "Content-Range": header("bytes a-b/size")},
        ),
        307: {
            "description": "via=presigned: a redirect to the object store's presigned URL",
            "headers": {"Location": header("the presigned URL")},
        },
        **problems(401, 403, 404, 410, 416, 422, 503),
    },
)
def get_content(
    evidence_id: str,
    services: ServicesDep,
    actor: CurrentActor,
    range_header: Annotated[str | None, Header(alias="range")] = None,
    via: Annotated[str | None, Query(pattern="^(stream|presigned)$")] = None,
) -> Any:
    content = evidence_content(services.engine, evidence_id)
    evidence, key = content.evidence, content.key
    try:
        span = parse_range(range_header, evidence.size)
    except RangeNotSatisfiable:
        return JSONResponse(
            RangeNotSatisfiable(evidence.size).problem(),
            status_code=416,
            media_type="application/problem+json",
            headers={"Content-Range": f"bytes */{evidence.size}"},
        )
    if via == "presigned":
        url = services.store.presigned_get_url(key)
        if url is not None:
            record_custody(services, actor, evidence.id, CustodyAction.downloaded, via="presigned")
            return RedirectResponse(url, status_code=307)
    start, end = span if span else (0, evidence.size - 1)
    record_custody(
        services,
        actor,
        evidence.id,
        CustodyAction.downloaded,
        range=f"{start}-{end}" if span else None,
    )
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(max(0, end - start + 1)),
        "ETag": f'"{evidence.sha256}"',
        "X-Content-SHA256": evidence.sha256,
        "X-Content-SM3": evidence.sm3,
    }
    if span:
        headers["Content-Range"] = f"bytes {start}-{end}/{evidence.size}"
    chunks: Iterator[bytes] = services.store.get(key, start, end) if evidence.size else iter(())
    return StreamingResponse(
        chunks, status_code=206 if span else 200, media_type=evidence.media_type, headers=headers
    )


@router.get(
    "/{evidence_id}/derived/{role}",
    summary="A derived file: thumbnail, rendering, document",
    response_class=StreamingResponse,
    responses={
        **binary("image/jpeg", "image/png", "text/html", description="The derived file"),
        **problems(401, 403, 404, 410, 422, 503),
    },
)
def get_derived(
    evidence_id: str, role: str, services: ServicesDep, actor: CurrentActor
) -> StreamingResponse:
    """Served whole: a ``Range`` header is ignored (RFC 9110 §14.2 lets a server do so)."""
    derived = derived_file(services.engine, evidence_id, role)
    return StreamingResponse(
        services.store.get(derived.object_key),
        media_type=derived.media_type,
        headers={"Content-Length": str(derived.size), "X-Content-SHA256": derived.sha256},
    )


@router.get(
    "/{evidence_id}/custody",
    summary="The custody events of one item, oldest first",
    responses={**ok(schemas.EvidenceCustody), **problems(401, 403, 404, 422)},
)
def get_custody(evidence_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    return evidence_custody(services.engine, evidence_id)
