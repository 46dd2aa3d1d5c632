"""Intake rows written ahead: a new capture takes an id whose intake row is already durable.

Step 0 of :mod:`.ingest` — the intake row that names the key a capture's bytes are about to
take — must be durable before the first byte is stored, so that a crash leaves the reaper a
name for what it must remove. It need not be written by that capture. Each process keeps a few
rows written ahead for ids it has not handed out yet; a capture of a new item takes one without
waiting for a commit of its own. One transaction writes as many rows as captures took in the
last second (a single row when captures are rare, up to :data:`RESERVED_MOST` under load), and
the next is written when a quarter of them are left, while the rest are still being taken.

A row written ahead is handed out within :data:`RESERVED_SECONDS` of being written, or never:

- the reaper removes intake rows older than ``temp_object_ttl_seconds`` (an hour by default)
  with their objects, and a capture that starts on a row that old could lose its bytes;
- the id is a ULID, whose time is when the row was written: it stays within seconds of the
  capture's own time.

The rows that aged unused are dropped with the next ones written, and all unused rows on
:meth:`IntakeReservations.release` (the service's shutdown). A process that dies leaves its
unused rows to the reaper, which finds no object under their keys and drops them.

Captures of a prepared id (a client-held key signed it, or a resumable upload completes) still
write their own intake row: its primary key is what refuses a second upload of the same id.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evidence_service.core.clock import Clock
from evidence_service.core.ids import new_id

#: How long after its row is written an id may still be handed out (seconds).
RESERVED_SECONDS = 2.0
#: The most rows one transaction writes ahead.
RESERVED_MOST = 32

#: Writes intake rows (``id``, ``object_key``, ``started_at``) and drops those of the given
#: ids, durably, before it returns.
Write = Callable[[list[dict[str, Any]], list[str]], None]


@dataclass(frozen=True)
class _Row:
    evidence_id: str
    key: str
    written: float  # time.monotonic() when its transaction began


class IntakeReservations:
    """Ids with durable intake rows, handed out one per new capture (module docstring)."""

    def __init__(
        self,
        write: Write,
        clock: Clock,
        key_for: Callable[[str, datetime], str],
        *,
        seconds: float = RESERVED_SECONDS,
        most: int = RESERVED_MOST,
    ) -> None:
        self._write = write
        self._clock = clock
        self._key_for = key_for
        self.seconds = seconds
        self.most = most
        self._ready: deque[_Row] = deque()
        self._aged: list[str] = []  # ids whose rows aged unused: dropped with the next write
        self._taken: deque[float] = deque(maxlen=most)  # when the last ids were handed out
        self._writing = False
        self._low = 0  # write the next rows when this many are left
        self._changed = threading.Condition()

    def take(self) -> tuple[str, str]:
        """An id and the object key its intake row names. Waits for a write only when none is
        left; raises what that write raised (no id is handed out then)."""
        while True:
            with self._changed:
                while True:
                    self._set_aside_aged()
                    if not self._writing and len(self._ready) <= self._low:
                        self._writing = True
                        aged, self._aged = self._aged, []
                        count = self._count()
                        break
                    if self._ready:
                        return self._hand_out()
                    self._changed.wait()
            rows: list[_Row] = []
            try:
                rows = self._write_rows(count, aged)
            except BaseException:
                with self._changed:
                    self._aged.extend(aged)
                raise
            finally:
                with self._changed:
                    self._writing = False
                    self._ready.extend(rows)
                    self._low = len(rows) // 4
                    self._changed.notify_all()
            # and now take one like the others: those just written, unless they went meanwhile

    def unused(self) -> set[str]:
        """The ids written ahead and not handed out yet, aged or not."""
        with self._changed:
            return {row.evidence_id for row in self._ready} | set(self._aged)

    def release(self) -> None:
        """Drop the rows of every id not handed out (best effort: the reaper drops what is
        left once they are old)."""
        with self._changed:
            dropped = [row.evidence_id for row in self._ready] + self._aged
            self._ready.clear()
            self._aged = []
        if dropped:
            self._write([], dropped)

    # -- inside the lock --------------------------------------------------------------------------
    def _set_aside_aged(self) -> None:
        oldest = time.monotonic() - self.seconds
        while self._ready and self._ready[0].written < oldest:
            self._aged.append(self._ready.popleft().evidence_id)

    def _hand_out(self) -> tuple[str, str]:
        row = self._ready.popleft()
        self._taken.append(time.monotonic())
        return row.evidence_id, row.key

    def _count(self) -> int:
        """As many rows as ids were handed out in the last second: used, at that pace, well
        within :attr:`seconds`."""
        recent = time.monotonic() - 1.0
        return max(1, sum(1 for at in self._taken if at >= recent))

    # -- outside the lock -------------------------------------------------------------------------
    def _write_rows(self, count: int, aged: list[str]) -> list[_Row]:
        written = time.monotonic()  # before the write: a slow commit only ages them sooner
        started = self._clock()
        ids = [new_id() for _ in range(count)]
        keys = [self._key_for(evidence_id, started) for evidence_id in ids]
        self._write(
            [
                {"id": evidence_id, "object_key": key, "started_at": started}
                for evidence_id, key in zip(ids, keys, strict=True)
            ],
            aged,
        )
        return [_Row(evidence_id, key, written) for evidence_id, key in zip(ids, keys, strict=True)]
