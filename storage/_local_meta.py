"""The lock sidecar of a local object: retention date and legal hold, as canonical JSON.

Pure encode/decode; the local store does the (atomic) file I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from storage.errors import StorageError


@dataclass(frozen=True)
class LockRecord:
    retain_until: datetime | None = None  # aware UTC
    legal_hold: bool = False

    def is_locked(self, now: datetime) -> bool:
        """True while the object may not be removed."""
        return self.legal_hold or (self.retain_until is not None and self.retain_until > now)

    def to_json(self) -> bytes:
        until = None if self.retain_until is None else self.retain_until.isoformat()
        document = {"legal_hold": self.legal_hold, "retain_until": until}
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> LockRecord:
        """Parse a sidecar; a malformed one is a ``StorageError`` (never silently unlocked)."""
        try:
            document = json.loads(raw)
            hold = document["legal_hold"]
            until_text = document["retain_until"]
            if not isinstance(hold, bool) or not isinstance(until_text, str | None):
                raise TypeError("wrong field types")
            until = None if until_text is None else datetime.fromisoformat(until_text)
        except (ValueError, TypeError, KeyError) as exc:
            raise StorageError(f"corrupt lock sidecar: {exc}") from exc
        if until is not None and until.tzinfo is None:
            raise StorageError("corrupt lock sidecar: naive retention date")
        return cls(None if until is None else until.astimezone(UTC), hold)
