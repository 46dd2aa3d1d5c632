"""Merkle batches: pending leaves → a closed batch with a tree → a root anchored on chain.

The life of a leaf:
1. ``statement_leaf`` is added in the capture transaction, so no captured item lacks a leaf.
2. ``close_batch`` (anchoring worker only) takes the oldest pending leaves, gives each its index,
   chains the pending custody events and appends the custody log head as the last leaf, builds
   the RFC 9162 tree and records the root — all in one transaction. The batch is ``closed``.
3. ``anchor_batch`` anchors the root and records the receipt facts: the batch is ``anchored``.
   A root that was mined before a crash is found with ``find_anchor`` and recorded, never sent
   twice; the contract refuses a second anchor of the same root anyway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, func, text, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from chain.base import AnchorChain, AnchorReceipt
from chain.errors import AlreadyAnchoredError, AnchorFailedError
from chain.merkle import MerkleTree, leaf_hash
from evidence_service.anchoring.models import AnchorBatch, AnchorLeaf, BatchStatus, LeafKind
from evidence_service.core.db import lock_custody_chain, session_scope
from evidence_service.core.rows import built
from evidence_service.custody.log import chain_head
from evidence_service.custody.sequencer import integrate_all
from evidence_service.verify.statement import CaptureStatement
from signing.jcs import canonicalize

log = logging.getLogger(__name__)

CUSTODY_HEAD_FORMAT = "evidence-custody-head/1"


def statement_leaf(evidence_id: str, statement: dict[str, Any], at: datetime) -> AnchorLeaf:
    """The pending leaf of a captured item: SHA-256(0x00 ‖ JCS(statement))."""
    return built(
        AnchorLeaf,
        kind=LeafKind.statement,
        evidence_id=evidence_id,
        leaf_hash=CaptureStatement.model_validate(statement).leaf_hash().hex(),
        created_at=at,
    )


def queue_document_leaf(
    session: Session, kind: LeafKind, body: dict[str, Any], at: datetime
) -> int:
    """Queue a pending leaf over a sealed document, SHA-256(0x00 ‖ JCS(body)) — an evidence
    list, a transfer manifest or receipt — for the next batch; its sequence number."""
    leaf = AnchorLeaf(kind=kind, leaf_hash=leaf_hash(canonicalize(body)).hex(), created_at=at)
    session.add(leaf)
    session.flush()
    assert leaf.seq is not None
    return leaf.seq


def custody_head_leaf_data(custody_seq: int, custody_head: str) -> bytes:
    """The bytes of a batch's last leaf: the custody log head when the batch closed."""
    return canonicalize(
        {"format": CUSTODY_HEAD_FORMAT, "custody_seq": custody_seq, "custody_head": custody_head}
    )


@dataclass(frozen=True)
class PendingState:
    oldest_at: datetime | None  # created_at of the oldest pending leaf
    full: bool  # at least one batch's worth of statements is waiting


def pending_state(session: Session, max_leaves: int) -> PendingState:
    oldest = session.exec(
        select(AnchorLeaf.created_at)
        .where(col(AnchorLeaf.batch_id).is_(None))
        .order_by(col(AnchorLeaf.seq))
        .limit(1)
    ).first()
    if oldest is None:
        return PendingState(None, False)
    nth = session.exec(
        select(AnchorLeaf.seq)
        .where(col(AnchorLeaf.batch_id).is_(None))
        .order_by(col(AnchorLeaf.seq))
        .offset(max_leaves - 2)  # max_leaves - 1 statements + the custody head leaf
        .limit(1)
    ).first()
    return PendingState(oldest, nth is not None)


def pending_count(session: Session) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(AnchorLeaf).where(col(AnchorLeaf.batch_id).is_(None))
        ).one()
    )


_LEAVES = AnchorLeaf.__table__  # type: ignore[attr-defined]
#: A batch's leaf hashes in tree order. Core on the session's connection: the ORM's result
#: path cost several times the query itself per row, at up to ``anchor_max_leaves`` rows.
_BATCH_LEAF_HASHES = (
    sa_select(_LEAVES.c.leaf_hash)
    .where(_LEAVES.c.batch_id == bindparam("batch_id"))
    .order_by(_LEAVES.c.leaf_index)
)


def batch_leaf_hashes(session: Session, batch_id: int) -> list[bytes]:
    rows = session.connection().execute(_BATCH_LEAF_HASHES, {"batch_id": batch_id}).scalars()
    return [bytes.fromhex(h) for h in rows]


_ASSIGN_INDEXES = text(
    "UPDATE anchorleaf SET leaf_index = ranked.rn FROM ("
    " SELECT seq, row_number() OVER (ORDER BY seq) - 1 AS rn FROM anchorleaf"
    " WHERE batch_id = :batch_id) AS ranked"
    " WHERE anchorleaf.seq = ranked.seq"
)


