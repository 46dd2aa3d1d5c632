"""/api/v1/graph: the evidence relation graph around a node, as JSON or as a picture."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from evidence_service.access.identity import Actor
from evidence_service.api import policy, schemas
from evidence_service.api.deps import CurrentActor, ServicesDep
from evidence_service.api.responses import binary, ok, problems
from evidence_service.cases.graph import (
    EDGE_KINDS,
    MAX_HOPS,
    MAX_NODES,
    NodeFilter,
    as_json,
    visible_component,
    visible_neighbourhood,
    visible_path,
)
from evidence_service.render.graph_picture import GraphEdge, GraphNode, render_png, render_svg

router = APIRouter(prefix="/api/v1/graph", tags=["graph"])

Hops = Annotated[int, Query(ge=1, le=MAX_HOPS, description="k-hop neighbourhood")]
Limit = Annotated[int, Query(ge=1, le=MAX_NODES, description="most nodes returned")]
Kinds = Annotated[
    list[str] | None,
    Query(
        alias="kind",
        max_length=len(EDGE_KINDS),
        description=f"walk only these edge kinds (repeat the parameter): {', '.join(EDGE_KINDS)}",
    ),
]


def _seen_by(actor: Actor) -> NodeFilter:
    """The graph nodes this caller may see, as the access policy decides (walks are narrowed
    with it: another department's records never show, not even as an unnamed node)."""
    return lambda session, node_ids: policy.visible_nodes(session, actor, node_ids)


@router.get(
    "/path",
    summary="A shortest path between two nodes (fewest edges)",
    responses={**ok(schemas.Graph), **problems(400, 401, 403, 404, 422)},
)
def get_path(
    services: ServicesDep,
    actor: CurrentActor,
    start: Annotated[str, Query(alias="from", max_length=64)],
    goal: Annotated[str, Query(alias="to", max_length=64)],
    kinds: Kinds = None,
) -> dict[str, Any]:
    """Never through an officer or a cause: they join items that have nothing else in common."""
    nodes, edges = visible_path(services.engine, start, goal, visible=_seen_by(actor), kinds=kinds)
    return as_json(nodes, edges)


def _picture_input(
    services: ServicesDep,
    actor: Actor,
    node_id: str,
    hops: int,
    limit: int,
    kinds: list[str] | None,
) -> tuple[list[GraphNode], list[GraphEdge]]:
    nodes, edges = visible_neighbourhood(
        services.engine, node_id, visible=_seen_by(actor), hops=hops, limit=limit, kinds=kinds
    )
    return (
        [GraphNode(id=n.id, kind=n.kind, label=n.label) for n in nodes],  # type: ignore[arg-type]
        [GraphEdge(source=e.source, target=e.target, kind=e.kind) for e in edges],  # type: ignore[arg-type]
    )


@router.get(
    "/{node_id}.svg",
    summary="The neighbourhood as a printable picture (SVG)",
    response_class=Response,
    responses={**binary("image/svg+xml"), **problems(400, 401, 403, 404, 422)},
)
def get_svg(
    node_id: str,
    services: ServicesDep,
    actor: CurrentActor,
    hops: Hops = 2,
    limit: Limit = 100,
    kinds: Kinds = None,
) -> Response:
    """Node kinds differ by colour and shape, edges are labelled, with a legend and a title."""
    nodes, edges = _picture_input(services, actor, node_id, hops, limit, kinds)
    return Response(render_svg(nodes, edges, center=node_id), media_type="image/svg+xml")


@router.get(
    "/{node_id}.png",
    summary="The neighbourhood as a printable picture (PNG)",
    response_class=Response,
    responses={**binary("image/png"), **problems(400, 401, 403, 404, 422)},
)
def get_png(
    node_id: str,
    services: ServicesDep,
    actor: CurrentActor,
    hops: Hops = 2,
    limit: Limit = 100,
    kinds: Kinds = None,
) -> Response:
    nodes, edges = _picture_input(services, actor, node_id, hops, limit, kinds)
    return Response(render_png(nodes, edges, center=node_id), media_type="image/png")


@router.get(
    "/{node_id}/component",
    summary="The connected component of a node (e.g. a case)",
    responses={**ok(schemas.Graph), **problems(400, 401, 403, 404, 422)},
)
def get_component(
    node_id: str,
    services: ServicesDep,
    actor: CurrentActor,
    limit: Limit = MAX_NODES,
    kinds: Kinds = None,
) -> dict[str, Any]:
    """Everything linked to the node however far, except through officers and causes."""
    nodes, edges = visible_component(
        services.engine, node_id, visible=_seen_by(actor), limit=limit, kinds=kinds
    )
    return as_json(nodes, edges)


@router.get(
    "/{node_id}",
    summary="Nodes within k hops of a node, and the edges among them",
    responses={**ok(schemas.Graph), **problems(400, 401, 403, 404, 422)},
)
def get_neighbourhood(
    node_id: str,
    services: ServicesDep,
    actor: CurrentActor,
    hops: Hops = 1,
    limit: Limit = 100,
    kinds: Kinds = None,
) -> dict[str, Any]:
    """Officers and causes appear as nodes but are not walked through (each joins thousands of
    unrelated items); ask for an officer's own neighbourhood to see what they captured."""
    nodes, edges = visible_neighbourhood(
        services.engine, node_id, visible=_seen_by(actor), hops=hops, limit=limit, kinds=kinds
    )
    return as_json(nodes, edges)
