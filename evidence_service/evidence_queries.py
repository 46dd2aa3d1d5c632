"""Reading evidence: one item, filtered lists with keyset (cursor) pagination."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from evidence_service.cursors import MAX_PAGE, decode_cursor, encode_cursor
from evidence_service.errors import BadRequestError
from evidence_service.models import Evidence, EvidenceTag, GraphEdge
from evidence_service.places import near_clause

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
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequestError(f"limit must be between 1 and {MAX_PAGE}")
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
        pattern = "%" + flt.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                col(Evidence.title).ilike(pattern, escape="\\"),
                col(Evidence.description).ilike(pattern, escape="\\"),
            )
        )
    at_col = col(getattr(Evidence, sort.lstrip("-")))
    newest_first = sort.startswith("-")
    if cursor:
        at, last_id = decode_cursor(cursor, sort)
        if newest_first:
            after = or_(at_col < at, and_(at_col == at, col(Evidence.id) < last_id))
        else:
            after = or_(at_col > at, and_(at_col == at, col(Evidence.id) > last_id))
        query = query.where(after)
    if newest_first:
        query = query.order_by(at_col.desc(), col(Evidence.id).desc())
    else:
        query = query.order_by(at_col.asc(), col(Evidence.id).asc())
    rows = list(session.exec(query.limit(limit + 1)).all())
    next_cursor = (
        encode_cursor(sort, getattr(rows[limit - 1], sort.lstrip("-")), rows[limit - 1].id)
        if len(rows) > limit
        else None
    )
    return rows[:limit], next_cursor
