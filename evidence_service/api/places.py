"""/api/v1/places: places (an address, a position or both), found by text or by distance; and
/api/v1/cases/{id}/places: the places a case concerns."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.api import schemas
from evidence_service.api.case_links import change_case_links
from evidence_service.api.deps import CaptureActor, CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.cases import places
from evidence_service.cases.places import MAX_ADDRESS_CHARS, Near, PlaceFilter
from evidence_service.core.cursors import MAX_PAGE
from evidence_service.core.errors import BadRequestError

router = APIRouter(prefix="/api/v1", tags=["places"])

Degrees = Annotated[float | None, Field(allow_inf_nan=False, description="WGS-84 degrees")]


class PlaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field("", max_length=MAX_ADDRESS_CHARS)
    lat: Degrees = None
    lon: Degrees = None


class PlaceUpdate(BaseModel):
    """Only the fields sent change; ``lat`` and ``lon`` null together remove the position."""

    model_config = ConfigDict(extra="forbid")
    address: str | None = Field(None, max_length=MAX_ADDRESS_CHARS)
    lat: Degrees = None
    lon: Degrees = None


@router.post(
    "/places",
    status_code=201,
    summary="Register a place",
    responses={**ok(schemas.PlacePublic, 201), **problems(400, 401, 403, 422)},
)
def post_place(payload: PlaceCreate, services: ServicesDep, actor: CaptureActor) -> Any:
    place = places.register_place(
        services.engine,
        payload.address,
        payload.lat,
        payload.lon,
        actor=actor,
        clock=services.ingestor.clock,
    )
    return jsonable_encoder(place)


@router.get(
    "/places",
    summary="Places by address text or within a distance of a point",
    responses={**ok(schemas.PlacePage), **problems(400, 401, 403, 422)},
)
def get_places(
    services: ServicesDep,
    actor: CurrentActor,
    near_lat: float | None = None,
    near_lon: float | None = None,
    within_m: float | None = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=200, description="part of the address")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Newest first. With ``near_lat``, ``near_lon`` and ``within_m`` (1..50000) only places
    within that many metres are listed, each with its ``distance_m``."""
    near_params = (near_lat, near_lon, within_m)
    near = None
    if any(v is not None for v in near_params):
        if near_lat is None or near_lon is None or within_m is None:
            raise BadRequestError("give near_lat, near_lon and within_m together")
        near = Near(near_lat, near_lon, within_m)
    flt = PlaceFilter(department_id=actor.department_id, text=q, near=near)  # own places only
    rows, next_cursor = places.place_page(services.engine, flt, limit=limit, cursor=cursor)
    return {"items": jsonable_encoder(rows), "next_cursor": next_cursor}


@router.get(
    "/places/{place_id}",
    summary="One place",
    responses={**ok(schemas.PlacePublic), **problems(401, 403, 404, 422)},
)
def get_place(place_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    return jsonable_encoder(places.read_place(services.engine, place_id))


@router.patch(
    "/places/{place_id}",
    summary="Correct a place's address or position",
    responses={**ok(schemas.PlacePublic), **problems(400, 401, 403, 404, 422)},
)
def patch_place(
    place_id: str, payload: PlaceUpdate, services: ServicesDep, actor: CurrentActor
) -> Any:
    changes = {field: getattr(payload, field) for field in payload.model_fields_set}
    if "address" in changes and changes["address"] is None:
        raise BadRequestError("address cannot be null (send an empty string to clear it)")
    place = places.change_place(
        services.engine, place_id, changes, actor=actor, clock=services.ingestor.clock
    )
    return jsonable_encoder(place)


@router.delete(
    "/places/{place_id}",
    status_code=204,
    summary="Remove a place nothing links to",
    responses=problems(401, 403, 404, 409, 422),
)
def remove_place(place_id: str, services: ServicesDep, actor: CurrentActor) -> Response:
    places.remove_place(services.engine, place_id, actor=actor, clock=services.ingestor.clock)
    return Response(status_code=204)


class PlaceLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    place_id: str = Field(max_length=26)


@router.post(
    "/cases/{case_id}/places",
    status_code=201,
    summary="Say a case concerns a place",
    responses={**ok(schemas.CaseDetail, 201), **problems(400, 401, 403, 404, 409, 422)},
)
def attach_place(
    case_id: str, payload: PlaceLink, services: ServicesDep, actor: CurrentActor
) -> Any:
    return change_case_links(
        services, actor, case_id, "case_at_place", case_id, payload.place_id, attach=True
    )


@router.delete(
    "/cases/{case_id}/places/{place_id}",
    summary="Detach a place from a case",
    responses={**ok(schemas.CaseDetail), **problems(401, 403, 404, 409, 422)},
)
def detach_place(case_id: str, place_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    return change_case_links(
        services, actor, case_id, "case_at_place", case_id, place_id, attach=False
    )
