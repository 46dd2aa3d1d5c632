"""/api/v1/tus/: resumable uploads by the tus 1.0.0 protocol (core, creation, checksum,
termination), for stock tus clients (tus-js-client, Uppy, tuspy, TUSKit, …).

``POST`` declares the file (``Upload-Length``, ``Upload-Metadata``: ``port``, ``metadata``,
``filename``, ``sha256``, and ``prepared_id`` with ``signature`` for a capture signed by the
officer's own key), ``PATCH`` appends bytes at ``Upload-Offset`` in any size,
``HEAD`` tells the offset, ``DELETE`` terminates. The PATCH that reaches ``Upload-Length``
makes the item and answers its id in ``Evidence-Id``. The sessions are those of
``/api/v1/uploads`` (:mod:`evidence_service.capture.tus` holds the protocol's rules); every
answer of this router, problems included, carries ``Tus-Resumable``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from evidence_service.api import schemas
from evidence_service.api.deps import CaptureActor, ServicesDep
from evidence_service.api.responses import header, problems
from evidence_service.api.streaming import consume_body
from evidence_service.capture.tus import CHECKSUM_ALGORITHMS, Checksum, TusProgress, TusUploads
from evidence_service.capture.uploads import check_declaration, session_public
from evidence_service.core.digests import is_hex64
from evidence_service.core.errors import BadRequestError, EvidenceError, OversizeError
from evidence_service.core.metrics import count_capture

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,checksum,termination"
OFFSET_MEDIA_TYPE = "application/offset+octet-stream"
#: Upload-Metadata keys this service reads; others (``filetype``, ``name``, …) are ignored.
METADATA_KEYS = ("port", "metadata", "filename", "sha256", "prepared_id", "signature")
#: Upload-Metadata travels in a header, and HTTP servers refuse headers past ~16 KiB: about
#: 6 KiB of metadata JSON once in base64 (larger metadata: POST /api/v1/uploads).
MAX_METADATA_HEADER = 8 * 1024
#: Keys of a client-signed capture (client-held keys): both or neither.
CLIENT_SIGNING_KEYS = frozenset({"prepared_id", "signature"})


class TusVersionError(EvidenceError):
    slug, title, status = "tus-version", "Tus-Resumable: 1.0.0 is required", 412


class OffsetMediaTypeError(EvidenceError):
    slug, title, status = (
        "offset-media-type",
        "A tus PATCH body is application/offset+octet-stream",
        415,
    )


class TusRoute(APIRoute):
    """Every answer, problems included, carries ``Tus-Resumable`` (tus 1.0 requires it on all
    but OPTIONS; it does no harm there); a 412 also names the versions spoken."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        answer = super().get_route_handler()

        async def tus_answer(request: Request) -> Response:
            try:
                response = await answer(request)
            except (EvidenceError, RequestValidationError) as exc:
                handlers = request.app.exception_handlers
                handle = next(handlers[c] for c in type(exc).__mro__ if c in handlers)
                response = await handle(request, exc)
                if isinstance(exc, TusVersionError):
                    response.headers["Tus-Version"] = TUS_VERSION
            response.headers["Tus-Resumable"] = TUS_VERSION
            return response

        return tus_answer


router = APIRouter(prefix="/api/v1/tus", tags=["tus"], route_class=TusRoute)


def require_tus_resumable(
    tus_resumable: Annotated[
        str | None, Header(description="the protocol version: 1.0.0 (else 412)")
    ] = None,
) -> None:
    if (tus_resumable or "").strip() != TUS_VERSION:
        raise TusVersionError(f"send Tus-Resumable: {TUS_VERSION} (got {tus_resumable!r})")


TUS = [Depends(require_tus_resumable)]
TUS_HEADERS = {"Tus-Resumable": header(TUS_VERSION)}
PROGRESS_HEADERS = {
    **TUS_HEADERS,
    "Upload-Offset": header("bytes kept so far", "integer"),
    "Upload-Length": header("the declared size", "integer"),
    "Evidence-Id": header("once the upload became evidence: the item's id"),
}


def tus_problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    answers = problems(*statuses)
    own = {
        410: "The upload was terminated or expired (problem+json)",
        412: "Tus-Resumable is missing or not 1.0.0; Tus-Version names 1.0.0 (problem+json)",
        460: "Checksum Mismatch: the body was not kept, the offset did not move (problem+json)",
    }
    for status, description in own.items():
        if status in answers:
            answers[status] = {**answers[status], "description": description}
    return answers


