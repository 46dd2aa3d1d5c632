"""tus 1.0 uploads (core, creation, checksum, termination) over the resumable-upload sessions.

A tus client sends PATCHes of any size, but the store takes parts of at least
``store.min_part_size`` bytes except the last (5 MiB on S3, 1 byte on local disk). The bytes of
a PATCH that do not reach that size and do not end the file are kept as
:class:`TusPendingBytes` rows — in the database, so that whichever replica takes the next PATCH
reads them — and go to the store, in front of the next PATCH's bytes, as one part of at least
the minimum size. The offset a client is told counts them: they are committed before the answer.

Guarantees:

- A PATCH's bytes are kept whole or not at all: a body cut short, running past Upload-Length
  or failing its ``Upload-Checksum`` leaves the offset where it was (the store is handed an
  iterator that raises before it ends, so the part is never stored).
- Pending rows count only from the session's offset on, contiguously. A process that died
  between appending a part and removing the rows it held leaves rows before that offset: they
  count for nothing and :func:`purge_settled` (the reaper) removes them.
- The PATCH that brings the offset to Upload-Length completes the upload (the item is made,
  signed and queued for anchoring) and answers its id. A PATCH at that offset with no body
  completes it again when that failed, and answers the same id once it exists.
- Of two PATCHes at one offset one is kept and the other gets 409: pending rows are written
  under the session row's lock (and keyed by offset), parts go through
  :meth:`UploadManager.append`, which commits only at the offset it started from.
- A client-signed upload (``prepared_id`` and ``signature``) is refused at creation, before a
  byte is taken, unless the signature verifies now and the declared length, metadata and
  SHA-256 agree with the signed statement; the prepared capture is then held by this upload
  alone. Its completion verifies the signature again and makes the item under the prepared id
  only if the bytes give the signed statement; a refusal there ends the upload and keeps
  nothing, since no later PATCH could change the outcome.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor
from evidence_service.access.pki import Pki
from evidence_service.capture.client_signing import signed_capture
from evidence_service.capture.ingest import SignedCapture
from evidence_service.capture.metadata import CaptureMetadata
from evidence_service.capture.models import TusPendingBytes, UploadSession, UploadStatus
from evidence_service.capture.uploads import UploadManager
from evidence_service.core.db import session_scope
from evidence_service.core.errors import (
    BadRequestError,
    EvidenceError,
    NotFoundError,
    OversizeError,
    StatementMismatchError,
    UploadOffsetConflictError,
    UploadStateError,
)

#: Upload-Checksum algorithms (tus checksum extension), by the names the header uses.
CHECKSUM_ALGORITHMS: dict[str, Callable[[], Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}


class ChecksumMismatchError(EvidenceError):
    """The PATCH body does not match its ``Upload-Checksum``: it was not kept (tus: 460)."""

    slug, title, status = "checksum-mismatch", "Checksum Mismatch", 460


class UploadGoneError(EvidenceError):
    """The upload was terminated or expired: its bytes are gone."""

    slug, title, status = "upload-gone", "The upload was terminated or expired", 410


@dataclass(frozen=True)
class Checksum:
    """An ``Upload-Checksum``: ``<algorithm> <base64 digest>`` of one PATCH's body."""

    algorithm: str
    digest: bytes

    @classmethod
    def from_header(cls, value: str) -> Checksum:
        algorithm, _, encoded = value.strip().partition(" ")
        make = CHECKSUM_ALGORITHMS.get(algorithm.lower())
        if make is None:
            names = ", ".join(CHECKSUM_ALGORITHMS)
            raise BadRequestError(f"Upload-Checksum algorithm {algorithm!r} is not one of {names}")
        try:
            digest = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequestError("the Upload-Checksum digest is not base64") from exc
        if len(digest) != make().digest_size:
            raise BadRequestError(
                f"an Upload-Checksum {algorithm} digest has {make().digest_size} bytes"
            )
        return cls(algorithm.lower(), digest)

    def hasher(self) -> Any:
        return CHECKSUM_ALGORITHMS[self.algorithm]()


