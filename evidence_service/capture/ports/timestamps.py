"""Parsing the timestamps of IoT batches and records: strict RFC 3339, lenient ISO 8601."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 ``date-time`` (zone required) as an aware datetime; ``ValueError`` otherwise.

    Fractions finer than a microsecond are truncated; the calendar and clock are checked.
    """
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 date-time with a zone: {text!r}")
    date, clock, fraction, zone = match.groups()
    micros = (fraction or "")[:6].ljust(6, "0")
    offset = "+00:00" if zone in ("Z", "z") else zone
    return datetime.fromisoformat(f"{date}T{clock}.{micros}{offset}")


def parse_iso8601(text: str) -> datetime:
    """Any ISO 8601 date or date-time Python understands; ``ValueError`` otherwise."""
    return datetime.fromisoformat(text.strip())


def ordering_key(moment: datetime) -> datetime:
    """Compare aware and naive times: a naive time is taken to be UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
