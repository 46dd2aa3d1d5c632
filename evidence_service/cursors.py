"""Keyset cursors: the (time, id) a page ended on, and the order it was read in.

A cursor names its order, so a cursor from one listing or sort cannot silently page another.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

from evidence_service.clock import parse_rfc3339, rfc3339
from evidence_service.errors import BadRequestError

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
