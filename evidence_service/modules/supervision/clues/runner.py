"""Runs of the problem models, and how their hits become clues.

A run (``supervision_run``) runs some or all models, on demand or on schedule, in one of two
modes: ``full`` looks at everything; ``incremental`` looks only at what changed since the last
finished run started (records by ``updated_at``, certificates by ``updated_at``, the read models
by their feed's ``synced_at``) and skips the models whose tables did not change at all.

Guarantees, per model, inside one write transaction that first takes the clue lock
(``pg_advisory_xact_lock`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite serialises writers):

- one clue per (model, subject) — the unique constraint holds it even against a second run at
  the same time, which waits for the lock and then sees the first run's clues;
- a subject found again updates its clue (``last_seen_at``, ``last_run_id``; summary, facts and
  links when they changed) and reopens it if it was closed;
- a clue not found again by a run that looked at its subject closes itself (``closed_at``). A
  full run looked at every subject; an incremental run only at the clues linked to something
  that changed (a ``record``, ``evidence`` or ``certificate`` link touched since).

Writes go in batches (``executemany``, ``IN`` lists of at most ``CHUNK``), never row by row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

import anyio
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    exists,
    insert,
    or_,
    select,
    text,
    update,
)

from evidence_service.modules.kit.db import write_transaction
from evidence_service.modules.supervision import indicators
from evidence_service.modules.supervision.clues import registry
from evidence_service.modules.supervision.clues.base import Hit, ProblemModel, Scope
from evidence_service.modules.supervision.models import (
    certificate,
    clue,
    clue_link,
    disposal,
    evidence,
    record,
    run,
    sync,
)
from evidence_service.modules.supervision.records import new_id, utcnow

log = logging.getLogger(__name__)

Mode = Literal["full", "incremental"]
Trigger = Literal["schedule", "demand"]
CHUNK = 500
#: The advisory lock every clue write takes on PostgreSQL ("SUPCLUE" in ASCII).
CLUE_LOCK_KEY = 0x535550434C5545
#: A scheduled run is full when no full run finished within this long.
FULL_EVERY = timedelta(days=1)


class RunFailedError(RuntimeError):
    """A model failed; the run is recorded as ``failed`` with the reason."""

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(f"run {run_id} failed: {reason}")
        self.run_id = run_id


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class ModelOutcome:
    hits: int = 0
    opened: int = 0
    closed: int = 0


# ------------------------------------------------------------------ the run


def last_finished_start(conn: Connection) -> datetime | None:
    """When the last finished run started: an incremental run looks at what changed since."""
    found = conn.execute(
        select(run.c.started_at).where(run.c.status == "done").order_by(run.c.started_at.desc())
    ).first()
    return found[0] if found else None


def _changed_tables(conn: Connection, since: datetime) -> set[str]:
    changed: set[str] = set()
    if conn.execute(select(exists().where(record.c.updated_at > since))).scalar():
        changed.add("records")
    if conn.execute(select(exists().where(certificate.c.updated_at > since))).scalar():
        changed.add("certificates")
    # a feed's cursor is kept per scope (``evidence@all``, ``evidence@<department>``: sync.py)
    feeds = conn.execute(select(sync.c.feed).where(sync.c.synced_at > since)).scalars()
    changed |= {feed.split("@", 1)[0] for feed in feeds}
    return changed


def run_models(
    engine: Engine,
    *,
    codes: Sequence[str] | None = None,
    mode: Mode = "full",
    trigger: Trigger = "demand",
    started_by: str | None = None,
    today: date | None = None,
    now: datetime | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the models named (all for None) and answer the run as the API shows it.
    UnknownModelError (nothing written) for an unknown code; RunFailedError if a model fails
    (the run is kept, ``failed``; the models done before it keep their clues)."""
    models = registry.select_models(codes)
    now = now or utcnow()
    today = today or now.date()
    run_id = new_id()
    with write_transaction(engine) as conn:
        since = last_finished_start(conn) if mode == "incremental" else None
        actual: Mode = "incremental" if since is not None else "full"
        conn.execute(
            insert(run).values(
                id=run_id,
                trigger=trigger,
                mode=actual,
                models=[m.code for m in models],
                started_by=started_by,
                started_at=now,
                status="running",
                hits=0,
                opened=0,
                closed=0,
            )
        )
    scope = Scope(today=today, since=since, params=dict(params or {}))
    total = ModelOutcome()
    try:
        for model in models:
            outcome = _run_one(engine, model, scope, run_id, now)
            total.hits += outcome.hits
            total.opened += outcome.opened
            total.closed += outcome.closed
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:500]
        _finish(engine, run_id, total, status="failed", error=reason)
        raise RunFailedError(run_id, reason) from exc
    _finish(engine, run_id, total, status="done", error=None)
    found = get_run(engine, run_id)
    assert found is not None
    return found


