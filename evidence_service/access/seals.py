"""Department e-seals as callers meet them: who may seal, the department a seal image is drawn
for, and a seal record's verdict against the department CAs and CRLs held here.

Sealing itself (:meth:`Pki.seal_digest`, a custody event) is the PKI's; nothing here writes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from evidence_service.access.identity import Actor
from evidence_service.access.models import Department, Role
from evidence_service.access.pki import Pki
from evidence_service.core.errors import BadRequestError, NotFoundError
from signing.errors import SigningError, VerificationError
from signing.seal import SealRecord, verify_seal

#: Who seals any document's digest (``POST /api/v1/departments/{id}/seals``): reviewers and
#: penalty officers their own department's seal — they approve what leaves it — and an admin any.
DOCUMENT_SEALERS = frozenset({Role.admin, Role.reviewer, Role.penalty})
#: Who seals the audit trail they export (``/audit/trail.pdf``): the PDF the service rendered
#: for them, never a digest they bring, and only with their own department's seal.
AUDIT_TRAIL_SEALERS = frozenset({Role.auditor, Role.admin})


def may_seal(actor: Actor, department_id: str, *, audit_trail: bool = False) -> bool:
    """Whether ``actor`` may seal with the seal of ``department_id`` — any digest, or with
    ``audit_trail`` the audit trail PDF rendered for them (an auditor's only seal)."""
    if audit_trail:
        return actor.role in AUDIT_TRAIL_SEALERS and actor.department_id == department_id
    return actor.role in DOCUMENT_SEALERS and (
        actor.role == Role.admin or actor.department_id == department_id
    )


def sealing_department(engine: Engine, department_id: str) -> Department:
    """The department whose seal image is asked for; NotFoundError for no such department."""
    with Session(engine) as session:
        department = session.get(Department, department_id)
    if department is None:
        raise NotFoundError(f"no department {department_id}")
    return department


def seal_verdict(pki: Pki, record: SealRecord, *, expected_digest: str | None) -> dict[str, Any]:
    """Check a seal record against the trust bundle as it stands (and, when given, the digest
    of the document in hand): ``valid`` with the sealing department, code and time, or the
    failure's stable ``reason`` and its detail. A record too malformed for a verdict (e.g. an
    unparsable certificate) is a BadRequestError."""
    with Session(pki.engine) as session:
        cas, crls = pki.trust_bundle(session).as_bytes()
    try:
        verify_seal(record, trusted_cas=cas, crls=crls, expected_digest=expected_digest)
    except VerificationError as exc:
        return {"valid": False, "reason": exc.reason, "detail": exc.detail}
    except SigningError as exc:
        raise BadRequestError(f"record: {exc}") from exc
    return {
        "valid": True,
        "department_id": record.department_id,
        "seal_code": record.seal_code,
        "signed_at": record.signed_at,
    }
