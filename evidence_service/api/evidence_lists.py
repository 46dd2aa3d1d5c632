"""Evidence lists (证据清单): the current list of a case; issued (sealed, anchored) lists."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from sqlmodel import Session, col, select

from evidence_service.api.deps import CurrentActor, ServicesDep
from evidence_service.api.seals import seal_png
from evidence_service.errors import ForbiddenError, NotFoundError
from evidence_service.evidence_list_pdf import render_evidence_list_pdf
from evidence_service.evidence_lists import (
    issue_list,
    issued_list_document,
    list_body,
    list_digest,
    pdf_document,
)
from evidence_service.models import Case, Department, EvidenceList, Role

router = APIRouter(prefix="/api/v1", tags=["evidence lists"])
ISSUE_ROLES = frozenset({Role.admin, Role.reviewer, Role.penalty, Role.officer})


@router.get("/cases/{case_id}/evidence-list.json", summary="The case's evidence list as it stands")
def current_list(case_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    """Items in attachment order with number, name, source, what it proves, size/pages and
    SHA-256; ``digest`` is the SHA-256 of the body's JCS bytes. Not sealed: issue it for that."""
    with Session(services.engine) as session:
        body = list_body(session, case_id)
    return {"body": body, "digest": list_digest(body)}


@router.post(
    "/cases/{case_id}/evidence-lists",
    status_code=201,
    summary="Issue the evidence list: sealed by the department, anchored in the next batch",
)
def issue(case_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    with Session(services.engine) as session:
        case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    if actor.role not in ISSUE_ROLES or (
        actor.role != Role.admin and actor.department_id != case.department_id
    ):
        raise ForbiddenError("only the case's department (or an admin) issues its evidence list")
    issued = issue_list(services.pki, case_id, actor=actor)
    with Session(services.engine) as session:
        return jsonable_encoder(issued_list_document(session, issued, services.trees))


@router.get("/cases/{case_id}/evidence-lists", summary="The lists issued for a case")
def list_issued(case_id: str, services: ServicesDep, actor: CurrentActor) -> list[Any]:
    with Session(services.engine) as session:
        rows = session.exec(
            select(EvidenceList)
            .where(EvidenceList.case_id == case_id)
            .order_by(col(EvidenceList.issued_at))
        ).all()
        return [
            {"id": r.id, "digest": r.digest, "issued_at": r.issued_at, "issued_by": r.issued_by}
            for r in rows
        ]


@router.get("/evidence-lists/{list_id}", summary="An issued list with its seal, path and anchor")
def get_issued(list_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    with Session(services.engine) as session:
        issued = session.get(EvidenceList, list_id)
        if issued is None:
            raise NotFoundError(f"no evidence list {list_id}")
        return jsonable_encoder(issued_list_document(session, issued, services.trees))


@router.get(
    "/cases/{case_id}/evidence-list.pdf",
    summary="The case's latest issued evidence list as a sealed PDF",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def latest_pdf(case_id: str, services: ServicesDep, actor: CurrentActor) -> Response:
    """A formal document: header, table, officer signature line, the list digest and its anchor,
    with the department seal stamped. Issue the list first (POST …/evidence-lists)."""
    with Session(services.engine) as session:
        issued = session.exec(
            select(EvidenceList)
            .where(EvidenceList.case_id == case_id)
            .order_by(col(EvidenceList.issued_at).desc())
            .limit(1)
        ).first()
        if issued is None:
            raise NotFoundError(f"case {case_id} has no issued evidence list; issue one first")
        document = pdf_document(session, issued, services.trees)
        department = session.get(Department, issued.body["case"]["department_id"])
    assert department is not None
    pdf = render_evidence_list_pdf(document, seal_png=seal_png(department))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="evidence-list-{issued.id}.pdf"'},
    )
