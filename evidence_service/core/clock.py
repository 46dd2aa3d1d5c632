"""Time as a value: one RFC 3339 form for every timestamp the service writes into hashed bytes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(dt: datetime) -> str:
    """``2026-11-28T08:00:00Z``, with a fraction only when there is one (trailing zeros cut)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime has no place in a statement")
    dt = dt.astimezone(UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += "." + f"{dt.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries a zone (``Z`` or ``±hh:mm``); returns UTC."""
    value = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp without a zone: {text!r}")
    return value.astimezone(UTC)
