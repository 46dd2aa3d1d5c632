"""The evidence feed: every item the caller may see, as metadata lines, in arrival order.

A business module keeps its own read model of the core's evidence from this feed instead of
looking items up one by one. The order is the custody log's: an item's place is the ``seq`` of
its ``captured`` event, given by the sequencer under its lock only after the capture committed.
A reader that has passed seq *n* therefore never meets a later item with a smaller seq (a plain
time or id order would: a long upload commits after shorter ones that started later), so pages
have no gaps and no duplicates, and items arriving meanwhile only extend the feed.

One page costs a keyset query for its (seq, id) pairs, then, per batch of ids, one query each
for the items' columns, their anchor, their cases (each link with the purpose the case's
evidence list gives the item, ``case_links``) and their tags — never one per item.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, select
from sqlmodel import Session, col

from evidence_service.access.identity import Actor
from evidence_service.anchoring.models import AnchorBatch, AnchorLeaf, BatchStatus
from evidence_service.capture.models import Evidence, EvidenceTag
from evidence_service.capture.visibility import evidence_clause
from evidence_service.cases.models import CaseEvidenceEntry
from evidence_service.core.clock import rfc3339
from evidence_service.custody.log import CustodyAction
from evidence_service.custody.models import CustodyEvent
from evidence_service.custody.sequencer import integrate_pending

#: Items read per round of the batched queries.
BATCH = 1000


@dataclass(frozen=True)
class FeedPage:
    """The (seq, item id) pairs of one page, and where the next page starts."""

    positions: Sequence[tuple[int, str]]
    next_cursor: int


def evidence_page(engine: Engine, actor: Actor, *, after: int, limit: int) -> FeedPage:
    """The positions of up to ``limit`` items the caller may see, captured after ``after``.
    Pending custody events are chained first, so a capture answered before this call is in it."""
    integrate_pending(engine)
    with Session(engine) as session:
        rows = session.execute(
            select(col(CustodyEvent.seq), col(CustodyEvent.evidence_id))
            .join(Evidence, and_(col(Evidence.id) == col(CustodyEvent.evidence_id)))
            .where(
                col(CustodyEvent.action) == CustodyAction.captured,
                col(CustodyEvent.seq) > after,
                evidence_clause(actor),
            )
            .order_by(col(CustodyEvent.seq))
            .limit(limit)
        ).all()
    positions = [(int(seq), str(evidence_id)) for seq, evidence_id in rows]
    return FeedPage(positions, positions[-1][0] if positions else after)


def evidence_lines(engine: Engine, page: FeedPage) -> Iterator[dict[str, Any]]:
    """The page's items, one dict each, read a batch at a time."""
    for start in range(0, len(page.positions), BATCH):
        batch = page.positions[start : start + BATCH]
        with Session(engine) as session:
            yield from _batch_lines(session, batch)


def _batch_lines(session: Session, batch: Sequence[tuple[int, str]]) -> Iterator[dict[str, Any]]:
    ids = [evidence_id for _, evidence_id in batch]
    items = {
        row[0]: row
        for row in session.execute(
            select(
                col(Evidence.id),
                col(Evidence.port),
                col(Evidence.department_id),
                col(Evidence.officer_id),
                col(Evidence.captured_at),
                col(Evidence.received_at),
                col(Evidence.sha256),
                col(Evidence.signature).is_not(None),
            ).where(col(Evidence.id).in_(ids))
        ).all()
    }
    anchors = {
        row[0]: row
        for row in session.execute(
            select(
                col(AnchorLeaf.evidence_id),
                col(AnchorLeaf.batch_id),
                col(AnchorBatch.status),
                col(AnchorBatch.anchored_at),
            )
            .outerjoin(AnchorBatch, col(AnchorBatch.id) == col(AnchorLeaf.batch_id))
            .where(col(AnchorLeaf.evidence_id).in_(ids))
        ).all()
    }
    cases: dict[str, list[dict[str, str]]] = defaultdict(list)
    for evidence_id, case_id, purpose in session.execute(
        select(
            col(CaseEvidenceEntry.evidence_id),
            col(CaseEvidenceEntry.case_id),
            col(CaseEvidenceEntry.purpose),
        )
        .where(col(CaseEvidenceEntry.evidence_id).in_(ids))
        .order_by(col(CaseEvidenceEntry.evidence_id), col(CaseEvidenceEntry.case_id))
    ).all():
        cases[evidence_id].append({"case_id": case_id, "purpose": purpose or ""})
    tags: dict[str, list[dict[str, str]]] = defaultdict(list)
    for evidence_id, kind, value in session.execute(
        select(col(EvidenceTag.evidence_id), col(EvidenceTag.type), col(EvidenceTag.value))
        .where(col(EvidenceTag.evidence_id).in_(ids))
        .order_by(col(EvidenceTag.evidence_id), col(EvidenceTag.type), col(EvidenceTag.value))
    ).all():
        tags[evidence_id].append({"type": kind, "value": value})
    for seq, evidence_id in batch:
        _, port, department, officer, captured, received, sha256, signed = items[evidence_id]
        anchor = anchors.get(evidence_id)
        anchored = anchor is not None and anchor[2] == BatchStatus.anchored
        yield {
            "cursor": str(seq),
            "id": evidence_id,
            "port": port,
            "department_id": department,
            "officer_id": officer,
            "captured_at": rfc3339(captured),
            "received_at": rfc3339(received),
            "sha256": sha256,
            "signed": bool(signed),
            "anchored": anchored,
            "batch_id": anchor[1] if anchor else None,
            "anchored_at": rfc3339(anchor[3]) if anchored and anchor and anchor[3] else None,
            "case_ids": [link["case_id"] for link in cases.get(evidence_id, [])],
            # each case link with the purpose (证明目的) given on the case's evidence list
            "case_links": cases.get(evidence_id, []),
            "tags": tags.get(evidence_id, []),
        }
