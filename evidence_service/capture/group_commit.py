"""Group commit: the small write transactions of concurrent captures share one commit.

A capture writes two one-statement transactions besides the one that records it: the intake
row before its bytes are stored, and the finalized mark after its retention is set. Each must be
durable before the capture goes on (the crash ordering of :mod:`evidence_service.capture.ingest`),
but nothing requires each to pay its own commit. :meth:`GroupCommitter.run` queues a statement; the
first caller that finds no commit in progress leads: it runs every queued statement in one
write transaction and commits it (a synchronous commit: SQLite ``synchronous=FULL``, PostgreSQL
``synchronous_commit=on``), then wakes the others. Callers that arrived meanwhile form the next
group. A caller returns only once its own work is committed, or raises its own error.

If the group's transaction fails, each statement is run again alone, so one bad statement
(say a duplicate intake id) fails only its own caller.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Executable

from evidence_service.core.db import write_transaction


@dataclass
class _Queued:
    statement: Executable
    parameters: dict[str, Any] | None
    done: bool = False
    error: BaseException | None = field(default=None)


class GroupCommitter:
    """Runs concurrent callers' small write transactions as one commit (module docstring)."""

    def __init__(self, engine: Engine, *, max_group: int = 64) -> None:
        self._engine = engine
        self._max_group = max_group
        self._queue: list[_Queued] = []
        self._leading = False
        self._changed = threading.Condition()

    def run(self, statement: Executable, parameters: dict[str, Any] | None = None) -> None:
        """Execute one statement in a committed write transaction, perhaps shared with other
        callers' statements."""
        mine = _Queued(statement, parameters)
        with self._changed:
            self._queue.append(mine)
            while not mine.done:
                if self._leading:
                    self._changed.wait()
                else:
                    self._lead()
        if mine.error is not None:
            raise mine.error

    def _lead(self) -> None:
        """Commit the queue's head as one group (called holding, and returning with, the lock;
        released while the transaction runs)."""
        self._leading = True
        group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
        self._changed.release()
        try:
            self._commit(group)
        except BaseException as exc:  # interrupted: nobody's work may count as committed
            for queued in group:
                queued.error = queued.error or exc
            raise
        finally:
            self._changed.acquire()
            for queued in group:
                queued.done = True
            self._leading = False
            self._changed.notify_all()

    def _commit(self, group: list[_Queued]) -> None:
        try:
            with write_transaction(self._engine) as conn:
                for queued in group:
                    conn.execute(queued.statement, queued.parameters)
            return
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
                return
        for queued in group:  # the group failed: find whose work it was
            try:
                with write_transaction(self._engine) as conn:
                    conn.execute(queued.statement, queued.parameters)
            except Exception as exc:
                queued.error = exc
