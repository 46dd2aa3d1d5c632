"""What a transfer looks like from outside: the inbox/outbox rows, the whole record, the
receipt, where its Merkle leaves stand, and the verdict with titles taken out for the public.

Read-only: nothing here writes. Times are RFC 3339 strings so a document can be stored as an
idempotent answer and replayed byte for byte.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor
from evidence_service.anchoring.models import AnchorLeaf
from evidence_service.anchoring.proofs import TreeCache, merkle_and_anchor
from evidence_service.core.clock import rfc3339
from evidence_service.core.cursors import keyset_page
from evidence_service.core.errors import NotFoundError
from evidence_service.transfer.models import Transfer, TransferStatus
from signing.jcs import canonicalize

LIST_ORDER = "-created_at"


def item_ids(transfer: Transfer) -> list[str]:
    return [item["evidence_id"] for item in transfer.manifest["items"]]


def seal_json(transfer: Transfer) -> str:
    """The sender's seal record as the JCS text ``SealRecord.as_json`` made."""
    return canonicalize(transfer.seal).decode()


def first_failure(verdict: dict[str, Any]) -> dict[str, Any] | None:
    """The first failed check, else the first undecided one (as ``PackageVerdict`` ranks)."""
    if verdict["valid"]:
        return None
    for wanted in ({"fail"}, {"error", "pending"}):
        for check in verdict["checks"]:
            if check["status"] in wanted:
                return {k: check[k] for k in ("subject", "step", "status", "failure")}
    return None


def list_transfers(
    session: Session,
    actor: Actor,
    *,
    direction: Literal["in", "out"] | None,
    status: TransferStatus | None,
    limit: int,
    cursor: str | None,
    oversight: bool = False,
) -> tuple[list[Transfer], str | None]:
    """The department's inbox (``in``), outbox (``out``) or both, newest first; with
    ``oversight`` and no direction, every transfer."""
    mine = actor.department_id
    query = select(Transfer)
    if direction == "in":
        query = query.where(Transfer.to_department_id == mine)
    elif direction == "out":
        query = query.where(Transfer.from_department_id == mine)
    elif not oversight:
        query = query.where(
            or_(col(Transfer.to_department_id) == mine, col(Transfer.from_department_id) == mine)
        )
    if status is not None:
        query = query.where(Transfer.status == status)
    return keyset_page(session, query, Transfer, LIST_ORDER, limit=limit, cursor=cursor)


def transfer_page(
    engine: Engine,
    actor: Actor,
    *,
    direction: Literal["in", "out"] | None,
    status: TransferStatus | None,
    limit: int,
    cursor: str | None,
    oversight: bool = False,
) -> dict[str, Any]:
    """A page of :func:`list_transfers` as inbox/outbox rows, with the cursor of the next."""
    with Session(engine) as session:
        rows, next_cursor = list_transfers(
            session,
            actor,
            direction=direction,
            status=status,
            limit=limit,
            cursor=cursor,
            oversight=oversight,
        )
    return {"items": [transfer_summary(t) for t in rows], "next_cursor": next_cursor}


def optional_time(value: datetime | None) -> str | None:
    return rfc3339(value) if value is not None else None


def leaf_state(session: Session, seq: int | None, trees: TreeCache) -> dict[str, Any] | None:
    """Where a transfer's leaf stands: ``pending`` (no batch yet), ``batched`` (in a closed
    batch, not mined), ``anchored``; with the Merkle path and anchor once there are ones."""
    leaf = session.get(AnchorLeaf, seq) if seq is not None else None
    if leaf is None:
        return None
    merkle, anchor = merkle_and_anchor(session, leaf, trees)
    state = "anchored" if anchor else "batched" if merkle else "pending"
    return {"state": state, "leaf_hash": leaf.leaf_hash, "merkle": merkle, "anchor": anchor}


def transfer_summary(transfer: Transfer) -> dict[str, Any]:
    """A row of the inbox or outbox."""
    section = transfer.manifest["transfer"]
    return {
        "id": transfer.id,
        "status": str(transfer.status),
        "from_department": section["sender"],
        "to_department": section["recipient"],
        "case": section["case"],
        "note": transfer.note,
        "manifest_digest": transfer.manifest_digest,
        "item_count": len(transfer.manifest["items"]),
        "created_by": transfer.created_by,
        "created_at": rfc3339(transfer.created_at),
        "opened_at": optional_time(transfer.opened_at),
        "valid": transfer.verdict["valid"] if transfer.verdict else None,
        "decided_by": transfer.decided_by,
        "decided_at": optional_time(transfer.decided_at),
        "reason": transfer.reason,
        "receipt_digest": transfer.receipt_digest,
    }


def transfer_document(session: Session, transfer: Transfer, trees: TreeCache) -> dict[str, Any]:
    """The whole record: items, seal, the manifest leaf's anchor state, the last verdict and
    the receipt. Never the files: those travel in the package."""
    return {
        **transfer_summary(transfer),
        "items": [
            {k: item[k] for k in ("evidence_id", "title", "port", "media_type", "size", "sha256")}
            for item in transfer.manifest["items"]
        ],
        "evidence_list": transfer.manifest["transfer"].get("evidence_list"),
        "seal": transfer.seal,
        "manifest_anchor": leaf_state(session, transfer.manifest_leaf_seq, trees),
        "verdict": transfer.verdict,
        "receipt": receipt_document(session, transfer, trees) if transfer.receipt else None,
    }


def receipt_document(session: Session, transfer: Transfer, trees: TreeCache) -> dict[str, Any]:
    """The recipient's receipt: its JCS body, digest, seal record and leaf's anchor state."""
    if transfer.receipt is None:
        raise NotFoundError(
            f"transfer {transfer.id} is {transfer.status}: only an accepted one has a receipt"
        )
    return {
        "transfer_id": transfer.id,
        "receipt": transfer.receipt,
        "digest": transfer.receipt_digest,
        "seal": transfer.receipt_seal,
        "anchor": leaf_state(session, transfer.receipt_leaf_seq, trees),
    }


def public_verdict(verdict: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """The verdict without titles: file subjects become ``files/<evidence id>`` and the
    transfer section keeps only its id, the two departments and the time."""
    names = {item["file"]: f"files/{item['evidence_id']}" for item in manifest["items"]}

    def scrub(check: dict[str, Any]) -> dict[str, Any]:
        return {**check, "subject": names.get(check["subject"], check["subject"])}

    transfer = verdict.get("transfer") or {}
    return {
        **verdict,
        "subject": names.get(verdict["subject"], verdict["subject"]),
        "transfer": {k: transfer.get(k) for k in ("id", "sender", "recipient", "created_at")},
        "problems": [scrub(c) for c in verdict["problems"]],
        "checks": [scrub(c) for c in verdict["checks"]],
    }
