"""/api/v1/graph: the evidence relation graph around a node, as JSON or as a picture."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlmodel import Session

from evidence_service.api.deps import CurrentActor, ServicesDep
from evidence_service.graph import MAX_HOPS, MAX_NODES, as_json, neighbourhood

router = APIRouter(prefix="/api/v1/graph", tags=["graph"])

Hops = Annotated[int, Query(ge=1, le=MAX_HOPS, description="k-hop neighbourhood")]
Limit = Annotated[int, Query(ge=1, le=MAX_NODES, description="most nodes returned")]


@router.get("/{node_id}", summary="Nodes within k hops of a node, and the edges among them")
def get_neighbourhood(
    node_id: str, services: ServicesDep, actor: CurrentActor, hops: Hops = 1, limit: Limit = 100
) -> dict[str, Any]:
    with Session(services.engine) as session:
        nodes, edges = neighbourhood(session, node_id, hops=hops, limit=limit)
    return as_json(nodes, edges)