@dataclass(frozen=True)
class TusProgress:
    """Where a tus upload stands, as HEAD and PATCH tell it."""

    upload_id: str
    port: str
    offset: int  # bytes kept: appended to the session, and pending
    length: int  # Upload-Length
    evidence_id: str | None = None  # once the upload became evidence
    created_size: int | None = None  # the item's size when this request made it (metrics)


def _checked_body(
    chunks: Iterator[bytes], *, room: int, checksum: Checksum | None
) -> Iterator[bytes]:
    """The body as it is read: at most ``room`` bytes (else 413), and its Upload-Checksum
    verified when it ends, before the reader sees the end (else 460)."""
    hasher = checksum.hasher() if checksum else None
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        if seen > room:
            raise OversizeError(f"the PATCH runs past Upload-Length by {seen - room} bytes")
        if hasher is not None:
            hasher.update(chunk)
        yield chunk
    if checksum is not None and hasher is not None and hasher.digest() != checksum.digest:
        raise ChecksumMismatchError(
            f"the body does not match its Upload-Checksum ({checksum.algorithm}); "
            "it was not kept: send it again"
        )


def _take(chunks: Iterator[bytes], at_least: int) -> tuple[bytes, bool]:
    """Read whole blocks until ``at_least`` bytes (or the end): (bytes read, whether it ended)."""
    head = bytearray()
    for chunk in chunks:
        head += chunk
        if len(head) >= at_least:
            return bytes(head), False
    return bytes(head), True


def check_against_statement(
    statement: dict[str, Any], metadata: CaptureMetadata, length: int, sha256: str | None
) -> None:
    """What a tus creation declares must give the signed statement — the size, the metadata
    and (when declared) the SHA-256 — else :class:`StatementMismatchError` before any byte."""
    differing = []
    if statement.get("size") != length:
        differing.append("size")
    if statement.get("metadata_sha256") != metadata.sha256():
        differing.append("metadata_sha256")
    if sha256 is not None and statement.get("sha256") != sha256.lower():
        differing.append("sha256")
    if differing:
        raise StatementMismatchError(
            "Upload-Length and Upload-Metadata do not give the statement that was signed",
            fields=differing,
        )


