"""Object-lock state of an S3 object, parsed from the headers of a HEAD/GET response.

Reading the lock state from ``stat_object`` headers works on MinIO, AWS and moto alike (moto's
GetObjectRetention response does not parse), and needs one request instead of two. Header names
are matched case-insensitively, whatever mapping type the client returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from storage.errors import StorageError

MODE_HEADER = "x-amz-object-lock-mode"
RETAIN_UNTIL_HEADER = "x-amz-object-lock-retain-until-date"
LEGAL_HOLD_HEADER = "x-amz-object-lock-legal-hold"


@dataclass(frozen=True)
class LockState:
    mode: str | None  # "COMPLIANCE" or "GOVERNANCE", upper case; None when no retention is set
    retain_until: datetime | None  # aware UTC
    legal_hold: bool

    def is_locked(self, now: datetime) -> bool:
        """True while the object may not be removed (any retention mode counts)."""
        return self.legal_hold or (self.retain_until is not None and self.retain_until > now)


def lock_state_from_headers(headers: Mapping[str, str]) -> LockState:
    """Parse the object-lock headers; a malformed date is a ``StorageError``, never "unlocked"."""
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    mode = lowered.get(MODE_HEADER) or None
    until_text = lowered.get(RETAIN_UNTIL_HEADER) or None
    hold = lowered.get(LEGAL_HOLD_HEADER, "OFF").upper() == "ON"
    return LockState(mode.upper() if mode else None, _parse_date(until_text), hold)


def _parse_date(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise StorageError(f"unparseable retain-until date {text!r} from the server") from exc
    if parsed.tzinfo is None:  # S3 dates are UTC even when the zone is left off
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