def close_batch(engine: Engine, *, max_leaves: int, now: datetime) -> AnchorBatch | None:
    """Move up to ``max_leaves - 1`` pending leaves, plus the custody head, into a new batch.

    Returns the closed batch, or None when nothing is pending. One transaction: a crash leaves
    either no batch or a complete one.
    """
    with session_scope(engine) as session:
        first = session.exec(
            select(AnchorLeaf.seq).where(col(AnchorLeaf.batch_id).is_(None)).limit(1)
        ).first()
        if first is None:
            return None
        # Under the custody lock, chain every event committed so far: the head recorded
        # below covers everything committed before the batch closed, and is a head the log
        # really had (no other integrator moves it meanwhile).
        lock_custody_chain(session)
        integrate_all(session)
        head = chain_head(session)
        batch = AnchorBatch(
            status=BatchStatus.closed,
            root="",
            tree_size=0,
            custody_seq=head.seq,
            custody_head=head.hash,
            closed_at=now,
        )
        session.add(batch)
        session.flush()
        assert batch.id is not None
        # One statement with its own snapshot: exactly the rows the subquery sees are moved, even
        # while captures commit new leaves around it.
        chosen = (
            select(AnchorLeaf.seq)
            .where(col(AnchorLeaf.batch_id).is_(None))
            .order_by(col(AnchorLeaf.seq))
            .limit(max_leaves - 1)
        )
        session.execute(
            update(AnchorLeaf)
            .where(col(AnchorLeaf.seq).in_(chosen.scalar_subquery()))
            .values(batch_id=batch.id)
        )
        session.execute(_ASSIGN_INDEXES, {"batch_id": batch.id})
        count = int(
            session.exec(
                select(func.count()).select_from(AnchorLeaf).where(AnchorLeaf.batch_id == batch.id)
            ).one()
        )
        session.add(
            AnchorLeaf(
                kind=LeafKind.custody_head,
                leaf_hash=leaf_hash(custody_head_leaf_data(head.seq, head.hash)).hex(),
                batch_id=batch.id,
                leaf_index=count,
                created_at=now,
            )
        )
        session.flush()
        tree = MerkleTree.from_leaf_hashes(batch_leaf_hashes(session, batch.id))
        batch.root = tree.root.hex()
        batch.tree_size = tree.size
        session.add(batch)
    log.info("closed batch %s: %s leaves, root %s", batch.id, batch.tree_size, batch.root)
    return batch


def unanchored_batches(session: Session) -> list[AnchorBatch]:
    return list(
        session.exec(
            select(AnchorBatch)
            .where(AnchorBatch.status == BatchStatus.closed)
            .order_by(col(AnchorBatch.id))
        ).all()
    )


def anchor_batch(engine: Engine, chain: AnchorChain, batch: AnchorBatch, *, now: datetime) -> None:
    """Anchor a closed batch exactly once and record the facts.

    Raises ``chain.errors.ChainUnavailableError`` (retry later) or another ``ChainError``.
    """
    assert batch.id is not None
    root = bytes.fromhex(batch.root)
    receipt = chain.find_anchor(root)  # mined before a crash or by a worker that lost its lock
    if receipt is None:
        try:
            receipt = chain.anchor(root, batch.tree_size, batch.id)
        except (AlreadyAnchoredError, AnchorFailedError):
            # Raced with an earlier transaction of ours for the same root; if so, that one
            # stands. Anything else is a real failure.
            receipt = chain.find_anchor(root)
            if receipt is None:
                raise
    if receipt.tree_size != batch.tree_size or receipt.batch_id != batch.id:
        raise AnchorFailedError(
            f"root {batch.root} is anchored with tree size {receipt.tree_size} and batch "
            f"{receipt.batch_id}, not {batch.tree_size} and {batch.id}"
        )
    record_anchor(engine, batch.id, receipt, now=now)


def record_anchor(engine: Engine, batch_id: int, receipt: AnchorReceipt, *, now: datetime) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(AnchorBatch)
            .where(col(AnchorBatch.id) == batch_id)
            .values(
                status=BatchStatus.anchored,
                chain_id=receipt.chain_id,
                contract=receipt.contract,
                tx_hash=receipt.tx_hash,
                block_number=receipt.block_number,
                block_hash=receipt.block_hash,
                block_timestamp=receipt.block_timestamp,
                gas_used=receipt.gas_used,
                anchored_at=now,
                last_error=None,
                next_attempt_at=None,
            )
        )
    log.info(
        "anchored batch %s in block %s (tx %s)", batch_id, receipt.block_number, receipt.tx_hash
    )


def record_failure(engine: Engine, batch_id: int, error: str, *, retry_at: datetime) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(AnchorBatch)
            .where(col(AnchorBatch.id) == batch_id)
            .values(
                attempts=AnchorBatch.attempts + 1,  # type: ignore[operator]
                last_error=error[:1000],
                next_attempt_at=retry_at,
            )
        )
