"""Evidence lists (证据清单): the current list of a case; issued (sealed, anchored) lists; and
checking a printed list by its digest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from sqlmodel import Session, col, select

from evidence_service.access.models import Department, Role
from evidence_service.access.trust import service_pins
from evidence_service.api import schemas
from evidence_service.api.deps import CurrentActor, OptionalActor, ServicesDep, record_custody
from evidence_service.api.responses import binary, ok, problems
from evidence_service.api.streaming import consume_body
from evidence_service.cases.evidence_lists import (
    issue_list,
    issued_list_document,
    list_body,
    list_digest,
    pdf_document,
)
from evidence_service.cases.models import Case, EvidenceList
from evidence_service.core.errors import BadRequestError, ForbiddenError, NotFoundError
from evidence_service.custody.log import CustodyAction
from evidence_service.render.evidence_list_pdf import render_evidence_list_pdf
from evidence_service.render.seal_image import seal_png
from evidence_service.verify.list_steps import (
    MAX_LIST_DOCUMENT_BYTES,
    ListDocument,
    list_verdict,
    typed_digest,
)
from signing import jcs

router = APIRouter(prefix="/api/v1", tags=["evidence lists"])
ISSUE_ROLES = frozenset({Role.admin, Role.reviewer, Role.penalty, Role.officer})


@router.get(
    "/cases/{case_id}/evidence-list.json",
    summary="The case's evidence list as it stands",
    responses={**ok(schemas.CurrentEvidenceList), **problems(401, 403, 404, 422)},
)
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
    responses={**ok(schemas.IssuedEvidenceList, 201), **problems(401, 403, 404, 422)},
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


@router.get(
    "/cases/{case_id}/evidence-lists",
    summary="The lists issued for a case",
    responses={**ok(list[schemas.IssuedEvidenceListRow]), **problems(401, 403, 404, 422)},
)
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


VERIFY_LIST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["digest"],
                            "properties": {
                                "digest": {
                                    "type": "string",
                                    "description": "the list digest as printed on the paper",
                                }
                            },
                        },
                        {
                            "type": "object",
                            "description": "an issued list document (GET /evidence-lists/{id})",
                            "required": ["id", "body", "digest", "seal", "merkle", "anchor"],
                        },
                    ]
                }
            }
        },
    }
}


@router.post(
    "/evidence-lists/verify",
    openapi_extra=VERIFY_LIST_BODY,
    summary="Check a printed evidence list by its digest (no authentication)",
    responses={**ok(schemas.EvidenceListVerdict), **problems(400, 401, 404, 422)},
)
async def verify_issued(
    request: Request, services: ServicesDep, actor: OptionalActor
) -> dict[str, Any]:
    """Send ``{"digest": "…"}`` (typed off the paper) or a whole list document. The list issued
    here with that digest is checked — digest, department seal, Merkle leaf and path, and its
    anchor on this service's chain, pinned to its registry and trust bundle; a document sent
    whole is checked as sent. Answers every step, ``valid``, the first failure's name and the
    list's id, case number and issue time; a signed-in caller also gets the document (with the
    parties) and the check is a ``verified`` custody event. 404 when no list has the digest."""

    def run(body: Iterator[bytes]) -> dict[str, Any]:
        sent, digest = _list_or_digest(body)
        with Session(services.engine) as session:
            issued = session.exec(
                select(EvidenceList)
                .where(EvidenceList.digest == digest)
                .order_by(col(EvidenceList.issued_at))
                .limit(1)
            ).first()
            if issued is None:
                raise NotFoundError(f"no evidence list issued here has the digest {digest}")
            stored = jsonable_encoder(issued_list_document(session, issued, services.trees))
            pins = service_pins(services, session)
        document = sent or ListDocument.from_json(stored)
        verdict = list_verdict(document, w3=services.chain_reader(), pins=pins, typed=digest)
        answer: dict[str, Any] = {
            **verdict.as_json(),
            "list": {
                "id": issued.id,
                "case_number": issued.body["case"]["case_number"],
                "issued_at": issued.body["issued_at"],
            },
        }
        if actor is not None:
            record_custody(
                services,
                actor,
                None,
                CustodyAction.verified,
                list_id=issued.id,
                digest=digest,
                valid=verdict.valid,
                failure=verdict.failure,
            )
            answer["document"] = stored
        return answer

    result: dict[str, Any] = await consume_body(request, run)
    return result


def _list_or_digest(body: Iterator[bytes]) -> tuple[ListDocument | None, str]:
    """The list document sent whole (None for a bare digest) and the digest to look up."""
    raw = bytearray()
    for chunk in body:
        raw += chunk
        if len(raw) > MAX_LIST_DOCUMENT_BYTES:
            raise BadRequestError(f"the request body is limited to {MAX_LIST_DOCUMENT_BYTES} bytes")
    try:
        data = jcs.loads(bytes(raw))
    except ValueError as exc:
        raise BadRequestError(f"the body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequestError('send {"digest": "…"} or an issued list document')
    if set(data) == {"digest"}:
        value = data["digest"]
        try:
            return None, typed_digest(value if isinstance(value, str) else "")
        except ValueError as exc:
            raise BadRequestError(f"digest: {exc}") from exc
    document = ListDocument.from_json(data)
    return document, document.digest


@router.get(
    "/evidence-lists/{list_id}",
    summary="An issued list with its seal, path and anchor",
    responses={**ok(schemas.IssuedEvidenceList), **problems(401, 403, 404, 422)},
)
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
    responses={**binary("application/pdf"), **problems(401, 403, 404, 422)},
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
