"""/api/v1/transfers: one-click transfer (移送) of evidence to another department.

Only the two ends of a transfer see it (anyone else gets the 404 an unknown id gets; the
auditor reads every transfer's record, never its files); the wrong end asking to act (a sender
accepting, a recipient withdrawing) gets a 403 that says which end may. Which roles may send or
decide is the access policy's (evidence_service/policy.py), not these routes'.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.access.identity import Actor
from evidence_service.api import policy, schemas
from evidence_service.api.deps import CurrentActor, IdemKey, OptionalActor, ServicesDep
from evidence_service.api.responses import binary, ok, problems
from evidence_service.core.digests import is_hex64
from evidence_service.core.errors import BadRequestError
from evidence_service.services import Services
from evidence_service.transfer.documents import transfer_page
from evidence_service.transfer.downloads import download_package
from evidence_service.transfer.models import TransferStatus
from evidence_service.transfer.sending import TransferRequest, create_transfer
from evidence_service.transfer.transfers import (
    accept_transfer,
    open_transfer,
    reject_transfer,
    transfer_receipt,
    transfer_record,
    verify_by_digest,
    withdraw_transfer,
)
from evidence_service.verify.package_format import LIMITS

router = APIRouter(prefix="/api/v1/transfers", tags=["transfers"])


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_department_id: str = Field(min_length=1, max_length=26)
    case_id: str | None = Field(None, max_length=26, description="send the case's evidence")
    evidence_ids: list[Annotated[str, Field(max_length=26)]] | None = Field(
        None, max_length=LIMITS.max_items, description="or these items, in this order"
    )
    note: str | None = Field(None, max_length=2000)


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=2000, description="why the transfer is refused (required)")


class WithdrawRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000)


class DigestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    manifest_digest: str


@router.post(
    "",
    status_code=201,
    summary="Send a case's or the listed evidence to a department",
    responses={**ok(schemas.TransferDocument, 201), **problems(400, 401, 403, 404, 422)},
)
def create(
    payload: TransferCreate,
    services: ServicesDep,
    actor: CurrentActor,
    idempotency_key: IdemKey = None,
) -> JSONResponse:
    """Exactly one of ``case_id`` (every item attached to the case, in list order; the case's
    latest issued evidence list travels with it) or ``evidence_ids``. The manifest is sealed
    with the sending department's seal and anchored; each item gets a ``transferred`` custody
    event. An item or case the department cannot see is a 404; the recipient must be another
    department. Honours ``Idempotency-Key``."""
    request = TransferRequest(
        to_department_id=payload.to_department_id,
        case_id=payload.case_id,
        evidence_ids=tuple(payload.evidence_ids) if payload.evidence_ids is not None else None,
        note=payload.note,
    )
    status, body = create_transfer(services, actor, request, idempotency_key=idempotency_key)
    return JSONResponse(body, status_code=status)


@router.get(
    "",
    summary="The department's incoming or outgoing transfers (newest first)",
    responses={**ok(schemas.TransferPage), **problems(400, 401, 403, 422)},
)
def list_all(
    services: ServicesDep,
    actor: CurrentActor,
    direction: Annotated[
        Literal["in", "out"] | None, Query(description="in: inbox, out: outbox; both if absent")
    ] = None,
    status: TransferStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    return transfer_page(
        services.engine,
        actor,
        direction=direction,
        status=status,
        limit=limit,
        cursor=cursor,
        oversight=policy.sees_everything(actor),
    )


# The public check comes before /{transfer_id} so no id route can shadow it.
@router.get(
    "/verify/{manifest_digest}",
    summary="Check a transfer by its manifest digest (no authentication)",
    responses={**ok(schemas.TransferVerification), **problems(400, 401, 404, 422)},
)
def verify(manifest_digest: str, services: ServicesDep, actor: OptionalActor) -> dict[str, Any]:
    """Runs every check of the transfer sealed with this digest (files, statements, Merkle
    proofs, anchors, custody chain, manifest seal) and answers the verdict, the transfer's
    status and where its manifest and receipt leaves stand. Anonymous callers (and
    departments not party to it) get no item titles or file names. 404 for an unknown digest."""
    return _verify(services, manifest_digest, actor)


@router.post(
    "/verify",
    summary="Check a transfer by its manifest digest, sent as JSON (no authentication)",
    responses={**ok(schemas.TransferVerification), **problems(400, 401, 404, 422)},
)
def verify_posted(
    payload: DigestRequest, services: ServicesDep, actor: OptionalActor
) -> dict[str, Any]:
    """The same as ``GET /verify/{manifest_digest}``, for ``{"manifest_digest": "…"}``."""
    return _verify(services, payload.manifest_digest, actor)


def _verify(services: Services, digest: str, actor: Actor | None) -> dict[str, Any]:
    digest = digest.strip().lower()
    if not is_hex64(digest):
        raise BadRequestError("the manifest digest is 64 hex digits (SHA-256)")
    oversight = actor is not None and policy.sees_everything(actor)
    return verify_by_digest(services, digest, actor=actor, oversight=oversight)


@router.get(
    "/{transfer_id}",
    summary="A transfer: items, seal, status, verdict and receipt",
    responses={**ok(schemas.TransferDocument), **problems(401, 403, 404, 422)},
)
def read(transfer_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    return transfer_record(
        services.engine,
        services.trees,
        actor,
        transfer_id,
        oversight=policy.sees_everything(actor),
    )


@router.get(
    "/{transfer_id}/receipt",
    summary="The recipient's sealed receipt",
    responses={**ok(schemas.TransferReceipt), **problems(401, 403, 404, 422)},
)
def receipt(transfer_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    """The receipt body (``evidence-transfer-receipt/1``), its digest, the recipient
    department's seal over it and its leaf's anchor state. 404 until the transfer is accepted."""
    return transfer_receipt(
        services.engine,
        services.trees,
        actor,
        transfer_id,
        oversight=policy.sees_everything(actor),
    )


@router.post(
    "/{transfer_id}/open",
    summary="Check the transfer (recipient): every item, the seal",
    responses={**ok(schemas.PackageVerdict), **problems(401, 403, 404, 409, 422)},
)
def open_(transfer_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    """Each item's hash, statement, signature, Merkle proof and anchor, the custody chain and
    the sender's seal, checked now; the verdict is kept on the transfer and the opening is a
    custody event. Items whose batch is not anchored yet are ``pending``. 409 once rejected or
    withdrawn."""
    return open_transfer(services, actor, transfer_id)


@router.post(
    "/{transfer_id}/accept",
    summary="Accept (recipient): a sealed, anchored receipt",
    responses={**ok(schemas.TransferReceipt), **problems(401, 403, 404, 409, 422)},
)
def accept(transfer_id: str, services: ServicesDep, actor: CurrentActor) -> dict[str, Any]:
    """Pending transfers only (else 409). Opens the transfer first if it never was; the receipt
    records that verdict and is sealed by the receiving department; the items are granted to
    it."""
    return accept_transfer(services, actor, transfer_id)


@router.post(
    "/{transfer_id}/reject",
    summary="Reject (recipient), with a reason",
    responses={**ok(schemas.TransferDocument), **problems(400, 401, 403, 404, 409, 422)},
)
def reject(
    transfer_id: str, payload: RejectRequest, services: ServicesDep, actor: CurrentActor
) -> dict[str, Any]:
    return reject_transfer(services, actor, transfer_id, payload.reason)


@router.post(
    "/{transfer_id}/withdraw",
    summary="Withdraw (sender) a transfer still pending",
    responses={**ok(schemas.TransferDocument), **problems(401, 403, 404, 409, 422)},
)
def withdraw(
    transfer_id: str,
    services: ServicesDep,
    actor: CurrentActor,
    payload: WithdrawRequest | None = None,
) -> dict[str, Any]:
    return withdraw_transfer(services, actor, transfer_id, payload.reason if payload else None)


@router.get(
    "/{transfer_id}/package.zip",
    summary="The transfer's evidence package (evidence-package/2), streamed",
    response_class=StreamingResponse,
    responses={**binary("application/zip"), **problems(401, 403, 404, 409, 422)},
)
def package(transfer_id: str, services: ServicesDep, actor: CurrentActor) -> StreamingResponse:
    """Either end may download it (each item gets a ``downloaded`` custody event); a rejected
    or withdrawn transfer is no longer the recipient's to fetch (409). Proofs and custody are
    taken now, so items anchored since the transfer carry their anchors; the sending
    department's seal over their digests (``seal/contents.json``) is made now too, a ``sealed``
    custody event by the caller."""
    transfer, chunks = download_package(services, actor, transfer_id)
    return StreamingResponse(
        chunks,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="transfer-{transfer.id}.zip"'},
    )
