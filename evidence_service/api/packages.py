"""Public verification of an evidence package: upload the ZIP, get every check's verdict.

The body (raw ``application/zip``, or a multipart form with one file part) streams to a spool
file under a size cap, is verified against this service's own chain and trust bundle (as an
auditor would with ``evidence verify-package --trust``), and is deleted
(:mod:`evidence_service.transfer.package_verification`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter, Request

from evidence_service.access.trust import service_pins
from evidence_service.api import schemas
from evidence_service.api.deps import OptionalActor, ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.api.streaming import consume_body
from evidence_service.capture.multipart_stream import StreamedForm
from evidence_service.core.errors import BadRequestError, OversizeError
from evidence_service.core.metrics import count_verification
from evidence_service.transfer.package_verification import (
    record_package_verified,
    verify_uploaded_package,
)
from evidence_service.verify.verdict import Verdict

router = APIRouter(prefix="/api/v1/packages", tags=["packages"])

#: The largest package this endpoint takes (bigger ones: verify offline with the CLI).
MAX_PACKAGE_BYTES = 8 * 1024 * 1024 * 1024
MAX_FORM_FIELD = 4096
ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")

VERIFY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["package"],
                    "properties": {"package": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


def _package_chunks(body: Iterator[bytes], content_type: str) -> Iterable[bytes]:
    if content_type.startswith("multipart/form-data"):
        form = StreamedForm(body, content_type, max_field_bytes=MAX_FORM_FIELD)
        _, file_part = form.read_fields_until_file()
        if file_part is None:
            raise BadRequestError("the form has no file part (send the ZIP as 'package')")
        return form.file_chunks()
    if content_type and not content_type.startswith(ZIP_TYPES):
        raise BadRequestError(
            f"send the package as application/zip or multipart/form-data, not {content_type}"
        )
    return body


@router.post(
    "/verify",
    openapi_extra=VERIFY_BODY,
    summary="Verify an evidence package ZIP (no authentication)",
    responses={**ok(schemas.PackageVerdict), **problems(400, 401, 413, 422)},
)
async def verify(
    request: Request,
    services: ServicesDep,
    actor: OptionalActor,
    require_signature: bool = False,
) -> dict[str, Any]:
    """Answers every check: each file against the manifest, each proof (statement, Merkle path,
    officer signature at anchor time, anchor on this service's chain), the custody chain, the
    manifest seal and the contents seal over every member; ``failure`` and ``subject`` name the
    first that failed. The seals are checked before anything is hashed, and an anonymous
    request hashes at most ``EVIDENCE_PACKAGE_VERIFY_MAX_READ_BYTES`` (past it the verdict is
    ``too-large``). ``require_signature``: an item with an unsigned capture statement fails
    (``bad-signature``). A body that is not a ZIP is a 422 ``bad-package`` problem; one larger
    than the cap a 413."""
    content_type = request.headers.get("content-type", "")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_PACKAGE_BYTES + 64 * 1024:
        raise OversizeError(f"packages verified here are limited to {MAX_PACKAGE_BYTES} bytes")

    def run(body: Iterator[bytes]) -> Verdict:
        return verify_uploaded_package(
            _package_chunks(body, content_type),
            settings=services.settings,
            actor=actor,
            w3=services.chain_reader(),
            pins=service_pins(services),
            max_bytes=MAX_PACKAGE_BYTES,
            require_signature=require_signature,
        )

    verdict: Verdict = await consume_body(request, run)
    count_verification("package", verdict.valid)
    if actor is not None:
        record_package_verified(services.engine, actor, verdict, at=services.clock())
    return verdict.as_json()