class TusUploads:
    """tus semantics over :class:`UploadManager` sessions (which must declare their length)."""

    def __init__(self, uploads: UploadManager, pki: Pki) -> None:
        self.uploads = uploads
        self.pki = pki
        self.engine: Engine = uploads.ingestor.engine
        self.clock = uploads.ingestor.clock

    # -- creation -------------------------------------------------------------------------------
    def create(
        self,
        actor: Actor,
        *,
        port_id: str,
        metadata: CaptureMetadata,
        filename: str | None,
        length: int,
        sha256: str | None,
        prepared_id: str | None = None,
        signature_raw: bytes | None = None,
    ) -> UploadSession:
        """Declare the upload; with ``prepared_id`` and ``signature_raw`` (the signature block's
        JSON) a client-signed one, whose signature and statement are checked here."""
        if length < 1:
            raise BadRequestError("Upload-Length must be at least 1: an empty file is no evidence")
        signed = None
        if prepared_id is not None and signature_raw is not None:
            signed = signed_capture(
                self.pki,
                actor,
                prepared_id=prepared_id,
                port_id=port_id,
                signature_raw=signature_raw,
            )
            check_against_statement(signed.statement, metadata, length, sha256)
        return self.uploads.create(
            actor,
            port_id,
            metadata,
            filename=filename,
            total_size=length,
            sha256=sha256,
            signed=signed,
        )

    # -- core -----------------------------------------------------------------------------------
    def progress(self, actor: Actor, upload_id: str) -> TusProgress:
        upload = self._tus_upload(actor, upload_id)
        if upload.status in (UploadStatus.aborted, UploadStatus.expired):
            raise UploadGoneError(f"upload {upload_id} is {upload.status}")
        with Session(self.engine) as session:
            pending = _pending_size(session, upload)
        return self._progress(upload, upload.offset + pending)

    def append(
        self,
        actor: Actor,
        upload_id: str,
        offset: int,
        body: Iterator[bytes],
        *,
        checksum: Checksum | None,
    ) -> TusProgress:
        """Keep one PATCH's bytes at ``offset``; complete the upload once they reach its length."""
        upload = self._tus_upload(actor, upload_id)
        if upload.status in (UploadStatus.aborted, UploadStatus.expired):
            raise UploadGoneError(f"upload {upload_id} is {upload.status}")
        length = upload.declared_size
        assert length is not None  # _tus_upload
        with Session(self.engine) as session:
            kept = _pending_size(session, upload)
        current = upload.offset + kept
        if offset != current:
            raise UploadOffsetConflictError(
                f"Upload-Offset {offset} does not match the {current} bytes received",
                offset=current,
            )
        checked = _checked_body(body, room=length - current, checksum=checksum)
        head, ended = _take(checked, self.uploads.store.min_part_size - kept)
        if ended and current + len(head) < length:
            if head:  # too few bytes for a part, and not the file's end: pending
                self._keep_pending(upload_id, current, head)
            return self._progress(upload, current + len(head))
        if upload.status == UploadStatus.completed:  # the final PATCH again, with no bytes
            return self._progress(upload, length)
        if kept or head or not ended:
            pending = self._pending_bytes(upload, kept)  # less than one part: bounded

            def part() -> Iterator[bytes]:
                yield from pending
                if head:
                    yield head
                yield from checked

            upload = self._append_part(actor, upload, part())
        if upload.offset < length:
            return self._progress(upload, upload.offset)
        signed = None
        if upload.prepared_id is not None:
            signed = self._signed_again(actor, upload)
            if signed is None:  # another request completed it meanwhile
                return self._progress(self._tus_upload(actor, upload_id), length)
        status, item = self.uploads.complete(actor, upload_id, idempotency_key=None, signed=signed)
        return TusProgress(
            upload_id,
            upload.port,
            length,
            length,
            evidence_id=str(item["id"]),
            created_size=int(item["size"]) if status == 201 else None,
        )

    # -- termination ----------------------------------------------------------------------------
    def terminate(self, actor: Actor, upload_id: str) -> None:
        upload = self._tus_upload(actor, upload_id)
        if upload.status in (UploadStatus.aborted, UploadStatus.expired):
            raise UploadGoneError(f"upload {upload_id} is {upload.status} already")
        self.uploads.abort(actor, upload_id)
        with session_scope(self.engine) as session:
            session.execute(
                delete(TusPendingBytes).where(col(TusPendingBytes.session_id) == upload_id)
            )

    # -- internals ------------------------------------------------------------------------------
    def _signed_again(self, actor: Actor, upload: UploadSession) -> SignedCapture | None:
        """The upload's prepared capture with its signature verified once more (a certificate
        may have been revoked, the prepared capture used by another upload). Refused: the upload
        is ended, its bytes discarded — it could never complete. None: it completed meanwhile."""
        assert upload.prepared_id is not None and upload.signature is not None
        try:
            return signed_capture(
                self.pki,
                actor,
                prepared_id=upload.prepared_id,
                port_id=upload.port,
                signature_raw=json.dumps(upload.signature).encode(),
            )
        except EvidenceError:
            current = self.uploads.get(actor, upload.id)
            if current.status == UploadStatus.completed:
                return None
            try:
                self.terminate(actor, upload.id)
            except EvidenceError:  # being completed or ended by another request: theirs to end
                pass
            raise

    def _tus_upload(self, actor: Actor, upload_id: str) -> UploadSession:
        upload = self.uploads.get(actor, upload_id)
        if upload.declared_size is None:
            raise NotFoundError(
                f"upload {upload_id} declared no length: it is not a tus upload (/api/v1/uploads)"
            )
        return upload

    def _progress(self, upload: UploadSession, offset: int) -> TusProgress:
        """The upload's progress; its item's id once it is made (a session being completed
        names the id it reserved, which may yet come to nothing)."""
        assert upload.declared_size is not None
        made = upload.evidence_id if upload.status == UploadStatus.completed else None
        return TusProgress(upload.id, upload.port, offset, upload.declared_size, evidence_id=made)

    def _current_offset(self, upload_id: str) -> int:
        with Session(self.engine) as session:
            upload = session.get(UploadSession, upload_id)
            assert upload is not None
            return upload.offset + _pending_size(session, upload)

    def _pending_bytes(self, upload: UploadSession, kept: int) -> list[bytes]:
        """The ``kept`` pending bytes from the session's offset, as their rows hold them."""
        with Session(self.engine) as session:
            rows = _pending_rows(session, upload)
        if sum(row.size for row in rows) != kept:  # another PATCH moved the upload meanwhile
            raise UploadOffsetConflictError(
                "the upload moved on meanwhile", offset=self._current_offset(upload.id)
            )
        return [row.data for row in rows]

    def _keep_pending(self, upload_id: str, at: int, data: bytes) -> None:
        """Commit ``data`` as pending bytes at ``at``, if that is still where the upload ends."""
        try:
            with session_scope(self.engine) as session:
                upload = session.get(UploadSession, upload_id, with_for_update=True)
                assert upload is not None
                if upload.status != UploadStatus.open or upload.evidence_id is not None:
                    raise UploadStateError(
                        f"the upload is {upload.status}", status_value=str(upload.status)
                    )
                current = upload.offset + _pending_size(session, upload)
                if current != at:
                    raise UploadOffsetConflictError("the upload moved on meanwhile", offset=current)
                session.add(
                    TusPendingBytes(
                        session_id=upload_id,
                        offset=at,
                        size=len(data),
                        data=data,
                        received_at=self.clock(),
                    )
                )
        except IntegrityError as exc:  # another PATCH at this offset was kept first
            raise UploadOffsetConflictError(
                "another PATCH at this offset was kept first",
                offset=self._current_offset(upload_id),
            ) from exc

    def _append_part(
        self, actor: Actor, upload: UploadSession, part: Iterator[bytes]
    ) -> UploadSession:
        """Append the pending bytes and this PATCH's as one store part; drop the pending rows."""
        try:
            appended = self.uploads.append(actor, upload.id, upload.offset, part)
        except UploadOffsetConflictError as exc:  # told in tus offsets, pending bytes counted
            raise UploadOffsetConflictError(
                exc.detail, offset=self._current_offset(upload.id)
            ) from exc
        with session_scope(self.engine) as session:
            session.execute(
                delete(TusPendingBytes).where(
                    col(TusPendingBytes.session_id) == upload.id,
                    col(TusPendingBytes.offset) < appended.offset,
                )
            )
        return appended


