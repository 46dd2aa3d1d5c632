"""The anchoring worker: one at a time closes batches and anchors their roots.

It runs as a thread inside ``evidence serve`` and alone as ``evidence worker``. Several may be
started (API replicas, a spare worker); only the holder of the worker lock anchors — a session
advisory lock on PostgreSQL, an exclusive file lock beside the SQLite file — and the others wait
to take over. The chain is opened only by the holder (the embedded chain admits one process).

Nothing is lost while the chain is down: leaves stay pending, the closed batch is retried with
exponential backoff, and no new batch closes until it is anchored.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from chain.base import AnchorChain
from chain.errors import ChainError, ChainUnavailableError
from evidence_service.anchoring.batches import (
    anchor_batch,
    close_batch,
    pending_state,
    record_failure,
    unanchored_batches,
)
from evidence_service.anchoring.chain_link import ChainHolder, ensure_registry
from evidence_service.anchoring.custody_jobs import CustodyUpkeep, chain_reader
from evidence_service.anchoring.models import AnchorBatch
from evidence_service.core.clock import Clock, utcnow
from evidence_service.core.config import Settings
from evidence_service.core.metrics import BATCH_SIZES, CHAIN_ERRORS

log = logging.getLogger(__name__)

ANCHOR_LOCK_KEY = 0x45564944414E4348  # "EVIDANCH"
TICK_SECONDS = 0.2
#: The longest wait between two rounds of the lead worker: a batch closes at most this late
#: (or a fifth of ``anchor_interval``, when that is shorter) after it is due. Each round asks
#: the database several questions, so asking five times a second cost the API a few percent.
MAX_TICK_SECONDS = 1.0
RETRY_BASE_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0
LOCK_RETRY_SECONDS = 2.0


class WorkerLock(Protocol):
    def acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...


class PostgresWorkerLock:
    """A session-level advisory lock on a connection kept for as long as the lock is held."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        if self._conn is not None:
            return True
        conn = self.engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ANCHOR_LOCK_KEY})
            if got.scalar():
                conn.commit()
                self._conn = conn
                return True
        except SQLAlchemyError:
            log.warning("could not ask for the anchoring lock", exc_info=True)
        conn.close()
        return False

    def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except SQLAlchemyError:  # the connection died, and the lock with it
            self.release()
            return False

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ANCHOR_LOCK_KEY})
                conn.commit()
            except SQLAlchemyError:
                pass
            conn.close()


