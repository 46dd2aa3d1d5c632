"""Time helpers shared by the stores: the default clock and retention-date normalisation."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.errors import RetentionError


def utc_now() -> datetime:
    """The default ``clock`` of the stores; tests pass their own."""
    return datetime.now(UTC)


def retention_date(until: datetime, now: datetime) -> datetime:
    """``until`` as an aware UTC datetime, or ``RetentionError`` if it is naive or not after now."""
    if until.tzinfo is None or until.utcoffset() is None:
        raise RetentionError("retention date must be timezone-aware")
    until = until.astimezone(UTC)
    if until <= now:
        raise RetentionError(f"retention date {until.isoformat()} is not in the future")
    return until
