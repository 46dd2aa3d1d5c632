"""Proofs: fetch an item's proof document; verify a file (or a digest) against a proof."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request

from evidence_service.access.trust import service_pins
from evidence_service.anchoring.proofs import build_proof
from evidence_service.api import schemas
from evidence_service.api.deps import (
    CurrentActor,
    OptionalActor,
    ServicesDep,
    actor_may,
    record_custody,
)
from evidence_service.api.responses import ok, problems
from evidence_service.api.streaming import consume_body
from evidence_service.capture.multipart_stream import StreamedForm
from evidence_service.capture.views import read_evidence
from evidence_service.core.digests import is_hex64
from evidence_service.core.errors import BadRequestError
from evidence_service.core.json_input import parse_json
from evidence_service.core.metrics import count_verification
from evidence_service.custody.log import CustodyAction
from evidence_service.verify.proof import MAX_PROOF_BYTES, ProofDocument
from evidence_service.verify.proof_steps import Content, proof_verdict

router = APIRouter(tags=["proofs"])
#: Whoever may read an item's record may have a check of it recorded in its custody log.
ITEM_RECORD = "/api/v1/evidence/{evidence_id}"

VERIFY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["proof"],
                    "properties": {
                        "proof": {"type": "string", "description": "the proof document (JSON)"},
                        "sha256": {"type": "string", "description": "instead of a file"},
                        "file": {"type": "string", "format": "binary"},
                    },
                },
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["proof", "sha256"],
                    "properties": {
                        "proof": {"type": "object"},
                        "sha256": {"type": "string"},
                        "size": {"type": "integer"},
                    },
                }
            },
        },
    }
}


@router.get(
    "/api/v1/evidence/{evidence_id}/proof",
    summary="The item's proof document",
    responses={**ok(schemas.Proof), **problems(401, 403, 404, 422)},
)
def get_proof(evidence_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    """``merkle`` is null until the item's batch closes and ``anchor`` null until its root is
    mined (a few seconds by default); fetch again to get the complete proof."""
    evidence = read_evidence(services.engine, evidence_id)
    return build_proof(services.engine, evidence, services.trees)


def _digest_field(value: object) -> str:
    if not isinstance(value, str) or not is_hex64(value.strip(), any_case=True):
        raise BadRequestError("sha256 must be 64 hex digits")
    return value.strip().lower()


@router.post(
    "/api/v1/verify",
    openapi_extra=VERIFY_BODY,
    summary="Verify a file against a proof",
    responses={**ok(schemas.Verdict), **problems(400, 401, 422)},
)
async def verify(request: Request, services: ServicesDep, actor: OptionalActor) -> dict[str, Any]:
    """No authentication needed: anyone may check a proof. Send multipart ``proof`` then
    ``file`` (or ``sha256``), or JSON ``{"proof": {...}, "sha256": "...", "size": n}``.
    Answers with every step of PROOF_FORMAT.md, pass or fail, and the first failure's name.
    The file is hashed as it streams and not kept. A signed-in caller's check of an item the
    caller may read (the rule of ``GET /api/v1/evidence/{id}``) is a ``verified`` custody
    event, recorded once an hour per outcome; anyone else's check is answered, not recorded."""
    content_type = request.headers.get("content-type", "")

    def run(body: Iterator[bytes]) -> dict[str, Any]:
        if content_type.startswith("application/json"):
            proof, content = _from_json(body)
        else:
            proof, content = _from_form(
                StreamedForm(body, content_type, max_field_bytes=MAX_PROOF_BYTES)
            )
        pins = service_pins(services)
        verdict = proof_verdict(proof, content, w3=services.chain_reader(), pins=pins)
        count_verification("proof", verdict.valid)
        evidence_id = proof.statement.evidence_id
        if actor is not None and actor_may(
            services, actor, "GET", ITEM_RECORD, evidence_id=evidence_id
        ):
            record_custody(
                services,
                actor,
                evidence_id,
                CustodyAction.verified,
                valid=verdict.valid,
                failure=verdict.failure,
            )
        return verdict.as_json()

    result: dict[str, Any] = await consume_body(request, run)
    return result


def _from_json(body: Iterator[bytes]) -> tuple[ProofDocument, Content]:
    raw = bytearray()
    for chunk in body:
        raw += chunk
        if len(raw) > MAX_PROOF_BYTES + 1024:
            raise BadRequestError(f"the request body is limited to {MAX_PROOF_BYTES} bytes")
    data = parse_json(bytes(raw), what="the body")
    if not isinstance(data, dict) or "proof" not in data:
        raise BadRequestError('send {"proof": {...}, "sha256": "..."}')
    proof = ProofDocument.from_json(data["proof"])
    size = data.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise BadRequestError("size must be a non-negative integer")
    return proof, Content(_digest_field(data.get("sha256")), size)


def _from_form(form: StreamedForm) -> tuple[ProofDocument, Content]:
    fields, file_part = form.read_fields_until_file()
    if "proof" not in fields:
        raise BadRequestError("the 'proof' field must come before the file")
    proof = ProofDocument.from_json(fields["proof"])
    if file_part is not None:
        if "sha256" in fields:
            raise BadRequestError("send a file or a sha256, not both")
        return proof, Content.of_chunks(form.file_chunks())
    if "sha256" not in fields:
        raise BadRequestError("send a 'file' part or a 'sha256' field")
    return proof, Content(_digest_field(fields["sha256"].decode("ascii", "replace")))
