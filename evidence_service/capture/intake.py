"""Capture from a streamed ``multipart/form-data`` upload: the form of ``POST /api/v1/evidence``.

The small fields come first — ``port``, ``metadata`` and, for a client-signed (two-step)
capture, ``prepared_id`` and ``signature`` — so the port, the metadata and the officer's
signature are all checked before a single file byte is stored. The ``file`` part then streams
through the port into the object store (:meth:`Ingestor.receive`), and the item is recorded
and finalized (:meth:`Ingestor.record`). Any failure keeps nothing.

The body is an ordinary iterator of byte blocks, so this runs in a worker thread fed by the
web layer; it never holds more than one block of the file in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from evidence_service.access.identity import Actor
from evidence_service.access.pki import Pki
from evidence_service.capture.client_signing import signed_capture
from evidence_service.capture.ingest import Ingestor, SignedCapture
from evidence_service.capture.metadata import CaptureMetadata, parse_capture_metadata
from evidence_service.capture.multipart_stream import FilePart, StreamedForm
from evidence_service.capture.ports.registry import get_port
from evidence_service.core.errors import BadRequestError, PreparedCaptureError


@dataclass(frozen=True)
class CaptureForm:
    """The checked fields that precede the file part of a capture upload."""

    port_id: str
    metadata: CaptureMetadata
    file_part: FilePart
    prepared_id: str | None = None
    signature_raw: bytes | None = None


def read_capture_form(form: StreamedForm, *, max_metadata_bytes: int) -> CaptureForm:
    """Read the fields up to the file part and check them, in order: a known port, then the
    metadata, then a file part, then both or neither of ``prepared_id`` and ``signature``."""
    fields, file_part = form.read_fields_until_file()
    if "port" not in fields:
        raise BadRequestError("the 'port' field must come before the file")
    port_id = fields["port"].decode("utf-8", "replace").strip()
    get_port(port_id)
    if "metadata" not in fields:
        raise BadRequestError("the 'metadata' field must come before the file")
    metadata = parse_capture_metadata(fields["metadata"], max_bytes=max_metadata_bytes)
    if file_part is None:
        raise BadRequestError("the form has no 'file' part")
    if "prepared_id" not in fields and "signature" not in fields:
        return CaptureForm(port_id, metadata, file_part)
    if "prepared_id" not in fields or "signature" not in fields:
        raise BadRequestError("a client-signed upload needs both prepared_id and signature")
    return CaptureForm(
        port_id,
        metadata,
        file_part,
        prepared_id=fields["prepared_id"].decode("ascii", "replace").strip(),
        signature_raw=fields["signature"],
    )


def capture_from_form(
    body: Iterator[bytes],
    *,
    content_type: str,
    max_metadata_bytes: int,
    actor: Actor,
    ingestor: Ingestor,
    pki: Pki,
    declared_sha256: str | None,
    idempotency_key: str | None,
    route: str,
) -> tuple[int, dict[str, Any]]:
    """Capture the file of one streamed form; returns (HTTP status, the item's public form).

    A client signature is verified before the file is stored, under the evidence id reserved
    when it was prepared; a second upload of that prepared capture while the first is still in
    flight is a ``PreparedCaptureError`` (409). Without one, a capture the service could not
    sign is refused before the file is stored when the officer's department requires signed
    captures (``UnsignedCaptureError``, 422). ``declared_sha256`` (``X-Content-SHA256``) and
    ``idempotency_key`` are checked by :meth:`Ingestor.record`.
    """
    form = StreamedForm(body, content_type, max_field_bytes=max_metadata_bytes)
    fields = read_capture_form(form, max_metadata_bytes=max_metadata_bytes)
    signed: SignedCapture | None = None
    if fields.prepared_id is not None and fields.signature_raw is not None:
        signed = signed_capture(
            pki,
            actor,
            prepared_id=fields.prepared_id,
            port_id=fields.port_id,
            signature_raw=fields.signature_raw,
        )
    else:
        ingestor.precheck_signable(actor)  # refused unsigned: before any byte is stored
    if signed is None:
        evidence_id, received = ingestor.receive_new(fields.port_id, form.file_chunks())
    else:
        evidence_id = signed.evidence_id
        try:
            received = ingestor.receive(evidence_id, fields.port_id, form.file_chunks())
        except IntegrityError as exc:  # the prepared id is already taken by an upload in flight
            raise PreparedCaptureError(
                f"prepared capture {evidence_id} is being uploaded already"
            ) from exc
    return ingestor.record(
        evidence_id=evidence_id,
        actor=actor,
        port_id=fields.port_id,
        metadata=fields.metadata,
        filename=fields.file_part.filename,
        received=received,
        declared_sha256=declared_sha256,
        idempotency_key=idempotency_key,
        route=route,
        signed=signed,
    )
