"""/api/v1/custody: verify the whole custody hash chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from evidence_service.api.deps import CurrentActor, SessionDep
from evidence_service.custody import CustodyChainError, iter_events, verify_chain

router = APIRouter(prefix="/api/v1/custody", tags=["custody"])


@router.get("/verify", summary="Walk the custody chain; report the first broken link")
def verify(session: SessionDep, actor: CurrentActor) -> dict[str, Any]:
    try:
        count, head = verify_chain(iter_events(session))
    except CustodyChainError as exc:
        return {"valid": False, "broken_at_seq": exc.seq, "reason": exc.reason}
    return {"valid": True, "events": count, "head": head}
