"""/api/v1/uploads: resumable uploads for large files and unstable mobile networks.

``POST`` declares the upload, ``PATCH`` with ``Upload-Offset`` appends one chunk, ``HEAD`` tells
the current offset, ``POST …/complete`` turns the bytes into evidence, ``DELETE`` aborts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.api import schemas
from evidence_service.api.deps import (
    MAX_IDEMPOTENCY_KEY,
    CaptureActor,
    ServicesDep,
    check_sha256_header,
)
from evidence_service.api.idempotency import idempotent
from evidence_service.api.responses import header, ok, problems
from evidence_service.api.streaming import consume_body
from evidence_service.capture.uploads import check_declaration, session_public
from evidence_service.core.digests import HEX64_ANY_CASE
from evidence_service.core.metrics import count_capture

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"])


class UploadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: str
    metadata: dict[str, Any]
    filename: str | None = Field(default=None, max_length=255)
    total_size: int | None = Field(default=None, ge=1)
    sha256: str | None = Field(default=None, pattern=HEX64_ANY_CASE)


OFFSET_HEADERS = {
    "Upload-Offset": header("bytes received so far", "integer"),
    "Upload-Length": header("the declared total size, when declared", "integer"),
    "Cache-Control": header("no-store"),
}


def offset_headers(body: dict[str, Any]) -> dict[str, str]:
    headers = {"Upload-Offset": str(body["offset"]), "Cache-Control": "no-store"}
    if body.get("total_size") is not None:
        headers["Upload-Length"] = str(body["total_size"])
    return headers


@router.post(
    "",
    status_code=201,
    summary="Declare a resumable upload",
    responses={
        201: {"model": schemas.UploadState, "headers": OFFSET_HEADERS},
        **problems(400, 401, 403, 413, 422, 503),
    },
)
def create_upload(
    payload: UploadCreate,
    services: ServicesDep,
    actor: CaptureActor,
    idempotency_key: Annotated[str | None, Header(max_length=MAX_IDEMPOTENCY_KEY)] = None,
) -> JSONResponse:
    metadata = check_declaration(
        payload.port,
        payload.metadata,
        payload.filename,
        max_metadata_bytes=services.settings.max_metadata_bytes,
    )

    def create() -> tuple[int, dict[str, Any]]:
        upload = services.uploads.create(
            actor,
            payload.port,
            metadata,
            filename=payload.filename,
            total_size=payload.total_size,
            sha256=payload.sha256,
        )
        return 201, session_public(upload, services.store.min_part_size)

    status, body = idempotent(
        services,
        actor,
        idempotency_key,
        "POST /api/v1/uploads",
        payload.model_dump(mode="json"),
        create,
    )
    return JSONResponse(
        body,
        status_code=status,
        headers={**offset_headers(body), "Location": f"{router.prefix}/{body['id']}"},
    )


@router.head(
    "/{upload_id}",
    summary="Current offset of an upload",
    response_class=Response,
    responses={
        200: {"description": "No body: the offset is in Upload-Offset", "headers": OFFSET_HEADERS},
        **problems(401, 403, 404, 422),
    },
)
def head_upload(upload_id: str, services: ServicesDep, actor: CaptureActor) -> Response:
    upload = services.uploads.get(actor, upload_id)
    body = session_public(upload, services.store.min_part_size)
    return Response(status_code=200, headers=offset_headers(body))


@router.get(
    "/{upload_id}",
    summary="State of an upload",
    responses={
        200: {"model": schemas.UploadState, "headers": OFFSET_HEADERS},
        **problems(401, 403, 404, 422),
    },
)
def get_upload(upload_id: str, services: ServicesDep, actor: CaptureActor) -> JSONResponse:
    upload = services.uploads.get(actor, upload_id)
    body = session_public(upload, services.store.min_part_size)
    return JSONResponse(body, headers=offset_headers(body))


@router.patch(
    "/{upload_id}",
    summary="Append one chunk at Upload-Offset",
    responses={
        200: {"model": schemas.UploadState, "headers": OFFSET_HEADERS},
        **problems(400, 401, 403, 404, 409, 413, 422, 503),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/offset+octet-stream": {
                    "schema": {"type": "string", "format": "binary"}
                }
            },
        }
    },
)
async def patch_upload(
    upload_id: str,
    request: Request,
    services: ServicesDep,
    actor: CaptureActor,
    upload_offset: Annotated[int, Header(ge=0)],
    x_content_sha256: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Chunks other than the last must be at least ``min_part_size`` bytes (5 MiB on MinIO)."""
    declared = check_sha256_header(x_content_sha256)

    def append(body: Iterator[bytes]) -> dict[str, Any]:
        upload = services.uploads.append(
            actor, upload_id, upload_offset, body, chunk_sha256=declared
        )
        return session_public(upload, services.store.min_part_size)

    body = await consume_body(request, append)
    return JSONResponse(body, headers=offset_headers(body))


@router.post(
    "/{upload_id}/complete",
    summary="Turn the received bytes into evidence",
    responses={
        **ok(schemas.Evidence, 200, "Completed before: the evidence it became"),
        **ok(schemas.Evidence, 201, "The evidence made from the upload"),
        **problems(400, 401, 403, 404, 409, 413, 415, 422, 503),
    },
)
def complete_upload(
    upload_id: str,
    services: ServicesDep,
    actor: CaptureActor,
    idempotency_key: Annotated[str | None, Header(max_length=MAX_IDEMPOTENCY_KEY)] = None,
) -> JSONResponse:
    """Any replica may complete an upload, whichever received its chunks. While another request
    completes it, the answer is 409 ``upload-state`` with ``status_value: "completing"``: ask
    again shortly (200 with the evidence once it exists)."""
    status, body = services.uploads.complete(actor, upload_id, idempotency_key=idempotency_key)
    if status == 201:  # a new item (200: completed before, counted then)
        count_capture(body["port"], body["size"])
    return JSONResponse(
        body, status_code=status, headers={"Location": f"/api/v1/evidence/{body['id']}"}
    )


@router.delete(
    "/{upload_id}",
    summary="Abort an upload; its bytes are discarded",
    responses={**ok(schemas.UploadState), **problems(401, 403, 404, 409, 422)},
)
def abort_upload(upload_id: str, services: ServicesDep, actor: CaptureActor) -> dict[str, Any]:
    upload = services.uploads.abort(actor, upload_id)
    return session_public(upload, services.store.min_part_size)
