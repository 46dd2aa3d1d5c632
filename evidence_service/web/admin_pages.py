"""The admin page: departments and officers; add an officer, hand over an enrolment code,
disable or enable an account. Changes go through the API from the page's script (its
policy, idempotency and custody events apply); the lists are read here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from evidence_service.access.models import Department, Officer, Role
from evidence_service.access.people import officer_tokens
from evidence_service.access.pki import officer_certificates
from evidence_service.api.deps import ServicesDep
from evidence_service.web.pages import render, require_actor

router = APIRouter(include_in_schema=False)
MAX_LISTED = 2000


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
