"""The auditor's page: the custody chain check (incremental, or a full walk in the background)
and the audit trail — every custody event of a period — as CSV, or as a PDF sealed with the
auditor's department e-seal.

Auditors (and admins) keep oversight of every department, so the page and the exports are
theirs alone; the checks run through the API (``/api/v1/custody/verify``, ``…/verify-jobs``)
from the page's script, under the API's own rules.

An export is refused (the page again, 422) before a byte is streamed or rendered when the
period holds more events than the export admits: two binary searches bound the period's seq
range, and only a range longer than the limit is counted, stopping one past it. The sealed
PDF is recorded twice in the custody log, in one transaction: the seal's own ``sealed`` event
(``Pki.seal_digest``) and an ``audit_trail_sealed`` event carrying the period and the whole
seal record — the record's id is that event's, so the page can hand the record out later.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import func
from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor
from evidence_service.access.models import Department, Officer, Role
from evidence_service.access.seals import may_seal, sealing_department
from evidence_service.api.deps import ServicesDep
from evidence_service.core.db import session_scope
from evidence_service.core.errors import EvidenceError
from evidence_service.custody.log import (
    ARRIVAL_SLACK,
    append_event,
    chain_head,
    first_seq_from,
    records_between,
)
from evidence_service.custody.models import CustodyEvent
from evidence_service.custody.sequencer import integrate_pending
from evidence_service.render.audit_trail_pdf import (
    AuditTrailDocument,
    AuditTrailRow,
    render_audit_trail_pdf,
)
from evidence_service.render.seal_image import seal_png
from evidence_service.services import Services
from evidence_service.verify.custody import event_body_of, link_hash
from evidence_service.web.pages import (
    ZONE,
    day_start,
    local_time,
    refuse_foreign_form,
    render,
    require_actor,
)

router = APIRouter(include_in_schema=False)
AUDIT_ROLES = frozenset({Role.auditor, Role.admin})
MAX_DAYS = 92
MAX_EVENTS = 500_000
#: A sealed PDF lays out every event on paper: about 530 A4 pages and a few seconds at most.
MAX_PDF_EVENTS = 20_000
SEALED_EXPORT = "audit_trail_sealed"
#: The sealed exports the page lists, found among this many latest custody events.
RECENT_EXPORTS = 10
RECENT_LOOKBACK_EVENTS = 100_000
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


class TooManyForExport(Exception):
    """The period holds more custody events than the export admits."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} custody events")
        self.limit = limit


def _period(start: str, end: str) -> tuple[datetime, datetime]:
    """[first day 00:00, last day + 1 00:00) in Asia/Shanghai; ValueError for a bad period."""
    begin, finish = day_start(start), day_start(end, next_day=True)
    if finish <= begin:
        raise ValueError("the period ends before it begins")
    if (finish - begin).days > MAX_DAYS:
        raise ValueError(f"a period of at most {MAX_DAYS} days")
    return begin, finish


def _sealed_exports(services: Services) -> list[dict[str, Any]]:
    """The latest sealed PDF exports, newest first (a bounded look back: no index on action)."""
    with Session(services.engine) as session:
        last_id = session.exec(select(func.max(CustodyEvent.id))).one() or 0
        events = session.exec(
            select(CustodyEvent)
            .where(
                col(CustodyEvent.id) > last_id - RECENT_LOOKBACK_EVENTS,
                CustodyEvent.action == SEALED_EXPORT,
            )
            .order_by(col(CustodyEvent.id).desc())
            .limit(RECENT_EXPORTS)
        ).all()
        names = dict(
            session.exec(
                select(Officer.id, Officer.name).where(
                    col(Officer.id).in_({e.actor_id for e in events if e.actor_id})
                )
            ).all()
        )
    return [
        {
            "id": event.id,
            "at": event.at,
            "by": names.get(event.actor_id or "", event.actor_id or ""),
            "from": event.details.get("from", ""),
            "to": event.details.get("to", ""),
            "events": event.details.get("events", 0),
            "digest": event.details.get("digest", ""),
        }
        for event in events
    ]