class FileWorkerLock:
    """An exclusive flock; the kernel drops it when the holder dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def worker_lock(engine: Engine, settings: Settings) -> WorkerLock:
    if engine.dialect.name == "postgresql":
        return PostgresWorkerLock(engine)
    database = engine.url.database
    path = Path(f"{database}.anchor-lock") if database else settings.data_dir / "anchor.lock"
    return FileWorkerLock(path)


@dataclass(frozen=True)
class RetryPolicy:
    base: float = RETRY_BASE_SECONDS
    cap: float = RETRY_MAX_SECONDS

    def delay(self, attempts: int) -> float:
        return float(min(self.cap, self.base * 2 ** min(attempts, 30)))


class AnchorWorker:
    """Call ``step()`` in a loop (``run``), or ``start()`` a daemon thread that does."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        open_chain: Callable[[], AnchorChain],
        holder: ChainHolder | None = None,
        clock: Clock = utcnow,
        retry: RetryPolicy | None = None,
        lock: WorkerLock | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.open_chain = open_chain
        self.holder = holder or ChainHolder()
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.lock = lock or worker_lock(engine, settings)
        self._chain: AnchorChain | None = None
        self._chain_retry_at: datetime | None = None
        self._chain_attempts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.tick = min(MAX_TICK_SECONDS, max(TICK_SECONDS, settings.anchor_interval / 5))
        self.last_error: str | None = None
        # While this worker leads, a thread of its own chains pending custody events every
        # 0.5 s (sequencer.INTEGRATE_INTERVAL), whatever the anchoring round is waiting for
        # (custody_jobs.CustodyUpkeep).
        self._leading = threading.Event()
        self.upkeep = CustodyUpkeep(
            engine,
            leading=self._leading.is_set,
            reader=chain_reader(settings, self.holder),
            clock=clock,
        )

    # -- the loop -------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="anchor-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run(self) -> None:
        log.info("anchoring worker started (interval %ss)", self.settings.anchor_interval)
        self.upkeep.start()
        try:
            while not self._stop.is_set():
                wait = self.tick
                try:
                    if not self.step():
                        wait = LOCK_RETRY_SECONDS
                except Exception as exc:  # keep anchoring alive; report and retry
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("anchoring round failed")
                    wait = self.retry.cap
                self._stop.wait(wait)
        finally:
            self.release()

    def release(self) -> None:
        """Close the chain and give up the lead (another worker may take over)."""
        self._leading.clear()
        self.upkeep.stop()
        self._close_chain()
        self.lock.release()

    # -- one round ------------------------------------------------------------------------------
    def step(self) -> bool:
        """One round: anchor what is due, close a batch if due. False if another worker leads."""
        if not (self.lock.acquire() and self.lock.held()):
            if self._leading.is_set():
                log.warning("lost the anchoring lead (the worker lock); standing by")
            self._leading.clear()
            self._close_chain()
            return False
        if not self._leading.is_set():
            log.info("leading the anchoring: this worker holds the worker lock")
        self._leading.set()
        chain = self._ensure_chain()
        with Session(self.engine) as session:
            waiting = unanchored_batches(session)
        if chain is not None:
            for batch in waiting:
                if not self._anchor(chain, batch.id, batch.attempts, batch.next_attempt_at):
                    return True  # retry later; do not pile up new batches meanwhile
            waiting = []
        if not waiting and self._batch_due():
            closed = close_batch(
                self.engine, max_leaves=self.settings.anchor_max_leaves, now=self.clock()
            )
            if closed is not None:
                BATCH_SIZES.observe(closed.tree_size)
            if closed is not None and chain is not None:
                self._anchor(chain, closed.id, 0, None)
        return True

    def _batch_due(self) -> bool:
        with Session(self.engine) as session:
            state = pending_state(session, self.settings.anchor_max_leaves)
        if state.oldest_at is None:
            return False
        age = (self.clock() - state.oldest_at).total_seconds()
        return state.full or age >= self.settings.anchor_interval

    def _anchor(
        self, chain: AnchorChain, batch_id: int | None, attempts: int, retry_at: datetime | None
    ) -> bool:
        assert batch_id is not None
        now = self.clock()
        if retry_at is not None and retry_at > now:
            return False
        with Session(self.engine) as session:
            batch = session.get(AnchorBatch, batch_id)
        assert batch is not None
        try:
            anchor_batch(self.engine, chain, batch, now=now)
        except ChainError as exc:
            CHAIN_ERRORS.labels(kind=type(exc).__name__).inc()
            delay = self.retry.delay(attempts)
            self.last_error = f"batch {batch_id}: {type(exc).__name__}: {exc}"
            log.warning("anchoring batch %s failed (retry in %.1fs): %s", batch_id, delay, exc)
            record_failure(self.engine, batch_id, str(exc), retry_at=now + timedelta(seconds=delay))
            if isinstance(exc, ChainUnavailableError):
                self._close_chain()  # reconnect next time; the node may have restarted
            return False
        self.last_error = None
        return True

    def _ensure_chain(self) -> AnchorChain | None:
        if self._chain is not None:
            return self._chain
        now = self.clock()
        if self._chain_retry_at is not None and now < self._chain_retry_at:
            return None
        try:
            chain = self.open_chain()
            try:
                ensure_registry(self.engine, chain, self.settings, now=now)
            except BaseException:
                chain.close()
                raise
        except ChainError as exc:
            CHAIN_ERRORS.labels(kind=type(exc).__name__).inc()
            delay = self.retry.delay(self._chain_attempts)
            self._chain_attempts += 1
            self._chain_retry_at = now + timedelta(seconds=delay)
            self.last_error = f"chain: {type(exc).__name__}: {exc}"
            log.warning("chain not available (retry in %.1fs): %s", delay, exc)
            return None
        self._chain, self._chain_attempts, self._chain_retry_at = chain, 0, None
        self.holder.set(chain)
        return chain

    def _close_chain(self) -> None:
        chain, self._chain = self._chain, None
        if chain is not None:
            self.holder.set(None)
            try:
                chain.close()
            except ChainError:
                log.warning("closing the chain failed", exc_info=True)
