"""The co-signature workflow: a request, each named department's answer, the aggregate last.

A reviewer (or penalty officer) asks for a co-signature over a subject they may see — the
statement of an item of their department or transferred to it, or an anchor batch's root —
naming the departments to sign. Their own department is always among the signers (added first
when not named) and the request counts as its approval; nothing is signed then. Each other named
department's reviewer or penalty officer approves or declines (never an admin, never another
department). When the last department approves, every department's BLS key signs the message
fixed at the request and the aggregate is stored (``CoSignature``, same id). A decline ends the
request, and so do :data:`REQUEST_TTL` (seven days) without every approval: ``expires_at`` is set
from the request time on the service clock and read lazily — a pending request read on or after
it is ``expired``; nothing runs in the background. An ended request takes no answers (409
``cosignature-state``), nor does a department that has answered.

Who sees a co-signature (reads, verifies, answers it): whoever may see its subject — the item's
department, departments it was transferred to, and ``oversight`` (the auditor); a batch root is
everyone's — and the departments it names, which are asked to sign and must read what they sign
(the message names the item and the SHA-256 of its statement, never its content). Anyone else
gets the 404 an unknown id gets, and so does a requester naming a subject they may not see.

Every request, approval, decline, completion and verification is a custody event on the subject
item (a batch's: on no item) with the acting officer and their department. Each change is one
transaction with its events; the request row is locked while an answer is recorded, so two last
approvals cannot both (or neither) complete it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from evidence_service.access.identity import Actor
from evidence_service.access.models import Department, Role
from evidence_service.capture.models import Evidence
from evidence_service.capture.visibility import check_evidence_visible, granted
from evidence_service.core.clock import Clock, rfc3339
from evidence_service.core.db import session_scope
from evidence_service.core.errors import (
    BadRequestError,
    CoSignatureStateError,
    ForbiddenError,
    NotFoundError,
)
from evidence_service.core.ids import new_id
from evidence_service.cosign.cosignatures import (
    CoSigner,
    SubjectKind,
    find_subject,
    verify_aggregate,
)
from evidence_service.cosign.documents import cosignature_document, status_at
from evidence_service.cosign.models import (
    Answer,
    CoSignature,
    CoSignatureAnswer,
    CoSignatureRequest,
    CoSignatureStatus,
)
from evidence_service.custody.log import append_event
from signing.errors import KeyFormatError, VerificationError

#: How long a request waits for every approval, from the time it was made.
REQUEST_TTL = timedelta(days=7)
MAX_SIGNERS = 32
#: Who asks for and answers a co-signature for their department. Never an admin, an auditor, a
#: court clerk or an officer: a department's signature is its reviewers' decision.
ANSWERERS = frozenset({Role.reviewer, Role.penalty})


class CoSignEvent(StrEnum):
    """The custody events of the workflow (each carries the acting department)."""

    requested = "co_sign_requested"  # also the requesting department's approval
    approved = "co_sign_approved"
    declined = "co_sign_declined"
    signed = "co_signed"  # the last approval: the aggregate was made and stored
    verified = "co_signature_verified"


# ------------------------------------------------------------------------------ who sees it


@dataclass(frozen=True)
class Audience:
    """Who may see a co-signature: these departments (``"*"``: everyone signed in), and those
    the subject item was transferred to."""

    departments: frozenset[str]
    evidence_id: str | None


def _audience(session: Session, request: CoSignatureRequest) -> Audience:
    if request.evidence_id is None:  # a batch root: public knowledge, like the batch itself
        return Audience(frozenset({"*"}), None)
    owner = session.exec(
        select(Evidence.department_id).where(Evidence.id == request.evidence_id)
    ).first()
    departments = set(request.department_ids) | ({owner} if owner else set())
    return Audience(frozenset(departments), request.evidence_id)


def cosignature_audience(session: Session, cosignature_id: str) -> Audience | None:
    """Who may see the co-signature with this id; None when there is none (for the access
    policy's check of a path naming one)."""
    request = session.get(CoSignatureRequest, cosignature_id)
    return None if request is None else _audience(session, request)


def may_see_cosignature(
    session: Session, actor: Actor, audience: Audience, *, oversight: bool
) -> bool:
    """Whether the caller's department is in the audience (or was granted the item), or the
    caller has ``oversight``."""
    if oversight or not {"*", actor.department_id}.isdisjoint(audience.departments):
        return True
    return audience.evidence_id is not None and granted(
        session, actor.department_id, audience.evidence_id
    )


def _visible_request(
    session: Session,
    actor: Actor,
    cosignature_id: str,
    *,
    oversight: bool = False,
    lock: bool = False,
) -> CoSignatureRequest:
    query = select(CoSignatureRequest).where(CoSignatureRequest.id == cosignature_id)
    request = session.exec(query.with_for_update() if lock else query).first()
    if request is None or not may_see_cosignature(
        session, actor, _audience(session, request), oversight=oversight
    ):
        raise NotFoundError(f"no cosignature {cosignature_id}")
    return request


def _require_answerer(actor: Actor, doing: str) -> None:
    if actor.role not in ANSWERERS:
        raise ForbiddenError(
            f"role {actor.role} may not {doing}: a department's reviewers and penalty officers do"
        )


def _kind(request: CoSignatureRequest) -> SubjectKind:
    return "statement" if request.subject_kind == "statement" else "batch"


def _event(
    session: Session,
    request: CoSignatureRequest,
    action: CoSignEvent,
    actor: Actor,
    now: datetime,
    **details: Any,
) -> None:
    append_event(
        session,
        action=action,
        at=now,
        evidence_id=request.evidence_id,
        actor_id=actor.officer_id,
        department_id=actor.department_id,
        details={
            "cosignature_id": request.id,
            "subject": {"kind": request.subject_kind, "id": request.subject_id},
            **details,
        },
    )


# ------------------------------------------------------------------------------ reading


def cosignature_record(
    engine: Engine, actor: Actor, cosignature_id: str, *, clock: Clock, oversight: bool = False
) -> dict[str, Any]:
    """The co-signature as the API shows it (``cosign/documents.py``): its status, the
    departments' answers and, once complete, the aggregate; 404 unless the caller may see it."""
    with Session(engine) as session:
        request = _visible_request(session, actor, cosignature_id, oversight=oversight)
        return cosignature_document(session, request, clock())


# ------------------------------------------------------------------------------ requesting


def _signers(actor: Actor, department_ids: list[str]) -> list[str]:
    if len(set(department_ids)) != len(department_ids):
        raise BadRequestError("name each co-signing department once")
    named = list(department_ids)
    if actor.department_id not in named:
        named.insert(0, actor.department_id)  # the requester's department always signs
    if len(named) < 2:
        raise BadRequestError("name at least one department besides your own to co-sign")
    if len(named) > MAX_SIGNERS:
        raise BadRequestError(f"at most {MAX_SIGNERS} departments co-sign one record")
    return named


def request_cosignature(
    engine: Engine,
    actor: Actor,
    kind: SubjectKind,
    subject_id: str,
    department_ids: list[str],
    *,
    clock: Clock,
    ttl: timedelta = REQUEST_TTL,
) -> dict[str, Any]:
    """Ask ``department_ids`` (and the caller's own department, whose approval this request
    is) to co-sign a subject the caller may see. Signs nothing; a custody event. 404 for a
    subject the caller may not see, as for an unknown one, and for an unknown department."""
    _require_answerer(actor, "ask for a co-signature")
    named = _signers(actor, department_ids)
    with session_scope(engine) as session:
        if kind == "statement":
            check_evidence_visible(session, actor, [subject_id])
        subject = find_subject(session, kind, subject_id)
        for department_id in named:
            if session.get(Department, department_id) is None:
                raise NotFoundError(f"no department {department_id}")
        now = clock()
        request = CoSignatureRequest(
            id=new_id(),
            subject_kind=kind,
            subject_id=subject_id,
            evidence_id=subject.evidence_id,
            message=subject.message.decode(),
            department_ids=named,
            requested_by=actor.officer_id,
            department_id=actor.department_id,
            requested_at=now,
            expires_at=now + ttl,
        )
        session.add(request)
        session.flush()
        session.add(_answer_row(request, actor, Answer.approved, now))
        _event(
            session,
            request,
            CoSignEvent.requested,
            actor,
            now,
            departments=named,
            expires_at=rfc3339(request.expires_at),
        )
        return cosignature_document(session, request, now)


# ------------------------------------------------------------------------------ answering


def _answer_row(
    request: CoSignatureRequest,
    actor: Actor,
    answer: Answer,
    now: datetime,
    reason: str | None = None,
) -> CoSignatureAnswer:
    return CoSignatureAnswer(
        request_id=request.id,
        department_id=actor.department_id,
        answer=answer,
        officer_id=actor.officer_id,
        at=now,
        reason=reason,
    )


def _open_for_answer(
    session: Session, actor: Actor, cosignature_id: str, clock: Clock, doing: str
) -> tuple[CoSignatureRequest, datetime]:
    """The request, locked, when the caller answers for a named department and it still takes
    that department's answer; the time of the answer."""
    _require_answerer(actor, doing)
    request = _visible_request(session, actor, cosignature_id, lock=True)
    if actor.department_id not in request.department_ids:
        raise ForbiddenError(
            f"only the departments co-signature {cosignature_id} names {doing}; yours is not one"
        )
    now = clock()
    status = status_at(request, now)
    if status is not CoSignatureStatus.pending:
        raise CoSignatureStateError(
            f"co-signature {cosignature_id} is {status}; only a pending one takes answers",
            cosignature_status=str(status),
        )
    earlier = session.get(CoSignatureAnswer, (request.id, actor.department_id))
    if earlier is not None:
        raise CoSignatureStateError(
            f"your department {earlier.answer} co-signature {cosignature_id} already, at "
            f"{rfc3339(earlier.at)}",
            cosignature_status=str(status),
        )
    return request, now


def approve_cosignature(
    engine: Engine, signer: CoSigner, actor: Actor, cosignature_id: str, *, clock: Clock
) -> dict[str, Any]:
    """Record the caller's department's approval (a custody event). The last approval makes
    the aggregate: each department's key signs the requested message, the aggregate is checked
    and stored, and a ``co_signed`` event follows, in the same transaction."""
    with session_scope(engine) as session:
        request, now = _open_for_answer(session, actor, cosignature_id, clock, "approve it")
        kind = _kind(request)
        if find_subject(session, kind, request.subject_id).message.decode() != request.message:
            raise CoSignatureStateError(
                f"the {kind} {request.subject_id} changed since co-signing it was requested; "
                "ask again",
                cosignature_status=str(CoSignatureStatus.pending),
            )
        session.add(_answer_row(request, actor, Answer.approved, now))
        _event(session, request, CoSignEvent.approved, actor, now)
        session.flush()
        approved = set(
            session.exec(
                select(CoSignatureAnswer.department_id).where(
                    CoSignatureAnswer.request_id == request.id,
                    CoSignatureAnswer.answer == Answer.approved,
                )
            ).all()
        )
        if approved >= set(request.department_ids):
            aggregate = signer.aggregate(session, request.department_ids, request.message.encode())
            session.add(
                CoSignature(
                    id=request.id,
                    subject_kind=request.subject_kind,
                    subject_id=request.subject_id,
                    message=request.message,
                    department_ids=request.department_ids,
                    public_keys=aggregate.public_keys,
                    aggregate=aggregate.signature,
                    created_by=actor.officer_id,
                    created_at=now,
                )
            )
            request.status, request.decided_at = CoSignatureStatus.complete, now
            session.add(request)
            _event(
                session,
                request,
                CoSignEvent.signed,
                actor,
                now,
                departments=list(request.department_ids),
            )
            session.flush()
        return cosignature_document(session, request, now)


def decline_cosignature(
    engine: Engine,
    actor: Actor,
    cosignature_id: str,
    *,
    clock: Clock,
    reason: str | None = None,
) -> dict[str, Any]:
    """Record the caller's department's refusal (a custody event): the request ends there and
    nothing is signed."""
    with session_scope(engine) as session:
        request, now = _open_for_answer(session, actor, cosignature_id, clock, "decline it")
        session.add(_answer_row(request, actor, Answer.declined, now, reason))
        request.status, request.decided_at = CoSignatureStatus.declined, now
        session.add(request)
        _event(session, request, CoSignEvent.declined, actor, now, reason=reason)
        session.flush()
        return cosignature_document(session, request, now)


# ------------------------------------------------------------------------------ verifying


def verify_cosignature(
    engine: Engine, actor: Actor, cosignature_id: str, *, clock: Clock, oversight: bool = False
) -> dict[str, Any]:
    """Check a complete co-signature's aggregate against its subject as it stands now and the
    departments' registered keys: a verdict, and a custody event either way. 409 while there
    is no aggregate (pending, declined, expired)."""
    with session_scope(engine) as session:
        request = _visible_request(session, actor, cosignature_id, oversight=oversight)
        now = clock()
        row = session.get(CoSignature, request.id)
        status = status_at(request, now)
        if row is None:
            raise CoSignatureStateError(
                f"co-signature {cosignature_id} is {status}: there is no aggregate to verify",
                cosignature_status=str(status),
            )
        problem = None
        try:
            subject = find_subject(session, _kind(request), row.subject_id)
            verify_aggregate(session, row, subject.message)
        except VerificationError as exc:
            problem = exc.detail
        except KeyFormatError as exc:
            problem = str(exc)
        _event(session, request, CoSignEvent.verified, actor, now, valid=problem is None)
    return {"valid": problem is None, "detail": problem or "every department's key signed"}
