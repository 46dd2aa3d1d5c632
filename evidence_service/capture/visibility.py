"""Which evidence a department may see: its own, and what accepted transfers granted it.

The access policy (``api/policy.py``) decides per route; these are the evidence rules it and the
wings above capture share, so a body naming another department's item answers 404 like an
unknown id, and a list or search is narrowed in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, or_, true
from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor
from evidence_service.access.models import Role, TransferGrant
from evidence_service.capture.models import Evidence
from evidence_service.core.errors import NotFoundError


def granted(session: Session, department_id: str, evidence_id: str) -> bool:
    """An accepted transfer granted ``department_id`` read access to the item."""
    return session.get(TransferGrant, (department_id, evidence_id)) is not None


def evidence_clause(actor: Actor, *, oversight: bool = True) -> ColumnElement[bool]:
    """SQL: the evidence the caller may list — its department's and what was transferred to
    it; everything for an auditor (``oversight``)."""
    if oversight and actor.role == Role.auditor:
        return true()
    granted_ids = select(TransferGrant.evidence_id).where(
        TransferGrant.department_id == actor.department_id
    )
    return or_(
        col(Evidence.department_id) == actor.department_id,
        col(Evidence.id).in_(granted_ids),
    )


def check_evidence_visible(session: Session, actor: Actor, evidence_ids: Iterable[str]) -> None:
    """Evidence named in a request body: 404 for any the caller's department may not see."""
    for evidence_id in evidence_ids:
        department = session.exec(
            select(Evidence.department_id).where(Evidence.id == evidence_id)
        ).first()
        if department is None or not (
            actor.department_id == department or granted(session, actor.department_id, evidence_id)
        ):
            raise NotFoundError(f"no evidence {evidence_id}")