def _finish(
    engine: Engine, run_id: str, total: ModelOutcome, *, status: str, error: str | None
) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            update(run)
            .where(run.c.id == run_id)
            .values(
                status=status,
                finished_at=utcnow(),
                hits=total.hits,
                opened=total.opened,
                closed=total.closed,
                error=error,
            )
        )


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CLUE_LOCK_KEY})


def _run_one(
    engine: Engine, model: ProblemModel, scope: Scope, run_id: str, now: datetime
) -> ModelOutcome:
    with write_transaction(engine) as conn:
        _lock(conn)
        if scope.since is not None and not set(model.reads) & _changed_tables(conn, scope.since):
            return ModelOutcome()
        hits = list(model.find(conn, scope))
        return apply_hits(conn, model, hits, run_id=run_id, now=now, since=scope.since)


# ------------------------------------------------------------------ hits → clues


def _links_of(conn: Connection, ids: Sequence[str]) -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = {i: set() for i in ids}
    for part in _chunks(ids):
        for cid, kind, ref in conn.execute(
            select(clue_link.c.clue_id, clue_link.c.kind, clue_link.c.ref).where(
                clue_link.c.clue_id.in_(part)
            )
        ):
            out[cid].add((kind, ref))
    return out


def apply_hits(
    conn: Connection,
    model: ProblemModel,
    hits: Sequence[Hit],
    *,
    run_id: str,
    now: datetime,
    since: datetime | None,
) -> ModelOutcome:
    """Turn one model's hits into clues (see the module's guarantees); the caller holds the
    transaction and the lock."""
    unique: dict[str, Hit] = {}
    for hit in hits:
        unique.setdefault(hit.subject[:200], hit)
    subjects = list(unique)
    known: dict[str, dict[str, Any]] = {}
    for part in _chunks(subjects):
        for row in conn.execute(
            select(
                clue.c.id,
                clue.c.subject,
                clue.c.status,
                clue.c.summary,
                clue.c.facts,
                clue.c.department_id,
                clue.c.severity,
            ).where(clue.c.model == model.code, clue.c.subject.in_(part))
        ):
            known[row.subject] = dict(row._mapping)
    links = _links_of(conn, [k["id"] for k in known.values()])

    fresh: list[dict[str, Any]] = []
    fresh_links: list[dict[str, Any]] = []
    rewritten: list[dict[str, Any]] = []
    relinked: list[str] = []
    seen_only: list[str] = []
    reopened = 0
    for subject, hit in unique.items():
        wanted = {(kind, ref[:64]) for kind, ref in hit.links}
        old = known.get(subject)
        if old is None:
            cid = new_id()
            fresh.append(
                {
                    "id": cid,
                    "model": model.code,
                    "subject": subject,
                    "department_id": hit.department_id,
                    "severity": model.severity,
                    "status": "open",
                    "summary": hit.summary[:500],
                    "facts": hit.facts,
                    "first_run_id": run_id,
                    "last_run_id": run_id,
                    "opened_at": now,
                    "last_seen_at": now,
                    "closed_at": None,
                }
            )
            fresh_links += [{"clue_id": cid, "kind": k, "ref": r} for k, r in sorted(wanted)]
            continue
        same = (
            old["status"] == "open"
            and old["summary"] == hit.summary[:500]
            and old["facts"] == hit.facts
            and old["department_id"] == hit.department_id
            and old["severity"] == model.severity
        )
        if old["status"] != "open":
            reopened += 1
        if links[old["id"]] != wanted:
            relinked.append(old["id"])
            fresh_links += [{"clue_id": old["id"], "kind": k, "ref": r} for k, r in sorted(wanted)]
        if same:
            seen_only.append(old["id"])
            continue
        rewritten.append(
            {
                "b_id": old["id"],
                "v_department_id": hit.department_id,
                "v_severity": model.severity,
                "v_summary": hit.summary[:500],
                "v_facts": hit.facts,
                "v_opened_at": now if old["status"] != "open" else None,
            }
        )

    if fresh:
        conn.execute(insert(clue), fresh)
    for part in _chunks(relinked):
        conn.execute(delete(clue_link).where(clue_link.c.clue_id.in_(part)))
    if fresh_links:
        conn.execute(insert(clue_link), fresh_links)
    reopen = [r for r in rewritten if r["v_opened_at"] is not None]
    keep = [r for r in rewritten if r["v_opened_at"] is None]
    common: dict[str, Any] = {
        "department_id": bindparam("v_department_id"),
        "severity": bindparam("v_severity"),
        "summary": bindparam("v_summary"),
        "facts": bindparam("v_facts"),
        "status": "open",
        "closed_at": None,
        "last_seen_at": now,
        "last_run_id": run_id,
    }
    if keep:
        conn.execute(
            update(clue).where(clue.c.id == bindparam("b_id")).values(common),
            [{k: v for k, v in r.items() if k != "v_opened_at"} for r in keep],
        )
    if reopen:
        conn.execute(
            update(clue)
            .where(clue.c.id == bindparam("b_id"))
            .values({**common, "opened_at": bindparam("v_opened_at")}),
            reopen,
        )
    for part in _chunks(seen_only):
        conn.execute(
            update(clue).where(clue.c.id.in_(part)).values(last_seen_at=now, last_run_id=run_id)
        )

    closing = and_(
        clue.c.model == model.code, clue.c.status == "open", clue.c.last_run_id != run_id
    )
    if since is not None:
        closing = and_(closing, _touched_since(since))
    closed = conn.execute(
        update(clue).where(closing).values(status="closed", closed_at=now)
    ).rowcount
    return ModelOutcome(hits=len(unique), opened=len(fresh) + reopened, closed=closed or 0)


