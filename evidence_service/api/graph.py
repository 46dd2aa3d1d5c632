"""/api/v1/graph: the evidence relation graph around a node, as JSON or as a picture."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlmodel import Session

from evidence_service.api.deps import CurrentActor, ServicesDep
from evidence_service.graph import (
    MAX_HOPS,
    MAX_NODES,
    as_json,
    component,
    neighbourhood,
    shortest_path,
)
from evidence_service.graph_picture import GraphEdge, GraphNode, render_png, render_svg

router = APIRouter(prefix="/api/v1/graph", tags=["graph"])

Hops = Annotated[int, Query(ge=1, le=MAX_HOPS, description="k-hop neighbourhood")]
Limit = Annotated[int, Query(ge=1, le=MAX_NODES, description="most nodes returned")]


@router.get("/path", summary="A shortest path between two nodes (fewest edges)")
def get_path(
    services: ServicesDep,
    actor: CurrentActor,
    start: Annotated[str, Query(alias="from", max_length=64)],
    goal: Annotated[str, Query(alias="to", max_length=64)],
) -> dict[str, Any]:
    with Session(services.engine) as session:
        nodes, edges = shortest_path(session, start, goal)
    return as_json(nodes, edges)


def _picture_input(
    services: ServicesDep, node_id: str, hops: int, limit: int
) -> tuple[list[GraphNode], list[GraphEdge]]:
    with Session(services.engine) as session:
        nodes, edges = neighbourhood(session, node_id, hops=hops, limit=limit)
    return (
        [GraphNode(id=n.id, kind=n.kind, label=n.label) for n in nodes],  # type: ignore[arg-type]
        [GraphEdge(source=e.source, target=e.target, kind=e.kind) for e in edges],  # type: ignore[arg-type]
    )


@router.get(
    "/{node_id}.svg",
    summary="The neighbourhood as a printable picture (SVG)",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def get_svg(
    node_id: str, services: ServicesDep, actor: CurrentActor, hops: Hops = 2, limit: Limit = 100
) -> Response:
    """Node kinds differ by colour and shape, edges are labelled, with a legend and a title."""
    nodes, edges = _picture_input(services, node_id, hops, limit)
    return Response(render_svg(nodes, edges, center=node_id), media_type="image/svg+xml")


@router.get(
    "/{node_id}.png",
    summary="The neighbourhood as a printable picture (PNG)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def get_png(
    node_id: str, services: ServicesDep, actor: CurrentActor, hops: Hops = 2, limit: Limit = 100
) -> Response:
    nodes, edges = _picture_input(services, node_id, hops, limit)
    return Response(render_png(nodes, edges, center=node_id), media_type="image/png")


@router.get("/{node_id}/component", summary="The connected component of a node (e.g. a case)")
def get_component(
    node_id: str, services: ServicesDep, actor: CurrentActor, limit: Limit = MAX_NODES
) -> dict[str, Any]:
    with Session(services.engine) as session:
        nodes, edges = component(session, node_id, limit=limit)
    return as_json(nodes, edges)


@router.get("/{node_id}", summary="Nodes within k hops of a node, and the edges among them")
def get_neighbourhood(
    node_id: str, services: ServicesDep, actor: CurrentActor, hops: Hops = 1, limit: Limit = 100
) -> dict[str, Any]:
    with Session(services.engine) as session:
        nodes, edges = neighbourhood(session, node_id, hops=hops, limit=limit)
    return as_json(nodes, edges)
