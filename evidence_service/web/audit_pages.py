"""The auditor's page: the custody chain check (incremental, or a full walk in the background)
and the audit trail — every custody event of a period — as CSV.

Auditors (and admins) keep oversight of every department, so the page and the export are
theirs alone; the checks run through the API (``/api/v1/custody/verify``, ``…/verify-jobs``)
from the page's script, under the API's own rules.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from evidence_service.access.models import Role
from evidence_service.api.deps import ServicesDep
from evidence_service.custody.log import records_between
from evidence_service.web.pages import ZONE, local_time, render, require_actor

router = APIRouter(include_in_schema=False)
AUDIT_ROLES = frozenset({Role.auditor, Role.admin})
MAX_DAYS = 92
MAX_EVENTS = 500_000
COLUMNS = (
    "seq",
    "at_utc",
    "at_shanghai",
    "action",
    "evidence_id",
    "actor_id",
    "department_id",
    "prev_hash",
    "hash",
    "details",
)


def _period(start: str, end: str) -> tuple[datetime, datetime]:
    """[first day 00:00, last day + 1 00:00) in Asia/Shanghai; ValueError for a bad period."""
    first = datetime.strptime(start, "%Y-%m-%d").date()
    last = datetime.strptime(end, "%Y-%m-%d").date()
    if last < first:
        raise ValueError("the period ends before it begins")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValueError(f"a period of at most {MAX_DAYS} days")
    return (
        datetime.combine(first, time.min, tzinfo=ZONE),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=ZONE),
    )


@router.get("/audit")
def audit_page(request: Request, services: ServicesDep) -> Response:
    actor = require_actor(request, services)
    if actor.role not in AUDIT_ROLES:
        return render(request, services, "forbidden.html", actor, status_code=403)
    today = datetime.now(ZONE).date()
    return render(
        request,
        services,
        "audit.html",
        actor,
        default_from=(today - timedelta(days=6)).isoformat(),
        default_to=today.isoformat(),
        max_days=MAX_DAYS,
    )


@router.get("/audit/trail.csv")
def audit_trail(
    request: Request,
    services: ServicesDep,
    start: Annotated[str, Query(alias="from", max_length=10)],
    end: Annotated[str, Query(alias="to", max_length=10)],
) -> Response:
    """Every chained custody event of the period, in chain order, with the links that let a
    reader recompute the chain over the exported rows."""
    actor = require_actor(request, services)
    if actor.role not in AUDIT_ROLES:
        return render(request, services, "forbidden.html", actor, status_code=403)
    try:
        begin, finish = _period(start, end)
    except ValueError as exc:
        return render(
            request,
            services,
            "audit.html",
            actor,
            status_code=422,
            error=str(exc),
            default_from=start,
            default_to=end,
            max_days=MAX_DAYS,
        )

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        with Session(services.engine) as session:
            for record in records_between(session, begin, finish, limit=MAX_EVENTS):
                writer.writerow(
                    [
                        record["seq"],
                        record["at"],
                        local_time(record["at"]),
                        record["action"],
                        record["evidence_id"] or "",
                        record["actor_id"] or "",
                        record["department_id"] or "",
                        record["prev_hash"],
                        record["hash"],
                        _json(record["details"]),
                    ]
                )
                if buffer.tell() > 64 * 1024:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    name = f"custody-{start}-{end}.csv"
    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
