"""The custody log's sequencer: pending events get their place in the hash chain.

Requests record events pending (:func:`evidence_service.custody.log.append_event`). One
integrator at a time — the custody lock serialises them — takes the pending rows in arrival
order (``id``), gives each the next ``seq``, links it to the head (``prev_hash``) and computes
its ``hash``, and commits: a short transaction per round of at most :data:`INTEGRATE_BATCH`
events. A row whose transaction commits late, after rows with higher arrival ids were chained,
is simply chained in a later round: ids order the pending rows, ``seq`` orders the log.

Who integrates: the anchoring worker's lock holder every :data:`INTEGRATE_INTERVAL` seconds
(``anchoring/custody_jobs.py``), and every reader of the chained form first — an item's custody,
a package's ``custody.json``, a batch closing on the head, ``/custody/verify`` — so what a caller
wrote before is in what it reads. Crash ordering: a round commits whole or not at all, and a
chained row is never written again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, bindparam, text, update
from sqlmodel import Session, col, select

from evidence_service.core.db import lock_custody_chain, session_scope
from evidence_service.custody.log import body_of, chain_head
from evidence_service.custody.models import CustodyEvent
from evidence_service.verify.custody import link_hash

#: Events chained per transaction: short rounds keep the custody lock briefly.
INTEGRATE_BATCH = 5000
#: How often the worker's lock holder integrates (the window between an event's commit and
#: its place in the chain is about this, plus one round: within the 1 s target). Each round
#: costs a few queries whatever it chains, so a round every 0.5 s rather than 0.2 s leaves the
#: capture path (same process, same interpreter lock) that much more of the CPU.
INTEGRATE_INTERVAL = 0.5
#: Rows per executemany on SQLite.
_UPDATE_CHUNK = 1000

_PENDING_COLUMNS = (
    CustodyEvent.id,
    CustodyEvent.evidence_id,
    CustodyEvent.action,
    CustodyEvent.actor_id,
    CustodyEvent.department_id,
    CustodyEvent.at,
    CustodyEvent.details,
)


def has_pending(session: Session) -> bool:
    """Whether any committed event waits for its place (an index lookup)."""
    first = session.exec(
        select(CustodyEvent.id).where(col(CustodyEvent.seq).is_(None)).limit(1)
    ).first()
    return first is not None


def integrate_round(session: Session, *, limit: int = INTEGRATE_BATCH) -> int:
    """Chain up to ``limit`` pending events, oldest arrival first, in the caller's write
    transaction (which this locks against other integrators); how many were chained."""
    lock_custody_chain(session)
    head = chain_head(session)
    rows: Sequence[Any] = session.exec(
        select(*_PENDING_COLUMNS)  # type: ignore[call-overload]
        .where(col(CustodyEvent.seq).is_(None))
        .order_by(col(CustodyEvent.id))
        .limit(limit)
    ).all()
    seq, prev = head.seq, head.hash
    links: list[tuple[int, int, str, str]] = []
    for event_id, evidence_id, action, actor_id, department_id, at, details in rows:
        seq += 1
        link = link_hash(
            prev, body_of(seq, evidence_id, action, actor_id, department_id, at, details)
        )
        links.append((event_id, seq, prev, link))
        prev = link
    if links:
        _write_links(session, links)
    return len(links)


_LINK_ARRAYS = text(
    "UPDATE custodyevent SET seq = chained.seq, prev_hash = chained.prev_hash,"
    " hash = chained.hash"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[]),"
    " CAST(:prevs AS varchar[]), CAST(:hashes AS varchar[]))"
    " AS chained (id, seq, prev_hash, hash)"
    " WHERE custodyevent.id = chained.id AND custodyevent.seq IS NULL"
)


def _write_links(session: Session, links: list[tuple[int, int, str, str]]) -> None:
    """Fill the chain columns of the round's rows: on PostgreSQL one UPDATE joined to four
    arrays (one round trip, one cached statement); on SQLite an executemany (in-process)."""
    if session.get_bind().dialect.name == "postgresql":
        ids, seqs, prevs, hashes = (list(column) for column in zip(*links, strict=True))
        session.execute(_LINK_ARRAYS, {"ids": ids, "seqs": seqs, "prevs": prevs, "hashes": hashes})
        return
    table = CustodyEvent.__table__  # type: ignore[attr-defined]
    for start in range(0, len(links), _UPDATE_CHUNK):
        session.execute(
            update(table)
            .where(table.c.id == bindparam("event_id"), table.c.seq.is_(None))
            .values(seq=bindparam("s"), prev_hash=bindparam("p"), hash=bindparam("h")),
            [
                {"event_id": i, "s": s, "p": p, "h": h}
                for i, s, p, h in links[start : start + _UPDATE_CHUNK]
            ],
        )


def integrate_pending(engine: Engine, *, limit: int = INTEGRATE_BATCH) -> int:
    """Chain every event committed before this call, in rounds of ``limit`` (each its own
    transaction); how many were chained. Cheap when nothing is pending: one read, no lock."""
    total = 0
    while True:
        with Session(engine) as session:
            if not has_pending(session):
                return total
        with session_scope(engine) as session:
            done = integrate_round(session, limit=limit)
        total += done
        if done < limit:
            return total


def integrate_all(session: Session, *, limit: int = INTEGRATE_BATCH) -> int:
    """Chain every pending event inside the caller's write transaction (a batch closing on
    the head); how many were chained."""
    total = 0
    while True:
        done = integrate_round(session, limit=limit)
        total += done
        if done < limit:
            return total
