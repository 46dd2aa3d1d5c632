"""The typed edges the API creates between cases, items, parties and places, and the relations
between items (transcript_of, derived_from, corroborates).

Attaching evidence to a case, a party to a case or an item, a place to a case, or relating two
items is an edge in the graph and a custody event; the capture statement is never rewritten
(these are later facts about an item). A closed case refuses every attach and detach. The
engine-level functions run one transaction each and answer what the routes show afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from evidence_service.access.identity import Actor
from evidence_service.capture.models import Evidence
from evidence_service.capture.visibility import check_evidence_visible
from evidence_service.cases.cases import case_public, load_case, writable_case
from evidence_service.cases.models import Case, CaseEvidenceEntry, GraphEdge, Party, Place
from evidence_service.core.clock import Clock
from evidence_service.core.db import session_scope
from evidence_service.core.errors import BadRequestError, ConflictError, NotFoundError
from evidence_service.custody.log import append_event

#: edge kind → (the node kinds it may start at, the node kind it ends at), for edges the API
#: creates. Capture-time edges (captured_by, captured_at_place, about_cause) are not here.
EDGE_KINDS: dict[str, tuple[frozenset[str], str]] = {
    "belongs_to_case": (frozenset({"evidence"}), "case"),
    "concerns_party": (frozenset({"case", "evidence"}), "party"),
    "case_at_place": (frozenset({"case"}), "place"),
    "transcript_of": (frozenset({"evidence"}), "evidence"),
    "derived_from": (frozenset({"evidence"}), "evidence"),
    "corroborates": (frozenset({"evidence"}), "evidence"),
}
#: Relations between two evidence items; ``corroborates`` holds both ways, so A→B and B→A are
#: the same fact. For the directed ones the reverse edge is refused too (a two-item cycle).
RELATION_KINDS = frozenset({"transcript_of", "derived_from", "corroborates"})

_NODE_MODELS: dict[str, type[SQLModel]] = {
    "evidence": Evidence,
    "case": Case,
    "party": Party,
    "place": Place,
}


def _node_exists(session: Session, kind: str, node_id: str) -> bool:
    return session.get(_NODE_MODELS[kind], node_id) is not None


def _source_kind(session: Session, kinds: frozenset[str], source_id: str) -> str:
    for kind in sorted(kinds):
        if _node_exists(session, kind, source_id):
            return kind
    raise NotFoundError(f"no {' or '.join(sorted(kinds))} {source_id}")


def _edge_kind(kind: str, source_kind: str | None) -> tuple[frozenset[str], str]:
    if kind not in EDGE_KINDS:
        raise BadRequestError(
            f"unknown edge kind {kind!r} (one of {', '.join(sorted(EDGE_KINDS))})"
        )
    source_kinds, target_kind = EDGE_KINDS[kind]
    if source_kind is None:
        return source_kinds, target_kind
    if source_kind not in source_kinds:
        raise BadRequestError(f"a {kind} edge does not start at a {source_kind}")
    return frozenset({source_kind}), target_kind


def _find_edge(session: Session, kind: str, source_id: str, target_id: str) -> GraphEdge | None:
    return session.exec(
        select(GraphEdge).where(
            GraphEdge.kind == kind,
            GraphEdge.source_id == source_id,
            GraphEdge.target_id == target_id,
        )
    ).first()


def link(
    session: Session,
    kind: str,
    source_id: str,
    target_id: str,
    *,
    actor: Actor,
    at: datetime,
    purpose: str = "",
    source_kind: str | None = None,
) -> GraphEdge:
    """Add an edge (both ends must exist; a case end must be open and the actor's to change)
    and its custody events, in the caller's transaction. ``source_kind`` narrows an edge kind
    that may start at several node kinds (concerns_party: a case or an item)."""
    source_kinds, target_kind = _edge_kind(kind, source_kind)
    if source_id == target_id:
        raise BadRequestError(f"{source_id} cannot be linked ({kind}) to itself")
    source_kind = _source_kind(session, source_kinds, source_id)
    if not _node_exists(session, target_kind, target_id):
        raise NotFoundError(f"no {target_kind} {target_id}")
    for node_kind, node_id in ((source_kind, source_id), (target_kind, target_id)):
        if node_kind == "case":
            writable_case(session, node_id, actor)
        elif node_kind == "evidence":  # its department's, or transferred to it; else unseen
            check_evidence_visible(session, actor, [node_id])
        elif node_kind == "place":
            place = session.get(Place, node_id)
            if place is None or place.department_id != actor.department_id:
                raise NotFoundError(f"no place {node_id}")
    if _find_edge(session, kind, source_id, target_id) is not None:
        raise ConflictError(f"{source_kind} {source_id} is already linked ({kind}) to {target_id}")
    if kind in RELATION_KINDS and _find_edge(session, kind, target_id, source_id) is not None:
        raise ConflictError(f"{target_id} is already linked ({kind}) to {source_id}")
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
    _custody(session, f"linked_{kind}", edge, actor=actor, at=at)
    return edge


def unlink(
    session: Session,
    kind: str,
    source_id: str,
    target_id: str,
    *,
    actor: Actor,
    at: datetime,
    source_kind: str | None = None,
) -> None:
    """Remove an edge (for ``corroborates`` in either direction) and record it."""
    source_kinds, _ = _edge_kind(kind, source_kind)
    edge = _find_edge(session, kind, source_id, target_id)
    if edge is None and kind == "corroborates":
        edge = _find_edge(session, kind, target_id, source_id)
    if edge is None or edge.source_kind not in source_kinds:
        raise NotFoundError(f"{source_id} is not linked ({kind}) to {target_id}")
    for node_kind, node_id in (
        (edge.source_kind, edge.source_id),
        (edge.target_kind, edge.target_id),
    ):
        if node_kind == "case":
            writable_case(session, node_id, actor)
    result = session.execute(delete(GraphEdge).where(col(GraphEdge.id) == edge.id))
    if result.rowcount == 0:  # type: ignore[attr-defined]  # a concurrent request removed it
        raise NotFoundError(f"{source_id} is not linked ({kind}) to {target_id}")
    if kind == "belongs_to_case":
        session.execute(
            delete(CaseEvidenceEntry).where(
                col(CaseEvidenceEntry.case_id) == edge.target_id,
                col(CaseEvidenceEntry.evidence_id) == edge.source_id,
            )
        )
    _custody(session, f"unlinked_{kind}", edge, actor=actor, at=at)


def _custody(session: Session, action: str, edge: GraphEdge, *, actor: Actor, at: datetime) -> None:
    """One event on each evidence item the edge touches, or one department-level event."""
    items: list[str | None] = [
        node_id
        for node_kind, node_id in (
            (edge.source_kind, edge.source_id),
            (edge.target_kind, edge.target_id),
        )
        if node_kind == "evidence"
    ]
    for evidence_id in items or [None]:
        append_event(
            session,
            action=action,
            at=at,
            evidence_id=evidence_id,
            actor_id=actor.officer_id,
            department_id=actor.department_id,
            details={"source": edge.source_id, "target": edge.target_id},
        )


def evidence_relations(session: Session, evidence_id: str) -> list[dict[str, Any]]:
    """The item's relations to other items, both directions, oldest first."""
    if session.get(Evidence, evidence_id) is None:
        raise NotFoundError(f"no evidence {evidence_id}")
    edges = session.exec(
        select(GraphEdge)
        .where(
            col(GraphEdge.kind).in_(sorted(RELATION_KINDS)),
            or_(col(GraphEdge.source_id) == evidence_id, col(GraphEdge.target_id) == evidence_id),
        )
        .order_by(col(GraphEdge.created_at), col(GraphEdge.id))
    ).all()
    others = {e.target_id if e.source_id == evidence_id else e.source_id for e in edges}
    titles = dict(
        session.exec(select(Evidence.id, Evidence.title).where(col(Evidence.id).in_(others))).all()
    )
    out = []
    for edge in edges:
        outgoing = edge.source_id == evidence_id
        other = edge.target_id if outgoing else edge.source_id
        out.append(
            {
                "kind": edge.kind,
                "direction": "outgoing" if outgoing else "incoming",
                "evidence_id": other,
                "title": titles.get(other),
                "created_by": edge.created_by,
                "created_at": edge.created_at,
            }
        )
    return out


def evidence_party_ids(session: Session, evidence_id: str) -> list[str]:
    if session.get(Evidence, evidence_id) is None:
        raise NotFoundError(f"no evidence {evidence_id}")
    return sorted(
        session.exec(
            select(GraphEdge.target_id).where(
                GraphEdge.kind == "concerns_party", GraphEdge.source_id == evidence_id
            )
        ).all()
    )


def change_links(
    engine: Engine,
    actor: Actor,
    case_id: str,
    kind: str,
    source_id: str,
    target_id: str,
    *,
    attach: bool,
    at: datetime,
    purpose: str = "",
) -> dict[str, Any]:
    """Attach or detach in one transaction (the case must be open and the actor's to change),
    then answer with the case as it now stands. The edge starts at the case or at an item."""
    source_kind = "case" if source_id == case_id else "evidence"
    with session_scope(engine) as session:
        writable_case(session, case_id, actor)
        if attach:
            link(
                session,
                kind,
                source_id,
                target_id,
                actor=actor,
                at=at,
                purpose=purpose,
                source_kind=source_kind,
            )
        else:
            unlink(session, kind, source_id, target_id, actor=actor, at=at, source_kind=source_kind)
    with Session(engine) as session:
        return case_public(session, load_case(session, case_id))


# --- an item's relations and parties, one transaction each ------------------------------------


def _relation_kind(kind: str) -> str:
    if kind not in RELATION_KINDS:
        raise BadRequestError(
            f"unknown relation kind {kind!r} (one of {', '.join(sorted(RELATION_KINDS))})"
        )
    return kind


def item_relations(engine: Engine, evidence_id: str) -> list[dict[str, Any]]:
    """The item's relations to other items, both directions (see :func:`evidence_relations`)."""
    with Session(engine) as session:
        return evidence_relations(session, evidence_id)


def item_party_ids(engine: Engine, evidence_id: str) -> list[str]:
    """The ids of the parties the item concerns, sorted."""
    with Session(engine) as session:
        return evidence_party_ids(session, evidence_id)


def relate_items(
    engine: Engine, kind: str, source_id: str, target_id: str, *, actor: Actor, clock: Clock
) -> None:
    """Relate item ``source_id`` to item ``target_id`` (a relation kind, else
    :class:`BadRequestError`), with a custody event on each."""
    kind = _relation_kind(kind)
    with session_scope(engine) as session:
        link(
            session,
            kind,
            source_id,
            target_id,
            actor=actor,
            at=clock(),
            source_kind="evidence",
        )


def unrelate_items(
    engine: Engine, kind: str, source_id: str, target_id: str, *, actor: Actor, clock: Clock
) -> None:
    """Remove a relation the item starts (``corroborates`` whichever item it was added from)."""
    kind = _relation_kind(kind)
    with session_scope(engine) as session:
        unlink(
            session,
            kind,
            source_id,
            target_id,
            actor=actor,
            at=clock(),
            source_kind="evidence",
        )


def link_item_party(
    engine: Engine, evidence_id: str, party_id: str, *, actor: Actor, clock: Clock
) -> None:
    """Say the item concerns the party (a ``concerns_party`` edge and its custody event)."""
    with session_scope(engine) as session:
        link(
            session,
            "concerns_party",
            evidence_id,
            party_id,
            actor=actor,
            at=clock(),
            source_kind="evidence",
        )


def unlink_item_party(
    engine: Engine, evidence_id: str, party_id: str, *, actor: Actor, clock: Clock
) -> None:
    """Detach the party from the item, with its custody event."""
    with session_scope(engine) as session:
        unlink(
            session,
            "concerns_party",
            evidence_id,
            party_id,
            actor=actor,
            at=clock(),
            source_kind="evidence",
        )
