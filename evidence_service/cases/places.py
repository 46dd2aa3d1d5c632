"""Places: an address with an optional WGS-84 position, and "within N metres of a point" in SQL
that runs unchanged on SQLite and PostgreSQL (no PostGIS, no SpatiaLite).

Distances use the equirectangular approximation around the query point: with ``cos(lat0)``
computed here, ``dx = Δlon·cos(lat0)·111320`` and ``dy = Δlat·110540`` metres, and a point is near
when ``dx² + dy² ≤ r²``. For radii up to :data:`MAX_WITHIN_M` away from the poles this stays within
about one percent of the great-circle distance (0.3 % at Hangzhou's latitude). A bounding box
on (lat, lon) comes first so the ``ix_place_position`` / ``ix_evidence_position`` indexes narrow
the rows; a box that crosses the antimeridian is split in two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, or_
from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor
from evidence_service.cases.cases import (
    check_may_change,
    department_event,
    edge_count,
)
from evidence_service.cases.models import Place
from evidence_service.core.clock import Clock
from evidence_service.core.cursors import keyset_page, like_pattern
from evidence_service.core.db import session_scope
from evidence_service.core.errors import BadRequestError, ConflictError, NotFoundError
from evidence_service.core.ids import new_id

METRES_PER_DEGREE_LAT = 110_540.0
METRES_PER_DEGREE_LON_AT_EQUATOR = 111_320.0
MIN_WITHIN_M = 1.0
MAX_WITHIN_M = 50_000.0
MAX_ADDRESS_CHARS = 500
#: Below this cos(lat) (within ~0.06° of a pole) longitudes no longer separate points usefully.
_MIN_COS_LAT = 1e-3


def check_position(lat: float | None, lon: float | None) -> None:
    """Raise unless lat/lon are both given and in range, or both absent."""
    if (lat is None) != (lon is None):
        raise BadRequestError("give lat and lon together (or neither)")
    if lat is None or lon is None:
        return
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise BadRequestError(f"lat must be between -90 and 90 degrees, not {lat}")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise BadRequestError(f"lon must be between -180 and 180 degrees, not {lon}")


def check_place(address: str, lat: float | None, lon: float | None) -> None:
    """Raise unless the place has an address or a position (or both), each well-formed."""
    check_position(lat, lon)
    if len(address) > MAX_ADDRESS_CHARS:
        raise BadRequestError(f"address is longer than {MAX_ADDRESS_CHARS} characters")
    if not address.strip() and lat is None:
        raise BadRequestError("a place needs an address or a position (lat and lon)")


def _check_radius(within_m: float) -> None:
    if not (math.isfinite(within_m) and MIN_WITHIN_M <= within_m <= MAX_WITHIN_M):
        raise BadRequestError(
            f"within_m must be between {MIN_WITHIN_M:g} and {MAX_WITHIN_M:g} metres"
        )


def near_clause(
    lat_col: Any, lon_col: Any, lat: float, lon: float, within_m: float
) -> ColumnElement[bool]:
    """A SQL condition true for rows whose (``lat_col``, ``lon_col``) lie within ``within_m``
    metres of (``lat``, ``lon``); rows without a position never match. The columns are float
    columns or expressions (``Place.lat``, ``Evidence.location_lat``, ...).

    Raises :class:`BadRequestError` for a point out of range or a radius outside
    [:data:`MIN_WITHIN_M`, :data:`MAX_WITHIN_M`]."""
    check_position(lat, lon)
    _check_radius(within_m)
    dlat = within_m / METRES_PER_DEGREE_LAT
    lat_box = lat_col.between(lat - dlat, lat + dlat)
    dy = (lat_col - lat) * METRES_PER_DEGREE_LAT
    metres_per_lon = METRES_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat))
    if metres_per_lon < METRES_PER_DEGREE_LON_AT_EQUATOR * _MIN_COS_LAT:
        # At a pole every longitude is as close: the latitude band alone decides.
        return and_(lat_box, lon_col.is_not(None), dy * dy <= within_m * within_m)
    dlon = within_m / metres_per_lon
    branches = []
    # The same point seen from the query point's side of the antimeridian (shifted ±360°).
    for centre in (lon, lon - 360.0, lon + 360.0):
        if centre + dlon < -180.0 or centre - dlon > 180.0:
            continue
        dx = (lon_col - centre) * metres_per_lon
        branches.append(
            and_(
                lon_col.between(centre - dlon, centre + dlon),
                dx * dx + dy * dy <= within_m * within_m,
            )
        )
    return and_(lat_box, or_(*branches))


def distance_m(lat0: float, lon0: float, lat: float, lon: float) -> float:
    """The equirectangular distance :func:`near_clause` compares (for display)."""
    dlon = (lon - lon0 + 180.0) % 360.0 - 180.0
    dx = dlon * METRES_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat0))
    dy = (lat - lat0) * METRES_PER_DEGREE_LAT
    return math.hypot(dx, dy)


def place_public(place: Place, *, near: tuple[float, float] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": place.id,
        "address": place.address,
        "lat": place.lat,
        "lon": place.lon,
        "department_id": place.department_id,
        "created_at": place.created_at,
    }
    if near is not None and place.lat is not None and place.lon is not None:
        body["distance_m"] = round(distance_m(near[0], near[1], place.lat, place.lon), 1)
    return body


@dataclass(frozen=True)
class Near:
    lat: float
    lon: float
    within_m: float


@dataclass(frozen=True)
class PlaceFilter:
    department_id: str | None = None
    text: str | None = None  # part of the address
    near: Near | None = None


def list_places(
    session: Session, flt: PlaceFilter, *, limit: int, cursor: str | None
) -> tuple[list[Place], str | None]:
    """Newest first by (created_at, id); the cursor is the last row of the previous page."""
    query = select(Place)
    if flt.near is not None:
        query = query.where(
            near_clause(Place.lat, Place.lon, flt.near.lat, flt.near.lon, flt.near.within_m)
        )
    if flt.department_id:
        query = query.where(Place.department_id == flt.department_id)
    if flt.text:
        query = query.where(col(Place.address).ilike(like_pattern(flt.text), escape="\\"))
    return keyset_page(session, query, Place, "-created_at", limit=limit, cursor=cursor)


def create_place(
    session: Session,
    address: str,
    lat: float | None,
    lon: float | None,
    *,
    actor: Actor,
    at: datetime,
) -> Place:
    address = address.strip()
    check_place(address, lat, lon)
    place = Place(
        id=new_id(),
        address=address,
        lat=lat,
        lon=lon,
        department_id=actor.department_id,
        created_at=at,
    )
    session.add(place)
    session.flush()
    department_event(
        session,
        "place_created",
        {"place_id": place.id, "address": address, "lat": lat, "lon": lon},
        actor=actor,
        at=at,
    )
    return place


def load_place(session: Session, place_id: str, *, for_update: bool = False) -> Place:
    place = session.get(Place, place_id, with_for_update=True if for_update else None)
    if place is None:
        raise NotFoundError(f"no place {place_id}")
    return place


def update_place(
    session: Session, place_id: str, changes: dict[str, Any], *, actor: Actor, at: datetime
) -> Place:
    """Apply ``changes`` (address, lat, lon), checked as a whole, with a ``place_updated`` event
    recording each changed field's old and new value."""
    place = load_place(session, place_id, for_update=True)
    check_may_change(actor, place.department_id, f"place {place.id}")
    merged = {
        "address": place.address,
        "lat": place.lat,
        "lon": place.lon,
        **changes,
    }
    merged["address"] = (merged["address"] or "").strip()
    check_place(merged["address"], merged["lat"], merged["lon"])
    changed = {
        field: {"old": getattr(place, field), "new": merged[field]}
        for field in ("address", "lat", "lon")
        if merged[field] != getattr(place, field)
    }
    if changed:
        for field, change in changed.items():
            setattr(place, field, change["new"])
        session.add(place)
        department_event(
            session, "place_updated", {"place_id": place.id, "changes": changed}, actor=actor, at=at
        )
    return place


