"""/api/v1/evidence: streamed capture, metadata, content with Range, derived files, custody."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from evidence_service.api import schemas
from evidence_service.api.deps import (
    CaptureActor,
    CurrentActor,
    ServicesDep,
    SessionDep,
    check_sha256_header,
    record_custody,
)
from evidence_service.api.responses import binary, header, ok, problems
from evidence_service.api.streaming import consume_body
from evidence_service.capture.client_signing import prepare_capture, signed_capture
from evidence_service.capture.ingest import new_id
from evidence_service.capture.metadata import TagType, parse_capture_metadata
from evidence_service.capture.models import DerivedObject
from evidence_service.capture.multipart_stream import StreamedForm
from evidence_service.capture.ports.registry import get_port
from evidence_service.capture.retention import refuse_disposed
from evidence_service.capture.views import evidence_body, evidence_public, load_evidence
from evidence_service.capture.visibility import evidence_clause
from evidence_service.cases.search import EvidenceFilter, list_evidence
from evidence_service.core.digests import HEX64_ANY_CASE
from evidence_service.core.errors import (
    BadRequestError,
    EvidenceError,
    NotFoundError,
    PreparedCaptureError,
)
from evidence_service.custody.log import CustodyAction, event_record
from evidence_service.custody.models import CustodyEvent

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


@router.post(
    "",
    status_code=201,
    openapi_extra=UPLOAD_BODY,
    summary="Capture evidence (streamed)",
    responses={
        **ok(schemas.Evidence, 201),
        **problems(400, 401, 403, 404, 409, 413, 415, 422, 503),
    },
)
async def create_evidence(
    request: Request,
    services: ServicesDep,
    actor: CaptureActor,
    x_content_sha256: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JSONResponse:
    """Fields ``port`` and ``metadata`` must precede ``file``. The file is streamed to storage
    while SHA-256 and SM3 are computed; a wrong ``X-Content-SHA256`` keeps nothing (422)."""
    declared = check_sha256_header(x_content_sha256)
    content_type = request.headers.get("content-type", "")
    max_meta = services.settings.max_metadata_bytes

    def ingest(body: Iterator[bytes]) -> tuple[int, dict[str, Any]]:
        form = StreamedForm(body, content_type, max_field_bytes=max_meta)
        fields, file_part = form.read_fields_until_file()
        if "port" not in fields:
            raise BadRequestError("the 'port' field must come before the file")
        port_id = fields["port"].decode("utf-8", "replace").strip()
        get_port(port_id)
        if "metadata" not in fields:
            raise BadRequestError("the 'metadata' field must come before the file")
        metadata = parse_capture_metadata(fields["metadata"], max_bytes=max_meta)
        if file_part is None:
            raise BadRequestError("the form has no 'file' part")
        signed = None
        if "prepared_id" in fields or "signature" in fields:
            if "prepared_id" not in fields or "signature" not in fields:
                raise BadRequestError("a client-signed upload needs both prepared_id and signature")
            signed = signed_capture(
                services.pki,
                actor,
                prepared_id=fields["prepared_id"].decode("ascii", "replace").strip(),
                port_id=port_id,
                signature_raw=fields["signature"],
            )
        evidence_id = signed.evidence_id if signed else new_id()
        try:
            received = services.ingestor.receive(evidence_id, port_id, form.file_chunks())
        except IntegrityError as exc:  # the reserved id is already taken by an upload in flight
            if signed is None:
                raise
            raise PreparedCaptureError(
                f"prepared capture {evidence_id} is being uploaded already"
            ) from exc
        return services.ingestor.record(
            evidence_id=evidence_id,
            actor=actor,
            port_id=port_id,
            metadata=metadata,
            filename=file_part.filename,
            received=received,
            declared_sha256=declared,
            idempotency_key=idempotency_key,
            route=ROUTE_CREATE,
            signed=signed,
        )

    status, body = await consume_body(request, ingest)
    return JSONResponse(
        body, status_code=status, headers={"Location": f"{router.prefix}/{body['id']}"}
    )


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
    session: SessionDep,
    actor: CurrentActor,
    port: str | None = None,
    officer_id: str | None = None,
    department_id: str | None = None,
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
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    for name, value in (
        ("received_from", received_from),
        ("received_to", received_to),
        ("captured_from", captured_from),
        ("captured_to", captured_to),
    ):
        if value is not None and value.tzinfo is None:
            raise BadRequestError(f"{name} must carry a time zone (e.g. Z)")
    near_parts = (near_lat, near_lon, within_m)
    if any(v is not None for v in near_parts) and any(v is None for v in near_parts):
        raise BadRequestError("a place search needs near_lat, near_lon and within_m together")
    if port:
        get_port(port)
    rows, next_cursor = list_evidence(
        session,
        EvidenceFilter(
            port,
            officer_id,
            department_id,
            received_from,
            received_to,
            tag_type.value if tag_type else None,
            tag_value,
            case_id,
            q,
            party_id,
            captured_from,
            captured_to,
            (near_lat, near_lon, within_m) if within_m is not None else None,  # type: ignore[arg-type]
            evidence_clause(actor),
        ),
        limit=limit,
        cursor=cursor,
        sort=sort,
    )
    return {"items": [evidence_public(r) for r in rows], "next_cursor": next_cursor}


@router.get(
    "/{evidence_id}",
    summary="Evidence metadata (records a 'viewed' custody event)",
    responses={**ok(schemas.Evidence), **problems(401, 403, 404, 422)},
)
def get_item(evidence_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    body = evidence_body(services.engine, evidence_id)
    record_custody(services, actor, evidence_id, CustodyAction.viewed)
    return body


RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
CONTENT_HEADERS = {
    "Accept-Ranges": header("bytes"),
    "ETag": header('"<sha256>"'),
    "X-Content-SHA256": header("SHA-256 of the whole file"),
    "X-Content-SM3": header("SM3 of the whole file"),
}


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=a-b`` / ``a-`` / ``-n`` range → inclusive (start, end); None for whole file."""
    if header is None:
        return None
    match = RANGE_RE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        raise RangeNotSatisfiable(size)
    first, last = match.group(1), match.group(2)
    if not first:
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
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
    with Session(services.engine) as session:  # a read: no writer lock
        evidence = load_evidence(session, evidence_id)
    refuse_disposed(evidence)
    key = evidence.object_key if evidence.finalized else (evidence.temp_key or evidence.object_key)
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
    evidence_id: str, role: str, services: ServicesDep, session: SessionDep, actor: CurrentActor
) -> StreamingResponse:
    refuse_disposed(load_evidence(session, evidence_id))
    derived = session.exec(
        select(DerivedObject).where(
            DerivedObject.evidence_id == evidence_id, DerivedObject.role == role
        )
    ).first()
    if derived is None:
        raise NotFoundError(f"evidence {evidence_id} has no derived {role!r}")
    key = derived.object_key
    return StreamingResponse(
        services.store.get(key),
        media_type=derived.media_type,
        headers={"Content-Length": str(derived.size), "X-Content-SHA256": derived.sha256},
    )


@router.get(
    "/{evidence_id}/custody",
    summary="The custody events of one item, oldest first",
    responses={**ok(schemas.EvidenceCustody), **problems(401, 403, 404, 422)},
)
def get_custody(evidence_id: str, session: SessionDep, actor: CurrentActor) -> dict[str, Any]:
    load_evidence(session, evidence_id)
    events = session.exec(
        select(CustodyEvent)
        .where(CustodyEvent.evidence_id == evidence_id)
        .order_by(col(CustodyEvent.seq))
    ).all()
    return {
        "evidence_id": evidence_id,
        "events": [event_record(e) for e in events],
    }
