"""The full custody check as a background job, and the worker's custody upkeep.

A full walk of a province's log (hundreds of millions of events) takes hours, so it is a job:
a row in the database (:class:`CustodyVerifyJob`) that any replica can report on, run by a
thread of the process that accepted it. One job is active at a time (a unique index on
``active``). The runner writes its progress — the last seq it verified and that event's hash —
with a heartbeat every :data:`HEARTBEAT_SECONDS`; if the heartbeat stops for
:data:`STALE_AFTER_SECONDS` (the process was killed), the anchoring worker's lock holder, or the
next request for a job, takes the job over and resumes the walk where it stopped. A runner that
finds the job taken over stops.

When the walk reaches the end of the log, every batch's anchored head is checked against it
(and, with a chain reader, every root against the chain); a whole log moves the incremental
checkpoint (``custody_anchors.py``) to the last anchored head verified on chain.

:class:`CustodyUpkeep` is the thread the anchoring worker runs: it integrates pending custody
events every :data:`~evidence_service.custody.sequencer.INTEGRATE_INTERVAL` seconds while its
process holds the worker lock, and resumes a stalled job.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Engine, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from web3 import HTTPProvider, Web3

from chain.rpc_bridge import FunctionProvider
from evidence_service.anchoring.chain_link import ChainHolder
from evidence_service.anchoring.custody_anchors import (
    CustodyReport,
    check_batches,
    save_checkpoint,
)
from evidence_service.anchoring.models import AnchorBatch
from evidence_service.anchoring.proofs import TreeCache
from evidence_service.core.clock import Clock, rfc3339
from evidence_service.core.config import Settings
from evidence_service.core.db import session_scope
from evidence_service.core.errors import ConflictError, NotFoundError
from evidence_service.custody.log import chain_head, iter_records
from evidence_service.custody.models import CustodyEvent, CustodyVerifyJob
from evidence_service.custody.sequencer import INTEGRATE_INTERVAL, integrate_pending
from evidence_service.verify.custody import CustodyChainError, verify_records

log = logging.getLogger(__name__)

#: The runner records its progress at least this often.
HEARTBEAT_SECONDS = 2.0
#: A queued or running job whose heartbeat is older than this is taken over and resumed.
STALE_AFTER_SECONDS = 30.0
#: Events verified between two looks at the clock (and at whether the job is still ours).
WALK_PAGE = 20_000
#: How often the upkeep thread looks for a stalled job.
RESUME_EVERY_SECONDS = 5.0
#: Seqs per IN query when reading the batches' heads.
_IN_CHUNK = 500

Reader = Callable[[], Web3 | None]


class JobStatus:
    queued = "queued"
    running = "running"
    done = "done"  # walked to the end: ``result`` says valid or where it is broken
    failed = "failed"  # could not finish (an error, not a verdict): ``error`` says why


def job_public(job: CustodyVerifyJob) -> dict[str, Any]:
    """The API form of a job (``schemas.CustodyVerifyJob``)."""
    return {
        "id": job.id,
        "status": job.status,
        "events_checked": job.events_checked,
        "events_total": job.events_total,
        "created_at": rfc3339(job.created_at),
        "started_at": rfc3339(job.started_at) if job.started_at else None,
        "heartbeat_at": rfc3339(job.heartbeat_at) if job.heartbeat_at else None,
        "finished_at": rfc3339(job.finished_at) if job.finished_at else None,
        "result": job.result,
        "error": job.error,
    }


def read_job(engine: Engine, job_id: int) -> CustodyVerifyJob:
    with Session(engine) as session:
        job = session.get(CustodyVerifyJob, job_id)
    if job is None:
        raise NotFoundError(f"no custody verification job {job_id}")
    return job


def submit_full_check(
    engine: Engine, *, actor_id: str | None, trees: TreeCache, reader: Reader, clock: Clock
) -> CustodyVerifyJob:
    """Queue a full walk and start running it on a thread of this process; a stalled active
    job is taken over and resumed instead. 409 while another job is active."""
    now = clock()
    with Session(engine) as session:
        active = session.exec(
            select(CustodyVerifyJob).where(col(CustodyVerifyJob.active).is_not(None))
        ).first()
    if active is not None:
        if not _stale(active, now):
            raise ConflictError(
                f"custody verification job {active.id} is {active.status}: one at a time"
            )
        job_id = active.id
    else:
        try:
            with session_scope(engine) as session:
                job = CustodyVerifyJob(
                    status=JobStatus.queued, active=1, requested_by=actor_id, created_at=now
                )
                session.add(job)
                session.flush()
                job_id = job.id
        except IntegrityError as exc:  # another replica queued one a moment ago
            raise ConflictError("a custody verification job is active: one at a time") from exc
    assert job_id is not None
    runner = JobRunner(engine, job_id, trees=trees, reader=reader, clock=clock)
    if not runner.claim(now):
        raise ConflictError(f"custody verification job {job_id} was taken over meanwhile")
    runner.start()
    return read_job(engine, job_id)


def resume_stalled_job(engine: Engine, *, reader: Reader, clock: Clock) -> JobRunner | None:
    """Take over the active job if its runner stopped heartbeating, and run it on a thread."""
    now = clock()
    with Session(engine) as session:
        active = session.exec(
            select(CustodyVerifyJob).where(col(CustodyVerifyJob.active).is_not(None))
        ).first()
    if active is None or active.id is None or not _stale(active, now):
        return None
    runner = JobRunner(engine, active.id, trees=TreeCache(), reader=reader, clock=clock)
    if not runner.claim(now):
        return None
    log.info("resuming custody verification job %s from seq %s", active.id, active.walked_seq)
    runner.start()
    return runner


def _stale(job: CustodyVerifyJob, now: datetime) -> bool:
    last = job.heartbeat_at or job.created_at
    return (now - last).total_seconds() > STALE_AFTER_SECONDS


@dataclass
class _Progress:
    seq: int
    hash: str
    checked: int


class JobRunner:
    """Runs one job: claims it, walks from its recorded progress, checks the batches."""

    def __init__(
        self,
        engine: Engine,
        job_id: int,
        *,
        trees: TreeCache,
        reader: Reader,
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.job_id = job_id
        self.trees = trees
        self.reader = reader
        self.clock = clock
        self.runner_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.thread: threading.Thread | None = None

    def claim(self, now: datetime) -> bool:
        """Make this runner the job's (if queued, or stalled); False if another has it."""
        stale = now - timedelta(seconds=STALE_AFTER_SECONDS)
        with session_scope(self.engine) as session:
            result = session.execute(
                update(CustodyVerifyJob)
                .where(
                    col(CustodyVerifyJob.id) == self.job_id,
                    col(CustodyVerifyJob.active).is_not(None),
                    or_(
                        col(CustodyVerifyJob.runner).is_(None),
                        func.coalesce(CustodyVerifyJob.heartbeat_at, CustodyVerifyJob.created_at)
                        < stale,
                    ),
                )
                .values(runner=self.runner_id, heartbeat_at=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def start(self) -> None:
        self.thread = threading.Thread(
            target=self.run, name=f"custody-verify-{self.job_id}", daemon=True
        )
        self.thread.start()

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # record why; the job is over
            log.exception("custody verification job %s failed", self.job_id)
            self._finish(status=JobStatus.failed, error=f"{type(exc).__name__}: {exc}"[:1000])

    def _run(self) -> None:
        job = read_job(self.engine, self.job_id)
        integrate_pending(self.engine)
        with Session(self.engine) as session:
            total = chain_head(session).seq
        started = job.started_at or self.clock()
        if not self._save(
            _Progress(job.walked_seq, job.walked_hash, job.events_checked),
            status=JobStatus.running,
            started_at=started,
            events_total=max(total, job.events_total),
        ):
            return
        progress = _Progress(job.walked_seq, job.walked_hash, job.events_checked)
        try:
            while True:
                page = self._walk_page(progress)
                if page is None:
                    break
                progress = page
                if not self._save(progress, events_total=max(total, progress.seq)):
                    log.info("custody job %s was taken over; this runner stops", self.job_id)
                    return
        except CustodyChainError as exc:
            report = CustodyReport(
                False, 0, None, 0, False, exc.seq, None, exc.reason,
                events_checked=progress.checked,
            )  # fmt: skip
            self._finish(status=JobStatus.done, result=report.as_json())
            return
        self._finish(status=JobStatus.done, result=self._check_batches(progress).as_json())

    def _walk_page(self, progress: _Progress) -> _Progress | None:
        """Verify the events after ``progress`` for up to a heartbeat's time; None at the end."""
        deadline = self.clock() + timedelta(seconds=HEARTBEAT_SECONDS)
        seq, head, checked = progress.seq, progress.hash, progress.checked
        moved = False
        with Session(self.engine) as session:
            while self.clock() < deadline:
                page = list(islice(iter_records(session, after=seq), WALK_PAGE))
                if not page:
                    break
                walked, head = verify_records(page, prev_hash=head, start_seq=seq + 1)
                seq, checked, moved = seq + walked, checked + walked, True
        return _Progress(seq, head, checked) if moved else None

    def _check_batches(self, progress: _Progress) -> CustodyReport:
        w3 = self.reader()
        with Session(self.engine) as session:
            batches = list(session.exec(select(AnchorBatch).order_by(col(AnchorBatch.id))).all())
            hash_at = _hashes_at(session, sorted({b.custody_seq for b in batches}))
            checked = check_batches(
                session, batches, hash_at, progress.seq, trees=self.trees, w3=w3
            )
        report = CustodyReport(
            checked.problem is None,
            progress.seq,
            progress.hash,
            len(batches) if checked.problem is None else 0,
            checked.chain_checked,
            checked.broken_at_seq,
            checked.batch_id,
            checked.problem,
            events_checked=progress.checked,
        )
        if report.valid and checked.verified_head is not None:
            head = replace(checked.verified_head, verified_at=self.clock())
            report = replace(report, checkpoint=save_checkpoint(self.engine, head))
        return report

    def _save(self, progress: _Progress, **values: Any) -> bool:
        """Record progress and the heartbeat, if the job is still this runner's."""
        with session_scope(self.engine) as session:
            result = session.execute(
                update(CustodyVerifyJob)
                .where(
                    col(CustodyVerifyJob.id) == self.job_id,
                    col(CustodyVerifyJob.runner) == self.runner_id,
                    col(CustodyVerifyJob.active).is_not(None),
                )
                .values(
                    walked_seq=progress.seq,
                    walked_hash=progress.hash,
                    events_checked=progress.checked,
                    heartbeat_at=self.clock(),
                    **values,
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def _finish(self, *, status: str, **values: Any) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(CustodyVerifyJob)
                .where(
                    col(CustodyVerifyJob.id) == self.job_id,
                    col(CustodyVerifyJob.runner) == self.runner_id,
                )
                .values(status=status, active=None, finished_at=self.clock(), **values)
            )


def _hashes_at(session: Session, seqs: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for start in range(0, len(seqs), _IN_CHUNK):
        part = seqs[start : start + _IN_CHUNK]
        rows = session.exec(
            select(CustodyEvent.seq, CustodyEvent.hash).where(col(CustodyEvent.seq).in_(part))
        ).all()
        out.update((s, h) for s, h in rows if s is not None and h is not None)
    return out


def chain_reader(settings: Settings, holder: ChainHolder) -> Reader:
    """A read-only web3 for a resumed job: the JSON-RPC node, or the embedded chain while this
    process holds it (as ``Services.chain_reader``)."""

    def read() -> Web3 | None:
        if settings.chain_url:
            provider = HTTPProvider(
                settings.chain_url, request_kwargs={"timeout": settings.chain_timeout_seconds}
            )
            return Web3(provider)
        embedded = holder.embedded()
        return Web3(FunctionProvider(embedded.rpc)) if embedded is not None else None

    return read


class CustodyUpkeep:
    """The anchoring worker's custody thread: integrate pending events while ``leading()``
    (this process holds the worker lock), and resume a stalled verification job."""

    def __init__(
        self, engine: Engine, *, leading: Callable[[], bool], reader: Reader, clock: Clock
    ) -> None:
        self.engine = engine
        self.leading = leading
        self.reader = reader
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="custody-upkeep", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run(self) -> None:
        elapsed = 0.0
        while not self._stop.wait(INTEGRATE_INTERVAL):
            if not self.leading():
                continue
            try:
                integrate_pending(self.engine)
                elapsed += INTEGRATE_INTERVAL
                if elapsed >= RESUME_EVERY_SECONDS:
                    elapsed = 0.0
                    resume_stalled_job(self.engine, reader=self.reader, clock=self.clock)
                self.last_error = None
            except Exception as exc:  # keep integrating; report and retry next tick
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("custody upkeep failed")
