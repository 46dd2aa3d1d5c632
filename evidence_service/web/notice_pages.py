"""In-app notifications: transfers waiting for this department's decision (with their
deadline), decisions on the transfers it sent, and deadlines passed.

Computed on each visit from the transfers the department may list (the inbox and outbox rule
of ``GET /api/v1/transfers``); nothing is stored, so nothing can go stale or be lost.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from evidence_service.access.identity import Actor
from evidence_service.api.deps import ServicesDep
from evidence_service.core.clock import parse_rfc3339
from evidence_service.services import Services
from evidence_service.transfer.documents import transfer_page
from evidence_service.transfer.models import TransferStatus
from evidence_service.web.case_pages import TRANSFERS, role_may
from evidence_service.web.pages import render, require_actor

router = APIRouter(include_in_schema=False)
#: Days a recipient has to accept or reject a transfer before it shows as overdue.
DECISION_DAYS = 7
#: How far back decisions on sent transfers are shown.
DECISIONS_SHOWN_DAYS = 14
LISTED = 100


def notices(services: Services, actor: Actor) -> dict[str, list[dict[str, Any]]]:
    """``waiting`` (incoming, pending: each with ``due`` and ``overdue``) and ``decided``
    (outgoing, decided within :data:`DECISIONS_SHOWN_DAYS`), newest first."""
    if not role_may(actor, "GET", TRANSFERS):
        return {"waiting": [], "decided": []}
    now = services.clock()
    incoming = transfer_page(
        services.engine,
        actor,
        direction="in",
        status=TransferStatus.pending,
        limit=LISTED,
        cursor=None,
    )["items"]
    waiting = []
    for row in incoming:
        due = parse_rfc3339(row["created_at"]) + timedelta(days=DECISION_DAYS)
        waiting.append({**row, "due": due.isoformat(), "overdue": due < now})
    outgoing = transfer_page(
        services.engine, actor, direction="out", status=None, limit=LISTED, cursor=None
    )["items"]
    since = now - timedelta(days=DECISIONS_SHOWN_DAYS)
    decided = [
        row
        for row in outgoing
        if row["decided_at"] is not None
        and row["status"] in (TransferStatus.accepted, TransferStatus.rejected)
        and parse_rfc3339(row["decided_at"]) >= since
    ]
    return {"waiting": waiting, "decided": decided}


@router.get("/notifications")
def notifications_page(request: Request, services: ServicesDep) -> Response:
    actor = require_actor(request, services)
    found = notices(services, actor)
    return render(
        request,
        services,
        "notifications.html",
        actor,
        waiting=found["waiting"],
        decided=found["decided"],
        decision_days=DECISION_DAYS,
    )
