"""Listing pages: keyset cursors (the (time, id) a page ended on, and the order it was read
in) and the page query itself; LIKE patterns for text filters.

A cursor names its order, so a cursor from one listing or sort cannot silently page another.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, or_
from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from evidence_service.core.clock import parse_rfc3339, rfc3339
from evidence_service.core.errors import BadRequestError

Row = TypeVar("Row")

MAX_PAGE = 200


def encode_cursor(order: str, at: datetime, row_id: str) -> str:
    raw = json.dumps([order, rfc3339(at), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: str) -> tuple[datetime, str]:
    """The (time, id) a page ended on; a cursor issued for another order is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        issued_for, at, row_id = json.loads(raw)
        parsed = parse_rfc3339(at), str(row_id)
    except (ValueError, TypeError) as exc:
        raise BadRequestError("the cursor is not one this service issued") from exc
    if issued_for != order:
        raise BadRequestError(f"the cursor belongs to {issued_for} order, not {order}")
    return parsed


def keyset_page(
    session: Session,
    query: SelectOfScalar[Row],
    model: Any,
    order: str,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[Row], str | None]:
    """One page of ``query`` (rows of ``model``) ordered by (the time column ``order`` names,
    id): newest first when ``order`` starts with "-". The cursor is the previous page's last row."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequestError(f"limit must be between 1 and {MAX_PAGE}")
    name = order.lstrip("-")
    at_col, id_col = col(getattr(model, name)), col(model.id)
    newest_first = order.startswith("-")
    if cursor:
        at, last_id = decode_cursor(cursor, order)
        if newest_first:
            query = query.where(or_(at_col < at, and_(at_col == at, id_col < last_id)))
        else:
            query = query.where(or_(at_col > at, and_(at_col == at, id_col > last_id)))
    if newest_first:
        query = query.order_by(at_col.desc(), id_col.desc())
    else:
        query = query.order_by(at_col.asc(), id_col.asc())
    rows = list(session.exec(query.limit(limit + 1)).all())
    if len(rows) <= limit:
        return rows, None
    last: Any = rows[limit - 1]
    return rows[:limit], encode_cursor(order, getattr(last, name), last.id)


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards escaped (use with ``escape="\\\\"``)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
