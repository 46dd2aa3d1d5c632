"""Resumable uploads: declare, append chunks at an offset, complete.

Each PATCH is one part of a store multipart upload (S3 multipart on MinIO, an append-only staging
file on local disk). Every chunk's SHA-256 is chained as it arrives —
``h_i = SHA-256(h_{i-1} ‖ sha256(chunk_i))`` with ``h_0`` = 32 zero bytes — and recorded with the
new offset in one transaction, so a dropped connection keeps every chunk received so far and the
client resumes at ``HEAD``'s ``Upload-Offset``.

Whole-file SHA-256, SM3 and the port's inspection run over the chunks as they arrive, in this
process. If that state is lost (a restart, another replica took a chunk, a chunk failed midway),
completion reads the assembled object once more to compute them. The running state is not
shared between replicas: a port's inspection (EXIF, durations, page counts) is not a state that
can be saved between chunks, so a completion on a replica that did not see every chunk pays one
sequential read of the object (see docs/operations.md for the measured cost).

Several replicas: the database decides. An append commits only at the offset it started from
(the session row is locked, ``SELECT … FOR UPDATE``), so of two appends at one offset one gets
409; completion goes through a claim (:mod:`evidence_service.capture.upload_claims`), so of two
completions one makes the item.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor
from evidence_service.capture.ingest import (
    TEMP_PREFIX,
    ChunkChain,
    Ingestor,
    Received,
    SignedCapture,
    coalesce,
    new_id,
)
from evidence_service.capture.metadata import CaptureMetadata, parse_capture_metadata
from evidence_service.capture.models import (
    Evidence,
    PreparedCapture,
    UploadChunk,
    UploadSession,
    UploadStatus,
)
from evidence_service.capture.multipart_stream import check_filename
from evidence_service.capture.ports.base import Extraction, Inspection
from evidence_service.capture.ports.registry import get_port
from evidence_service.capture.upload_claims import (
    COMPLETION_RENEW_SECONDS,
    CompletionClaim,
    claim_completion,
    claim_is_live,
    end_claim,
    renew_claim,
)
from evidence_service.capture.views import evidence_body
from evidence_service.core.clock import rfc3339
from evidence_service.core.db import session_scope
from evidence_service.core.errors import (
    HashMismatchError,
    NotFoundError,
    OversizeError,
    PreparedCaptureError,
    StoreUnavailableError,
    TruncatedUploadError,
    UploadOffsetConflictError,
    UploadStateError,
)
from evidence_service.core.text import check_text_tree
from evidence_service.custody.log import CustodyAction, append_event
from storage.base import PartResult, PutResult
from storage.errors import StorageError

CHAIN_GENESIS = "00" * 32
_monotonic = time.monotonic


def chain_step(prev_hex: str, chunk_sha256_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hex) + bytes.fromhex(chunk_sha256_hex)).hexdigest()


def check_declaration(
    port_id: str,
    metadata: str | bytes | dict[str, Any],
    filename: str | None,
    *,
    max_metadata_bytes: int,
) -> CaptureMetadata:
    """What declaring an upload checks, the same for ``/api/v1/uploads`` and tus, before
    anything is written: a known port, valid metadata, a file name that is a plain name."""
    get_port(port_id)
    parsed = parse_capture_metadata(metadata, max_bytes=max_metadata_bytes)
    if filename:
        check_text_tree(filename, "filename")
        check_filename(filename)
    return parsed


def _hold_prepared(session: Session, upload: UploadSession) -> None:
    """Reserve the prepared capture a client-signed upload completes, in the transaction that
    records the upload: refused if it is gone (used, reaped) or another upload holds it. Its
    row is locked, so of two uploads declared at once one holds it; it then lives as long as
    the upload (a large file may take longer than the hour a prepared capture is kept)."""
    assert upload.prepared_id is not None
    prepared = session.get(PreparedCapture, upload.prepared_id, with_for_update=True)
    if prepared is None:
        raise NotFoundError(f"no prepared capture {upload.prepared_id} (used or never made)")
    holder = session.exec(
        select(UploadSession.id).where(
            UploadSession.prepared_id == upload.prepared_id,
            col(UploadSession.status).in_([UploadStatus.open, UploadStatus.completed]),
        )
    ).first()
    if holder is not None:
        raise PreparedCaptureError(
            f"prepared capture {upload.prepared_id} is being uploaded already (upload {holder})"
        )
    prepared.expires_at = max(prepared.expires_at, upload.expires_at)
    session.add(prepared)


@dataclass(frozen=True)
class _SessionBytes(Received):
    """The assembled upload. Its temp object belongs to the session, not to this attempt: a
    failed capture leaves it to the claim holder (``UploadManager.complete``), since another
    request that took the claim over may be about to promote it."""

    def keys_written(self) -> list[str]:
        return [self.key]


@dataclass
class _LiveState:
    """In-process digests and inspection of the bytes received so far."""

    offset: int
    sha256: Any = field(default_factory=hashlib.sha256)
    sm3: Any = field(default_factory=lambda: hashlib.new("sm3"))
    inspection: Inspection | None = None


class UploadManager:
    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor
        self._live: dict[str, _LiveState] = {}
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    @property
    def store(self) -> Any:
        return self.ingestor.store

    # -- create ---------------------------------------------------------------------------------
    def create(
        self,
        actor: Actor,
        port_id: str,
        metadata: CaptureMetadata,
        *,
        filename: str | None,
        total_size: int | None,
        sha256: str | None,
        signed: SignedCapture | None = None,
    ) -> UploadSession:
        """Declare an upload. With ``signed`` (a client-held key, verified by the caller) the
        upload completes that prepared capture: no custodial key is needed, and the prepared
        capture is held for this upload alone."""
        port = get_port(port_id)
        limit = self.ingestor.size_limit(port_id)
        if total_size is not None and total_size > limit:
            raise OversizeError(f"declared size exceeds the {port_id} limit of {limit} bytes")
        if signed is None:
            self.ingestor.check_signable(actor)  # refused unsigned: before any chunk is sent
        session_id = new_id()
        temp_key = TEMP_PREFIX + session_id
        try:
            upload_id = self.store.create_multipart(temp_key)
        except StorageError as exc:
            raise StoreUnavailableError(f"could not start the upload: {exc}") from exc
        now = self.ingestor.clock()
        upload = UploadSession(
            id=session_id,
            port=port_id,
            capture_metadata=metadata.as_json(),
            filename=filename,
            officer_id=actor.officer_id,
            department_id=actor.department_id,
            declared_size=total_size,
            declared_sha256=sha256.lower() if sha256 else None,
            chain_head=CHAIN_GENESIS,
            temp_key=temp_key,
            store_upload_id=upload_id,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(hours=self.ingestor.settings.upload_session_ttl_hours),
            prepared_id=signed.evidence_id if signed else None,
            signature=signed.signature if signed else None,
        )
        try:
            with session_scope(self.ingestor.engine) as session:
                if upload.prepared_id is not None:
                    _hold_prepared(session, upload)
                session.add(upload)
        except BaseException:  # no session row: its store upload goes too (else the reaper's)
            self._abort_quietly(temp_key, upload_id)
            raise
        with self._lock:
            self._live[session_id] = _LiveState(0, inspection=port.inspect())
        return upload

    def _abort_quietly(self, temp_key: str, store_upload_id: str) -> None:
        try:
            self.store.abort_multipart(temp_key, store_upload_id)
        except StorageError:
            pass

    def get(self, actor: Actor, session_id: str) -> UploadSession:
        with Session(self.ingestor.engine) as session:
            upload = session.get(UploadSession, session_id)
        if upload is None or upload.officer_id != actor.officer_id:
            raise NotFoundError(f"no upload session {session_id}")
        return upload

    # -- append ---------------------------------------------------------------------------------
    def append(
        self,
        actor: Actor,
        session_id: str,
        offset: int,
        chunks: Iterable[bytes],
        *,
        chunk_sha256: str | None = None,
    ) -> UploadSession:
        upload = self.get(actor, session_id)
        self._require_open(upload)
        if upload.evidence_id is not None:
            raise UploadStateError(
                "the upload is being completed", status_value="completing", offset=upload.offset
            )
        if upload.tail_received:
            raise UploadStateError(
                "a final short chunk was already received; complete the upload",
                offset=upload.offset,
            )
        if offset != upload.offset:
            raise UploadOffsetConflictError(
                f"Upload-Offset {offset} does not match the {upload.offset} bytes received",
                offset=upload.offset,
            )
        with self._lock:
            if session_id in self._busy:
                raise UploadOffsetConflictError(
                    "another chunk for this upload is still arriving", offset=upload.offset
                )
            self._busy.add(session_id)
            live = self._live.get(session_id)
            if live is not None and live.offset != offset:
                live = None
            self._live.pop(session_id, None)  # restored only if this chunk succeeds
        try:
            return self._append_locked(upload, chunks, chunk_sha256, live)
        finally:
            with self._lock:
                self._busy.discard(session_id)

    def _append_locked(
        self,
        upload: UploadSession,
        chunks: Iterable[bytes],
        chunk_sha256: str | None,
        live: _LiveState | None,
    ) -> UploadSession:
        limit = self.ingestor.size_limit(upload.port)
        if upload.declared_size is not None:
            limit = min(limit, upload.declared_size)
        part_number = upload.chunk_count + 1

        def guarded() -> Iterator[bytes]:
            seen = upload.offset
            for chunk in coalesce(chunks):
                seen += len(chunk)
                if seen > limit:
                    raise OversizeError(f"the upload exceeds its limit of {limit} bytes")
                if live is not None:
                    live.sha256.update(chunk)
                    live.sm3.update(chunk)
                    if live.inspection is not None:
                        live.inspection.feed(chunk)
                yield chunk

        try:
            part: PartResult = self.store.put_part(
                upload.temp_key, upload.store_upload_id, part_number, guarded()
            )
        except StorageError as exc:
            raise StoreUnavailableError(f"could not store the chunk: {exc}") from exc
        if part.size == 0:
            raise TruncatedUploadError("the chunk was empty", offset=upload.offset)
        if chunk_sha256 and chunk_sha256.lower() != part.sha256:
            raise HashMismatchError(
                "the chunk does not match its declared SHA-256; send it again",
                declared=chunk_sha256.lower(),
                received=part.sha256,
                offset=upload.offset,
            )
        now = self.ingestor.clock()
        chain_hash = chain_step(upload.chain_head, part.sha256)
        with session_scope(self.ingestor.engine) as session:
            row = session.get(UploadSession, upload.id, with_for_update=True)
            assert row is not None
            if row.offset != upload.offset or row.status != UploadStatus.open:
                raise UploadOffsetConflictError("the upload moved on meanwhile", offset=row.offset)
            if row.evidence_id is not None:
                raise UploadStateError(
                    "the upload is being completed", status_value="completing", offset=row.offset
                )
            session.add(
                UploadChunk(
                    session_id=row.id,
                    part_number=part_number,
                    offset=row.offset,
                    size=part.size,
                    sha256=part.sha256,
                    etag=part.etag,
                    chain_hash=chain_hash,
                    received_at=now,
                )
            )
            row.offset += part.size
            row.chunk_count = part_number
            row.chain_head = chain_hash
            row.tail_received = part.size < self.store.min_part_size
            row.updated_at = now
            session.add(row)
        if live is not None:
            live.offset = row.offset
            with self._lock:
                self._live[row.id] = live
        return row

    # -- complete / abort -----------------------------------------------------------------------
    def complete(
        self,
        actor: Actor,
        session_id: str,
        *,
        idempotency_key: str | None,
        signed: SignedCapture | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Make the item. A client-signed upload needs ``signed``, its prepared capture with the
        signature verified again: the item takes the prepared id, and bytes that do not give
        the signed statement are refused (``StatementMismatchError``) with nothing kept."""
        upload = self.get(actor, session_id)
        route = "POST /api/v1/uploads/{id}/complete"
        if upload.status == UploadStatus.completed and upload.evidence_id:
            return 200, self._completed_body(upload)
        self._require_open(upload)
        if upload.offset == 0:
            raise TruncatedUploadError("no bytes were received", offset=0)
        if upload.declared_size is not None and upload.offset != upload.declared_size:
            raise TruncatedUploadError(
                f"received {upload.offset} of {upload.declared_size} declared bytes",
                offset=upload.offset,
            )
        if upload.prepared_id is not None and (
            signed is None or signed.evidence_id != upload.prepared_id
        ):
            raise UploadStateError(
                "a client-signed upload is completed by its final tus PATCH",
                status_value=str(upload.status),
            )
        if signed is None:
            self.ingestor.check_signable(actor)  # refused now, the session stays open for a retry
        evidence_id = signed.evidence_id if signed else new_id()
        engine, clock = self.ingestor.engine, self.ingestor.clock
        claim = claim_completion(engine, upload, evidence_id, clock())
        if claim is None:
            return self._completed_elsewhere(actor, session_id)
        with self._lock:
            live = self._live.pop(session_id, None)
        try:
            self._assemble(upload)
        except StoreUnavailableError:
            # The store may be back soon: the session stays open for another completion.
            end_claim(engine, claim, clock(), status=UploadStatus.open, evidence_id=None)
            raise
        try:
            put, extraction = self._digest_and_inspect(upload, live, claim)
            metadata = CaptureMetadata.model_validate(upload.capture_metadata)
            key = self._begin_intake(evidence_id, signed)
            received = _SessionBytes(key, put, extraction, temp_key=upload.temp_key)
            status, body = self.ingestor.record(
                evidence_id=evidence_id,
                actor=actor,
                port_id=upload.port,
                metadata=metadata,
                filename=upload.filename,
                received=received,
                declared_sha256=upload.declared_sha256,
                idempotency_key=idempotency_key,
                route=route,
                upload_session_id=upload.id,
                chunk_chain=ChunkChain(upload.chunk_count, upload.chain_head),
                signed=signed,
            )
        except BaseException:
            aborted = end_claim(
                engine, claim, clock(), status=UploadStatus.aborted, evidence_id=None
            )
            if aborted:  # the claim was still ours: its bytes go too
                self.ingestor.discard_quietly(upload.temp_key)
            raise
        if body["id"] != evidence_id:  # an Idempotency-Key replay: the earlier capture stands
            end_claim(engine, claim, clock(), status=UploadStatus.completed, evidence_id=body["id"])
        return status, body

    def _begin_intake(self, evidence_id: str, signed: SignedCapture | None) -> str:
        """The intake row; a prepared id taken by an upload in flight (the multipart capture
        of the same prepared capture) is a ``PreparedCaptureError``."""
        try:
            return self.ingestor.begin_intake(evidence_id)
        except IntegrityError as exc:
            if signed is None:
                raise
            raise PreparedCaptureError(
                f"prepared capture {evidence_id} is being uploaded already"
            ) from exc

    def _completed_elsewhere(self, actor: Actor, session_id: str) -> tuple[int, dict[str, Any]]:
        """Another request claimed the completion: its evidence if it is there, else a 409."""
        upload = self.get(actor, session_id)
        if upload.evidence_id is not None:
            with Session(self.ingestor.engine) as session:
                done = session.get(Evidence, upload.evidence_id) is not None
            if done:
                return 200, self._completed_body(upload)
        self._require_open(upload)
        raise UploadStateError(
            "another request is completing this upload; ask again shortly",
            status_value="completing",
            offset=upload.offset,
        )

    def _assemble(self, upload: UploadSession) -> None:
        """Join the parts into the temp object. A completion that died after this step left it
        assembled already: then the object, at the recorded size, is what is used."""
        with Session(self.ingestor.engine) as session:
            parts = session.exec(
                select(UploadChunk)
                .where(UploadChunk.session_id == upload.id)
                .order_by(col(UploadChunk.part_number))
            ).all()
        try:
            self.store.complete_multipart(
                upload.temp_key,
                upload.store_upload_id,
                [PartResult(p.part_number, p.size, p.etag, p.sha256) for p in parts],
            )
        except StorageError as exc:
            try:
                assembled = self.store.stat(upload.temp_key).size == upload.offset
            except StorageError:
                assembled = False
            if not assembled:
                raise StoreUnavailableError(f"could not assemble the upload: {exc}") from exc

    def _digest_and_inspect(
        self, upload: UploadSession, live: _LiveState | None, claim: CompletionClaim
    ) -> tuple[PutResult, Extraction]:
        if live is not None and live.offset == upload.offset and live.inspection is not None:
            put = PutResult(
                upload.temp_key, upload.offset, live.sha256.hexdigest(), live.sm3.hexdigest()
            )
            return put, live.inspection.finish()
        # The in-process state is gone: read the assembled object once to rebuild it.
        live = _LiveState(0, inspection=get_port(upload.port).inspect())
        assert live.inspection is not None
        renew_at = _monotonic() + COMPLETION_RENEW_SECONDS
        for chunk in self.store.get(upload.temp_key):
            live.sha256.update(chunk)
            live.sm3.update(chunk)
            live.inspection.feed(chunk)
            live.offset += len(chunk)
            if _monotonic() >= renew_at:
                renew_claim(self.ingestor.engine, claim, self.ingestor.clock())
                renew_at = _monotonic() + COMPLETION_RENEW_SECONDS
        renew_claim(self.ingestor.engine, claim, self.ingestor.clock())
        put = PutResult(upload.temp_key, live.offset, live.sha256.hexdigest(), live.sm3.hexdigest())
        return put, live.inspection.finish()

    def abort(self, actor: Actor, session_id: str) -> UploadSession:
        upload = self.get(actor, session_id)
        self._require_open(upload)
        if claim_is_live(upload, self.ingestor.clock()):
            raise UploadStateError(
                "the upload is being completed", status_value="completing", offset=upload.offset
            )
        try:
            self.store.abort_multipart(upload.temp_key, upload.store_upload_id)
        except StorageError as exc:
            raise StoreUnavailableError(f"could not abort the upload: {exc}") from exc
        with self._lock:
            self._live.pop(session_id, None)
        now = self.ingestor.clock()
        with session_scope(self.ingestor.engine) as session:
            row = session.get(UploadSession, session_id, with_for_update=True)
            assert row is not None
            self._require_open(row)
            row.status = UploadStatus.aborted
            row.updated_at = now
            session.add(row)
            append_event(
                session,
                action=CustodyAction.upload_aborted,
                at=now,
                actor_id=actor.officer_id,
                department_id=actor.department_id,
                details={"upload_id": session_id, "bytes_received": row.offset},
            )
        return row

    def _require_open(self, upload: UploadSession) -> None:
        if upload.status != UploadStatus.open:
            raise UploadStateError(
                f"the upload is {upload.status}", status_value=str(upload.status)
            )

    def _completed_body(self, upload: UploadSession) -> dict[str, Any]:
        assert upload.evidence_id is not None
        return evidence_body(self.ingestor.engine, upload.evidence_id)


def session_public(upload: UploadSession, min_part_size: int) -> dict[str, Any]:
    return {
        "id": upload.id,
        "port": upload.port,
        "status": str(upload.status),
        "offset": upload.offset,
        "total_size": upload.declared_size,
        "chunk_count": upload.chunk_count,
        "chain_head": upload.chain_head,
        "tail_received": upload.tail_received,
        "min_part_size": min_part_size,
        "evidence_id": upload.evidence_id,
        "expires_at": rfc3339(upload.expires_at),
    }