def _touched_since(since: datetime) -> Any:
    """A clue linked to something changed since ``since``: the only clues an incremental run
    looked at, so the only ones it may close."""
    link = clue_link.alias("l")
    linked = [
        (link.c.kind == "record", record, record.c.id, record.c.updated_at),
        (link.c.kind == "evidence", evidence, evidence.c.id, evidence.c.synced_at),
        (
            link.c.kind == "certificate",
            certificate,
            certificate.c.cert_no,
            certificate.c.updated_at,
        ),
    ]
    return or_(
        *(
            exists()
            .select_from(link.join(table, key == link.c.ref))
            .where(link.c.clue_id == clue.c.id, kind, moment > since)
            for kind, table, key, moment in linked
        )
    )


# ------------------------------------------------------------------ reading runs


def public_run(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "trigger": row["trigger"],
        "mode": row["mode"],
        "models": list(row["models"]),
        "started_by": row["started_by"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "status": row["status"],
        "hits": row["hits"],
        "opened": row["opened"],
        "closed": row["closed"],
        "error": row["error"],
    }


def get_run(engine: Engine, run_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(run).where(run.c.id == run_id)).first()
    return public_run(dict(row._mapping)) if row else None


def list_runs(
    engine: Engine, *, limit: int, before: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Runs newest first; the id the next page starts before (None: no more)."""
    stmt = select(run).order_by(run.c.id.desc()).limit(limit + 1)
    if before:
        stmt = stmt.where(run.c.id < before)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    page = rows[:limit]
    more = len(rows) > limit and page
    return [public_run(r) for r in page], (page[-1]["id"] if more else None)


# ------------------------------------------------------------------ reading clues


@dataclass(frozen=True)
class ClueFilter:
    departments: frozenset[str] | None  # None: every department (the office, auditors)
    model: str | None = None
    status: str | None = None
    department_id: str | None = None
    severity: str | None = None
    record_id: str | None = None
    evidence_id: str | None = None


def _clue_where(flt: ClueFilter) -> list[Any]:
    clauses: list[Any] = []
    if flt.departments is not None:
        clauses.append(clue.c.department_id.in_(sorted(flt.departments)))
    for column, value in (
        (clue.c.model, flt.model),
        (clue.c.status, flt.status),
        (clue.c.department_id, flt.department_id),
        (clue.c.severity, flt.severity),
    ):
        if value is not None:
            clauses.append(column == value)
    for kind, ref in (("record", flt.record_id), ("evidence", flt.evidence_id)):
        if ref is not None:
            clauses.append(
                exists().where(
                    clue_link.c.clue_id == clue.c.id,
                    clue_link.c.kind == kind,
                    clue_link.c.ref == ref,
                )
            )
    return clauses


def public_clues(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Clues as the API shows them, each with its links grouped by kind."""
    grouped: dict[str, dict[str, list[str]]] = {r["id"]: {} for r in rows}
    disposals: dict[str, dict[str, Any]] = {}
    if rows:
        for cid, kind, ref in conn.execute(
            select(clue_link.c.clue_id, clue_link.c.kind, clue_link.c.ref)
            .where(clue_link.c.clue_id.in_(list(grouped)))
            .order_by(clue_link.c.clue_id, clue_link.c.kind, clue_link.c.ref)
        ):
            grouped[cid].setdefault(kind, []).append(ref)
        for found in conn.execute(
            select(
                disposal.c.clue_id,
                disposal.c.id,
                disposal.c.procedure,
                disposal.c.state,
                disposal.c.due_on,
            ).where(disposal.c.clue_id.in_(list(grouped)))
        ).mappings():
            disposals[found["clue_id"]] = {k: v for k, v in found.items() if k != "clue_id"}
    out = []
    for row in rows:
        model = registry.BY_CODE.get(row["model"])
        out.append(
            {
                "id": row["id"],
                "model": row["model"],
                "model_name": model.name if model else None,
                "basis": model.basis if model else None,
                "subject": row["subject"],
                "department_id": row["department_id"],
                "severity": row["severity"],
                "status": row["status"],
                "summary": row["summary"],
                "facts": row["facts"],
                "links": grouped[row["id"]],
                "first_run_id": row["first_run_id"],
                "last_run_id": row["last_run_id"],
                "opened_at": row["opened_at"],
                "last_seen_at": row["last_seen_at"],
                "closed_at": row["closed_at"],
                "disposal": disposals.get(row["id"]),
            }
        )
    return out


def search_clues(
    engine: Engine, flt: ClueFilter, *, limit: int, after: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of clues in id order (oldest first) and the id the next page starts after."""
    clauses = _clue_where(flt)
    if after:
        clauses.append(clue.c.id > after)
    stmt = select(clue).where(and_(True, *clauses)).order_by(clue.c.id).limit(limit + 1)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
        page = rows[:limit]
        public = public_clues(conn, page)
    return public, (page[-1]["id"] if len(rows) > limit and page else None)


def get_clue(engine: Engine, clue_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(clue).where(clue.c.id == clue_id)).first()
        return public_clues(conn, [dict(row._mapping)])[0] if row else None


# ------------------------------------------------------------------ the schedule


def scheduled_mode(engine: Engine, now: datetime) -> Mode:
    """Full when no full run finished within a day (or ever), else incremental."""
    with engine.connect() as conn:
        last = conn.execute(
            select(run.c.started_at)
            .where(run.c.status == "done", run.c.mode == "full")
            .order_by(run.c.started_at.desc())
        ).first()
    if last is None or now - last[0] >= FULL_EVERY:
        return "full"
    return "incremental"


def run_scheduled(engine: Engine, *, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A run on schedule, then the cockpit's summary rebuilt (it counts clues)."""
    now = utcnow()
    done = run_models(
        engine, mode=scheduled_mode(engine, now), trigger="schedule", now=now, params=params
    )
    indicators.refresh_if_idle(engine, now=utcnow())
    return done


async def schedule_loop(
    engine: Engine, every_seconds: float, *, params: dict[str, Any] | None = None
) -> None:
    """Every ``every_seconds`` (the first after one period), a scheduled run in a worker
    thread; a failed run is logged and the loop goes on."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            done = await anyio.to_thread.run_sync(lambda: run_scheduled(engine, params=params))
            log.info(
                "supervision run %s (%s): %s hits, %s opened, %s closed",
                done["id"],
                done["mode"],
                done["hits"],
                done["opened"],
                done["closed"],
            )
        except Exception:
            log.exception("scheduled supervision run failed")
