"""Sending a transfer (移送): what may be sent, the sealed manifest, the one write.

A case sends every item attached to it, in its evidence-list order, with its latest issued
list; otherwise the items named, in that order. Every item must be the sending department's or
granted to it, and the case its own: anything else is the 404 an unknown id gets. All checks
run before the seal is made, so a refused request writes nothing at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor
from evidence_service.access.models import Department
from evidence_service.anchoring.batches import queue_document_leaf
from evidence_service.anchoring.models import LeafKind
from evidence_service.capture.ingest import idempotency_record, request_fingerprint
from evidence_service.capture.visibility import check_evidence_visible
from evidence_service.cases.models import Case, CaseEvidenceEntry, EvidenceList
from evidence_service.core.clock import rfc3339
from evidence_service.core.db import session_scope
from evidence_service.core.errors import BadRequestError, NotFoundError
from evidence_service.core.ids import new_id
from evidence_service.custody.log import CustodyAction
from evidence_service.transfer.documents import transfer_document
from evidence_service.transfer.models import Transfer, TransferStatus
from evidence_service.transfer.needs import TransferNeeds
from evidence_service.transfer.packages import build_manifest, manifest_digest
from evidence_service.transfer.transfers import item_events

CREATE_ROUTE = "POST /api/v1/transfers"


@dataclass(frozen=True)
class TransferRequest:
    """What the sender asks for: a case's evidence or a list of items, to one department."""

    to_department_id: str
    case_id: str | None = None
    evidence_ids: tuple[str, ...] | None = None
    note: str | None = None

    def fingerprint(self) -> str:
        return request_fingerprint(
            CREATE_ROUTE,
            to_department_id=self.to_department_id,
            case_id=self.case_id,
            evidence_ids=list(self.evidence_ids) if self.evidence_ids is not None else None,
            note=self.note,
        )


def _recipient(session: Session, actor: Actor, to_department_id: str) -> Department:
    if to_department_id == actor.department_id:
        raise BadRequestError("a department does not transfer to itself; name another recipient")
    recipient = session.get(Department, to_department_id)
    if recipient is None:
        raise NotFoundError(f"no department {to_department_id}")
    return recipient


def _contents(
    session: Session, actor: Actor, request: TransferRequest
) -> tuple[Case | None, list[str]]:
    """The case (if one) and the item ids in order: a case's in its evidence-list order."""
    if (request.case_id is None) == (request.evidence_ids is None):
        raise BadRequestError("give exactly one of case_id (its evidence) or evidence_ids")
    case = None
    if request.case_id is not None:
        case = session.get(Case, request.case_id)
        if case is None or case.department_id != actor.department_id:
            raise NotFoundError(f"no case {request.case_id}")
        ids = list(
            session.exec(
                select(CaseEvidenceEntry.evidence_id)
                .where(CaseEvidenceEntry.case_id == case.id)
                .order_by(col(CaseEvidenceEntry.position))
            ).all()
        )
        if not ids:
            raise BadRequestError(f"case {case.case_number} has no evidence attached yet")
    else:
        ids = list(request.evidence_ids or ())
        if not ids:
            raise BadRequestError("a transfer holds at least one evidence item")
        if len(set(ids)) != len(ids):
            raise BadRequestError("an evidence item is listed twice")
    check_evidence_visible(session, actor, ids)  # another department's item: 404
    return case, ids


def latest_issued_list(session: Session, case_id: str) -> EvidenceList | None:
    return session.exec(
        select(EvidenceList)
        .where(EvidenceList.case_id == case_id)
        .order_by(col(EvidenceList.issued_at).desc())
        .limit(1)
    ).first()


def _ref(department: Department) -> dict[str, str]:
    return {"id": department.id, "name": department.name, "code": department.code}


def create_transfer(
    services: TransferNeeds,
    actor: Actor,
    request: TransferRequest,
    *,
    idempotency_key: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """Seal and record a transfer (201 and its document). A repeated ``Idempotency-Key`` with
    the same request answers the first transfer again; with another request, 422."""
    fingerprint = request.fingerprint()
    if idempotency_key:
        replay = services.ingestor.replay(actor, idempotency_key, CREATE_ROUTE, fingerprint)
        if replay is not None:
            return replay
    transfer_id, now = new_id(), services.clock()
    with Session(services.engine) as session:
        sender = session.get(Department, actor.department_id)
        assert sender is not None
        recipient = _recipient(session, actor, request.to_department_id)
        case, ids = _contents(session, actor, request)
        issued = latest_issued_list(session, case.id) if case else None
        section = {
            "id": transfer_id,
            "sender": _ref(sender),
            "recipient": _ref(recipient),
            "case": (
                {"id": case.id, "case_number": case.case_number, "title": case.title}
                if case
                else None
            ),
            "created_at": rfc3339(now),
            "created_by": actor.officer_id,
            "note": request.note,
            # the list that travels with a case's package (it carries its own seal and anchor)
            "evidence_list": {"id": issued.id, "digest": issued.digest} if issued else None,
        }
        manifest = build_manifest(session, ids, transfer=section)
    digest = manifest_digest(manifest)
    transfer = Transfer(
        id=transfer_id,
        from_department_id=sender.id,
        to_department_id=recipient.id,
        case_id=case.id if case else None,
        status=TransferStatus.pending,
        note=request.note,
        manifest=manifest,
        manifest_digest=digest,
        seal={},
        created_by=actor.officer_id,
        created_at=now,
    )
    try:
        with session_scope(services.engine) as session:  # the seal commits with the transfer
            record = services.pki.seal_digest(
                sender.id, digest, actor_id=actor.officer_id, session=session
            )
            transfer.seal = json.loads(record.as_json())
            transfer.manifest_leaf_seq = queue_document_leaf(
                session, LeafKind.transfer_manifest, manifest, now
            )
            session.add(transfer)
            session.flush()
            item_events(
                session,
                transfer,
                CustodyAction.transferred,
                actor,
                now,
                to_department_id=recipient.id,
                manifest_digest=digest,
            )
            body = transfer_document(session, transfer, services.trees)
            if idempotency_key:
                session.add(
                    idempotency_record(
                        actor, idempotency_key, CREATE_ROUTE, fingerprint, 201, body, now
                    )
                )
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key won the race.
        replay = (
            services.ingestor.replay(actor, idempotency_key, CREATE_ROUTE, fingerprint)
            if idempotency_key
            else None
        )
        if replay is None:
            raise
        return replay
    return 201, body
