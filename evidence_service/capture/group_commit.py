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

Statements queued with parameters are merged: every caller's parameters for the same statement
object (a module constant, such as the intake INSERT) go into one executemany, run where the
group first meets that statement. Callers in a group are concurrent, so none of them can rely
on the order of another's work; each caller's own work keeps its order.

If the group's transaction fails, each piece of work is run again alone, so one bad statement
(say a duplicate intake id) fails only its own caller. Work must therefore be safe to run
twice: it may read and write the database, but must keep no other effect of a run that was
rolled back.

On SQLite the group also holds the process's writer queue once for all its members, so the
captures in flight no longer convoy on it one transaction each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, Executable
from sqlmodel import Session

from evidence_service.capture.batching import LeaderBatcher
from evidence_service.core.db import session_scope

T = TypeVar("T")


@dataclass(frozen=True)
class _Statement:
    """One statement with one or more parameter sets, mergeable with others of its object."""

    statement: Executable
    rows: list[dict[str, Any]]

    def __call__(self, session: Session) -> None:
        rows = self.rows[0] if len(self.rows) == 1 else self.rows
        session.connection().execute(self.statement, rows)


Work = Callable[[Session], Any]


class GroupCommitter:
    """Runs concurrent callers' small write transactions as one commit (module docstring)."""

    def __init__(self, engine: Engine, *, max_group: int = 64) -> None:
        self._engine = engine
        self._batcher: LeaderBatcher[Work, Any] = LeaderBatcher(self._commit, max_batch=max_group)

    def run(self, statement: Executable, parameters: dict[str, Any] | list[dict[str, Any]]) -> None:
        """Execute one statement (``parameters``: a dict, or a list of dicts for an
        executemany) in a committed write transaction, perhaps shared with other callers'
        work and merged with their parameters for the same statement object."""
        rows = parameters if isinstance(parameters, list) else [parameters]
        if rows:
            self._batcher.submit(_Statement(statement, rows))

    def run_work(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in a committed write transaction, perhaps shared with other
        callers' work; returns what it returned once that transaction has committed."""
        return self._batcher.submit(work)  # type: ignore[no-any-return]

    def _commit(self, group: Sequence[Work]) -> list[Any]:
        try:
            with session_scope(self._engine) as session:
                return _run_merged(session, group)
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


def _run_merged(session: Session, group: Sequence[Work]) -> list[Any]:
    """Run a group's work in order, each statement object once with every caller's rows."""
    merged: dict[int, _Statement] = {}
    for work in group:
        if isinstance(work, _Statement):
            first = merged.setdefault(id(work.statement), _Statement(work.statement, []))
            first.rows.extend(work.rows)
    outcomes: list[Any] = []
    for work in group:
        if isinstance(work, _Statement):
            pending = merged.pop(id(work.statement), None)
            if pending is not None:  # the first of its statement: run all of them here
                pending(session)
            outcomes.append(None)
        else:
            outcomes.append(work(session))
    return outcomes
