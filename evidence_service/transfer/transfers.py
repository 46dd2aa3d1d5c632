"""Transfers (移送): one department hands evidence to another — sealed, anchored, receipted.

The sender's department seal is over the SHA-256 of the ``evidence-package/1`` manifest (JCS),
and the manifest's JCS bytes become a Merkle leaf of the next anchor batch, so what was sent,
by whom and when can be shown to anyone holding the digest. The recipient opens the transfer
(every check of the package, run here), then accepts it with a receipt sealed by its own
department (anchored too) or rejects it with a reason; until then the sender may withdraw it.
Only acceptance grants the recipient department the items (``TransferGrant``): a pending,
rejected or withdrawn transfer changes nobody's access.

Every state change is one database transaction: the row, its seal's ``sealed`` event, its leaf,
its grants and the items' custody events commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor
from evidence_service.access.models import TransferGrant
from evidence_service.anchoring.batches import queue_document_leaf
from evidence_service.anchoring.models import LeafKind
from evidence_service.anchoring.proofs import TreeCache
from evidence_service.capture.models import Evidence
from evidence_service.core.clock import rfc3339
from evidence_service.core.db import session_scope
from evidence_service.core.errors import (
    BadRequestError,
    EvidenceError,
    ForbiddenError,
    NotFoundError,
)
from evidence_service.custody.log import CustodyAction, append_event
from evidence_service.transfer.documents import (
    first_failure,
    item_ids,
    leaf_state,
    optional_time,
    public_verdict,
    receipt_document,
    seal_json,
    transfer_document,
)
from evidence_service.transfer.models import Transfer, TransferStatus
from evidence_service.transfer.needs import TransferNeeds
from evidence_service.transfer.packages import IN_QUERY, service_verdict
from signing.jcs import canonicalize

RECEIPT_FORMAT = "evidence-transfer-receipt/1"
#: A transfer the recipient may no longer open or download: it was refused or taken back.
CLOSED = frozenset({TransferStatus.rejected, TransferStatus.withdrawn})


class TransferStateError(EvidenceError):
    """The transfer's status does not allow the action (already decided, or withdrawn)."""

    slug, title, status = "transfer-state", "The transfer cannot take this action now", 409


class Side(StrEnum):
    sender = "sending"
    recipient = "receiving"


# ------------------------------------------------------------------------------ who may act


def _party(transfer: Transfer | None, actor: Actor, transfer_id: str, oversight: bool) -> Transfer:
    """The transfer when the caller's department is one of its ends (or ``oversight``); else
    the same 404 as an unknown id, so ids tell nobody else anything."""
    ends = (transfer.from_department_id, transfer.to_department_id) if transfer else ()
    if transfer is None or not (oversight or actor.department_id in ends):
        raise NotFoundError(f"no transfer {transfer_id}")
    return transfer


def get_transfer(
    session: Session, actor: Actor, transfer_id: str, *, oversight: bool = False
) -> Transfer:
    return _party(session.get(Transfer, transfer_id), actor, transfer_id, oversight)


def transfer_record(
    engine: Engine, trees: TreeCache, actor: Actor, transfer_id: str, *, oversight: bool = False
) -> dict[str, Any]:
    """The whole record (:func:`transfer_document`) of a transfer the caller is an end of, or
    any transfer with ``oversight``; 404 otherwise, as for an unknown id."""
    with Session(engine) as session:
        transfer = get_transfer(session, actor, transfer_id, oversight=oversight)
        return transfer_document(session, transfer, trees)


def transfer_receipt(
    engine: Engine, trees: TreeCache, actor: Actor, transfer_id: str, *, oversight: bool = False
) -> dict[str, Any]:
    """The receipt (:func:`receipt_document`) of a transfer the caller is an end of, or any
    transfer with ``oversight``: 404 until the transfer is accepted."""
    with Session(engine) as session:
        transfer = get_transfer(session, actor, transfer_id, oversight=oversight)
        return receipt_document(session, transfer, trees)