def delete_place(session: Session, place_id: str, *, actor: Actor, at: datetime) -> None:
    """Remove a place nothing links to (no capture, no case)."""
    place = load_place(session, place_id, for_update=True)
    check_may_change(actor, place.department_id, f"place {place.id}")
    links = edge_count(session, place_id)
    if links:
        raise ConflictError(
            f"place {place_id} has {links} link(s) to evidence or cases; it stays", links=links
        )
    session.delete(place)
    department_event(
        session,
        "place_deleted",
        {"place_id": place.id, "address": place.address, "lat": place.lat, "lon": place.lon},
        actor=actor,
        at=at,
    )


# --- one transaction each, as the routes ask ----------------------------------------------------


def register_place(
    engine: Engine,
    address: str,
    lat: float | None,
    lon: float | None,
    *,
    actor: Actor,
    clock: Clock,
) -> dict[str, Any]:
    """:func:`create_place` in a transaction of its own; answers the place's public form."""
    with session_scope(engine) as session:
        place = create_place(session, address, lat, lon, actor=actor, at=clock())
    return place_public(place)


def place_page(
    engine: Engine, flt: PlaceFilter, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of :func:`list_places` in public form (each with its ``distance_m`` when the
    filter is a distance search), and the cursor of the next page."""
    with Session(engine) as session:
        rows, next_cursor = list_places(session, flt, limit=limit, cursor=cursor)
    point = (flt.near.lat, flt.near.lon) if flt.near else None
    return [place_public(p, near=point) for p in rows], next_cursor


def read_place(engine: Engine, place_id: str) -> dict[str, Any]:
    """One place's public form, or :class:`NotFoundError`."""
    with Session(engine) as session:
        return place_public(load_place(session, place_id))


def change_place(
    engine: Engine, place_id: str, changes: dict[str, Any], *, actor: Actor, clock: Clock
) -> dict[str, Any]:
    """:func:`update_place` in a transaction of its own; answers the place's public form."""
    with session_scope(engine) as session:
        place = update_place(session, place_id, changes, actor=actor, at=clock())
    return place_public(place)


def remove_place(engine: Engine, place_id: str, *, actor: Actor, clock: Clock) -> None:
    """:func:`delete_place` in a transaction of its own."""
    with session_scope(engine) as session:
        delete_place(session, place_id, actor=actor, at=clock())
