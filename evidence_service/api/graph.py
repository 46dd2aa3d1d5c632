"""/api/v1/graph: the evidence relation graph around a node, as JSON or as a picture."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
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