def _locked(session: Session, actor: Actor, transfer_id: str) -> Transfer:
    """The row locked for this transaction (PostgreSQL; SQLite has one writer anyway)."""
    row = session.exec(select(Transfer).where(Transfer.id == transfer_id).with_for_update()).first()
    return _party(row, actor, transfer_id, False)


def _require_side(transfer: Transfer, actor: Actor, side: Side, doing: str) -> None:
    end = transfer.from_department_id if side is Side.sender else transfer.to_department_id
    if actor.department_id != end:
        other = "received" if side is Side.sender else "sent"
        raise ForbiddenError(f"only the {side} department {doing} a transfer; yours {other} it")


def _require_pending(transfer: Transfer, done: str) -> None:
    if transfer.status != TransferStatus.pending:
        raise TransferStateError(
            f"transfer {transfer.id} is {transfer.status}; only a pending one can be {done}",
            transfer_status=str(transfer.status),
        )


def _require_live(transfer: Transfer) -> None:
    if transfer.status in CLOSED:
        raise TransferStateError(
            f"transfer {transfer.id} was {transfer.status}; the recipient can no longer use it",
            transfer_status=str(transfer.status),
        )


# ------------------------------------------------------------------------------ shared


def item_events(
    session: Session,
    transfer: Transfer,
    action: CustodyAction,
    actor: Actor,
    now: datetime,
    **details: Any,
) -> None:
    for evidence_id in item_ids(transfer):
        append_event(
            session,
            action=action,
            at=now,
            evidence_id=evidence_id,
            actor_id=actor.officer_id,
            department_id=actor.department_id,
            details={"transfer_id": transfer.id, **details},
        )


# ------------------------------------------------------------------------------ receiving


def open_transfer(services: TransferNeeds, actor: Actor, transfer_id: str) -> dict[str, Any]:
    """Run every check of the package here and keep the verdict (a custody event). Items not
    anchored yet show as pending: the honest answer until their batch is mined."""
    with Session(services.engine) as session:
        transfer = get_transfer(session, actor, transfer_id)
    _require_side(transfer, actor, Side.recipient, "opens")
    _require_live(transfer)
    verdict = service_verdict(services, transfer.manifest, seal_json(transfer)).as_json()
    now = services.clock()
    with session_scope(services.engine) as session:
        row = _locked(session, actor, transfer_id)
        _require_live(row)
        row.verdict, row.opened_at = verdict, now
        session.add(row)
        append_event(
            session,
            action=CustodyAction.transfer_opened,
            at=now,
            actor_id=actor.officer_id,
            department_id=actor.department_id,
            details={
                "transfer_id": row.id,
                "manifest_digest": row.manifest_digest,
                "valid": verdict["valid"],
                "failure": verdict["failure"],
            },
        )
    return verdict


def accept_transfer(services: TransferNeeds, actor: Actor, transfer_id: str) -> dict[str, Any]:
    """Seal a receipt with the recipient's seal (anchored as a leaf), grant the items to the
    recipient department and mark the transfer accepted. A transfer never opened is opened
    first: the receipt records the verdict the recipient accepted on."""
    with Session(services.engine) as session:
        transfer = get_transfer(session, actor, transfer_id)
    _require_side(transfer, actor, Side.recipient, "accepts")
    _require_pending(transfer, "accepted")
    verdict = transfer.verdict or open_transfer(services, actor, transfer_id)
    now = services.clock()
    receipt = {
        "format": RECEIPT_FORMAT,
        "transfer_id": transfer.id,
        "manifest_digest": transfer.manifest_digest,
        "from_department_id": transfer.from_department_id,
        "to_department_id": transfer.to_department_id,
        "accepted_at": rfc3339(now),
        "accepted_by": actor.officer_id,
        "verdict": {"valid": bool(verdict["valid"]), "first_failure": first_failure(verdict)},
    }
    digest = hashlib.sha256(canonicalize(receipt)).hexdigest()
    with session_scope(services.engine) as session:  # the receipt seal commits with the rest
        row = _locked(session, actor, transfer_id)
        _require_pending(row, "accepted")
        record = services.pki.seal_digest(
            transfer.to_department_id, digest, actor_id=actor.officer_id, session=session
        )
        row.receipt_leaf_seq = queue_document_leaf(session, LeafKind.transfer_receipt, receipt, now)
        row.status, row.decided_by, row.decided_at = TransferStatus.accepted, actor.officer_id, now
        row.receipt, row.receipt_digest = receipt, digest
        row.receipt_seal = json.loads(record.as_json())
        session.add(row)
        _grant(session, row, now)
        item_events(
            session, row, CustodyAction.transfer_accepted, actor, now, receipt_digest=digest
        )
        return receipt_document(session, row, services.trees)


