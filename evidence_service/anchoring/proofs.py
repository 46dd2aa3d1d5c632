"""The proof document (PROOF_FORMAT.md, ``evidence-proof/1``): parsed strictly, built from rows.

``ProofDocument.from_json`` parses then checks shape: a proof with an unknown field, a number
where a string belongs, or a path longer than ``MAX_PROOF_DEPTH`` is refused before any step
runs, so the statement verified is byte for byte the statement in the file.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, select

from chain.merkle import MAX_PROOF_DEPTH, MerkleTree
from evidence_service.anchoring.batches import batch_leaf_hashes
from evidence_service.anchoring.models import AnchorBatch, AnchorLeaf, BatchStatus
from evidence_service.capture.models import Evidence
from evidence_service.core.errors import EvidenceError, NotFoundError
from evidence_service.verify.statement import HEX64, CaptureStatement

PROOF_FORMAT = "evidence-proof/1"
MERKLE_HASH = "sha256-rfc9162"
MAX_PROOF_BYTES = 256 * 1024
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
HASH32 = r"^0x[0-9a-fA-F]{64}$"


class ProofFormatError(EvidenceError):
    slug, title, status = "malformed-proof", "The proof document is malformed", 422


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SignatureSection(_Frozen):
    alg: Literal["Ed25519", "ES256"]
    signer: str
    certificate: str
    value: str


class MerkleSection(_Frozen):
    hash: Literal["sha256-rfc9162"]
    leaf_index: int = Field(ge=0)
    tree_size: int = Field(ge=1)
    leaf_hash: str = Field(pattern=HEX64)
    path: list[str] = Field(max_length=MAX_PROOF_DEPTH)
    root: str = Field(pattern=HEX64)

    def path_bytes(self) -> list[bytes]:
        for element in self.path:
            if len(element) != 64:
                raise ValueError("every path element must be 64 hex digits")
        return [bytes.fromhex(h) for h in self.path]


class AnchorSection(_Frozen):
    chain_id: int = Field(ge=1)
    contract: str = Field(pattern=ADDRESS)
    tx_hash: str = Field(pattern=HASH32)
    block_number: int = Field(ge=1)
    block_hash: str = Field(pattern=HASH32)
    block_timestamp: int = Field(ge=0)
    batch_id: int = Field(ge=1)


class ProofDocument(_Frozen):
    format: Literal["evidence-proof/1"]
    statement: CaptureStatement
    signature: SignatureSection | None
    merkle: MerkleSection | None
    anchor: AnchorSection | None

    @classmethod
    def from_json(cls, data: bytes | str | dict[str, Any]) -> ProofDocument:
        try:
            if isinstance(data, bytes | str):
                if len(data) > MAX_PROOF_BYTES:
                    raise ProofFormatError(f"a proof is at most {MAX_PROOF_BYTES} bytes")
                data = json.loads(data)
            if not isinstance(data, dict):
                raise ProofFormatError("a proof is a JSON object")
            return cls.model_validate(data, strict=True)
        except json.JSONDecodeError as exc:
            raise ProofFormatError(f"the proof is not JSON: {exc}") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(document)"
            raise ProofFormatError(
                f"the proof does not follow {PROOF_FORMAT}: {where}: {first['msg']}",
                errors=[
                    {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]}
                    for e in exc.errors()
                ],
            ) from exc

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


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


def build_proof(engine: Engine, evidence: Evidence, trees: TreeCache) -> dict[str, Any]:
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