def parse_upload_metadata(value: str) -> dict[str, bytes]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (the value may be left
    out); keys are ASCII without spaces or commas, each at most once."""
    pairs: dict[str, bytes] = {}
    for item in value.split(","):
        key, _, encoded = item.strip().partition(" ")
        if not key or not key.isascii() or not key.isprintable() or key in pairs:
            raise BadRequestError(
                f"Upload-Metadata has an empty, non-ASCII or repeated key: {key!r}"
            )
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequestError(f"Upload-Metadata {key}: the value is not base64") from exc
    return pairs


def _text(pairs: dict[str, bytes], key: str) -> str | None:
    raw = pairs.get(key)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(f"Upload-Metadata {key} is not UTF-8 text") from exc


def _client_signing(pairs: dict[str, bytes]) -> tuple[str | None, bytes | None]:
    """``prepared_id`` (an id: ASCII letters and digits) and ``signature`` (the signature
    block's JSON, checked by :func:`signed_capture`): both, or neither."""
    if not CLIENT_SIGNING_KEYS & pairs.keys():
        return None, None
    if not CLIENT_SIGNING_KEYS <= pairs.keys():
        raise BadRequestError("a client-signed upload needs both prepared_id and signature")
    prepared_id = (_text(pairs, "prepared_id") or "").strip()
    if not (prepared_id.isascii() and prepared_id.isalnum() and len(prepared_id) <= 26):
        raise BadRequestError("Upload-Metadata prepared_id must be the id prepare answered")
    return prepared_id, pairs["signature"]


def _progress_headers(progress: TusProgress) -> dict[str, str]:
    headers = {
        "Upload-Offset": str(progress.offset),
        "Upload-Length": str(progress.length),
        "Cache-Control": "no-store",
    }
    if progress.evidence_id is not None:
        headers["Evidence-Id"] = progress.evidence_id
    return headers


@router.options(
    "/",
    status_code=204,
    summary="What this tus server supports",
    response_class=Response,
    responses={
        204: {
            "description": "No body: the protocol's headers",
            "headers": {
                **TUS_HEADERS,
                "Tus-Version": header(TUS_VERSION),
                "Tus-Extension": header(TUS_EXTENSIONS),
                "Tus-Max-Size": header("the largest Upload-Length taken", "integer"),
                "Tus-Checksum-Algorithm": header(",".join(CHECKSUM_ALGORITHMS)),
            },
        },
        # A bad bearer token is refused here as on every route (401), though none is needed.
        **problems(401),
    },
)
def tus_options(services: ServicesDep) -> Response:
    return Response(
        status_code=204,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(services.settings.max_upload_bytes),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
        },
    )


@router.post(
    "/",
    status_code=201,
    summary="Declare a tus upload",
    dependencies=TUS,
    responses={
        201: {
            "model": schemas.UploadState,
            "headers": {**TUS_HEADERS, "Location": header("the upload's URL, /api/v1/tus/{id}")},
        },
        **tus_problems(400, 401, 403, 404, 409, 412, 413, 422, 503),
    },
)
def create_tus_upload(
    services: ServicesDep,
    actor: CaptureActor,
    upload_length: Annotated[int | None, Header(ge=0)] = None,
    upload_defer_length: Annotated[str | None, Header()] = None,
    upload_metadata: Annotated[str | None, Header(max_length=MAX_METADATA_HEADER)] = None,
) -> JSONResponse:
    """``Upload-Metadata`` carries ``port`` and ``metadata`` (the JSON text of a capture's
    metadata), optionally ``filename`` and ``sha256`` (hex: checked at completion). Nothing is
    written unless all of it is valid.

    A capture signed by the officer's own key (after ``POST /api/v1/evidence/prepare``) adds
    ``prepared_id`` and ``signature`` (the signature block of PROOF_FORMAT.md as JSON), and
    ``metadata`` is the metadata given to prepare. The signature is checked now, before any
    byte is taken: it must verify against the department CA and CRL (422 ``bad-signature``),
    the prepared capture must be the caller's and unused (404 ``not-found``), unexpired, for
    this port and not held by another upload (409 ``prepared-capture``), and Upload-Length,
    ``metadata`` and ``sha256`` must give the signed statement (422 ``statement-mismatch``).
    The PATCH that completes the upload checks the signature again and makes the item under
    the prepared id; bytes that do not give the signed statement are 422
    ``statement-mismatch``, and the upload is then ended with nothing kept."""
    if upload_defer_length is not None:
        raise BadRequestError("Upload-Defer-Length is not supported: send Upload-Length")
    if upload_length is None:
        raise BadRequestError("Upload-Length is required")
    if upload_length > services.settings.max_upload_bytes:
        raise OversizeError(
            f"Upload-Length exceeds Tus-Max-Size ({services.settings.max_upload_bytes} bytes)"
        )
    pairs = parse_upload_metadata(upload_metadata) if upload_metadata else {}
    port = _text(pairs, "port")
    metadata_text = _text(pairs, "metadata")
    if port is None or metadata_text is None:
        raise BadRequestError("Upload-Metadata needs port and metadata")
    filename = _text(pairs, "filename") or None
    metadata = check_declaration(
        port, metadata_text, filename, max_metadata_bytes=services.settings.max_metadata_bytes
    )
    sha256 = _text(pairs, "sha256")
    if sha256 is not None and not is_hex64(sha256, any_case=True):
        raise BadRequestError("Upload-Metadata sha256 must be 64 hex digits")
    prepared_id, signature_raw = _client_signing(pairs)
    upload = TusUploads(services.uploads, services.pki).create(
        actor,
        port_id=port,
        metadata=metadata,
        filename=filename,
        length=upload_length,
        sha256=sha256,
        prepared_id=prepared_id,
        signature_raw=signature_raw,
    )
    return JSONResponse(
        session_public(upload, services.store.min_part_size),
        status_code=201,
        headers={"Location": f"{router.prefix}/{upload.id}"},
    )


