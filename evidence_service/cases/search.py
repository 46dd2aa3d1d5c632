"""Reading evidence: one item, filtered lists with keyset (cursor) pagination."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, or_
from sqlmodel import Session, col, select

from evidence_service.capture.models import Evidence, EvidenceTag
from evidence_service.capture.views import evidence_public
from evidence_service.cases.models import GraphEdge
from evidence_service.cases.places import near_clause
from evidence_service.core.cursors import keyset_page, like_pattern
from evidence_service.core.errors import BadRequestError

#: The orders a list can be read in: a time column, newest first unless it starts with "+".
SORTS = ("-received_at", "received_at", "-captured_at", "captured_at")


@dataclass(frozen=True)
class EvidenceFilter:
    port: str | None = None
    officer_id: str | None = None
    department_id: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    tag_type: str | None = None
    tag_value: str | None = None
    case_id: str | None = None
    text: str | None = None  # words in title or description
    party_id: str | None = None  # items linked to the party (concerns_party)
    captured_from: datetime | None = None
    captured_to: datetime | None = None
    near: tuple[float, float, float] | None = None  # (lat, lon, within metres)
    visible: ColumnElement[bool] | None = None  # what the caller may see (policy.py)


def list_evidence(
    session: Session,
    flt: EvidenceFilter,
    *,
    limit: int,
    cursor: str | None,
    sort: str = "-received_at",
) -> tuple[list[Evidence], str | None]:
    """Ordered by (time, id) as ``sort`` says (newest received first by default); the cursor
    is the last row of the previous page."""
    if sort not in SORTS:
        raise BadRequestError(f"sort must be one of {', '.join(SORTS)}")
    query = select(Evidence)
    if flt.visible is not None:
        query = query.where(flt.visible)
    if flt.port:
        query = query.where(Evidence.port == flt.port)
    if flt.officer_id:
        query = query.where(Evidence.officer_id == flt.officer_id)
    if flt.department_id:
        query = query.where(Evidence.department_id == flt.department_id)
    if flt.received_from:
        query = query.where(col(Evidence.received_at) >= flt.received_from)
    if flt.received_to:
        query = query.where(col(Evidence.received_at) < flt.received_to)
    if flt.tag_type or flt.tag_value:
        tagged = select(EvidenceTag.evidence_id)
        if flt.tag_type:
            tagged = tagged.where(EvidenceTag.type == flt.tag_type)
        if flt.tag_value:
            tagged = tagged.where(EvidenceTag.value == flt.tag_value)
        query = query.where(col(Evidence.id).in_(tagged))
    if flt.case_id:
        in_case = select(GraphEdge.source_id).where(
            GraphEdge.kind == "belongs_to_case", GraphEdge.target_id == flt.case_id
        )
        query = query.where(col(Evidence.id).in_(in_case))
    if flt.party_id:
        of_party = select(GraphEdge.source_id).where(
            GraphEdge.kind == "concerns_party", GraphEdge.target_id == flt.party_id
        )
        query = query.where(col(Evidence.id).in_(of_party))
    if flt.captured_from:
        query = query.where(col(Evidence.captured_at) >= flt.captured_from)
    if flt.captured_to:
        query = query.where(col(Evidence.captured_at) < flt.captured_to)
    if flt.near:
        lat, lon, within_m = flt.near
        query = query.where(
            near_clause(col(Evidence.location_lat), col(Evidence.location_lon), lat, lon, within_m)
        )
    if flt.text:
        pattern = like_pattern(flt.text)
        query = query.where(
            or_(
                col(Evidence.title).ilike(pattern, escape="\\"),
                col(Evidence.description).ilike(pattern, escape="\\"),
            )
        )
    return keyset_page(session, query, Evidence, sort, limit=limit, cursor=cursor)


def evidence_page(
    engine: Engine,
    flt: EvidenceFilter,
    *,
    limit: int,
    cursor: str | None,
    sort: str = "-received_at",
) -> dict[str, Any]:
    """One page of :func:`list_evidence` as the API answers it (``items``, ``next_cursor``)."""
    with Session(engine) as session:
        rows, next_cursor = list_evidence(session, flt, limit=limit, cursor=cursor, sort=sort)
        return {"items": [evidence_public(r) for r in rows], "next_cursor": next_cursor}
