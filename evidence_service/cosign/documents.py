"""A co-signature as the API shows it: the request, each department's answer and, once every
department approved, what any IETF BLS library needs for ``FastAggregateVerify`` (the message,
each signer's public key and proof of possession, the aggregate)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from evidence_service.cosign.cosignatures import CIPHERSUITE, registered_keys
from evidence_service.cosign.models import (
    CoSignature,
    CoSignatureAnswer,
    CoSignatureRequest,
    CoSignatureStatus,
)


def status_at(request: CoSignatureRequest, now: datetime) -> CoSignatureStatus:
    """The request's status at ``now``: a pending one is expired from ``expires_at`` on."""
    if request.status == CoSignatureStatus.pending and now >= request.expires_at:
        return CoSignatureStatus.expired
    return CoSignatureStatus(request.status)


def _signers(session: Session, signature: CoSignature | None) -> list[dict[str, Any]]:
    if signature is None:
        return []
    keys = registered_keys(session, signature.department_ids)
    return [
        {
            "department_id": d,
            "public_key": pk,
            "proof_of_possession": keys[d].proof_of_possession if d in keys else None,
        }
        for d, pk in zip(signature.department_ids, signature.public_keys, strict=True)
    ]


def cosignature_document(
    session: Session, request: CoSignatureRequest, now: datetime
) -> dict[str, Any]:
    """The public form of a co-signature at ``now`` (datetimes as values)."""
    answers = {
        a.department_id: a
        for a in session.exec(
            select(CoSignatureAnswer).where(CoSignatureAnswer.request_id == request.id)
        ).all()
    }
    signature = session.get(CoSignature, request.id)
    departments = []
    for department_id in request.department_ids:
        answer = answers.get(department_id)
        departments.append(
            {
                "department_id": department_id,
                "answer": answer.answer if answer else None,
                "officer_id": answer.officer_id if answer else None,
                "at": answer.at if answer else None,
                "reason": answer.reason if answer else None,
            }
        )
    return {
        "id": request.id,
        "subject": {"kind": request.subject_kind, "id": request.subject_id},
        "status": str(status_at(request, now)),
        "requested_by": {
            "officer_id": request.requested_by,
            "department_id": request.department_id,
        },
        "requested_at": request.requested_at,
        "expires_at": request.expires_at,
        "decided_at": request.decided_at,
        "departments": departments,
        "ciphersuite": CIPHERSUITE,
        "message": request.message,
        "signers": _signers(session, signature),
        "aggregate_signature": signature.aggregate if signature else None,
    }
