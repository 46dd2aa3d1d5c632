"""GET /metrics: the Prometheus text exposition (``core/metrics.py``, ``anchoring/gauges.py``).

Not public by default: a scraper sends ``Authorization: Bearer <EVIDENCE_METRICS_TOKEN>``, or an
admin's or auditor's token; ``EVIDENCE_METRICS_PUBLIC=true`` opens it (the access rule in
``api/policy.py``, the token check in ``core.metrics.may_scrape``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from evidence_service.api.responses import problems
from evidence_service.core.metrics import CONTENT_TYPE, exposition

router = APIRouter(tags=["system"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (scraper token, admin or auditor)",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format 0.0.4 (metric list: docs/operations.md)",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **problems(401, 403),
    },
)
def metrics(request: Request) -> Response:
    return Response(exposition(request.app.state.gauges), media_type=CONTENT_TYPE)
