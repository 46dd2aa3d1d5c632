"""A package checked on a caller's behalf (``POST /api/v1/packages/verify``): the custody event
that records a signed-in caller's check, in a transaction of its own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from evidence_service.access.identity import Actor
from evidence_service.core.db import session_scope
from evidence_service.custody.log import append_event
from evidence_service.verify.verdict import Verdict


def record_package_verified(
    engine: Engine, actor: Actor, verdict: Verdict, *, at: datetime
) -> None:
    """One ``package_verified`` custody event: which manifest, whether it verified, and the
    first failure."""
    with session_scope(engine) as session:
        append_event(
            session,
            action="package_verified",
            at=at,
            actor_id=actor.officer_id,
            department_id=actor.department_id,
            details={
                "manifest_sha256": verdict.manifest_digest,
                "valid": verdict.valid,
                "failure": str(verdict.failure) if verdict.failure else None,
            },
        )
