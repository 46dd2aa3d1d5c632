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

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine, Executable
from sqlmodel import Session

from evidence_service.capture.batching import LeaderBatcher
from evidence_service.core.db import session_scope

T = TypeVar("T")

Work = Callable[[Session], Any]


class GroupCommitter:
    """Runs concurrent callers' small write transactions as one commit (module docstring)."""

    def __init__(self, engine: Engine, *, max_group: int = 64) -> None:
        self._engine = engine
        self._batcher: LeaderBatcher[Work, Any] = LeaderBatcher(self._commit, max_batch=max_group)

    def run(self, statement: Executable, parameters: Any = None) -> None:
        """Execute one statement (``parameters``: a dict, or a list of dicts for an
        executemany) in a committed write transaction, perhaps shared with other callers'
        statements."""
        # On the session's connection: SQL Core, without the ORM's handling of DML.
        self.run_work(lambda session: session.connection().execute(statement, parameters))

    def run_work(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in a committed write transaction, perhaps shared with other
        callers' work; returns what it returned once that transaction has committed."""
        return self._batcher.submit(work)  # type: ignore[no-any-return]

    def _commit(self, group: Sequence[Work]) -> list[Any]:
        try:
            with session_scope(self._engine) as session:
                return [work(session) for work in group]
        except Exception as exc:
            if len(group) == 1:
                return [exc]
        outcomes: list[Any] = []
        for work in group:  # the group failed: find whose work it was
            try:
                with session_scope(self._engine) as session:
                    outcomes.append(work(session))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes
