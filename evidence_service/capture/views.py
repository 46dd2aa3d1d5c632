"""The public (API) form of an evidence item, from its rows, and the reads that give it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from evidence_service.capture.models import DerivedObject, Evidence
from evidence_service.core.clock import rfc3339
from evidence_service.core.errors import NotFoundError
from evidence_service.custody.log import event_record, evidence_events
from evidence_service.custody.sequencer import integrate_pending


def load_evidence(session: Session, evidence_id: str) -> Evidence:
    evidence = session.get(Evidence, evidence_id)
    if evidence is None:
        raise NotFoundError(f"no evidence {evidence_id}")
    return evidence


def read_evidence(engine: Engine, evidence_id: str) -> Evidence:
    """One item's row, read in a session of its own (a read: no writer lock); 404 if unknown."""
    with Session(engine) as session:
        return load_evidence(session, evidence_id)


def evidence_custody(engine: Engine, evidence_id: str) -> dict[str, Any]:
    """The public custody record of one item: its events, oldest first; 404 if unknown.
    Pending events are chained first, so an event recorded before this call is in it."""
    integrate_pending(engine)
    with Session(engine) as session:
        load_evidence(session, evidence_id)
        events = evidence_events(session, evidence_id)
        return {
            "evidence_id": evidence_id,
            "events": [event_record(e) for e in events],
        }


def evidence_body(engine: Engine, evidence_id: str) -> dict[str, Any]:
    """The current public form of one item (as stored now, e.g. after finalize)."""
    with Session(engine) as session:
        evidence = load_evidence(session, evidence_id)
        derived = session.exec(
            select(DerivedObject).where(DerivedObject.evidence_id == evidence_id)
        ).all()
        return evidence_public(evidence, derived)


def evidence_public(evidence: Evidence, derived: Iterable[DerivedObject] = ()) -> dict[str, Any]:
    """The API form of an evidence item (also stored as the idempotent replay answer)."""
    return {
        "id": evidence.id,
        "port": evidence.port,
        "title": evidence.title,
        "description": evidence.description,
        "captured_at": rfc3339(evidence.captured_at),
        "received_at": rfc3339(evidence.received_at),
        "officer_id": evidence.officer_id,
        "department_id": evidence.department_id,
        "original_filename": evidence.original_filename,
        "location": {
            "lat": evidence.location_lat,
            "lon": evidence.location_lon,
            "address": evidence.location_address,
        },
        "tags": evidence.tags,
        "media_type": evidence.media_type,
        "size": evidence.size,
        "sha256": evidence.sha256,
        "sm3": evidence.sm3,
        "extracted": evidence.extracted,
        "statement": evidence.statement,
        "derived": [
            {"role": d.role, "media_type": d.media_type, "size": d.size, "sha256": d.sha256}
            for d in derived
        ],
        "chunk_chain": (
            {"count": evidence.chunk_count, "head": evidence.chunk_chain_head}
            if evidence.chunk_chain_head
            else None
        ),
        "finalized": evidence.finalized,
    }
