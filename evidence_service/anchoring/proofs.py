"""The proof document (PROOF_FORMAT.md, ``evidence-proof/1``) built from the service's rows.

Its types, and the strict parse a verifier runs, are :mod:`evidence_service.verify.proof`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlmodel import Session, select

from chain.merkle import MerkleTree
from evidence_service.anchoring.batches import batch_leaf_hashes
from evidence_service.anchoring.models import AnchorBatch, AnchorLeaf, BatchStatus
from evidence_service.core.errors import NotFoundError
from evidence_service.verify.proof import MERKLE_HASH, PROOF_FORMAT


class TreeCache:
    """The last few batch trees, so proofs of one batch do not each rebuild it."""

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self._trees: OrderedDict[int, MerkleTree] = OrderedDict()
        self._lock = threading.Lock()

    def tree(self, session: Session, batch_id: int) -> MerkleTree:
        with self._lock:
            tree = self._trees.get(batch_id)
            if tree is not None:
                self._trees.move_to_end(batch_id)
                return tree
        tree = MerkleTree.from_leaf_hashes(batch_leaf_hashes(session, batch_id))
        with self._lock:
            self._trees[batch_id] = tree
            while len(self._trees) > self.capacity:
                self._trees.popitem(last=False)
        return tree


def anchor_section(batch: AnchorBatch) -> dict[str, Any] | None:
    if batch.status != BatchStatus.anchored:
        return None
    return {
        "chain_id": batch.chain_id,
        "contract": batch.contract,
        "tx_hash": batch.tx_hash,
        "block_number": batch.block_number,
        "block_hash": batch.block_hash,
        "block_timestamp": batch.block_timestamp,
        "batch_id": batch.id,
    }


def merkle_and_anchor(
    session: Session, leaf: AnchorLeaf, trees: TreeCache
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A leaf's ``merkle`` and ``anchor`` sections: None until its batch closes / is mined."""
    if leaf.batch_id is None or leaf.leaf_index is None:
        return None, None
    batch = session.get(AnchorBatch, leaf.batch_id)
    assert batch is not None
    tree = trees.tree(session, leaf.batch_id)
    merkle = {
        "hash": MERKLE_HASH,
        "leaf_index": leaf.leaf_index,
        "tree_size": tree.size,
        "leaf_hash": leaf.leaf_hash,
        "path": [h.hex() for h in tree.inclusion_proof(leaf.leaf_index)],
        "root": tree.root.hex(),
    }
    return merkle, anchor_section(batch)


class ProvenItem(Protocol):
    """What a proof carries of a captured item (an ``Evidence`` row is one)."""

    @property
    def id(self) -> str: ...

    @property
    def statement(self) -> dict[str, Any]: ...

    @property
    def signature(self) -> dict[str, Any] | None: ...


def build_proof(engine: Engine, evidence: ProvenItem, trees: TreeCache) -> dict[str, Any]:
    """The proof of an item as it stands: ``merkle`` is null until its batch closes, ``anchor``
    null until the batch's root is mined."""
    with Session(engine) as session:
        leaf = session.exec(select(AnchorLeaf).where(AnchorLeaf.evidence_id == evidence.id)).first()
        if leaf is None:
            raise NotFoundError(f"evidence {evidence.id} has no Merkle leaf")
        merkle, anchor = merkle_and_anchor(session, leaf, trees)
    return {
        "format": PROOF_FORMAT,
        "statement": evidence.statement,
        "signature": evidence.signature,
        "merkle": merkle,
        "anchor": anchor,
    }