def _grant(session: Session, transfer: Transfer, now: datetime) -> None:
    """Grant the items to the recipient department, except those it owns or holds already."""
    department_id, ids = transfer.to_department_id, item_ids(transfer)
    held: set[str] = set()
    for start in range(0, len(ids), IN_QUERY):
        part = ids[start : start + IN_QUERY]
        held.update(
            session.exec(
                select(TransferGrant.evidence_id).where(
                    TransferGrant.department_id == department_id,
                    col(TransferGrant.evidence_id).in_(part),
                )
            ).all()
        )
        held.update(
            session.exec(
                select(Evidence.id).where(
                    col(Evidence.id).in_(part), Evidence.department_id == department_id
                )
            ).all()
        )
    for evidence_id in ids:
        if evidence_id not in held:
            session.add(
                TransferGrant(
                    department_id=department_id,
                    evidence_id=evidence_id,
                    transfer_id=transfer.id,
                    granted_at=now,
                )
            )


def reject_transfer(
    services: TransferNeeds, actor: Actor, transfer_id: str, reason: str
) -> dict[str, Any]:
    """The recipient refuses, with a reason. Grants nothing."""
    return _close(services, actor, transfer_id, Side.recipient, reason, required=True)


def withdraw_transfer(
    services: TransferNeeds, actor: Actor, transfer_id: str, reason: str | None
) -> dict[str, Any]:
    """The sender takes a pending transfer back. Grants nothing."""
    return _close(services, actor, transfer_id, Side.sender, reason, required=False)


def _close(
    services: TransferNeeds,
    actor: Actor,
    transfer_id: str,
    side: Side,
    reason: str | None,
    *,
    required: bool,
) -> dict[str, Any]:
    status, action, doing = (
        (TransferStatus.rejected, CustodyAction.transfer_rejected, "rejects")
        if side is Side.recipient
        else (TransferStatus.withdrawn, CustodyAction.transfer_withdrawn, "withdraws")
    )
    reason = (reason or "").strip() or None
    now = services.clock()
    with session_scope(services.engine) as session:
        row = _locked(session, actor, transfer_id)
        _require_side(row, actor, side, doing)
        _require_pending(row, str(status))
        if required and reason is None:
            raise BadRequestError("give the reason for the rejection")
        row.status, row.decided_by, row.decided_at, row.reason = (
            status,
            actor.officer_id,
            now,
            reason,
        )
        session.add(row)
        item_events(session, row, action, actor, now, reason=reason)
        return transfer_document(session, row, services.trees)


# ------------------------------------------------------------------------------ the package


def package_transfer(services: TransferNeeds, actor: Actor, transfer_id: str) -> Transfer:
    """The transfer whose package the caller may download: either end, except that a
    rejected or withdrawn transfer is no longer the recipient's to fetch (409)."""
    with Session(services.engine) as session:
        transfer = get_transfer(session, actor, transfer_id)
    if actor.department_id == transfer.to_department_id:
        _require_live(transfer)
    return transfer


