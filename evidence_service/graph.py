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

#: Edges are walked both ways through this view, so each branch can use an index.
_UNDIRECTED = """
  undirected(a, b) AS (
    SELECT source_id, target_id FROM graphedge
    UNION ALL
    SELECT target_id, source_id FROM graphedge
  )"""

#: Every node within :hops of :start, with each depth it is reached at.
_WALK = f"""
WITH RECURSIVE {_UNDIRECTED},
  walk(node, depth) AS (
    SELECT CAST(:start AS VARCHAR(64)), 0
    UNION
    SELECT u.b, w.depth + 1 FROM walk w JOIN undirected u ON u.a = w.node
    WHERE w.depth < :hops
  )
"""

_NEIGHBOURHOOD = text(
    _WALK
    + """
    SELECT node, MIN(depth) AS depth FROM walk GROUP BY node
    ORDER BY MIN(depth), node
    LIMIT :limit
    """
)

_DISTANCES = text(_WALK + "SELECT node, MIN(depth) FROM walk GROUP BY node")

_COMPONENT = text(
    f"""
    WITH RECURSIVE {_UNDIRECTED},
      reach(node) AS (
        SELECT CAST(:start AS VARCHAR(64))
        UNION
        SELECT u.b FROM reach r JOIN undirected u ON u.a = r.node
      )
    SELECT node FROM reach ORDER BY node LIMIT :limit
    """
)
MAX_PATH_HOPS = 8


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


def _nodes(session: Session, ids: list[str], depths: dict[str, int]) -> list[Node]:
    out = []
    for node_id in ids:
        found = node_kind_and_label(session, node_id)
        if found is not None:
            out.append(Node(node_id, found[0], found[1], depths.get(node_id, 0)))
    return out


def _edges_among(session: Session, ids: list[str]) -> list[Edge]:
    rows = session.exec(
        select(GraphEdge).where(
            col(GraphEdge.source_id).in_(ids), col(GraphEdge.target_id).in_(ids)
        )
    ).all()
    return [Edge(e.source_id, e.target_id, e.kind) for e in rows]


def shortest_path(
    session: Session, start: str, goal: str, *, max_hops: int = MAX_PATH_HOPS
) -> tuple[list[Node], list[Edge]]:
    """One shortest path (fewest edges, either direction) from ``start`` to ``goal``.

    Distances from ``start`` come from a recursive CTE, deepened one hop at a time until the
    goal is reached (a hub such as an officer with a million items is only expanded when the
    goal lies beyond it); the path is then traced back from
    ``goal`` through neighbours one step closer, preferring the smallest id (deterministic)."""
    for node_id in (start, goal):
        if node_kind_and_label(session, node_id) is None:
            raise NotFoundError(f"no graph node {node_id}")
    depth: dict[str, int] = {}
    for hops in range(1, max_hops + 1):  # iterative deepening: near pairs stay cheap near hubs
        depth = {
            str(n): int(d)
            for n, d in session.execute(_DISTANCES, {"start": start, "hops": hops}).all()
        }
        if goal in depth:
            break
    if goal not in depth:
        raise NotFoundError(f"no path from {start} to {goal} within {max_hops} hops")
    path = [goal]
    while path[-1] != start:
        here = path[-1]
        edges = session.exec(
            select(GraphEdge).where((GraphEdge.source_id == here) | (GraphEdge.target_id == here))
        ).all()
        closer = sorted(
            other
            for e in edges
            for other in (e.target_id if e.source_id == here else e.source_id,)
            if depth.get(other) == depth[here] - 1
        )
        path.append(closer[0])
    path.reverse()
    edges_on_path = sorted(
        (
            e
            for e in _edges_among(session, path)
            if abs(path.index(e.source) - path.index(e.target)) == 1
        ),
        key=lambda e: min(path.index(e.source), path.index(e.target)),
    )
    return _nodes(session, path, depth), edges_on_path


def component(
    session: Session, start: str, *, limit: int = MAX_NODES
) -> tuple[list[Node], list[Edge]]:
    """The connected component of a node (e.g. a case): everything linked to it, however far."""
    if not 1 <= limit <= MAX_NODES:
        raise BadRequestError(f"limit must be 1..{MAX_NODES}")
    if node_kind_and_label(session, start) is None:
        raise NotFoundError(f"no graph node {start}")
    ids = [str(r[0]) for r in session.execute(_COMPONENT, {"start": start, "limit": limit}).all()]
    return _nodes(session, ids, {start: 0}), _edges_among(session, ids)
