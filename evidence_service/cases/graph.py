"""Graph queries over the typed edges, as recursive CTEs that run on SQLite and PostgreSQL.

Edges are walked in both directions (an evidence item belongs to a case; the case is reached
from the item and the item from the case). Depth and node counts are bounded by named limits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import Engine, TextClause, bindparam, text
from sqlmodel import Session, col, select

from evidence_service.access.models import Officer
from evidence_service.capture.models import Evidence
from evidence_service.cases.models import Case, Cause, GraphEdge, Party, Place
from evidence_service.core.errors import BadRequestError, NotFoundError

MAX_HOPS = 4
MAX_NODES = 300
MAX_PATH_HOPS = 8

#: Nodes a walk reaches but does not pass through (unless it starts there): an officer or a
#: cause joins a province's worth of unrelated items, and "captured by the same officer" is no
#: relation between them. Their own neighbourhoods are still one request away.
HUB_KINDS = ("officer", "cause")

NodeKind = Literal["evidence", "case", "party", "place", "officer", "cause"]
#: Every edge kind, in the order the pictures list them.
EdgeKind = Literal[
    "belongs_to_case",
    "concerns_party",
    "case_at_place",
    "captured_at_place",
    "captured_by",
    "about_cause",
    "transcript_of",
    "derived_from",
    "corroborates",
]
EDGE_KINDS: tuple[str, ...] = get_args(EdgeKind)


def _undirected(filtered: bool) -> str:
    """Edges walked both ways (each branch can use an index), optionally of some kinds only."""
    where = " WHERE kind IN :kinds" if filtered else ""
    return f"""
  undirected(a, b, b_kind) AS (
    SELECT source_id, target_id, target_kind FROM graphedge{where}
    UNION ALL
    SELECT target_id, source_id, source_kind FROM graphedge{where}
  )"""


_HUBS = ", ".join(f"'{k}'" for k in HUB_KINDS)


def _walk(filtered: bool, bounded: bool) -> str:
    """Every node reachable from :start: with each depth within :hops when bounded; without
    depth otherwise (a depth column would make every cycle a new row, and the walk endless)."""
    if bounded:
        return f"""
WITH RECURSIVE {_undirected(filtered)},
  walk(node, kind, depth) AS (
    SELECT CAST(:start AS VARCHAR(64)), CAST(:start_kind AS VARCHAR(16)), 0
    UNION
    SELECT u.b, u.b_kind, w.depth + 1 FROM walk w JOIN undirected u ON u.a = w.node
    WHERE w.depth < :hops AND (w.depth = 0 OR w.kind NOT IN ({_HUBS}))
  )
"""
    return f"""
WITH RECURSIVE {_undirected(filtered)},
  walk(node, kind) AS (
    SELECT CAST(:start AS VARCHAR(64)), CAST(:start_kind AS VARCHAR(16))
    UNION
    SELECT u.b, u.b_kind FROM walk w JOIN undirected u ON u.a = w.node
    WHERE w.node = :start OR w.kind NOT IN ({_HUBS})
  )
