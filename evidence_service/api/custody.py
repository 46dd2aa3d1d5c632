"""/api/v1/custody: verify the whole custody hash chain and the heads anchored on chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from evidence_service.anchoring.custody_anchors import verify_custody
from evidence_service.api import schemas
from evidence_service.api.deps import CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems

router = APIRouter(prefix="/api/v1/custody", tags=["custody"])


@router.get(
    "/verify",
    summary="Walk the custody chain and check it against anchored heads",
    responses={**ok(schemas.CustodyVerification), **problems(401)},
)
def verify(services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    """Reports the first broken link, a deleted or rewritten tail (against the head anchored
    with each batch), or a batch whose root the chain does not hold."""
    report = verify_custody(services.engine, trees=services.trees, w3=services.chain_reader())
    return report.as_json()
