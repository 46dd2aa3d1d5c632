"""The custody log: append-only events chained by hash.

``hash_n = SHA-256(prev_hash_n ‖ JCS(event_n))`` where ``prev_hash`` of the first event is 32 zero
bytes and ``event_n`` is the JSON object ``{seq, evidence_id, action, actor_id, department_id, at,
details}``. Editing, deleting or reordering any row breaks every later link, and the head hash
(anchored with each batch once the chain issue lands) pins the whole history.

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

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from evidence_service.core.clock import Clock, rfc3339
from evidence_service.core.db import lock_custody_chain, session_scope
from evidence_service.custody.models import CustodyEvent
from evidence_service.verify.custody import (  # the chain's rule, checkable without a database
    GENESIS_HASH,
    link_hash,
    verify_records,
)


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
    return {
        "seq": event.seq,
        "evidence_id": event.evidence_id,
        "action": event.action,
        "actor_id": event.actor_id,
        "department_id": event.department_id,
        "at": rfc3339(event.at),
        "details": event.details,
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
    last = session.exec(
        select(CustodyEvent).order_by(col(CustodyEvent.seq).desc()).limit(1)
    ).first()
    if last is None:
        return ChainHead(0, GENESIS_HASH)
    return ChainHead(last.seq, last.hash)


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
) -> CustodyEvent:
    """Append one event inside the caller's transaction (serialised against other writers).

    A check (:data:`CHECK_ACTIONS`) that repeats one recorded within
    :data:`REPEAT_CHECK_WINDOW` is not appended again: the earlier event is returned."""
    lock_custody_chain(session)
    head = chain_head(session)
    if action in CHECK_ACTIONS and actor_id is not None:
        earlier = _same_check(session, head, str(action), at, evidence_id, actor_id, details or {})
        if earlier is not None:
            return earlier
    event = CustodyEvent(
        seq=head.seq + 1,
        evidence_id=evidence_id,
        action=str(action),
        actor_id=actor_id,
        department_id=department_id,
        at=at,
        details=details or {},
        prev_hash=head.hash,
        hash="",
    )
    event.hash = link_hash(head.hash, event_body(event))
    session.add(event)
    session.flush()
    return event


def _same_check(
    session: Session,
    head: ChainHead,
    action: str,
    at: datetime,
    evidence_id: str | None,
    actor_id: str,
    details: dict[str, Any],
) -> CustodyEvent | None:
    """The latest event recording this very check within the window, if any."""
    wanted = json.loads(json.dumps(details))  # as the JSON column gives it back
    about = (
        col(CustodyEvent.evidence_id).is_(None)
        if evidence_id is None
        else col(CustodyEvent.evidence_id) == evidence_id
    )
    recent = session.exec(
        select(CustodyEvent)
        .where(
            about,
            col(CustodyEvent.seq) > head.seq - REPEAT_LOOKBACK_EVENTS,
            CustodyEvent.action == action,
            CustodyEvent.actor_id == actor_id,
            col(CustodyEvent.at) > at - REPEAT_CHECK_WINDOW,
        )
        .order_by(col(CustodyEvent.seq).desc())
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
    """Append one event in a write transaction of its own: it is in the log once this returns.

    The event's time is read from ``clock`` inside the transaction, once this writer holds its
    turn, so times follow the order of the log."""
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
    """The events about one item, oldest first."""
    return session.exec(
        select(CustodyEvent)
        .where(CustodyEvent.evidence_id == evidence_id)
        .order_by(col(CustodyEvent.seq))
    ).all()


def iter_events(session: Session, *, batch: int = 5000) -> Iterator[CustodyEvent]:
    """All events in seq order, fetched in keyset pages (bounded memory)."""
    after = 0
    while True:
        rows = session.exec(
            select(CustodyEvent)
            .where(CustodyEvent.seq > after)
            .order_by(col(CustodyEvent.seq))
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