"""


@functools.cache
def _query(shape: str, filtered: bool) -> TextClause:
    if shape == "neighbourhood":
        sql = _walk(filtered, True) + (
            "SELECT node, MIN(depth) FROM walk GROUP BY node ORDER BY MIN(depth), node LIMIT :limit"
        )
    elif shape == "distances":
        sql = _walk(filtered, True) + "SELECT node, MIN(depth) FROM walk GROUP BY node"
    else:  # component: everything reachable, however far (hubs still not passed through)
        sql = _walk(filtered, False) + "SELECT DISTINCT node FROM walk ORDER BY node LIMIT :limit"
    query = text(sql)
    return query.bindparams(bindparam("kinds", expanding=True)) if filtered else query


def _params(
    start: str, start_kind: str, kinds: Sequence[str] | None, **more: Any
) -> dict[str, Any]:
    params: dict[str, Any] = {"start": start, "start_kind": start_kind, **more}
    if kinds:
        unknown = sorted(set(kinds) - set(EDGE_KINDS))
        if unknown:
            raise BadRequestError(
                f"unknown edge kind {', '.join(unknown)}; known: {', '.join(EDGE_KINDS)}"
            )
        params["kinds"] = list(kinds)
    return params


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
    place = session.get(Place, node_id)
    if place is not None:
        position = f"{place.lat:.5f},{place.lon:.5f}" if place.lat is not None else ""
        return "place", place.address or position
    officer = session.get(Officer, node_id)
    if officer is not None:
        return "officer", officer.name
    cause = session.get(Cause, node_id)  # cause nodes are named by their catalogue code
    if cause is not None:
        return "cause", f"{cause.code} {cause.name}"
    return None


def _start_kind(session: Session, node_id: str) -> str:
    found = node_kind_and_label(session, node_id)
    if found is None:
        raise NotFoundError(f"no graph node {node_id}")
    return found[0]


def neighbourhood(
    session: Session,
    start: str,
    *,
    hops: int = 1,
    limit: int = 100,
    kinds: Sequence[str] | None = None,
) -> tuple[list[Node], list[Edge]]:
    """Nodes within ``hops`` of ``start`` (the start first), and the edges among them; only
    edges of ``kinds`` when given. Officers and causes are shown but not walked through."""
    if not 1 <= hops <= MAX_HOPS:
        raise BadRequestError(f"hops must be 1..{MAX_HOPS}")
    if not 1 <= limit <= MAX_NODES:
        raise BadRequestError(f"limit must be 1..{MAX_NODES}")
    params = _params(start, _start_kind(session, start), kinds, hops=hops, limit=limit)
    rows = session.execute(_query("neighbourhood", bool(kinds)), params).all()
    depths = {str(node_id): int(depth) for node_id, depth in rows}
    nodes = _nodes(session, list(depths), depths)
    return nodes, _edges_among(session, [n.id for n in nodes], kinds)


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


def _edges_among(
    session: Session, ids: list[str], kinds: Sequence[str] | None = None
) -> list[Edge]:
    query = select(GraphEdge).where(
        col(GraphEdge.source_id).in_(ids), col(GraphEdge.target_id).in_(ids)
    )
    if kinds:
        query = query.where(col(GraphEdge.kind).in_(list(kinds)))
    rows = session.exec(query.order_by(col(GraphEdge.id))).all()
    return [Edge(e.source_id, e.target_id, e.kind) for e in rows]


def shortest_path(
    session: Session,
    start: str,
    goal: str,
    *,
    max_hops: int = MAX_PATH_HOPS,
    kinds: Sequence[str] | None = None,
) -> tuple[list[Node], list[Edge]]:
    """One shortest path (fewest edges, either direction) from ``start`` to ``goal``, never
    through an officer or a cause (they join unrelated items).

    Distances from ``start`` come from a recursive CTE, deepened one hop at a time until the
    goal is reached (a far corner of the graph is only expanded when the goal lies beyond it);
    the path is then traced back from ``goal`` through neighbours one step closer that the walk
    could pass through, preferring the smallest id (deterministic)."""
    start_kind = _start_kind(session, start)
    _start_kind(session, goal)
    depth: dict[str, int] = {}
    for hops in range(1, max_hops + 1):  # iterative deepening: near pairs stay cheap near hubs
        params = _params(start, start_kind, kinds, hops=hops)
        depth = {
            str(n): int(d) for n, d in session.execute(_query("distances", bool(kinds)), params)
        }
        if goal in depth:
            break
    if goal not in depth:
        raise NotFoundError(f"no path from {start} to {goal} within {max_hops} hops")
    path = [goal]
    while path[-1] != start:
        here = path[-1]
        query = select(GraphEdge).where(
            (GraphEdge.source_id == here) | (GraphEdge.target_id == here)
        )
        if kinds:
            query = query.where(col(GraphEdge.kind).in_(list(kinds)))
        closer = sorted(
            (other, other_kind)
            for e in session.exec(query).all()
            for other, other_kind in (
                (e.target_id, e.target_kind)
                if e.source_id == here
                else (e.source_id, e.source_kind),
            )
            if depth.get(other) == depth[here] - 1
            and (other == start or other_kind not in HUB_KINDS)
        )
        path.append(closer[0][0])
    path.reverse()
    edges_on_path = sorted(
        (
            e
            for e in _edges_among(session, path, kinds)
            if abs(path.index(e.source) - path.index(e.target)) == 1
        ),
        key=lambda e: min(path.index(e.source), path.index(e.target)),
    )
    return _nodes(session, path, depth), edges_on_path


def component(
    session: Session,
    start: str,
    *,
    limit: int = MAX_NODES,
    kinds: Sequence[str] | None = None,
) -> tuple[list[Node], list[Edge]]:
    """The connected component of a node (e.g. a case): everything linked to it, however far,
    except through officers and causes (which would join the whole province)."""
    if not 1 <= limit <= MAX_NODES:
        raise BadRequestError(f"limit must be 1..{MAX_NODES}")
    params = _params(start, _start_kind(session, start), kinds, limit=limit)
    ids = [str(r[0]) for r in session.execute(_query("component", bool(kinds)), params)]
    return _nodes(session, ids, {start: 0}), _edges_among(session, ids, kinds)


# --- walks narrowed to what the caller may see --------------------------------------------------

#: Which of the given node ids the caller may see: the access policy's answer, passed in by the
#: route so that the walks here know nothing of who asks.
NodeFilter = Callable[[Session, Iterable[str]], set[str]]


def _narrow(
    session: Session, visible: NodeFilter, found: tuple[list[Node], list[Edge]]
) -> tuple[list[Node], list[Edge]]:
    """Only the nodes the caller may see, and the edges among them: another department's
    records linked to the caller's never show, not even as an unnamed node."""
    nodes, edges = found
    keep = visible(session, [n.id for n in nodes])
    return (
        [n for n in nodes if n.id in keep],
        [e for e in edges if e.source in keep and e.target in keep],
    )