def _audit_page(
    request: Request,
    services: Services,
    actor: Actor,
    *,
    start: str | None = None,
    end: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    today = datetime.now(ZONE).date()
    return render(
        request,
        services,
        "audit.html",
        actor,
        status_code=status_code,
        default_from=start if start is not None else (today - timedelta(days=6)).isoformat(),
        default_to=end if end is not None else today.isoformat(),
        max_days=MAX_DAYS,
        max_events=MAX_EVENTS,
        max_pdf_events=MAX_PDF_EVENTS,
        exports=_sealed_exports(services),
        **context,
    )


@router.get("/audit")
def audit_page(request: Request, services: ServicesDep) -> Response:
    actor = require_actor(request, services)
    if actor.role not in AUDIT_ROLES:
        return render(request, services, "forbidden.html", actor, status_code=403)
    return _audit_page(request, services, actor)


def _bounded_period(
    session: Session, begin: datetime, finish: datetime, *, limit: int
) -> tuple[int, int]:
    """The seq range [low, high] holding every chained event of [begin, finish) — high no
    later than the chain head now, so events chained meanwhile cannot push an export past its
    limit — or TooManyForExport. Both ends are binary searches (``first_seq_from``): an event
    is chained at most ``ARRIVAL_SLACK`` after a later-timed one, so none of the period comes
    after the first event at or past ``finish + ARRIVAL_SLACK``. A range no longer than the
    limit settles it; a longer one is counted, stopping at limit + 1."""
    head = chain_head(session).seq
    low = first_seq_from(session, begin)
    high = min(first_seq_from(session, finish + 2 * ARRIVAL_SLACK), head)
    if high - low + 1 <= limit:
        return low, high
    inside = (
        select(CustodyEvent.id)
        .where(
            col(CustodyEvent.seq) >= low,
            col(CustodyEvent.seq) <= high,
            col(CustodyEvent.at) >= begin,
            col(CustodyEvent.at) < finish,
        )
        .limit(limit + 1)
        .subquery()
    )
    if session.exec(select(func.count()).select_from(inside)).one() > limit:
        raise TooManyForExport(limit)
    return low, high


def _period_records(
    session: Session, begin: datetime, finish: datetime, *, high: int, limit: int
) -> Iterator[dict[str, Any]]:
    """The public records of the period's chained events up to seq ``high``, in seq order."""
    for record in records_between(session, begin, finish, limit=limit):
        if record["seq"] > high:
            return
        yield record


def _checked_period(
    request: Request, services: Services, actor: Actor, start: str, end: str, *, limit: int
) -> tuple[datetime, datetime, int] | Response:
    """The period and the last seq an export reads — or the audit page, 422, saying why not."""
    try:
        begin, finish = _period(start, end)
    except ValueError as exc:
        return _audit_page(
            request, services, actor, start=start, end=end, status_code=422, error=str(exc)
        )
    integrate_pending(services.engine)  # the chained form shows every committed event
    try:
        with Session(services.engine) as session:
            _, high = _bounded_period(session, begin, finish, limit=limit)
    except TooManyForExport as exc:
        return _audit_page(
            request, services, actor, start=start, end=end, status_code=422, too_many=exc.limit
        )
    return begin, finish, high


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
    checked = _checked_period(request, services, actor, start, end, limit=MAX_EVENTS)
    if isinstance(checked, Response):
        return checked
    begin, finish, high = checked

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        with Session(services.engine) as session:
            for record in _period_records(session, begin, finish, high=high, limit=MAX_EVENTS):
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


def chain_problem(records: list[dict[str, Any]]) -> str | None:
    """None when every exported row's hash follows from its body and ``prev_hash`` and each
    row next in the chain to the one before links to it; else where and how it breaks. The
    rows of a period need not be contiguous (events chained late fall in the next period)."""
    previous: dict[str, Any] | None = None
    for record in records:
        seq = record["seq"]
        if link_hash(record["prev_hash"], event_body_of(record)) != record["hash"]:
            return f"序号 {seq}：事件内容与其哈希不符"
        if previous is not None and seq == previous["seq"] + 1:
            if record["prev_hash"] != previous["hash"]:
                return f"序号 {seq}：prev_hash 与前一事件的哈希不符"
        previous = record
    return None


def _trail_document(
    services: Services, actor: Actor, start: str, end: str, records: list[dict[str, Any]]
) -> tuple[AuditTrailDocument, Department]:
    department = sealing_department(services.engine, actor.department_id)
    rows = [
        AuditTrailRow(
            seq=record["seq"],
            at=local_time(record["at"]),
            action=record["action"],
            evidence_id=record["evidence_id"] or "",
            actor_id=record["actor_id"] or "",
            department_id=record["department_id"] or "",
            hash=record["hash"],
        )
        for record in records
    ]
    document = AuditTrailDocument(
        period_from=start,
        period_to=end,
        exported_by=f"{actor.name}（{actor.officer_id}）",
        department=department.name,
        exported_at=services.clock(),
        rows=rows,
        chain_problem=chain_problem(records),
    )
    return document, department


@router.get("/audit/trail.pdf")
def audit_trail_pdf(
    request: Request,
    services: ServicesDep,
    start: Annotated[str, Query(alias="from", max_length=10)],
    end: Annotated[str, Query(alias="to", max_length=10)],
) -> Response:
    """The period's custody events as an A4 PDF stamped and sealed with the exporting
    auditor's department seal; the seal record's id is in ``Seal-Record-Id`` and the record
    itself at ``/audit/seals/{id}.json``."""
    actor = require_actor(request, services)
    if not may_seal(actor, actor.department_id, audit_trail=True):
        return render(request, services, "forbidden.html", actor, status_code=403)
    refuse_foreign_form(request)  # it seals and records: only from this site's own page
    checked = _checked_period(request, services, actor, start, end, limit=MAX_PDF_EVENTS)
    if isinstance(checked, Response):
        return checked
    begin, finish, high = checked
    with Session(services.engine) as session:
        records = list(_period_records(session, begin, finish, high=high, limit=MAX_PDF_EVENTS))
    try:
        document, department = _trail_document(services, actor, start, end, records)
        pdf = render_audit_trail_pdf(document, seal_png=seal_png(department))
    except EvidenceError as exc:  # e.g. a department whose seal cannot be drawn (409)
        return _audit_page(
            request, services, actor, start=start, end=end, status_code=exc.status,
            error=str(exc),
        )  # fmt: skip
    digest = hashlib.sha256(pdf).hexdigest()
    with session_scope(services.engine) as session:  # the seal and its record, or neither
        record = services.pki.seal_digest(
            department.id, digest, actor_id=actor.officer_id, session=session
        )
        export_id = append_event(
            session,
            action=SEALED_EXPORT,
            at=document.exported_at,
            actor_id=actor.officer_id,
            department_id=department.id,
            details={
                "from": start,
                "to": end,
                "events": len(records),
                "first_seq": records[0]["seq"] if records else None,
                "last_seq": records[-1]["seq"] if records else None,
                "digest": digest,
                "seal": json.loads(record.as_json()),
            },
        )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="custody-{start}-{end}.pdf"',
            "Cache-Control": "no-store",
            "Seal-Record-Id": str(export_id),
        },
    )


@router.get("/audit/seals/{export_id}.json")
def sealed_export_record(export_id: str, request: Request, services: ServicesDep) -> Response:
    """The seal record of a sealed PDF export, as ``POST /api/v1/seals/verify`` takes it."""
    actor = require_actor(request, services)
    if actor.role not in AUDIT_ROLES:
        return render(request, services, "forbidden.html", actor, status_code=403)
    event = None
    if export_id.isdigit() and len(export_id) <= 18:
        with Session(services.engine) as session:
            event = session.get(CustodyEvent, int(export_id))
    if event is None or event.action != SEALED_EXPORT or "seal" not in event.details:
        return render(request, services, "missing.html", actor, status_code=404)
    return Response(
        json.dumps(event.details["seal"], ensure_ascii=False, indent=2) + "\n",
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="seal-{export_id}.json"',
            "Cache-Control": "no-store",
        },
    )


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
