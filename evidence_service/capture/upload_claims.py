"""Completion claims: which request, on which replica, turns a resumable upload into evidence.

The database decides. A completion first *claims* the session — a conditional update that
reserves the evidence id (``evidence_id`` set while the status is still ``open``) — and the
capture transaction flips the session to ``completed`` only if that claim is still its own
(:func:`settle_upload_session`, a capture hook). So two completions racing on two replicas make
one item. A claim not renewed for ``COMPLETION_LEASE_SECONDS`` belongs to a completion that died
(its replica was killed) and may be taken over; the dead one's capture could no longer commit.
The holder renews its claim every ``COMPLETION_RENEW_SECONDS`` while it reads the object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, or_, update
from sqlmodel import Session, SQLModel, col

from evidence_service.capture.models import Evidence, UploadSession, UploadStatus
from evidence_service.core.db import session_scope
from evidence_service.core.errors import UploadStateError

#: A completion claim not renewed for this long is taken to be dead and may be taken over.
COMPLETION_LEASE_SECONDS = 30.0
#: How often the claim holder renews its claim while it reads the object.
COMPLETION_RENEW_SECONDS = 5.0


@dataclass(frozen=True)
class CompletionClaim:
    """This request's claim on completing ``session_id`` as evidence ``evidence_id``."""

    session_id: str
    evidence_id: str


def _claimed_by(claim: CompletionClaim) -> ColumnElement[bool]:
    return and_(
        col(UploadSession.id) == claim.session_id,
        col(UploadSession.status) == UploadStatus.open,
        col(UploadSession.evidence_id) == claim.evidence_id,
    )


def claim_completion(
    engine: Engine, upload: UploadSession, evidence_id: str, now: datetime
) -> CompletionClaim | None:
    """The claim, if the session is still open at the offset read, with no claim or only one
    older than the lease; else None (another request is completing, or has)."""
    stale = now - timedelta(seconds=COMPLETION_LEASE_SECONDS)
    with session_scope(engine) as session:
        claimed = session.execute(
            update(UploadSession)
            .where(
                col(UploadSession.id) == upload.id,
                col(UploadSession.status) == UploadStatus.open,
                col(UploadSession.offset) == upload.offset,
                or_(
                    col(UploadSession.evidence_id).is_(None),
                    col(UploadSession.updated_at) < stale,
                ),
            )
            .values(evidence_id=evidence_id, updated_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
    return CompletionClaim(upload.id, evidence_id)


def renew_claim(engine: Engine, claim: CompletionClaim, now: datetime) -> None:
    """Keep the claim alive; raises ``UploadStateError`` if another request took it over."""
    with session_scope(engine) as session:
        renewed = session.execute(
            update(UploadSession).where(_claimed_by(claim)).values(updated_at=now)
        )
        if renewed.rowcount != 1:  # type: ignore[attr-defined]
            raise UploadStateError(
                "another request took over the completion of this upload",
                status_value="completing",
            )


def end_claim(
    engine: Engine,
    claim: CompletionClaim,
    now: datetime,
    *,
    status: UploadStatus,
    evidence_id: str | None,
) -> bool:
    """End the claim: the session gets ``status`` and ``evidence_id`` (``open`` and None give
    it up for a later completion). False, and nothing changed, if the claim is not ours."""
    with session_scope(engine) as session:
        ended = session.execute(
            update(UploadSession)
            .where(_claimed_by(claim))
            .values(status=status, evidence_id=evidence_id, updated_at=now)
        )
        return bool(ended.rowcount == 1)  # type: ignore[attr-defined]


def claim_is_live(upload: UploadSession, now: datetime) -> bool:
    """Is a completion of this open session under way (a claim renewed within the lease)?"""
    lease = timedelta(seconds=COMPLETION_LEASE_SECONDS)
    return upload.evidence_id is not None and upload.updated_at > now - lease


def settle_upload_session(session: Session, evidence: Evidence, at: datetime) -> list[SQLModel]:
    """Capture hook: in the capture transaction, mark the upload completed — only if this
    capture still holds its completion claim, else the capture is refused and rolled back."""
    if evidence.upload_session_id is None:
        return []
    settled = session.connection().execute(  # Core: not the ORM's bulk-update path
        update(UploadSession)
        .where(_claimed_by(CompletionClaim(evidence.upload_session_id, evidence.id)))
        .values(status=UploadStatus.completed, updated_at=at)
    )
    if settled.rowcount != 1:  # type: ignore[attr-defined]
        raise UploadStateError(
            "another request completed this upload meanwhile", status_value="completing"
        )
    return []
