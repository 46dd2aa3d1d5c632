"""Check the custody log against the heads anchored with each batch.

The hash chain alone catches an edited or deleted row in the middle, but not a rewritten tail
(recompute every later hash) or a deleted tail. Each batch carries the log head of its moment
as its last Merkle leaf, and the batch root is on chain; so the log must still hold that head at
that seq, the leaf must be in the tree whose root was anchored, and the chain must say so.

Incremental: a check that finds everything whole stores a checkpoint — the last anchored head it
verified on chain (seq, hash, batch). The next check re-reads that row's hash, walks only the
later events and checks only the later batches, then moves the checkpoint on. An edit before the
checkpoint that keeps the row's stored hash is for the full walk to find: ``full=True`` here
(bounded by :data:`SYNC_FULL_WALK_LIMIT`), or the background job (``custody_jobs.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from web3 import Web3

from chain.anchor_check import AnchorClaim, verify_anchor
from chain.errors import ChainUnavailableError, VerificationError
from chain.merkle import leaf_hash
from evidence_service.anchoring.batches import custody_head_leaf_data
from evidence_service.anchoring.models import AnchorBatch, BatchStatus
from evidence_service.anchoring.proofs import TreeCache
from evidence_service.core.db import session_scope
from evidence_service.core.errors import ConflictError
from evidence_service.custody.log import chain_head, iter_records
from evidence_service.custody.models import CustodyCheckpoint, CustodyEvent
from evidence_service.custody.sequencer import integrate_pending
from evidence_service.verify.custody import GENESIS_HASH, CustodyChainError, verify_records

#: A synchronous walk from the first event (``?full=true``, or no checkpoint yet) is refused
#: above this many events: a longer one runs as a background job (``POST /custody/verify-jobs``).
SYNC_FULL_WALK_LIMIT = 200_000


@dataclass(frozen=True)
class Checkpoint:
    """A log head verified whole and anchored: ``seq`` had ``hash``, the head of ``batch_id``."""

    seq: int
    hash: str
    batch_id: int
    verified_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "hash": self.hash,
            "batch_id": self.batch_id,
            "verified_at": self.verified_at.isoformat().replace("+00:00", "Z"),
        }


@dataclass(frozen=True)
class CustodyReport:
    valid: bool
    events: int
    head: str | None
    batches_checked: int
    chain_checked: bool
    broken_at_seq: int | None = None
    batch_id: int | None = None
    reason: str | None = None
    events_checked: int = 0  # events walked (from the checkpoint, or all)
    from_checkpoint: Checkpoint | None = None  # where this check started (None: genesis)
    checkpoint: Checkpoint | None = None  # the checkpoint after this check
    #: the last anchored head found whole and verified on chain: the next checkpoint
    verified_head: Checkpoint | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "valid": self.valid,
            "events": self.events,
            "head": self.head,
            "anchored_heads_checked": self.batches_checked,
            "chain_checked": self.chain_checked,
            "events_checked": self.events_checked,
            "from_checkpoint": _json(self.from_checkpoint),
            "checkpoint": _json(self.checkpoint),
        }
        if not self.valid:
            body.update(
                broken_at_seq=self.broken_at_seq, batch_id=self.batch_id, reason=self.reason
            )
        return body


def _json(checkpoint: Checkpoint | None) -> dict[str, Any] | None:
    return None if checkpoint is None else checkpoint.as_json()


def _recording(
    records: Iterable[dict[str, Any]], wanted: set[int], seen: dict[int, str]
) -> Iterator[dict[str, Any]]:
    for record in records:
        if record["seq"] in wanted:
            seen[record["seq"]] = record["hash"]
        yield record


def verify_custody(
    engine: Engine, *, trees: TreeCache, w3: Web3 | None, now: datetime, full: bool = False
) -> CustodyReport:
    """Check the log from the stored checkpoint (or, with ``full``, from the first event) and
    the batches anchored after it (with ``w3``, their roots against the chain too); the report
    names the first problem found. Pending events are chained first. When all is whole, the
    checkpoint moves to the last anchored head verified on chain."""
    integrate_pending(engine)
    with Session(engine) as session:  # a read: no writer lock
        start = None if full else load_checkpoint(session)
        if start is None and chain_head(session).seq > SYNC_FULL_WALK_LIMIT:
            raise ConflictError(
                f"the log has over {SYNC_FULL_WALK_LIMIT} events and this check would walk "
                "them all (no checkpoint, or full): run the full walk as a background job "
                "(POST /api/v1/custody/verify-jobs); a whole log sets the checkpoint"
            )
        report = _verify_from(session, start, trees=trees, w3=w3)
    if report.valid and report.verified_head is not None:
        saved = save_checkpoint(engine, replace(report.verified_head, verified_at=now))
        report = replace(report, checkpoint=saved)
    return report


def load_checkpoint(session: Session) -> Checkpoint | None:
    row = session.get(CustodyCheckpoint, 1)
    if row is None:
        return None
    return Checkpoint(row.seq, row.hash, row.batch_id, row.verified_at)


def save_checkpoint(engine: Engine, checkpoint: Checkpoint) -> Checkpoint:
    """Store ``checkpoint`` unless a later one is stored already; the stored one."""
    try:
        return _save_checkpoint(engine, checkpoint)
    except IntegrityError:  # another replica stored the first checkpoint at the same moment
        return _save_checkpoint(engine, checkpoint)


def _save_checkpoint(engine: Engine, checkpoint: Checkpoint) -> Checkpoint:
    with session_scope(engine) as session:
        row = session.get(CustodyCheckpoint, 1)
        if row is None:
            row = CustodyCheckpoint(id=1, **_fields(checkpoint))
        elif row.batch_id < checkpoint.batch_id:
            for key, value in _fields(checkpoint).items():
                setattr(row, key, value)
        session.add(row)
        session.flush()
        return Checkpoint(row.seq, row.hash, row.batch_id, row.verified_at)


def _fields(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "batch_id": checkpoint.batch_id,
        "verified_at": checkpoint.verified_at,
    }


def _verify_from(
    session: Session, start: Checkpoint | None, *, trees: TreeCache, w3: Web3 | None
) -> CustodyReport:
    query = select(AnchorBatch).order_by(col(AnchorBatch.id))
    if start is not None:
        query = query.where(col(AnchorBatch.id) > start.batch_id)
    batches = list(session.exec(query).all())
    seq0, hash0 = (0, GENESIS_HASH) if start is None else (start.seq, start.hash)
    seen: dict[int, str] = {}
    if start is not None:
        problem = _checkpoint_problem(session, start)
        if problem is not None:
            return CustodyReport(
                False, 0, None, 0, False, start.seq, start.batch_id, problem,
                from_checkpoint=start, checkpoint=start,
            )  # fmt: skip
        seen[start.seq] = start.hash
    wanted = {b.custody_seq for b in batches}
    try:
        walked, head = verify_records(
            _recording(iter_records(session, after=seq0), wanted, seen),
            prev_hash=hash0,
            start_seq=seq0 + 1,
        )
    except CustodyChainError as exc:
        return CustodyReport(
            False, 0, None, 0, False, exc.seq, None, exc.reason,
            from_checkpoint=start, checkpoint=start,
        )  # fmt: skip
    count = seq0 + walked
    checked = check_batches(session, batches, seen, count, trees=trees, w3=w3)
    return CustodyReport(
        checked.problem is None,
        count,
        head,
        len(batches) if checked.problem is None else 0,
        checked.chain_checked,
        checked.broken_at_seq,
        checked.batch_id,
        checked.problem,
        events_checked=walked,
        from_checkpoint=start,
        checkpoint=start,
        verified_head=checked.verified_head,
    )


def _checkpoint_problem(session: Session, start: Checkpoint) -> str | None:
    """What is wrong with the checkpoint's row now, or None (its hash is still there)."""
    stored = session.exec(select(CustodyEvent.hash).where(CustodyEvent.seq == start.seq)).first()
    if stored is None:
        last = chain_head(session).seq
        if last < start.seq:
            return (
                f"the log ends at seq {last}, but batch {start.batch_id} anchored its head at "
                f"seq {start.seq}: events were deleted"
            )
        return f"event {start.seq}, the head anchored in batch {start.batch_id}, was deleted"
    if stored != start.hash:
        return f"event {start.seq} differs from the head anchored in batch {start.batch_id}"
    return None


@dataclass(frozen=True)
class BatchesChecked:
    chain_checked: bool
    verified_head: Checkpoint | None  # the last anchored head verified on chain
    problem: str | None = None
    broken_at_seq: int | None = None
    batch_id: int | None = None


def check_batches(
    session: Session,
    batches: Iterable[AnchorBatch],
    hash_at: dict[int, str],
    count: int,
    *,
    trees: TreeCache,
    w3: Web3 | None,
) -> BatchesChecked:
    """Check each batch's anchored head against the log (``hash_at``: seq → hash of the
    walked events that batches name; ``count``: the last seq) and, with ``w3``, its root
    against the chain; stop at the first problem."""
    chain_checked = w3 is not None
    verified: Checkpoint | None = None
    for batch in batches:
        problem = _batch_problem(session, batch, hash_at, count, trees)
        if problem is None and w3 is not None and batch.status == BatchStatus.anchored:
            try:
                verify_anchor(w3, _claim(batch))
                assert batch.id is not None and batch.anchored_at is not None
                verified = Checkpoint(
                    batch.custody_seq, batch.custody_head, batch.id, batch.anchored_at
                )
            except ChainUnavailableError:
                chain_checked = False
            except VerificationError as exc:
                problem = f"batch {batch.id} is not anchored as recorded: {exc}"
        if problem is not None:
            return BatchesChecked(chain_checked, None, problem, batch.custody_seq, batch.id)
    if not chain_checked:
        verified = None  # a checkpoint is a head the chain vouched for
    if verified is not None and verified.seq == 0:
        verified = None  # nothing to start from
    return BatchesChecked(chain_checked, verified)


def _batch_problem(
    session: Session, batch: AnchorBatch, seen: dict[int, str], count: int, trees: TreeCache
) -> str | None:
    """What is wrong between the log and this batch's anchored head, or None."""
    assert batch.id is not None
    if batch.custody_seq > 0 and batch.custody_seq not in seen:
        return (
            f"the log ends at seq {count}, but batch {batch.id} anchored its head at seq "
            f"{batch.custody_seq}: events were deleted"
        )
    if batch.custody_seq > 0 and seen[batch.custody_seq] != batch.custody_head:
        return f"event {batch.custody_seq} differs from the head anchored in batch {batch.id}"
    tree = trees.tree(session, batch.id)
    expected_leaf = leaf_hash(custody_head_leaf_data(batch.custody_seq, batch.custody_head))
    if tree.size != batch.tree_size or tree.leaf_hash(tree.size - 1) != expected_leaf:
        return f"batch {batch.id} does not end with its custody head leaf"
    if tree.root.hex() != batch.root:
        return f"the leaves of batch {batch.id} no longer give its root"
    return None


def _claim(batch: AnchorBatch) -> AnchorClaim:
    assert batch.id is not None and batch.chain_id is not None and batch.contract is not None
    assert batch.tx_hash and batch.block_number and batch.block_hash
    assert batch.block_timestamp is not None
    return AnchorClaim(
        chain_id=batch.chain_id,
        contract=batch.contract,
        tx_hash=batch.tx_hash,
        block_number=batch.block_number,
        block_hash=batch.block_hash,
        block_timestamp=batch.block_timestamp,
        batch_id=batch.id,
        root=bytes.fromhex(batch.root),
        tree_size=batch.tree_size,
    )
