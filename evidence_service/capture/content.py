"""What a download serves: an item's bytes, under the key they sit at now, and its derived files.

Both refuse (410, ``DisposedError``) once the bytes were disposed of after their retention; the
record itself stays readable through :mod:`evidence_service.capture.views`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, select

from evidence_service.capture.models import DerivedObject, Evidence
from evidence_service.capture.retention import refuse_disposed
from evidence_service.capture.views import load_evidence
from evidence_service.core.errors import NotFoundError


@dataclass(frozen=True)
class StoredContent:
    """An item's row and the object key its bytes can be read from now."""

    evidence: Evidence
    key: str  # the final key, or a resumable upload's temp key until finalize promotes it


def evidence_content(engine: Engine, evidence_id: str) -> StoredContent:
    """The bytes to serve for an item: 404 if unknown, 410 if disposed of."""
    with Session(engine) as session:  # a read: no writer lock
        evidence = load_evidence(session, evidence_id)
    refuse_disposed(evidence)
    key = evidence.object_key if evidence.finalized else (evidence.temp_key or evidence.object_key)
    return StoredContent(evidence, key)


def derived_file(engine: Engine, evidence_id: str, role: str) -> DerivedObject:
    """One derived file of an item (``thumbnail``, ``rendering``, ``document``): 404 if the
    item or the file is unknown, 410 if the item was disposed of."""
    with Session(engine) as session:
        refuse_disposed(load_evidence(session, evidence_id))
        derived = session.exec(
            select(DerivedObject).where(
                DerivedObject.evidence_id == evidence_id, DerivedObject.role == role
            )
        ).first()
    if derived is None:
        raise NotFoundError(f"evidence {evidence_id} has no derived {role!r}")
    return derived
