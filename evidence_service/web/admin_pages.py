"""The admin pages: departments and officers (add an officer, hand over an enrolment code,
disable or enable an account), the cause catalogue, and legal holds. Changes go through the
API from each page's script (its policy, idempotency and custody events apply); the lists are
read here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from evidence_service.access.models import Department, Officer, Role
from evidence_service.access.people import officer_tokens
from evidence_service.access.pki import officer_certificates
from evidence_service.api.deps import ServicesDep
from evidence_service.capture.retention import MAX_REASON_CHARS, held_items
from evidence_service.cases.causes import cause_usage
from evidence_service.core.errors import EvidenceError
from evidence_service.web.pages import render, require_actor

router = APIRouter(include_in_schema=False)
MAX_LISTED = 2000
#: Held items per page of /admin/holds (a keyset cursor pages on).
HOLDS_PAGE = 50


@router.get("/admin")
def admin_page(request: Request, services: ServicesDep) -> Response:
    actor = require_actor(request, services)
    if actor.role != Role.admin:
        return render(request, services, "forbidden.html", actor, status_code=403)
    with Session(services.engine) as session:
        departments = session.exec(select(Department).order_by(col(Department.code))).all()
        officers = session.exec(
            select(Officer)
            .order_by(col(Officer.department_id), col(Officer.name))
            .limit(MAX_LISTED)
        ).all()
    names = {d.id: d.name for d in departments}
    return render(
        request,
        services,
        "admin.html",
        actor,
        departments=departments,
        officers=officers,
        department_names=names,
        roles=[r.value for r in Role],
        truncated=len(officers) >= MAX_LISTED,
    )


@router.get("/admin/officers/{officer_id}")
def admin_officer_page(officer_id: str, request: Request, services: ServicesDep) -> Response:
    """One officer: their tokens (revoke; issue a device or service token) and certificates
    (revoke), each change through the API."""
    actor = require_actor(request, services)
    if actor.role != Role.admin:
        return render(request, services, "forbidden.html", actor, status_code=403)
    with Session(services.engine) as session:
        officer = session.get(Officer, officer_id) if len(officer_id) <= 26 else None
        department = session.get(Department, officer.department_id) if officer else None
    if officer is None:
        return render(request, services, "missing.html", actor, status_code=404)
    return render(
        request,
        services,
        "admin_officer.html",
        actor,
        officer=officer,
        department=department,
        tokens=officer_tokens(services.engine, officer_id),
        certificates=officer_certificates(services.engine, officer_id),
    )


@router.get("/admin/causes")
def admin_causes_page(request: Request, services: ServicesDep) -> Response:
    """The cause catalogue (违法案由) with what refers to each cause; add, rename, or remove one
    nothing refers to, each through the API."""
    actor = require_actor(request, services)
    if actor.role != Role.admin:
        return render(request, services, "forbidden.html", actor, status_code=403)
    return render(
        request, services, "admin_causes.html", actor, causes=cause_usage(services.engine)
    )


@router.get("/admin/holds")
def admin_holds_page(
    request: Request,
    services: ServicesDep,
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The items under a legal hold now (who placed each, when and why); place a hold on an
    item or lift one, with a reason, through the API. A bad cursor is shown on the page."""
    actor = require_actor(request, services)
    if actor.role != Role.admin:
        return render(request, services, "forbidden.html", actor, status_code=403)
    error, status = None, 200
    try:
        items, next_cursor = held_items(services.engine, limit=HOLDS_PAGE, cursor=cursor or None)
    except EvidenceError as exc:
        items, next_cursor, error, status = [], None, exc.detail, exc.status
    with Session(services.engine) as session:
        departments = {d.id: d.name for d in session.exec(select(Department)).all()}
        placers = {item["held_by"] for item in items if item["held_by"]}
        officers = session.exec(select(Officer).where(col(Officer.id).in_(placers))).all()
    return render(
        request,
        services,
        "admin_holds.html",
        actor,
        status_code=status,
        items=items,
        next_cursor=next_cursor,
        error=error,
        department_names=departments,
        officer_names={o.id: o.name for o in officers},
        max_reason=MAX_REASON_CHARS,
    )
