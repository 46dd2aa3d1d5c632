"""Reading evidence: one item, filtered lists with keyset (cursor) pagination."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from evidence_service.clock import parse_rfc3339, rfc3339
from evidence_service.errors import BadRequestError
from evidence_service.models import Evidence, EvidenceTag, GraphEdge

MAX_PAGE = 200


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


def encode_cursor(evidence: Evidence) -> str:
    raw = json.dumps([rfc3339(evidence.received_at), evidence.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, evidence_id = json.loads(raw)
        return parse_rfc3339(at), str(evidence_id)
    except (ValueError, TypeError) as exc:
        raise BadRequestError("the cursor is not one this service issued") from exc


def list_evidence(
    session: Session, flt: EvidenceFilter, *, limit: int, cursor: str | None
) -> tuple[list[Evidence], str | None]:
    """Newest first by (received_at, id); the cursor is the last row of the previous page."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequestError(f"limit must be between 1 and {MAX_PAGE}")
    query = select(Evidence)
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
    if flt.text:
        pattern = "%" + flt.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                col(Evidence.title).ilike(pattern, escape="\\"),
                col(Evidence.description).ilike(pattern, escape="\\"),
            )
        )
    if cursor:
        at, last_id = decode_cursor(cursor)
        query = query.where(
            or_(
                col(Evidence.received_at) < at,
                and_(col(Evidence.received_at) == at, col(Evidence.id) < last_id),
            )
        )
    query = query.order_by(col(Evidence.received_at).desc(), col(Evidence.id).desc())
    rows = list(session.exec(query.limit(limit + 1)).all())
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor
