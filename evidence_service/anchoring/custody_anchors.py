"""Check the custody log against the heads anchored with each batch.

The hash chain alone catches an edited or deleted row in the middle, but not a rewritten tail
(recompute every later hash) or a deleted tail. Each batch carries the log head of its moment
as its last Merkle leaf, and the batch root is on chain; so the log must still hold that head at
that seq, the leaf must be in the tree whose root was anchored, and the chain must say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from web3 import Web3

from chain.anchor_check import AnchorClaim, verify_anchor
from chain.errors import ChainUnavailableError, VerificationError
from chain.merkle import leaf_hash
from evidence_service.anchoring.batches import custody_head_leaf_data
from evidence_service.anchoring.models import AnchorBatch, BatchStatus
from evidence_service.anchoring.proofs import TreeCache
from evidence_service.custody.log import iter_events, verify_chain
from evidence_service.custody.models import CustodyEvent
from evidence_service.verify.custody import CustodyChainError


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

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "valid": self.valid,
            "events": self.events,
            "head": self.head,
            "anchored_heads_checked": self.batches_checked,
            "chain_checked": self.chain_checked,
        }
        if not self.valid:
            body.update(
                broken_at_seq=self.broken_at_seq, batch_id=self.batch_id, reason=self.reason
            )
        return body


def _recording(
    events: Iterable[CustodyEvent], wanted: set[int], seen: dict[int, str]
) -> Iterator[CustodyEvent]:
    for event in events:
        if event.seq in wanted:
            seen[event.seq] = event.hash
        yield event


def verify_custody(engine: Engine, *, trees: TreeCache, w3: Web3 | None) -> CustodyReport:
    """Walk the whole log and check every batch's anchored head against it (and, with ``w3``,
    each anchored root against the chain); the report names the first problem found."""
    with Session(engine) as session:  # a read: no writer lock
        return _verify_custody(session, trees=trees, w3=w3)


def _verify_custody(session: Session, *, trees: TreeCache, w3: Web3 | None) -> CustodyReport:
    batches = list(session.exec(select(AnchorBatch).order_by(col(AnchorBatch.id))).all())
    wanted = {b.custody_seq for b in batches}
    seen: dict[int, str] = {}
    try:
        count, head = verify_chain(_recording(iter_events(session), wanted, seen))
    except CustodyChainError as exc:
        return CustodyReport(False, 0, None, 0, False, exc.seq, None, exc.reason)
    chain_checked = w3 is not None
    for batch in batches:
        problem = _batch_problem(session, batch, seen, count, trees)
        if problem is None and w3 is not None and batch.status == BatchStatus.anchored:
            try:
                verify_anchor(w3, _claim(batch))
            except ChainUnavailableError:
                chain_checked = False
            except VerificationError as exc:
                problem = f"batch {batch.id} is not anchored as recorded: {exc}"
        if problem is not None:
            return CustodyReport(
                False, count, head, 0, chain_checked, batch.custody_seq, batch.id, problem
            )
    return CustodyReport(True, count, head, len(batches), chain_checked)


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
