"""The custody log: append-only events chained by hash.

``hash_n = SHA-256(prev_hash_n ‖ JCS(event_n))`` where ``prev_hash`` of the first event is 32 zero
bytes and ``event_n`` is the JSON object ``{seq, evidence_id, action, actor_id, department_id, at,
details}``. Editing, deleting or reordering any row breaks every later link, and the head hash
(anchored with each batch) pins the whole history.

A transparency log's sequencer: :func:`append_event` only inserts the event, pending (no
``seq``, ``prev_hash`` or ``hash``), in the caller's transaction — no lock, no read of the chain
head, so writers on every replica proceed in parallel. The sequencer
(:mod:`evidence_service.custody.sequencer`) then chains committed events in arrival order, in
batches, under the custody lock; readers that show the chained form integrate first. The log
therefore orders events by when they were integrated, not by their ``at``.

Checks by signed-in callers are events too, so the log must not grow with every repeat of
one: the same check is recorded once per :data:`REPEAT_CHECK_WINDOW` (:func:`append_event`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, Insert, Table, func, insert
from sqlmodel import Session, col, select

from evidence_service.core.clock import Clock, parse_rfc3339, rfc3339, to_utc
from evidence_service.core.db import lock_custody_check, session_scope
from evidence_service.core.errors import EvidenceError
from evidence_service.custody.models import CustodyEvent
from evidence_service.verify.custody import (  # the chain's rule, checkable without a database
    GENESIS_HASH,
    verify_records,
)

_EVENTS: Table = CustodyEvent.__table__  # type: ignore[attr-defined]
_INSERT_PENDING = insert(_EVENTS).returning(_EVENTS.c.id)
#: The same INSERT for a caller that needs no id back, and may run it for several events at once.
_INSERT_PENDING_INLINE = insert(_EVENTS).inline()


class CustodyAction(StrEnum):
    captured = "captured"
    viewed = "viewed"
    downloaded = "downloaded"
    upload_started = "upload_started"
    upload_aborted = "upload_aborted"
    legal_hold_set = "legal_hold_set"
    legal_hold_cleared = "legal_hold_cleared"
    verified = "verified"  # a proof checked through the API by a signed-in caller
    seal_verified = "seal_verified"
    transferred = "transferred"  # sent to another department in a sealed transfer (移送)
    transfer_opened = "transfer_opened"  # the recipient checked the transfer (its verdict)
    transfer_accepted = "transfer_accepted"  # the recipient sealed a receipt; granted to it
    transfer_rejected = "transfer_rejected"  # refused by the recipient; nothing granted
    transfer_withdrawn = "transfer_withdrawn"  # taken back by the sender; nothing granted


def event_body(event: CustodyEvent) -> dict[str, Any]:
    """The JSON object whose JCS bytes are hashed (exactly these keys)."""
    return body_of(
        event.seq,
        event.evidence_id,
        event.action,
        event.actor_id,
        event.department_id,
        event.at,
        event.details,
    )


def body_of(
    seq: int | None,
    evidence_id: str | None,
    action: str,
    actor_id: str | None,
    department_id: str | None,
    at: datetime,
    details: dict[str, Any],
) -> dict[str, Any]:
    """:func:`event_body` from the column values (the sequencer reads columns, not rows)."""
    return {
        "seq": seq,
        "evidence_id": evidence_id,
        "action": action,
        "actor_id": actor_id,
        "department_id": department_id,
        "at": rfc3339(at),
        "details": details,
    }


def event_record(event: CustodyEvent) -> dict[str, Any]:
    """The public form: the hashed body, then the links that chain it (a reader recomputes
    ``hash`` from ``prev_hash`` and the body)."""
    return {**event_body(event), "prev_hash": event.prev_hash, "hash": event.hash}


def verify_chain(
    events: Iterable[CustodyEvent], *, prev_hash: str = GENESIS_HASH, start_seq: int = 1
) -> tuple[int, str]:
    """Walk events in ``seq`` order; return (count, head hash) or raise ``CustodyChainError``."""
    return verify_records(
        (event_record(event) for event in events), prev_hash=prev_hash, start_seq=start_seq
    )


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str


def chain_head(session: Session) -> ChainHead:
    """The last chained event (pending events are not in the chain yet)."""
    last = session.exec(
        select(CustodyEvent.seq, CustodyEvent.hash)
        .where(col(CustodyEvent.seq).is_not(None))
        .order_by(col(CustodyEvent.seq).desc())
        .limit(1)
    ).first()
    if last is None:
        return ChainHead(0, GENESIS_HASH)
    seq, hash_ = last
    assert seq is not None and hash_ is not None
    return ChainHead(seq, hash_)


#: A signed-in caller's check of something held here (a proof, a seal, a list, a transfer).
CHECK_ACTIONS = frozenset({CustodyAction.verified, CustodyAction.seal_verified})
#: The same check — same caller, same item (or none), same details, so the same subject and
#: outcome — is recorded once in this window: checking again and again writes nothing more,
#: while a check with another outcome is recorded at once. Outcomes are few (valid, or the
#: name of the first failing step), so a caller adds at most a dozen events per subject an hour.
REPEAT_CHECK_WINDOW = timedelta(hours=1)
#: A repeat is looked for among this many latest events: bounded work per check.
REPEAT_LOOKBACK_EVENTS = 100_000


def append_event(
    session: Session,
    *,
    action: CustodyAction | str,
    at: datetime,
    evidence_id: str | None = None,
    actor_id: str | None = None,
    department_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Record one event inside the caller's transaction, pending: it is durable when that
    transaction commits and chained by the sequencer soon after (within a second when the
    worker runs; at once before any read of the chained log). Takes no lock on the chain.

    A check (:data:`CHECK_ACTIONS`) that repeats one recorded within
    :data:`REPEAT_CHECK_WINDOW` — pending or chained — is not appended again. Identical
    checks are serialised among themselves (and only those). Returns the event's arrival id
    (the earlier event's, for a repeated check)."""
    if action in CHECK_ACTIONS and actor_id is not None:
        lock_custody_check(session, f"{action}\x00{actor_id}\x00{evidence_id or ''}")
        earlier = _same_check(session, str(action), at, evidence_id, actor_id, details or {})
        if earlier is not None and earlier.id is not None:
            return earlier.id
    # One prepared INSERT … RETURNING id on the session's connection: no ORM object, no unit
    # of work (nor the ORM's execution path), no lock. Objects the caller added go first.
    session.flush()  # returns at once when nothing is pending
    row = _event_row(action, at, evidence_id, actor_id, department_id, details)
    return int(session.connection().execute(_INSERT_PENDING, row).scalar_one())


