"""Time as a value: one RFC 3339 form for every timestamp the service writes into hashed bytes.

Every time the service accepts from outside (capture metadata, list filters, cursors) must carry
a zone and name an instant that exists in UTC within the years 0001–9999 — what a ``datetime``
holds and what RFC 3339's four-digit year writes. ``0001-01-01T00:00:00+23:59`` is such a text
but no such instant (its UTC time falls before year 1): :func:`to_utc` refuses it with a
``ValueError`` the callers turn into a 4xx, never an ``OverflowError`` deep in a query.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """``value`` as UTC; ``ValueError`` for a time without a zone or one whose UTC instant lies
    outside the years 0001–9999."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a time must carry a time zone (Z or ±hh:mm)")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(
            f"{value.isoformat()} is outside the years 0001-9999 once converted to UTC"
        ) from exc


#: A request parameter or field holding a time: zoned, within range, converted to UTC
#: (pydantic answers 422 ``invalid-request`` otherwise).
UtcDatetime = Annotated[datetime, AfterValidator(to_utc)]


def rfc3339(dt: datetime) -> str:
    """``2026-11-28T08:00:00Z``, with a fraction only when there is one (trailing zeros cut).

    The year always has four digits (``0999-…``), as RFC 3339 requires."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime has no place in a statement")
    dt = to_utc(dt)
    text = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt:%H:%M:%S}"
    if dt.microsecond:
        text += "." + f"{dt.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries a zone (``Z`` or ``±hh:mm``); returns UTC.
    ``ValueError`` for anything else, an instant outside the years 0001–9999 included."""
    value = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp without a zone: {text!r}")
    return to_utc(value)