def _pending_rows(session: Session, upload: UploadSession) -> list[TusPendingBytes]:
    rows = session.exec(
        select(TusPendingBytes)
        .where(
            TusPendingBytes.session_id == upload.id,
            col(TusPendingBytes.offset) >= upload.offset,
        )
        .order_by(col(TusPendingBytes.offset))
    ).all()
    contiguous, at = [], upload.offset
    for row in rows:
        if row.offset != at:
            break
        contiguous.append(row)
        at += row.size
    return contiguous


def _pending_size(session: Session, upload: UploadSession) -> int:
    extents = session.exec(
        select(TusPendingBytes.offset, TusPendingBytes.size)
        .where(
            TusPendingBytes.session_id == upload.id,
            col(TusPendingBytes.offset) >= upload.offset,
        )
        .order_by(col(TusPendingBytes.offset))
    ).all()
    at = upload.offset
    for start, size in extents:
        if start != at:
            break
        at += size
    return at - upload.offset


def purge_settled(engine: Engine) -> int:
    """Drop pending bytes nothing needs any more: of sessions no longer open (completed,
    terminated, expired), or before their session's offset (appended already). How many."""
    still_open = select(UploadSession.id).where(UploadSession.status == UploadStatus.open)
    session_offset = (
        select(UploadSession.offset)
        .where(UploadSession.id == TusPendingBytes.session_id)
        .scalar_subquery()
    )
    with session_scope(engine) as session:
        result = session.execute(
            delete(TusPendingBytes).where(
                or_(
                    col(TusPendingBytes.session_id).not_in(still_open),
                    col(TusPendingBytes.offset) < session_offset,
                )
            )
        )
    return int(result.rowcount)  # type: ignore[attr-defined]