def record_download(services: TransferNeeds, actor: Actor, transfer: Transfer) -> None:
    """One ``downloaded`` custody event per item: the items' bytes left in the package."""
    with session_scope(services.engine) as session:
        item_events(
            session,
            transfer,
            CustodyAction.downloaded,
            actor,
            services.clock(),
            package=f"transfer-{transfer.id}.zip",
        )


# ------------------------------------------------------------------------------ public check


#: How long a verdict checked for a caller who is not one of the transfer's ends is reused: a
#: check hashes every file, and an anonymous page must not be a way to keep the disks busy.
PUBLIC_VERDICT_SECONDS = 300.0
_PUBLIC_VERDICTS_KEPT = 256
_public_verdicts: dict[str, tuple[float, dict[str, Any]]] = {}
_public_verdicts_lock = threading.Lock()


def _checked(services: TransferNeeds, transfer: Transfer, *, fresh: bool) -> dict[str, Any]:
    """The transfer's verdict: checked now when ``fresh``, else at most
    :data:`PUBLIC_VERDICT_SECONDS` old (its ``checked_at`` says when)."""
    now = time.monotonic()
    if not fresh:
        with _public_verdicts_lock:
            kept = _public_verdicts.get(transfer.manifest_digest)
        if kept is not None and now - kept[0] < PUBLIC_VERDICT_SECONDS:
            return kept[1]
    verdict = service_verdict(services, transfer.manifest, seal_json(transfer)).as_json()
    verdict["checked_at"] = rfc3339(services.clock())
    with _public_verdicts_lock:
        if len(_public_verdicts) >= _PUBLIC_VERDICTS_KEPT:
            _public_verdicts.pop(min(_public_verdicts, key=lambda d: _public_verdicts[d][0]))
        _public_verdicts[transfer.manifest_digest] = (now, verdict)
    return verdict


def verify_by_digest(
    services: TransferNeeds, digest: str, *, actor: Actor | None, oversight: bool = False
) -> dict[str, Any]:
    """The transfer sealed with this manifest digest, checked: the verdict, its status and
    where its leaves stand. Its two ends (and ``oversight``) get the verdict whole and checked
    now; anyone else gets it without item titles or file names, and checked at most five
    minutes ago."""
    with Session(services.engine) as session:
        transfer = session.exec(select(Transfer).where(Transfer.manifest_digest == digest)).first()
        if transfer is None:
            raise NotFoundError(f"no transfer here has the manifest digest {digest}")
        manifest_anchor = leaf_state(session, transfer.manifest_leaf_seq, services.trees)
        receipt_anchor = leaf_state(session, transfer.receipt_leaf_seq, services.trees)
    ends = (transfer.from_department_id, transfer.to_department_id)
    full = actor is not None and (oversight or actor.department_id in ends)
    verdict = _checked(services, transfer, fresh=full)
    section = transfer.manifest["transfer"]
    if full:  # only its two ends (and oversight) have their checks recorded
        assert actor is not None
        with session_scope(services.engine) as session:
            append_event(
                session,
                action=CustodyAction.verified,
                at=services.clock(),
                actor_id=actor.officer_id,
                department_id=actor.department_id,
                details={
                    "transfer_id": transfer.id,
                    "manifest_digest": digest,
                    "valid": verdict["valid"],
                    "failure": verdict["failure"],
                },
            )
    return {
        "manifest_digest": digest,
        "transfer_id": transfer.id,
        "status": str(transfer.status),
        "sender": section["sender"],
        "recipient": section["recipient"],
        "created_at": section["created_at"],
        "decided_at": optional_time(transfer.decided_at),
        "manifest_anchor": manifest_anchor,
        "receipt": (
            {"digest": transfer.receipt_digest, "anchor": receipt_anchor}
            if transfer.receipt_digest
            else None
        ),
        "verdict": verdict if full else public_verdict(verdict, transfer.manifest),
    }