def visible_neighbourhood(
    engine: Engine,
    start: str,
    *,
    visible: NodeFilter,
    hops: int,
    limit: int,
    kinds: Sequence[str] | None,
) -> tuple[list[Node], list[Edge]]:
    """:func:`neighbourhood`, then only what ``visible`` keeps."""
    with Session(engine) as session:
        return _narrow(
            session,
            visible,
            neighbourhood(session, start, hops=hops, limit=limit, kinds=kinds),
        )


def visible_component(
    engine: Engine,
    start: str,
    *,
    visible: NodeFilter,
    limit: int,
    kinds: Sequence[str] | None,
) -> tuple[list[Node], list[Edge]]:
    """:func:`component`, then only what ``visible`` keeps."""
    with Session(engine) as session:
        return _narrow(session, visible, component(session, start, limit=limit, kinds=kinds))


def visible_path(
    engine: Engine,
    start: str,
    goal: str,
    *,
    visible: NodeFilter,
    kinds: Sequence[str] | None,
) -> tuple[list[Node], list[Edge]]:
    """:func:`shortest_path` between two nodes the caller may see, refused
    (:class:`NotFoundError`) when either end is unseen or the path passes through a record
    the caller may not see (rather than shown with a gap)."""
    with Session(engine) as session:
        for node_id in (start, goal):
            if not visible(session, [node_id]):
                raise NotFoundError(f"no graph node {node_id}")
        nodes, edges = shortest_path(session, start, goal, kinds=kinds)
        if len(visible(session, [n.id for n in nodes])) < len(nodes):
            raise NotFoundError(f"no path from {start} to {goal} through records you may see")
    return nodes, edges
