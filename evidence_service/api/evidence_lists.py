"""Evidence lists (证据清单): the current list of a case; issued (sealed, anchored) lists; and
checking a printed list by its digest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response

from evidence_service.api import schemas
from evidence_service.api.deps import (
    CurrentActor,
    OptionalActor,
    ServicesDep,
    actor_may,
    record_custody,
)
from evidence_service.api.responses import binary, ok, problems
from evidence_service.api.streaming import consume_body
from evidence_service.cases.evidence_lists import (
    check_issued_list,
    current_list_document,
    issue_list_document,
    issued_list,
    issued_lists,
    latest_printable_list,
)
from evidence_service.core.errors import BadRequestError
from evidence_service.core.metrics import count_verification
from evidence_service.custody.log import CustodyAction
from evidence_service.render.evidence_list_pdf import render_evidence_list_pdf
from evidence_service.render.seal_image import seal_png
from evidence_service.verify.list_steps import (
    MAX_LIST_DOCUMENT_BYTES,
    ListDocument,
    typed_digest,
)
from signing import jcs

router = APIRouter(prefix="/api/v1", tags=["evidence lists"])


@router.get(
    "/cases/{case_id}/evidence-list.json",
    summary="The case's evidence list as it stands",
    responses={**ok(schemas.CurrentEvidenceList), **problems(401, 403, 404, 422)},
)
def current_list(case_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    """Items in attachment order with number, name, source, what it proves, size/pages and
    SHA-256; ``digest`` is the SHA-256 of the body's JCS bytes. Not sealed: issue it for that."""
    return current_list_document(services.engine, case_id)


@router.post(
    "/cases/{case_id}/evidence-lists",
    status_code=201,
    summary="Issue the evidence list: sealed by the department, anchored in the next batch",
    responses={**ok(schemas.IssuedEvidenceList, 201), **problems(401, 403, 404, 422)},
)
def issue(case_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    """The department e-seal goes on it, so only the case department's reviewers (or penalty
    officers) issue it, as they approve transfers (the access rule in ``api/policy.py``)."""
    return jsonable_encoder(issue_list_document(services.pki, services.trees, case_id, actor=actor))


@router.get(
    "/cases/{case_id}/evidence-lists",
    summary="The lists issued for a case",
    responses={**ok(list[schemas.IssuedEvidenceListRow]), **problems(401, 403, 404, 422)},
)
def list_issued(case_id: str, services: ServicesDep, actor: CurrentActor) -> list[Any]:
    return issued_lists(services.engine, case_id)


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
    list's id, case number and issue time; a signed-in caller who may read the list also gets
    the document (with the parties) and the check is a ``verified`` custody event (once an hour
    per outcome). 404 when no list has the digest."""

    def run(body: Iterator[bytes]) -> dict[str, Any]:
        sent, digest = _list_or_digest(body)
        check = check_issued_list(
            services, services.trees, digest, sent=sent, chain_reader=services.chain_reader
        )
        answer = check.as_json()
        count_verification("evidence_list", check.verdict.valid)
        # Only a caller who may read the list gets its document (with the parties) and has the
        # check recorded: a digest alone must not open another department's list or log.
        if actor is not None and actor_may(
            services, actor, "GET", "/api/v1/evidence-lists/{list_id}", list_id=check.issued.id
        ):
            record_custody(
                services,
                actor,
                None,
                CustodyAction.verified,
                list_id=check.issued.id,
                digest=digest,
                valid=check.verdict.valid,
                failure=check.verdict.failure,
            )
            answer["document"] = jsonable_encoder(check.document)
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
    return jsonable_encoder(issued_list(services.engine, services.trees, list_id))


@router.get(
    "/cases/{case_id}/evidence-list.pdf",
    summary="The case's latest issued evidence list as a sealed PDF",
    response_class=Response,
    responses={**binary("application/pdf"), **problems(401, 403, 404, 422)},
)
def latest_pdf(case_id: str, services: ServicesDep, actor: CurrentActor) -> Response:
    """A formal document: header, table, officer signature line, the list digest and its anchor,
    with the department seal stamped. Issue the list first (POST …/evidence-lists)."""
    latest = latest_printable_list(services.engine, services.trees, case_id)
    pdf = render_evidence_list_pdf(latest.document, seal_png=seal_png(latest.department))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="evidence-list-{latest.list_id}.pdf"'
        },
    )
