"""Intake: stream bytes into an unlocked object, record the evidence, then finalize.

Order of effects, chosen so a crash at any point leaves neither a row without an object nor an
object without a row once the reaper has run:

0. a ``PendingIntake`` row names the key the bytes are about to take (a new item's id comes
   with its row written ahead, in a batch for several captures: :mod:`.reserved`; a prepared
   id's row is written by its capture);
1. the bytes stream to ``evidence/YYYY/MM/<id>`` (size, SHA-256 and SM3 computed in the same
   pass, the port inspecting the same chunks). The object is unlocked and no API reaches it yet;
   any failure discards the partial object. (Resumable uploads assemble under ``tmp/<session>``
   instead and are promoted in step 3.)
2. one transaction writes the ``Evidence`` row, its derived files and the first custody event
   ``captured``, and deletes the intake row — or does nothing. It also confirms that the
   caller's token still authenticates them and that the certificate that signed the statement
   is still unrevoked: a capture may start from a token and sign with a certificate read a
   moment earlier (remembered for a stream of captures), and one revoked since, or while its
   bytes streamed, records nothing (401; a statement signed with a revoked certificate is
   signed again on a fresh read: unsigned, or refused with 422, as a new capture would be);
3. finalize: set COMPLIANCE retention on the object and its derived files, mark the row
   finalized. A crash here is finished by the reaper on the next start.

Writing straight to the final key, not to a temp key promoted afterwards, spares S3 a server-side
copy of every file; the intake row gives the reaper what the temp prefix would have.

Every step is durable before the next begins and all of them before the 201: the bytes and the
retention sidecar are fsynced (file and directory entry) by the store, each transaction commits
synchronously. The one-statement transactions of steps 0 and 3 (intake rows, finalized mark)
share their commit with those of concurrent captures (:mod:`.group_commit`), and step 3 as a
whole is done for concurrent captures together (:meth:`Ingestor.finalize`): one store batch
sets their retentions (on local disk, one directory fsync for their sidecars), one UPDATE marks
them. Each caller still returns only once its own effects are durable.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Insert, Table, bindparam, delete, insert, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, SQLModel, col, select

from evidence_service.access.custodial import certificates_revoked, unsigned_capture_refusal
from evidence_service.access.identity import Actor, tokens_refused
from evidence_service.anchoring.batches import statement_leaf
from evidence_service.capture.batching import LeaderBatcher
from evidence_service.capture.group_commit import GroupCommitter, Later
from evidence_service.capture.metadata import CaptureMetadata
from evidence_service.capture.models import (
    DerivedObject,
    Evidence,
    IdempotencyRecord,
    PendingIntake,
    PreparedCapture,
)
from evidence_service.capture.ports.base import Extraction, Inspection
from evidence_service.capture.ports.registry import get_port
from evidence_service.capture.reserved import IntakeReservations
from evidence_service.capture.tagging import capture_tags
from evidence_service.capture.views import evidence_body, evidence_public
from evidence_service.core import driver
from evidence_service.core.clock import Clock, rfc3339, utcnow
from evidence_service.core.config import Settings
from evidence_service.core.db import session_scope
from evidence_service.core.errors import (
    HashMismatchError,
    IdempotencyConflictError,
    OversizeError,
    PreparedCaptureError,
    SigningCertificateChangedError,
    StatementMismatchError,
    StoreUnavailableError,
    UnsignedCaptureError,
)
from evidence_service.core.ids import new_id
from evidence_service.core.remembered import Remembered
from evidence_service.core.rows import built
from evidence_service.custody.log import CustodyAction, pending_event
from evidence_service.verify.statement import CaptureStatement
from signing.jcs import canonicalize
from storage.base import ObjectStore, PutResult, set_retentions
from storage.errors import SizeLimitError, StorageError

log = logging.getLogger(__name__)

COALESCE_BYTES = 1024 * 1024
TEMP_PREFIX = "tmp/"
#: How long a passed :meth:`Ingestor.precheck_signable` is trusted for the same officer.
SIGNABLE_PRECHECK_SECONDS = 5.0
#: Every role a port may derive; the reaper removes ``<key>.<role>`` for an abandoned intake.
DERIVED_ROLES = ("thumbnail", "rendering", "document")


def insert_rows(later: Later, rows: Iterable[SQLModel]) -> None:
    """INSERT new rows with SQL Core at the end of the group commit's work, each table's rows
    of the whole group in one statement: what ``session.add`` + flush would write, without the
    unit of work's bookkeeping (a capture writes half a dozen rows it never reads back). A
    ``None`` primary key is left to the database."""
    for row in rows:
        table = row.__table__  # type: ignore[attr-defined]
        later.execute(
            _insert_into(table),
            {
                c.name: getattr(row, c.name)
                for c in table.columns
                if not (c.primary_key and getattr(row, c.name) is None)
            },
        )


@functools.cache
def _insert_into(table: Table) -> Insert:
    """One INSERT object per table: a statement built afresh per call pays for its cache key
    (SQLAlchemy memoises it on the object) on every capture. Inline: nothing reads the keys
    the database generates, so PostgreSQL is not asked to return them (``RETURNING``)."""
    return insert(table).inline()


def final_key(evidence_id: str, received_at: datetime) -> str:
    return f"evidence/{received_at:%Y/%m}/{evidence_id}"


def coalesce(chunks: Iterable[bytes], size: int = COALESCE_BYTES) -> Iterator[bytes]:
    """Regroup small network chunks into ~``size`` blocks (fewer hashing and I/O calls)."""
    buffer = bytearray()
    for chunk in chunks:
        if not buffer and len(chunk) >= size:
            yield chunk
            continue
        buffer += chunk
        if len(buffer) >= size:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def inspected(chunks: Iterable[bytes], inspection: Inspection) -> Iterator[bytes]:
    for chunk in chunks:
        inspection.feed(chunk)
        yield chunk


@dataclass(frozen=True)
class Received:
    """Bytes that are safely stored, unlocked, with everything learned while they streamed."""

    key: str  # the final object key
    put: PutResult
    extraction: Extraction
    temp_key: str | None = None  # set when the bytes still sit elsewhere (resumable uploads)

    def keys_written(self) -> list[str]:
        return [self.temp_key or self.key]


@dataclass(frozen=True)
class ChunkChain:
    count: int
    head: str


@dataclass(frozen=True)
class Capture:
    """Everything known about one capture before its row is written."""

    evidence_id: str
    actor: Actor
    port_id: str
    metadata: CaptureMetadata
    filename: str | None
    received: Received
    upload_session_id: str | None = None
    chunk_chain: ChunkChain | None = None


def idempotency_record(
    actor: Actor,
    key: str,
    route: str,
    fingerprint: str,
    status: int,
    body: dict[str, Any],
    at: datetime,
) -> IdempotencyRecord:
    return IdempotencyRecord(
        actor_id=actor.officer_id,
        key=key,
        route=route,
        fingerprint=fingerprint,
        status_code=status,
        response=body,
        created_at=at,
    )


def request_fingerprint(route: str, **parts: Any) -> str:
    return hashlib.sha256(canonicalize({"route": route, **parts})).hexdigest()


@dataclass(frozen=True)
class SignedCapture:
    """A prepared statement and the officer's verified signature over it (client-held key)."""

    evidence_id: str
    received_at: datetime
    statement: dict[str, Any]
    signature: dict[str, Any]


