"""One Merkle batch as the API shows it: its root, its custody head and its anchor facts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from evidence_service.anchoring.models import AnchorBatch
from evidence_service.core.clock import rfc3339
from evidence_service.core.errors import NotFoundError

#: Batch ids are 64-bit database integers (from 1): a larger number names no batch, and the
#: databases refuse to even compare one.
MAX_BATCH_ID = 2**63 - 1


def read_batch(engine: Engine, batch_id: int) -> AnchorBatch:
    """The batch row, read in a session of its own; ``NotFoundError`` (404) if there is none."""
    if not 1 <= batch_id <= MAX_BATCH_ID:
        raise NotFoundError(f"no batch {batch_id}")
    with Session(engine) as session:
        batch = session.get(AnchorBatch, batch_id)
    if batch is None:
        raise NotFoundError(f"no batch {batch_id}")
    return batch


def batch_public(batch: AnchorBatch) -> dict[str, Any]:
    """The public form of a batch: ``anchored_at`` and the block facts stay null until its root
    is mined; ``attempts`` and ``last_error`` tell how anchoring goes meanwhile."""
    return {
        "id": batch.id,
        "status": batch.status,
        "root": batch.root,
        "tree_size": batch.tree_size,
        "custody_seq": batch.custody_seq,
        "custody_head": batch.custody_head,
        "closed_at": rfc3339(batch.closed_at),
        "chain_id": batch.chain_id,
        "contract": batch.contract,
        "tx_hash": batch.tx_hash,
        "block_number": batch.block_number,
        "block_hash": batch.block_hash,
        "block_timestamp": batch.block_timestamp,
        "gas_used": batch.gas_used,
        "anchored_at": rfc3339(batch.anchored_at) if batch.anchored_at else None,
        "attempts": batch.attempts,
        "last_error": batch.last_error,
    }
