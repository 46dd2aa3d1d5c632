"""The graph edges a capture creates by itself: who captured the item (captured_by), where
(captured_at_place, a place found or created from the capture location) and, for cause tags
naming a catalogue code, what violation it concerns (about_cause).

They are written in the capture transaction, so an item never exists without them.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from evidence_service.capture.models import Evidence
from evidence_service.cases.models import Cause, GraphEdge, Place
from evidence_service.core.ids import new_id
from evidence_service.core.rows import built


def capture_place(session: Session, evidence: Evidence, at: datetime) -> Place | None:
    """The department's place with exactly this address and position, or a new one."""
    address = (evidence.location_address or "").strip()
    lat, lon = evidence.location_lat, evidence.location_lon
    if not address and (lat is None or lon is None):
        return None
    if lat is None or lon is None:
        lat = lon = None
    query = select(Place).where(
        Place.department_id == evidence.department_id, Place.address == address
    )
    query = query.where(
        col(Place.lat).is_(None) if lat is None else col(Place.lat) == lat,
        col(Place.lon).is_(None) if lon is None else col(Place.lon) == lon,
    )
    existing = session.exec(query.order_by(col(Place.id)).limit(1)).first()
    if existing is not None:
        return existing
    place = Place(
        id=new_id(),
        address=address,
        lat=lat,
        lon=lon,
        department_id=evidence.department_id,
        created_at=at,
    )
    session.add(place)
    return place


def capture_edges(session: Session, evidence: Evidence, at: datetime) -> list[GraphEdge]:
    def edge(kind: str, target_kind: str, target_id: str) -> GraphEdge:
        return built(
            GraphEdge,
            kind=kind,
            source_kind="evidence",
            source_id=evidence.id,
            target_kind=target_kind,
            target_id=target_id,
            created_by=evidence.officer_id,
            created_at=at,
        )

    edges = [edge("captured_by", "officer", evidence.officer_id)]
    place = capture_place(session, evidence, at)
    if place is not None:
        edges.append(edge("captured_at_place", "place", place.id))
    codes = sorted({t["value"] for t in evidence.tags if t["type"] == "cause"})
    if codes:
        known = session.exec(select(Cause.code).where(col(Cause.code).in_(codes))).all()
        edges.extend(edge("about_cause", "cause", code) for code in sorted(known))
    return edges