class StatementSigner(Protocol):
    """Signs a capture statement for an officer at a time: the PROOF_FORMAT.md signature block
    and the serial of the certificate that signed, or None when the officer has no signing key
    here and their department allows an unsigned statement; raises UnsignedCaptureError when it
    does not. It may sign with a certificate it read a moment ago (the capture confirms that
    certificate unrevoked when it is recorded); ``fresh`` asks it to read the certificate now."""

    def __call__(
        self, statement: dict[str, Any], officer_id: str, at: datetime, *, fresh: bool = False
    ) -> tuple[dict[str, Any], str] | None: ...


#: Rows a wing above capture adds in the capture transaction itself (the graph edges of
#: ``cases.capture_edges``), so an item never exists without them.
CaptureHook = Callable[[Session, Evidence, datetime], Iterable[SQLModel]]


class Ingestor:
    """Turns a stream of bytes plus capture metadata into a finalized evidence item."""

    def __init__(
        self,
        *,
        engine: Engine,
        store: ObjectStore,
        settings: Settings,
        clock: Clock = utcnow,
        signer: StatementSigner | None = None,
        capture_hooks: Sequence[CaptureHook] = (),
    ) -> None:
        self.engine = engine
        self.capture_hooks = tuple(capture_hooks)
        self.store = store
        self.settings = settings
        self.clock = clock
        self.signer = signer
        #: Officers whose early "can it be signed" check passed (:meth:`precheck_signable`).
        self._signable_passes: Remembered[str, bool] = Remembered(SIGNABLE_PRECHECK_SECONDS)
        #: The capture's write transactions (intake row, the item, finalized mark) share
        #: commits; concurrent intake rows and marks go in one executemany each.
        self.commits = GroupCommitter(engine)
        self._finalizer: LeaderBatcher[Finalization, None] = LeaderBatcher(self._finalize_batch)
        #: Ids of new items whose intake rows are written ahead, a batch per transaction.
        self.reserved = IntakeReservations(self._write_reserved, clock, final_key)

    # -- step 1 ---------------------------------------------------------------------------------
    def size_limit(self, port_id: str) -> int:
        port = get_port(port_id)
        limit = self.settings.max_upload_bytes
        return min(limit, port.max_size) if port.max_size else limit

    def begin_intake(self, evidence_id: str) -> str:
        """Record the key an upload of a given id is about to take (step 0); returns that key.
        An id already taken by an intake in flight raises ``IntegrityError``."""
        started = self.clock()
        key = final_key(evidence_id, started)
        row = {"id": evidence_id, "object_key": key, "started_at": started}
        self.commits.run(_INSERT_INTAKE, row)
        return key

    def receive(self, evidence_id: str, port_id: str, chunks: Iterable[bytes]) -> Received:
        """Stream the bytes of a given id (a prepared capture's) into its final key while the
        port inspects them; nothing is left on failure."""
        get_port(port_id)  # an unknown port writes nothing
        return self._stream(evidence_id, self.begin_intake(evidence_id), port_id, chunks)

    def receive_new(self, port_id: str, chunks: Iterable[bytes]) -> tuple[str, Received]:
        """As :meth:`receive`, for a new item: its id comes with an intake row written ahead
        (:mod:`.reserved`), so the capture does not wait for a commit of its own first."""
        get_port(port_id)
        evidence_id, key = self.reserved.take()
        return evidence_id, self._stream(evidence_id, key, port_id, chunks)

    def _stream(
        self, evidence_id: str, key: str, port_id: str, chunks: Iterable[bytes]
    ) -> Received:
        limit = self.size_limit(port_id)
        try:
            inspection = get_port(port_id).inspect()
            put = self.store.put(key, inspected(coalesce(chunks), inspection), max_size=limit)
            extraction = inspection.finish()
        except SizeLimitError as exc:
            self.abandon(evidence_id, key)
            raise OversizeError(
                f"the file exceeds the {port_id} limit of {limit} bytes", limit=limit
            ) from exc
        except StorageError as exc:
            self.abandon(evidence_id, key)
            raise StoreUnavailableError(f"could not store the upload: {exc}") from exc
        except BaseException:
            self.abandon(evidence_id, key)
            raise
        return Received(key, put, extraction)

    def _write_reserved(self, rows: list[dict[str, Any]], dropped: list[str]) -> None:
        """Write intake rows ahead and drop those that aged unused (:mod:`.reserved`): one
        committed transaction, shared with concurrent captures' when there is nothing to
        drop (the common case)."""
        if not dropped:
            self.commits.run(_INSERT_INTAKE, rows)
            return

        def write(session: Session, _later: Later) -> None:
            connection = session.connection()
            driver.execute(connection, _DROP_INTAKE, [{"intake_id": i} for i in dropped])
            if rows:
                driver.execute(connection, _INSERT_INTAKE, rows)

        self.commits.run_work(write)

    def close(self) -> None:
        """Drop the intake rows written ahead and not used (best effort: the reaper drops
        what is left once it is old)."""
        try:
            self.reserved.release()
        except SQLAlchemyError:
            log.warning("could not drop the unused intake rows; the reaper will")

    def abandon(self, evidence_id: str, *keys: str) -> None:
        """Remove what a failed intake wrote (best effort: the reaper finishes the job)."""
        if self.discard_quietly(*keys):
            try:
                self.commits.run(_DROP_INTAKE, {"intake_id": evidence_id})
            except SQLAlchemyError:
                log.warning("could not drop intake %s; the reaper will", evidence_id)

    def discard_quietly(self, *keys: str) -> bool:
        """Discard unlocked objects; False if any could not be (the reaper retries)."""
        done = True
        for key in keys:
            try:
                self.store.discard(key)
            except StorageError:
                log.warning("could not discard object %s; the reaper will", key)
                done = False
        return done

    # -- signing --------------------------------------------------------------------------------
    def check_signable(self, actor: Actor) -> None:
        """Refuse (:class:`UnsignedCaptureError`, 422) a capture whose statement could not be
        signed while the officer's department requires signed captures — called before a byte
        is stored, so the refusal keeps nothing. Client-signed captures need no such check."""
        refusal = unsigned_capture_refusal(
            self.engine, actor.officer_id, self.clock(), signing=self.signer is not None
        )
        if refusal is not None:
            raise UnsignedCaptureError(refusal, officer_id=actor.officer_id)

    def precheck_signable(self, actor: Actor) -> None:
        """:meth:`check_signable` for a one-request capture, whose passes are remembered for
        :data:`SIGNABLE_PRECHECK_SECONDS` per officer (a refusal is never remembered).

        Safe because the check is only an early refusal: :meth:`sign` decides again before
        anything is recorded, and the recording transaction confirms the certificate that
        signed — a certificate revoked within those seconds still gets the same 422, only after
        the bytes streamed, and they are discarded."""
        if self.signer is None:
            self.check_signable(actor)
            return
        if self._signable_passes.get(actor.officer_id):
            return
        self.check_signable(actor)
        self._signable_passes.put(actor.officer_id, True)

    def sign(
        self, statement: dict[str, Any], actor: Actor, at: datetime, *, fresh: bool = False
    ) -> tuple[dict[str, Any] | None, str | None]:
        """The statement's signature block by the service's signer (which refuses what the
        officer's department would refuse unsigned) and the serial of the certificate that
        signed, or (None, None): an unsigned statement. ``fresh``: the signer reads the
        officer's certificate afresh."""
        if self.signer is None:
            self.check_signable(actor)
            return None, None
        signed = self.signer(statement, actor.officer_id, at, fresh=fresh)
        return signed if signed is not None else (None, None)

    # -- steps 2 and 3 --------------------------------------------------------------------------
    def record(
        self,
        *,
        evidence_id: str,
        actor: Actor,
        port_id: str,
        metadata: CaptureMetadata,
        filename: str | None,
        received: Received,
        declared_sha256: str | None,
        idempotency_key: str | None,
        route: str,
        upload_session_id: str | None = None,
        chunk_chain: ChunkChain | None = None,
        signed: SignedCapture | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Record and finalize; returns (HTTP status, public body). Discards objects on error.

        With ``signed`` the statement built from the received bytes must equal the prepared,
        signed one (else StatementMismatchError and nothing is kept)."""
        written = received.keys_written()
        try:
            if declared_sha256 and declared_sha256.lower() != received.put.sha256:
                raise HashMismatchError(
                    "the bytes received do not match the declared SHA-256",
                    declared=declared_sha256.lower(),
                    received=received.put.sha256,
                )
            fingerprint = ""  # only a request with an Idempotency-Key is compared with another
            if idempotency_key:
                fingerprint = request_fingerprint(
                    route,
                    port=port_id,
                    metadata=metadata.as_json(),
                    filename=filename,
                    sha256=received.put.sha256,
                    size=received.put.size,
                )
                replay = self.replay(actor, idempotency_key, route, fingerprint)
                if replay is not None:
                    self.abandon(evidence_id, *written)
                    return replay[0], evidence_body(self.engine, replay[1]["id"])
            capture = Capture(
                evidence_id,
                actor,
                port_id,
                metadata,
                filename,
                received,
                upload_session_id,
                chunk_chain,
            )
            received_at = signed.received_at if signed else self.clock()
            evidence = evidence_row(capture, received_at)
            if signed is not None:
                if evidence.statement != signed.statement:
                    differing = sorted(
                        k for k, v in signed.statement.items() if evidence.statement.get(k) != v
                    )
                    raise StatementMismatchError(
                        "the file and metadata do not give the statement that was signed",
                        fields=differing,
                    )
                signature: dict[str, Any] | None = signed.signature
                serial = None  # the officer's own key: checked on the CRL before the bytes came
            else:
                signature, serial = self.sign(evidence.statement, actor, received_at)
            derived_rows = []
            for derived in received.extraction.derived:
                key = f"{received.key}.{derived.role}"
                put = self.store.put(key, [derived.data])
                written.append(key)
                derived_rows.append(
                    DerivedObject(
                        id=new_id(),
                        evidence_id=evidence_id,
                        role=derived.role,
                        media_type=derived.media_type,
                        size=put.size,
                        sha256=put.sha256,
                        object_key=key,
                    )
                )
            # Everything that needs no database is built before the write transaction.
            fixed_rows: list[SQLModel] = [*derived_rows, *capture_tags(evidence, received_at)]
            leaf = statement_leaf(evidence_id, evidence.statement, received_at)
            body = evidence_public(evidence, derived_rows)  # it shows no signature
            idempotency = (
                idempotency_record(
                    actor, idempotency_key, route, fingerprint, 201, body, received_at
                )
                if idempotency_key
                else None
            )
            for again in (False, True):  # again: the signing certificate was revoked meanwhile
                evidence.signature = signature
                captured_event = pending_event(  # its details name the signature
                    action=CustodyAction.captured,
                    at=received_at,
                    evidence_id=evidence_id,
                    actor_id=actor.officer_id,
                    department_id=actor.department_id,
                    details=self._captured_details(evidence, chunk_chain),
                )
                write = self._write_work(
                    evidence,
                    fixed_rows,
                    leaf,
                    captured_event,
                    idempotency,
                    prepared=signed is not None,
                    token_id=actor.token_id,
                    serial=serial,
                )
                try:
                    self.commits.run_work(write)
                    break
                except SigningCertificateChangedError:
                    if again:
                        raise
                    # Sign again, reading the officer's certificate afresh: what a capture
                    # that began after the revocation would have met (unsigned, or refused).
                    signature, serial = self.sign(
                        evidence.statement, actor, received_at, fresh=True
                    )
                except IntegrityError:
                    if not idempotency_key:
                        raise
                    # A concurrent request with the same Idempotency-Key won the race.
                    replay = self.replay(actor, idempotency_key, route, fingerprint)
                    if replay is None:
                        raise
                    self.abandon(evidence_id, *written)
                    return replay[0], evidence_body(self.engine, replay[1]["id"])
        except StorageError as exc:
            self.abandon(evidence_id, *written)
            raise StoreUnavailableError(f"could not store derived files: {exc}") from exc
        except BaseException:
            self.abandon(evidence_id, *written)
            raise
        try:
            self.finalize(evidence_id, known=(evidence, derived_rows))
            body["finalized"] = True
        except StorageError:
            log.exception("finalize of %s failed; the reaper will finish it", evidence_id)
        return 201, body

    def _write_work(
        self,
        evidence: Evidence,
        fixed_rows: list[SQLModel],
        leaf: SQLModel,
        captured_event: tuple[Any, ...],
        idempotency: IdempotencyRecord | None,
        *,
        prepared: bool,
        token_id: str,
        serial: str | None,
    ) -> Callable[[Session, Later], None]:
        """The item's rows, in a write transaction shared with concurrent captures
        (group_commit.py), each table's rows of the group in one INSERT; the caller's token
        and the certificate that signed confirmed in it. Safe to run again: it builds only
        fresh rows."""
        evidence_id, received_at = evidence.id, evidence.received_at

        def write(session: Session, later: Later) -> None:
            if token_id:  # a capture counts only if its token still authenticates its caller
                later.confirm(self._tokens_refused, token_id)
            if serial is not None:
                later.confirm(certificates_revoked, serial)
            insert_rows(later, [evidence])
            rows = list(fixed_rows)
            for hook in self.capture_hooks:
                rows.extend(hook(session, evidence, received_at))
            insert_rows(later, rows)
            later.execute(_DROP_INTAKE, {"intake_id": evidence_id})
            if prepared:  # at once, for its row count (Core: not the ORM's DML)
                used = session.connection().execute(_USE_PREPARED, {"prepared_id": evidence_id})
                if used.rowcount != 1:  # type: ignore[attr-defined]
                    raise PreparedCaptureError("the prepared capture was already used")
            insert_rows(later, [leaf])
            later.execute(*captured_event)
            if idempotency is not None:
                insert_rows(later, [idempotency])

        return write

    def _tokens_refused(
        self, connection: Connection, token_ids: frozenset[str]
    ) -> dict[str, Exception]:
        return tokens_refused(connection, token_ids, now=self.clock())

    @staticmethod
    def _captured_details(evidence: Evidence, chain: ChunkChain | None) -> dict[str, Any]:
        details: dict[str, Any] = {
            "port": evidence.port,
            "sha256": evidence.sha256,
            "sm3": evidence.sm3,
            "size": evidence.size,
            "statement_sha256": evidence.statement_sha256,
        }
        if evidence.signature is not None:
            details["signature"] = {
                "alg": evidence.signature["alg"],
                "sha256": hashlib.sha256(evidence.signature["value"].encode()).hexdigest(),
            }
        if chain is not None:
            details["chunk_chain"] = {"count": chain.count, "head": chain.head}
        return details

    def replay(
        self, actor: Actor, key: str, route: str, fingerprint: str
    ) -> tuple[int, dict[str, Any]] | None:
        """The stored answer for a repeated Idempotency-Key, a conflict, or None if unseen."""
        with Session(self.engine) as session:
            record = session.exec(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.actor_id == actor.officer_id, IdempotencyRecord.key == key
                )
            ).first()
        if record is None:
            return None
        if record.route != route or record.fingerprint != fingerprint:
            raise IdempotencyConflictError(
                "this Idempotency-Key was used for a different request", idempotency_key=key
            )
        return record.status_code, record.response

    def remember(
        self,
        actor: Actor,
        key: str,
        route: str,
        fingerprint: str,
        status: int,
        body: dict[str, Any],
    ) -> None:
        """Store the answer to an idempotent request (a concurrent twin's answer wins)."""
        try:
            with session_scope(self.engine) as session:
                session.add(
                    idempotency_record(actor, key, route, fingerprint, status, body, self.clock())
                )
        except IntegrityError:
            self.replay(actor, key, route, fingerprint)

    def finalize(
        self,
        evidence_id: str,
        *,
        known: tuple[Evidence, list[DerivedObject]] | None = None,
    ) -> None:
        """Promote a resumable upload's object to its key, put COMPLIANCE retention for the
        item's category (``Settings.retention_years``) on it and its derived files, and mark the
        row finalized with that ``retention_until``.

        Concurrent captures finalize together (:class:`~.batching.LeaderBatcher`): one store
        batch for their retentions (one directory fsync on the local store) and one UPDATE for
        their marks; each caller returns once its own item is finalized, or raises its own
        ``StorageError``. Idempotent, so the reaper can finish what a crash interrupted.

        ``known`` passes the rows the caller just wrote, saving a read on the hot path.
        """
        if known is None:
            with Session(self.engine) as session:
                evidence_row = session.get(Evidence, evidence_id)
                if evidence_row is None or evidence_row.finalized:
                    return
                derived = list(
                    session.exec(
                        select(DerivedObject).where(DerivedObject.evidence_id == evidence_id)
                    ).all()
                )
            known = (evidence_row, derived)
        evidence, derived = known
        self._finalizer.submit(
            Finalization(
                evidence_id=evidence_id,
                object_key=evidence.object_key,
                temp_key=evidence.temp_key,
                derived_keys=tuple(d.object_key for d in derived),
                until=self.settings.retention_until(evidence.port, evidence.received_at),
            )
        )

    def _finalize_batch(self, batch: Sequence[Finalization]) -> list[None | BaseException]:
        outcomes: list[None | BaseException] = [None] * len(batch)
        for index, item in enumerate(batch):
            if item.temp_key is not None:
                try:
                    self.store.promote(item.temp_key, item.object_key)
                except StorageError as exc:
                    outcomes[index] = exc
        wanted = [
            (index, key)
            for index, item in enumerate(batch)
            if outcomes[index] is None
            for key in (item.object_key, *item.derived_keys)
        ]
        refusals = set_retentions(self.store, [(key, batch[i].until) for i, key in wanted])
        recorded = {index: item.until for index, item in enumerate(batch)}
        for (index, key), refused in zip(wanted, refusals, strict=True):
            if refused is None or outcomes[index] is not None:
                continue
            # A rerun after the policy was shortened: the store keeps the longer date
            # (retention is never shortened), and the row records that longer date.
            try:
                current = self.store.stat(key).retain_until
            except StorageError as exc:
                outcomes[index] = exc
                continue
            if current is None or current < batch[index].until:
                outcomes[index] = refused
            else:
                recorded[index] = max(recorded[index], current)
        marks = [
            {"mark_id": item.evidence_id, "mark_until": recorded[index]}
            for index, item in enumerate(batch)
            if outcomes[index] is None
        ]
        if marks:
            self.commits.run(_FINALIZED_MARK, marks)
        return outcomes


#: Records an intake (merged by the group committer with concurrent ones: one executemany).
_INSERT_INTAKE = insert(PendingIntake)
#: Drops an abandoned intake's row.
_DROP_INTAKE = delete(PendingIntake).where(col(PendingIntake.id) == bindparam("intake_id"))
#: Consumes a prepared capture (its rowcount says whether it was still there).
_USE_PREPARED = delete(PreparedCapture).where(col(PreparedCapture.id) == bindparam("prepared_id"))
#: Marks finalized items (an executemany over ``mark_id`` / ``mark_until``).
_FINALIZED_MARK = (
    update(Evidence)
    .where(col(Evidence.id) == bindparam("mark_id"))
    .values(finalized=True, temp_key=None, retention_until=bindparam("mark_until"))
)


@dataclass(frozen=True)
class Finalization:
    """What finalizing one item needs: its keys and the retention its category gets."""

    evidence_id: str
    object_key: str
    temp_key: str | None
    derived_keys: tuple[str, ...]
    until: datetime


def capture_statement(
    evidence_id: str,
    actor: Actor,
    port_id: str,
    metadata: CaptureMetadata,
    *,
    sha256: str,
    sm3: str,
    size: int,
    media_type: str,
    received_at: datetime,
    metadata_sha256: str | None = None,
) -> CaptureStatement:
    """The statement of a capture: what the officer signs and what becomes the Merkle leaf
    (``metadata_sha256``: ``metadata.sha256()`` when the caller has it already)."""
    return CaptureStatement(
        evidence_id=evidence_id,
        port=port_id,
        sha256=sha256,
        sm3=sm3,
        size=size,
        media_type=media_type,
        captured_at=rfc3339(metadata.captured_at or received_at),
        received_at=rfc3339(received_at),
        officer_id=actor.officer_id,
        department_id=actor.department_id,
        metadata_sha256=metadata_sha256 or metadata.sha256(),
    )


def evidence_row(capture: Capture, received_at: datetime) -> Evidence:
    """The row (with its capture statement) for bytes received and checked."""
    evidence_id, actor, port_id = capture.evidence_id, capture.actor, capture.port_id
    metadata, received, chunk_chain = capture.metadata, capture.received, capture.chunk_chain
    captured_at = metadata.captured_at or received_at
    metadata_json = metadata.as_json()
    metadata_sha256 = hashlib.sha256(canonicalize(metadata_json)).hexdigest()
    statement = capture_statement(
        evidence_id,
        actor,
        port_id,
        metadata,
        sha256=received.put.sha256,
        sm3=received.put.sm3,
        size=received.put.size,
        media_type=received.extraction.media_type,
        received_at=received_at,
        metadata_sha256=metadata_sha256,
    )
    location = metadata.location
    return built(
        Evidence,
        id=evidence_id,
        port=port_id,
        title=metadata.title,
        description=metadata.description,
        captured_at=captured_at,
        received_at=received_at,
        officer_id=actor.officer_id,
        department_id=actor.department_id,
        original_filename=capture.filename,
        location_lat=location.lat if location else None,
        location_lon=location.lon if location else None,
        location_address=location.address if location else None,
        tags=[t.model_dump(mode="json") for t in metadata.tags],
        capture_metadata=metadata_json,
        metadata_sha256=metadata_sha256,
        media_type=received.extraction.media_type,
        size=received.put.size,
        sha256=received.put.sha256,
        sm3=received.put.sm3,
        extracted=received.extraction.fields,
        statement=statement.as_json(),
        statement_sha256=statement.sha256_hex(),
        object_key=received.key,
        temp_key=received.temp_key,
        finalized=False,
        upload_session_id=capture.upload_session_id,
        chunk_chain_head=chunk_chain.head if chunk_chain else None,
        chunk_count=chunk_chain.count if chunk_chain else None,
    )
