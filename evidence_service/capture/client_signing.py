"""Two-step capture for officer-held keys (a phone, a USB key): the server never sees the key.

1. ``prepare``: the officer states what they will send (port, metadata, SHA-256, SM3, size,
   media type); the server reserves the evidence id and receipt time and answers with the
   statement it will build, and its JCS bytes to sign.
2. the upload carries ``prepared_id`` and the signature block. The signature is checked (the
   certificate chains to the department CA and is unrevoked now) before a byte of the file is
   stored; after the bytes arrive, the statement they give must equal the signed one. Either
   failure is a 422 and nothing is kept. A prepared capture is used once and expires.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete
from sqlmodel import Session, col

from evidence_service.access.identity import Actor
from evidence_service.access.pki import Pki
from evidence_service.capture.ingest import SignedCapture, capture_statement, new_id
from evidence_service.capture.metadata import parse_capture_metadata
from evidence_service.capture.models import PreparedCapture
from evidence_service.capture.ports.registry import get_port
from evidence_service.core.db import session_scope
from evidence_service.core.errors import (
    BadRequestError,
    NotFoundError,
    PreparedCaptureError,
    SignatureRejectedError,
)
from signing.errors import SigningError
from signing.jcs import check_depth
from signing.statements import StatementSignature, signing_payload, verify_statement

PREPARED_TTL = timedelta(hours=1)
MAX_SIGNATURE_BYTES = 16 * 1024


def prepare_capture(
    pki: Pki,
    actor: Actor,
    *,
    port_id: str,
    metadata_raw: str,
    sha256: str,
    sm3: str,
    size: int,
    media_type: str,
    max_metadata_bytes: int,
    size_limit: int,
) -> dict[str, Any]:
    get_port(port_id)
    metadata = parse_capture_metadata(metadata_raw, max_bytes=max_metadata_bytes)
    if size > size_limit:
        raise BadRequestError(f"size exceeds the {port_id} limit of {size_limit} bytes")
    now = pki.clock()
    evidence_id = new_id()
    statement = capture_statement(
        evidence_id,
        actor,
        port_id,
        metadata,
        sha256=sha256.lower(),
        sm3=sm3.lower(),
        size=size,
        media_type=media_type,
        received_at=now,
    ).as_json()
    with session_scope(pki.engine) as session:
        session.add(
            PreparedCapture(
                id=evidence_id,
                officer_id=actor.officer_id,
                port=port_id,
                statement=statement,
                received_at=now,
                expires_at=now + PREPARED_TTL,
            )
        )
    return {
        "prepared_id": evidence_id,
        "statement": statement,
        "payload": base64.b64encode(signing_payload(statement)).decode(),
        "expires_at": now + PREPARED_TTL,
    }


def signed_capture(
    pki: Pki, actor: Actor, *, prepared_id: str, port_id: str, signature_raw: bytes
) -> SignedCapture:
    """The prepared capture with its signature, verified now; raises before any byte is kept."""
    now = pki.clock()
    with Session(pki.engine) as session:
        prepared = session.get(PreparedCapture, prepared_id)
        cas, crls = pki.trust_bundle(session).as_bytes()
    if prepared is None or prepared.officer_id != actor.officer_id:
        raise NotFoundError(f"no prepared capture {prepared_id} of yours (used or never made)")
    if prepared.expires_at <= now:
        raise PreparedCaptureError(f"prepared capture {prepared_id} expired; prepare again")
    if prepared.port != port_id:
        raise PreparedCaptureError(f"prepared capture {prepared_id} is for port {prepared.port}")
    if len(signature_raw) > MAX_SIGNATURE_BYTES:
        raise BadRequestError(f"the signature field is limited to {MAX_SIGNATURE_BYTES} bytes")
    try:
        check_depth(signature_raw)
        block = json.loads(signature_raw)
        if not isinstance(block, dict):
            raise ValueError("not an object")
        signature = StatementSignature.from_json(block)
        verify_statement(prepared.statement, signature, trusted_cas=cas, crls=crls, at=now)
    except ValueError as exc:  # JSON errors, and signing's shape errors (ValueError subclasses)
        reason = getattr(exc, "reason", "bad-signature")
        raise SignatureRejectedError(f"signature: {exc}", reason=reason) from exc
    except SigningError as exc:
        raise SignatureRejectedError(f"signature: {exc}", reason="bad-signature") from exc
    return SignedCapture(
        evidence_id=prepared.id,
        received_at=prepared.received_at,
        statement=prepared.statement,
        signature=dict(signature.as_json()),
    )


def purge_expired(engine: Engine, now: datetime) -> int:
    """Drop prepared captures past their expiry (the reaper's job); returns how many."""
    with session_scope(engine) as session:
        result = session.execute(
            delete(PreparedCapture).where(col(PreparedCapture.expires_at) < now)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]
