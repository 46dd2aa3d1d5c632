"""Graph queries over the typed edges, as recursive CTEs that run on SQLite and PostgreSQL.

Edges are walked in both directions (an evidence item belongs to a case; the case is reached
from the item and the item from the case). Depth and node counts are bounded by named limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from evidence_service.errors import BadRequestError, NotFoundError
from evidence_service.models import Case, Evidence, GraphEdge, Party

MAX_HOPS = 4
MAX_NODES = 300

_NEIGHBOURHOOD = text(
    """
    WITH RECURSIVE
      undirected(a, b) AS (
        SELECT source_id, target_id FROM graphedge
        UNION ALL
        SELECT target_id, source_id FROM graphedge
      ),
      walk(node, depth) AS (
        SELECT CAST(:start AS VARCHAR(64)), 0
        UNION
        SELECT u.b, w.depth + 1 FROM walk w JOIN undirected u ON u.a = w.node
        WHERE w.depth < :hops
      )
    SELECT node, MIN(depth) AS depth FROM walk GROUP BY node
    ORDER BY MIN(depth), node
    LIMIT :limit
    """
)


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    label: str
    depth: int


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str


def node_kind_and_label(session: Session, node_id: str) -> tuple[str, str] | None:
    evidence = session.get(Evidence, node_id)
    if evidence is not None:
        return "evidence", evidence.title
    case = session.get(Case, node_id)
    if case is not None:
        return "case", f"{case.case_number} {case.title}"
    party = session.get(Party, node_id)
    if party is not None:
        return "party", party.name  # the masked identifier is not needed on a picture
    return None


def neighbourhood(
    session: Session, start: str, *, hops: int = 1, limit: int = 100
) -> tuple[list[Node], list[Edge]]:
    """Nodes within ``hops`` of ``start`` (the start first), and the edges among them."""
    if not 1 <= hops <= MAX_HOPS:
        raise BadRequestError(f"hops must be 1..{MAX_HOPS}")
    if not 1 <= limit <= MAX_NODES:
        raise BadRequestError(f"limit must be 1..{MAX_NODES}")
    if node_kind_and_label(session, start) is None:
        raise NotFoundError(f"no graph node {start}")
    rows = session.execute(_NEIGHBOURHOOD, {"start": start, "hops": hops, "limit": limit}).all()
    nodes: list[Node] = []
    for node_id, depth in rows:
        found = node_kind_and_label(session, node_id)
        if found is not None:
            nodes.append(Node(node_id, found[0], found[1], int(depth)))
    ids = [n.id for n in nodes]
    edges = session.exec(
        select(GraphEdge).where(
            col(GraphEdge.source_id).in_(ids), col(GraphEdge.target_id).in_(ids)
        )
    ).all()
    return nodes, [Edge(e.source_id, e.target_id, e.kind) for e in edges]


def as_json(nodes: list[Node], edges: list[Edge]) -> dict[str, Any]:
    return {
        "nodes": [{"id": n.id, "kind": n.kind, "label": n.label, "depth": n.depth} for n in nodes],
        "edges": [{"source": e.source, "target": e.target, "kind": e.kind} for e in edges],
    }
