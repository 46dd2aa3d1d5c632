"""Crash recovery: finish what was committed, remove what never was.

Runs at start-up and periodically. After it, every ``Evidence`` row has its final object under
retention; no intake older than the limit that never got its row has objects left (but for
the rows this process wrote ahead and has not handed out yet, :mod:`.reserved`); no temp
object (resumable uploads) older than the limit remains without a row or session that needs it;
and no spooled request file (:func:`request_spool_dir`: an uploaded package being verified)
older than the limit remains — a process killed mid-request leaves its file there, never in the
system's temp directory where nothing would find it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete
from sqlmodel import Session, col, select

from evidence_service.access.refusals import purge_refusals
from evidence_service.capture.client_signing import purge_expired
from evidence_service.capture.ingest import DERIVED_ROLES, TEMP_PREFIX, Ingestor
from evidence_service.capture.models import Evidence, PendingIntake, UploadSession, UploadStatus
from evidence_service.capture.tus import purge_settled
from evidence_service.core.config import Settings
from evidence_service.core.db import session_scope
from storage.errors import StorageError

log = logging.getLogger(__name__)


def request_spool_dir(settings: Settings) -> Path:
    """Where a request spools what it cannot stream (``<data dir>/spool``), created on first
    use. Its files belong to requests in flight; the reaper removes those older than the temp
    TTL, which only a crashed process leaves."""
    path = settings.data_dir / "spool"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class ReapReport:
    finalized: int
    discarded: int
    expired_sessions: int
    abandoned_intakes: int = 0
    expired_prepared: int = 0
    spooled_files: int = 0
    refusals: int = 0  # rows of the refused-request log past their retention


def reap(ingestor: Ingestor, *, temp_ttl: timedelta) -> ReapReport:
    now = ingestor.clock()
    abandoned = 0
    with Session(ingestor.engine) as session:
        stale_intakes = session.exec(
            select(PendingIntake).where(col(PendingIntake.started_at) < now - temp_ttl)
        ).all()
    written_ahead = ingestor.reserved.unused()  # this process may still hand them out
    for intake in stale_intakes:
        if intake.id in written_ahead:
            continue
        keys = [intake.object_key] + [f"{intake.object_key}.{r}" for r in DERIVED_ROLES]
        if ingestor.discard_quietly(*keys):
            with session_scope(ingestor.engine) as session:
                session.execute(delete(PendingIntake).where(col(PendingIntake.id) == intake.id))
            abandoned += 1

    finalized = 0
    with Session(ingestor.engine) as session:
        pending = session.exec(select(Evidence.id).where(col(Evidence.finalized).is_(False))).all()
    for evidence_id in pending:
        try:
            ingestor.finalize(evidence_id)
            finalized += 1
        except StorageError:
            log.exception("could not finalize %s yet", evidence_id)

    expired = 0
    with Session(ingestor.engine) as session:
        stale = session.exec(
            select(UploadSession).where(
                UploadSession.status == UploadStatus.open, col(UploadSession.expires_at) < now
            )
        ).all()
    for upload in stale:
        try:
            ingestor.store.abort_multipart(upload.temp_key, upload.store_upload_id)
        except StorageError:
            log.warning("could not abort multipart of expired upload %s", upload.id)
        with session_scope(ingestor.engine) as session:
            row = session.get(UploadSession, upload.id)
            if row is not None and row.status == UploadStatus.open:
                row.status = UploadStatus.expired
                row.updated_at = now
                session.add(row)
                expired += 1
    purge_settled(ingestor.engine)  # tus bytes of sessions that ended, or appended already

    with Session(ingestor.engine) as session:
        needed = set(
            session.exec(select(Evidence.temp_key).where(col(Evidence.temp_key).is_not(None))).all()
        )
        needed |= set(
            session.exec(
                select(UploadSession.temp_key).where(UploadSession.status == UploadStatus.open)
            ).all()
        )
    discarded = 0
    for key, modified in list(ingestor.store.list_keys(TEMP_PREFIX)):
        if key in needed or now - modified < temp_ttl:
            continue
        try:
            ingestor.store.discard(key)
            discarded += 1
        except StorageError:
            log.warning("could not discard orphan temp object %s", key)
    prepared = purge_expired(ingestor.engine, now)
    spooled = reap_spool(request_spool_dir(ingestor.settings), now=now, ttl=temp_ttl)
    refusals = purge_refusals(
        ingestor.engine, now=now, retention_days=ingestor.settings.refused_request_retention_days
    )
    return ReapReport(finalized, discarded, expired, abandoned, prepared, spooled, refusals)


def reap_spool(directory: Path, *, now: datetime, ttl: timedelta) -> int:
    """Remove the regular files of ``directory`` last written more than ``ttl`` before
    ``now``; how many. A file still being written is younger (each write moves its time)."""
    removed = 0
    with os.scandir(directory) as entries:
        for entry in entries:
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                modified = datetime.fromtimestamp(entry.stat(follow_symlinks=False).st_mtime, UTC)
                if now - modified < ttl:
                    continue
                os.unlink(entry.path)
                removed += 1
            except FileNotFoundError:  # its request finished and removed it meanwhile
                continue
            except OSError:
                log.warning("could not remove spooled file %s", entry.path)
    return removed