def pending_event(
    *,
    action: CustodyAction | str,
    at: datetime,
    evidence_id: str | None = None,
    actor_id: str | None = None,
    department_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> tuple[Insert, dict[str, Any]]:
    """The INSERT and parameters that record one event pending, as :func:`append_event` does,
    for a caller that runs them itself in its transaction, perhaps with other events in one
    executemany (a capture, in its group commit). No id comes back. Not for a check
    (:data:`CHECK_ACTIONS`), which must look for a repeat first."""
    if action in CHECK_ACTIONS:
        raise ValueError(f"{action} is a check: record it with append_event")
    return _INSERT_PENDING_INLINE, _event_row(
        action, at, evidence_id, actor_id, department_id, details
    )


def _event_row(
    action: CustodyAction | str,
    at: datetime,
    evidence_id: str | None,
    actor_id: str | None,
    department_id: str | None,
    details: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "evidence_id": evidence_id,
        "action": str(action),
        "actor_id": actor_id,
        "department_id": department_id,
        "at": at,
        "details": details or {},
    }


def _same_check(
    session: Session,
    action: str,
    at: datetime,
    evidence_id: str | None,
    actor_id: str,
    details: dict[str, Any],
) -> CustodyEvent | None:
    """The latest event recording this very check within the window, if any (arrival ids
    cover pending and chained events alike)."""
    wanted = json.loads(json.dumps(details))  # as the JSON column gives it back
    about = (
        col(CustodyEvent.evidence_id).is_(None)
        if evidence_id is None
        else col(CustodyEvent.evidence_id) == evidence_id
    )
    last_id = session.exec(select(func.max(CustodyEvent.id))).one() or 0
    recent = session.exec(
        select(CustodyEvent)
        .where(
            about,
            col(CustodyEvent.id) > last_id - REPEAT_LOOKBACK_EVENTS,
            CustodyEvent.action == action,
            CustodyEvent.actor_id == actor_id,
            col(CustodyEvent.at) > at - REPEAT_CHECK_WINDOW,
        )
        .order_by(col(CustodyEvent.id).desc())
    )
    return next((event for event in recent if event.details == wanted), None)


def record_event(
    engine: Engine,
    *,
    action: CustodyAction | str,
    clock: Clock,
    evidence_id: str | None = None,
    actor_id: str | None = None,
    department_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record one event in a write transaction of its own: durable once this returns, chained
    by the sequencer (so its ``at`` need not follow the order of the log)."""
    with session_scope(engine) as session:
        append_event(
            session,
            action=action,
            at=clock(),
            evidence_id=evidence_id,
            actor_id=actor_id,
            department_id=department_id,
            details=details,
        )


def evidence_events(session: Session, evidence_id: str) -> Sequence[CustodyEvent]:
    """The chained events about one item, in log order (integrate first to include the
    pending ones: :func:`evidence_service.custody.sequencer.integrate_pending`)."""
    return session.exec(
        select(CustodyEvent)
        .where(CustodyEvent.evidence_id == evidence_id, col(CustodyEvent.seq).is_not(None))
        .order_by(col(CustodyEvent.seq))
    ).all()


def iter_records(
    session: Session, *, after: int = 0, batch: int = 5000
) -> Iterator[dict[str, Any]]:
    """The public records (:func:`event_record`) of the chained events after seq ``after``, in
    seq order, in keyset pages (bounded memory; columns, not ORM rows: a walk of the log)."""
    columns = (
        CustodyEvent.seq,
        CustodyEvent.evidence_id,
        CustodyEvent.action,
        CustodyEvent.actor_id,
        CustodyEvent.department_id,
        CustodyEvent.at,
        CustodyEvent.details,
        CustodyEvent.prev_hash,
        CustodyEvent.hash,
    )
    while True:
        rows = session.exec(
            select(*columns)  # type: ignore[call-overload]
            .where(col(CustodyEvent.seq) > after)
            .order_by(col(CustodyEvent.seq))
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield {**body_of(*row[:7]), "prev_hash": row[7], "hash": row[8]}
        after = rows[-1][0]


class TooManyEventsError(EvidenceError):
    slug, title, status = "too-many-events", "Too many custody events for one export", 422


#: How far an event's time may precede an event chained before it (``at`` is taken when a
#: request starts; its place in the chain when its transaction commits).
ARRIVAL_SLACK = timedelta(minutes=10)


def first_seq_from(session: Session, moment: datetime) -> int:
    """A seq at or before the first chained event at or after ``moment``: a binary search over
    the unique seq index (log n lookups, no index on time), widened by :data:`ARRIVAL_SLACK`."""
    bounds = session.exec(
        select(func.min(CustodyEvent.seq), func.max(CustodyEvent.seq))  # type: ignore[call-overload]
    ).one()
    first, last = bounds
    if first is None or last is None:
        return 1
    low, high = int(first), int(last)
    target = moment - ARRIVAL_SLACK
    while low < high:
        middle = (low + high) // 2
        at = session.exec(
            select(CustodyEvent.at)
            .where(col(CustodyEvent.seq) >= middle)
            .order_by(col(CustodyEvent.seq))
            .limit(1)
        ).first()
        if at is not None and to_utc(at) < target:
            low = middle + 1
        else:
            high = middle
    return int(low)


def records_between(
    session: Session, start: datetime, end: datetime, *, limit: int
) -> Iterator[dict[str, Any]]:
    """The public records of the chained events whose time lies in [start, end), in seq order;
    at most ``limit`` (``TooManyEventsError`` beyond: narrow the range)."""
    yielded = 0
    for record in iter_records(session, after=first_seq_from(session, start) - 1):
        at = parse_rfc3339(record["at"])
        if at >= end + ARRIVAL_SLACK:
            return
        if not start <= at < end:
            continue
        yielded += 1
        if yielded > limit:
            raise TooManyEventsError(
                f"more than {limit} custody events in this range; ask for a shorter one",
                limit=limit,
            )
        yield record
