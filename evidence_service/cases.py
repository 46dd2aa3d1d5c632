"""Cases, parties and causes, and the typed edges that link them to evidence.

Attaching evidence to a case or a party to a case is an edge in the graph and a custody event;
the capture statement is never rewritten (these are later facts about an item).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from evidence_service.custody import append_event
from evidence_service.errors import ConflictError, NotFoundError
from evidence_service.identity import Actor
from evidence_service.models import Case, CaseEvidenceEntry, Evidence, GraphEdge, Party

#: (edge kind, source node kind, target node kind) the API may create.
EDGE_KINDS: dict[str, tuple[str, str]] = {
    "belongs_to_case": ("evidence", "case"),
    "concerns_party": ("case", "party"),
}


def party_public(party: Party) -> dict[str, Any]:
    return {
        "id": party.id,
        "kind": party.kind,
        "name": party.name,
        "identifier_kind": party.identifier_kind,
        "identifier": party.identifier_masked,  # masked: the clear number is never kept
        "department_id": party.department_id,
        "created_at": party.created_at,
    }


def case_public(session: Session, case: Case) -> dict[str, Any]:
    edges = session.exec(
        select(GraphEdge).where(
            col(GraphEdge.kind).in_(["belongs_to_case", "concerns_party"]),
            (GraphEdge.target_id == case.id) | (GraphEdge.source_id == case.id),
        )
    ).all()
    return {
        "id": case.id,
        "department_id": case.department_id,
        "case_number": case.case_number,
        "kind": case.kind,
        "title": case.title,
        "status": case.status,
        "cause_code": case.cause_code,
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
        "evidence_ids": sorted(e.source_id for e in edges if e.kind == "belongs_to_case"),
        "party_ids": sorted(e.target_id for e in edges if e.kind == "concerns_party"),
    }


def _node_exists(session: Session, kind: str, node_id: str) -> bool:
    if kind == "evidence":
        return session.get(Evidence, node_id) is not None
    if kind == "case":
        return session.get(Case, node_id) is not None
    return session.get(Party, node_id) is not None


def link(
    session: Session,
    kind: str,
    source_id: str,
    target_id: str,
    *,
    actor: Actor,
    at: datetime,
    purpose: str = "",
) -> GraphEdge:
    """Add an edge (both ends must exist) and its custody event, in the caller's transaction."""
    source_kind, target_kind = EDGE_KINDS[kind]
    for node_kind, node_id in ((source_kind, source_id), (target_kind, target_id)):
        if not _node_exists(session, node_kind, node_id):
            raise NotFoundError(f"no {node_kind} {node_id}")
    existing = session.exec(
        select(GraphEdge).where(
            GraphEdge.kind == kind,
            GraphEdge.source_id == source_id,
            GraphEdge.target_id == target_id,
        )
    ).first()
    if existing is not None:
        raise ConflictError(f"{source_kind} {source_id} is already linked ({kind}) to {target_id}")
    edge = GraphEdge(
        kind=kind,
        source_kind=source_kind,
        source_id=source_id,
        target_kind=target_kind,
        target_id=target_id,
        created_by=actor.officer_id,
        created_at=at,
    )
    session.add(edge)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent request linked them first
        raise ConflictError(f"{source_id} is already linked ({kind}) to {target_id}") from exc
    if kind == "belongs_to_case":  # its line in the case's evidence list, numbered in order
        last = session.exec(
            select(func.max(CaseEvidenceEntry.position)).where(
                CaseEvidenceEntry.case_id == target_id
            )
        ).one()
        session.add(
            CaseEvidenceEntry(
                case_id=target_id,
                evidence_id=source_id,
                position=(last or 0) + 1,
                purpose=purpose,
            )
        )
    _custody(session, f"linked_{kind}", source_kind, source_id, target_id, actor=actor, at=at)
    return edge


def unlink(
    session: Session, kind: str, source_id: str, target_id: str, *, actor: Actor, at: datetime
) -> None:
    source_kind, _ = EDGE_KINDS[kind]
    result = session.execute(
        delete(GraphEdge).where(
            col(GraphEdge.kind) == kind,
            col(GraphEdge.source_id) == source_id,
            col(GraphEdge.target_id) == target_id,
        )
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFoundError(f"{source_id} is not linked ({kind}) to {target_id}")
    if kind == "belongs_to_case":
        session.execute(
            delete(CaseEvidenceEntry).where(
                col(CaseEvidenceEntry.case_id) == target_id,
                col(CaseEvidenceEntry.evidence_id) == source_id,
            )
        )
    _custody(session, f"unlinked_{kind}", source_kind, source_id, target_id, actor=actor, at=at)


def _custody(
    session: Session,
    action: str,
    source_kind: str,
    source_id: str,
    target_id: str,
    *,
    actor: Actor,
    at: datetime,
) -> None:
    append_event(
        session,
        action=action,
        at=at,
        evidence_id=source_id if source_kind == "evidence" else None,
        actor_id=actor.officer_id,
        department_id=actor.department_id,
        details={"source": source_id, "target": target_id},
    )
