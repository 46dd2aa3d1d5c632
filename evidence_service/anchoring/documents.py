"""Anchoring any JSON document (``POST /api/v1/anchors``): its JCS bytes become a leaf of kind
``document`` in the next batch, ``leaf = SHA-256(0x00 ‖ JCS(document))`` as for evidence lists and
transfer manifests, so the same RFC 9162 path and anchor prove it (PROOF_FORMAT.md's ``merkle``
and ``anchor`` sections).

What it is for: a module commits to something before a future fact exists — the joint
inspection's draw commits its inputs before the block whose hash seeds it (docs/draw-format.md)
— and anybody can later check that the commitment was anchored, and when.

The service keeps the digest and the leaf, never the document: its owner publishes it. The same
document anchored twice is one row and one leaf (the digest is unique), so a retry never makes a
second leaf. Each new anchor is a custody event (``document_anchored``), outside any evidence.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from evidence_service.anchoring.batches import queue_document_leaf
from evidence_service.anchoring.models import AnchoredDocument, AnchorLeaf, LeafKind
from evidence_service.anchoring.proofs import TreeCache, merkle_and_anchor
from evidence_service.core.clock import rfc3339
from evidence_service.core.db import session_scope
from evidence_service.core.errors import BadRequestError, NotFoundError
from evidence_service.core.ids import new_id
from evidence_service.custody.log import append_event
from signing.jcs import canonicalize

#: The largest document anchored (a draw's commitment over 100,000 enterprises is ~2 MB).
MAX_ANCHOR_DOCUMENT_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Anchored:
    row: AnchoredDocument
    created: bool  # False: the same document was anchored before (this is that anchor)


def anchor_document(
    engine: Engine, document: Any, *, officer_id: str, department_id: str, now: datetime
) -> Anchored:
    """Queue ``document`` (a JSON object) for the next batch, or find its earlier anchor."""
    if not isinstance(document, dict):
        raise BadRequestError("document must be a JSON object")
    try:
        body = canonicalize(document)
    except ValueError as exc:
        raise BadRequestError(f"document has no JCS form (RFC 8785): {exc}") from exc
    if len(body) > MAX_ANCHOR_DOCUMENT_BYTES:
        raise BadRequestError(f"document is limited to {MAX_ANCHOR_DOCUMENT_BYTES} JCS bytes")
    digest = hashlib.sha256(body).hexdigest()
    found = _by_digest(engine, digest)
    if found is not None:
        return Anchored(found, created=False)
    try:
        with session_scope(engine) as session:
            seq = queue_document_leaf(session, LeafKind.document, document, now)
            row = AnchoredDocument(
                id=new_id(),
                digest=digest,
                leaf_seq=seq,
                size=len(body),
                created_by=officer_id,
                department_id=department_id,
                created_at=now,
            )
            session.add(row)
            append_event(
                session,
                action="document_anchored",
                at=now,
                actor_id=officer_id,
                department_id=department_id,
                details={"anchor_id": row.id, "digest": digest},
            )
    except IntegrityError:  # the same document, anchored by a concurrent request
        found = _by_digest(engine, digest)
        if found is None:
            raise
        return Anchored(found, created=False)
    return Anchored(row, created=True)


def _by_digest(engine: Engine, digest: str) -> AnchoredDocument | None:
    with Session(engine) as session:
        return session.exec(
            select(AnchoredDocument).where(AnchoredDocument.digest == digest)
        ).first()


def read_anchored(engine: Engine, anchor_id: str) -> AnchoredDocument:
    with Session(engine) as session:
        row = session.get(AnchoredDocument, anchor_id)
    if row is None:
        raise NotFoundError(f"no anchored document {anchor_id}")
    return row


def anchored_public(engine: Engine, row: AnchoredDocument, trees: TreeCache) -> dict[str, Any]:
    """The anchor as the API answers it: ``state`` pending (no batch yet), batched (in a closed
    batch, not mined) or anchored, with the Merkle path and the anchor once there are ones."""
    with Session(engine) as session:
        leaf = session.get(AnchorLeaf, row.leaf_seq)
        assert leaf is not None  # the foreign key
        merkle, anchor = merkle_and_anchor(session, leaf, trees)
    return {
        "id": row.id,
        "digest": row.digest,
        "leaf_hash": leaf.leaf_hash,
        "size": row.size,
        "created_by": row.created_by,
        "department_id": row.department_id,
        "created_at": rfc3339(row.created_at),
        "state": "anchored" if anchor else "batched" if merkle else "pending",
        "merkle": merkle,
        "anchor": anchor,
    }
