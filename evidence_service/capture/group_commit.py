"""Group commit: the write transactions of concurrent captures share one commit.

A capture writes three transactions: the intake row before its bytes are stored, the item's
rows once they are (:meth:`evidence_service.capture.ingest.Ingestor.record`), and the
finalized mark after its retention is set. Each must be durable before the capture goes on (the
crash ordering of :mod:`evidence_service.capture.ingest`), but nothing requires each to pay its
own commit. :meth:`GroupCommitter.run` queues a statement and :meth:`GroupCommitter.run_work` a
function of a session; the first caller that finds no commit in progress leads: it runs every
queued piece of work, in arrival order, in one write transaction and commits it (a synchronous
commit: SQLite ``synchronous=FULL``, PostgreSQL ``synchronous_commit=on``), then wakes the
others. Callers that arrived meanwhile form the next group. A caller returns only once its own
work is committed, or raises its own error.

If the group's transaction fails, each piece of work is run again alone, so one bad statement
(say a duplicate intake id) fails only its own caller. Work must therefore be safe to run
twice: it may read and write the database, but must keep no other effect of a run that was
rolled back.

On SQLite the group also holds the process's writer queue once for all its members, so the
captures in flight no longer convoy on it one transaction each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine, Executable
from sqlmodel import Session

from evidence_service.core.db import session_scope

T = TypeVar("T")


@dataclass
class _Queued:
    work: Callable[[Session], Any]
    done: bool = False
    result: Any = None
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
        # On the session's connection: SQL Core, without the ORM's handling of DML.
        self.run_work(lambda session: session.connection().execute(statement, parameters))

    def run_work(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in a committed write transaction, perhaps shared with other
        callers' work; returns what it returned once that transaction has committed."""
        mine = _Queued(work)
        with self._changed:
            self._queue.append(mine)
            while not mine.done:
                if self._leading:
                    self._changed.wait()
                else:
                    self._lead()
        if mine.error is not None:
            raise mine.error
        return mine.result  # type: ignore[no-any-return]

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
            with session_scope(self._engine) as session:
                results = [queued.work(session) for queued in group]
            for queued, result in zip(group, results, strict=True):
                queued.result = result
            return
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
                return
        for queued in group:  # the group failed: find whose work it was
            try:
                with session_scope(self._engine) as session:
                    queued.result = queued.work(session)
            except Exception as exc:
                queued.error = exc