@router.head(
    "/{upload_id}",
    summary="Offset of a tus upload",
    dependencies=TUS,
    response_class=Response,
    responses={
        200: {
            "description": "No body: the offset is in Upload-Offset",
            "headers": PROGRESS_HEADERS,
        },
        **tus_problems(401, 403, 404, 410, 412, 422),
    },
)
def head_tus_upload(upload_id: str, services: ServicesDep, actor: CaptureActor) -> Response:
    progress = TusUploads(services.uploads, services.pki).progress(actor, upload_id)
    return Response(status_code=200, headers=_progress_headers(progress))


@router.patch(
    "/{upload_id}",
    status_code=204,
    summary="Append bytes at Upload-Offset",
    dependencies=TUS,
    response_class=Response,
    responses={
        204: {
            "description": "No body: the new offset is in Upload-Offset",
            "headers": PROGRESS_HEADERS,
        },
        **tus_problems(400, 401, 403, 404, 409, 410, 412, 413, 415, 422, 460, 503),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {OFFSET_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def patch_tus_upload(
    upload_id: str,
    request: Request,
    services: ServicesDep,
    actor: CaptureActor,
    upload_offset: Annotated[int, Header(ge=0)],
    content_type: Annotated[str | None, Header()] = None,
    upload_checksum: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Any chunk size: bytes short of the store's part size are kept aside (durably) until the
    next PATCH. The PATCH that reaches Upload-Length makes the item: ``Evidence-Id``. With
    ``Upload-Checksum`` (sha1 or sha256) a body that does not match is not kept (460).

    A client-signed upload's final PATCH verifies the signature again and makes the item under
    the prepared id; bytes that do not give the signed statement (422 ``statement-mismatch``),
    or a signature no longer valid (422 ``bad-signature``), end the upload with nothing kept:
    it then answers 410."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != OFFSET_MEDIA_TYPE:
        raise OffsetMediaTypeError(f"Content-Type must be {OFFSET_MEDIA_TYPE}")
    checksum = Checksum.from_header(upload_checksum) if upload_checksum else None
    tus = TusUploads(services.uploads, services.pki)

    def append(body: Iterator[bytes]) -> TusProgress:
        return tus.append(actor, upload_id, upload_offset, body, checksum=checksum)

    progress = await consume_body(request, append)
    if progress.created_size is not None:  # a new item (else counted when it was made)
        count_capture(progress.port, progress.created_size)
    return Response(status_code=204, headers=_progress_headers(progress))


@router.delete(
    "/{upload_id}",
    status_code=204,
    summary="Terminate a tus upload; its bytes are discarded",
    dependencies=TUS,
    response_class=Response,
    responses={
        204: {"description": "Terminated", "headers": TUS_HEADERS},
        **tus_problems(401, 403, 404, 409, 410, 412, 422),
    },
)
def terminate_tus_upload(upload_id: str, services: ServicesDep, actor: CaptureActor) -> Response:
    TusUploads(services.uploads, services.pki).terminate(actor, upload_id)
    return Response(status_code=204)
