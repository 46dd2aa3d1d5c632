"""Answers remembered for a few seconds, so that a stream of requests does not read them once
each: a capture's caller, the certificate that signs for an officer, a passed check.

Only what a later step confirms (or what is an early answer decided again later) belongs here;
the callers say which step that is. Thread-safe; bounded: when full, it forgets everything.
"""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: Entries kept at most; the next one clears them all (they are only seconds old anyway).
MAX_REMEMBERED = 4096


class Remembered(Generic[K, V]):
    """A value per key, taken as it was for ``seconds`` after it was put."""

    def __init__(self, seconds: float, *, max_entries: int = MAX_REMEMBERED) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._values: dict[K, tuple[V, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value put for ``key`` less than ``seconds`` ago, else None."""
        with self._lock:
            known = self._values.get(key)
        if known is None or time.monotonic() - known[1] >= self.seconds:
            return None
        return known[0]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if len(self._values) >= self.max_entries:
                self._values.clear()
            self._values[key] = (value, time.monotonic())

    def forget(self, key: K) -> None:
        with self._lock:
            self._values.pop(key, None)
