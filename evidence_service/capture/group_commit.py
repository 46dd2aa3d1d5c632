"""Group commit: the write transactions of concurrent captures share one commit.

A capture writes three transactions: the intake row before its bytes are stored (for a new
item, written ahead with other ids' rows: :mod:`.reserved`), the item's rows once they are
(:meth:`evidence_service.capture.ingest.Ingestor.record`), and the finalized mark after its
retention is set. Each must be durable before the capture goes on (the
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

A function of a session may also leave statements to the end of the group (:class:`Later`):
once every piece of work has run, each such statement runs once with every caller's rows, so a
group of captures writes its items with one INSERT per table instead of one per item. A
caller's later statements still run in the order it gave them (and after its own work).

Work may also ask for a fact to be confirmed in the transaction (:meth:`Later.confirm`): that a
caller's bearer token is still valid, or that the certificate that signed its statement is still
unrevoked. Each kind of check runs once for the keys of the whole group, before the statements
left to the end; a key that fails it fails the group with the error the check gives for it.

If the group's transaction fails, each piece of work is run again alone, so one bad statement
(say a duplicate intake id) fails only its own caller. Work must therefore be safe to run
twice: it may read and write the database, but must keep no other effect of a run that was
rolled back.

On SQLite the group also holds the process's writer queue once for all its members, so the
captures in flight no longer convoy on it one transaction each.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Executable
from sqlmodel import Session

from evidence_service.capture.batching import LeaderBatcher
from evidence_service.core import driver
from evidence_service.core.db import session_scope, write_connection

T = TypeVar("T")

#: A check made once per group (:meth:`Later.confirm`): given the keys every caller asked it to
#: confirm, the keys that no longer hold, each with the error its caller gets.
Check = Callable[[Connection, frozenset[str]], dict[str, Exception]]


@dataclass(frozen=True)
class _Statement:
    """One statement with one or more parameter sets, mergeable with others of its object."""

    statement: Executable
    rows: list[dict[str, Any]]

    def run(self, connection: Connection) -> None:
        _execute(connection, self.statement, self.rows)


def _execute(connection: Connection, statement: Executable, rows: list[dict[str, Any]]) -> None:
    driver.execute(connection, statement, rows)


#: A statement and the names of its parameters: rows of one key go in one executemany.
_Key = tuple[int, tuple[str, ...]]


@dataclass
class Later:
    """The statements a group's work leaves to its end (module docstring)."""

    _statements: dict[_Key, tuple[Executable, list[dict[str, Any]]]] = field(default_factory=dict)
    _callers: list[list[tuple[_Key, dict[str, Any]]]] = field(default_factory=list)
    #: By check (equal checks are one: a method of the same object is a new object each time
    #: it is named, but an equal one), the keys the group's callers gave it.
    _checks: dict[Check, set[str]] = field(default_factory=dict)

    def confirm(self, check: Check, key: str) -> None:
        """Have ``check`` confirm ``key`` in this transaction, with the keys other callers
        give the same check: if it fails, this transaction does not commit, and the caller
        whose key failed gets the check's error (module docstring)."""
        self._checks.setdefault(check, set()).add(key)

    def _confirm(self, connection: Connection) -> None:
        """Run each check once for all its keys; raise the error of the first key that fails
        (in a group of several, each caller then runs again alone and meets its own)."""
        for check, keys in self._checks.items():
            failed = check(connection, frozenset(keys))
            if failed:
                raise next(iter(failed.values()))

    def execute(self, statement: Executable, parameters: dict[str, Any]) -> None:
        """Execute ``statement`` with ``parameters`` in this transaction, once the group's
        work has run: merged with the rows other callers give the same statement object."""
        key = (id(statement), tuple(parameters))
        self._statements.setdefault(key, (statement, []))[1].append(parameters)
        self._callers[-1].append((key, parameters))

    def _next_caller(self) -> None:
        self._callers.append([])

    def _run(self, connection: Connection) -> None:
        order = self._merged_order()
        if order is None:  # callers gave their statements in orders no merge keeps
            for caller in self._callers:
                for key, parameters in caller:
                    _execute(connection, self._statements[key][0], [parameters])
            return
        for key in order:
            statement, rows = self._statements[key]
            _execute(connection, statement, rows)

    def _merged_order(self) -> list[_Key] | None:
        """An order of the statements that keeps every caller's own order (preferring the
        order the group first met them), or None if there is none: a caller that returns to
        a statement after another, or two callers that gave two statements both ways."""
        first: dict[_Key, int] = {}
        after: dict[_Key, set[_Key]] = {}
        waiting: dict[_Key, int] = {}
        for caller in self._callers:
            previous: _Key | None = None
            for key, _ in caller:
                first.setdefault(key, len(first))
                waiting.setdefault(key, 0)
                if (
                    previous is not None
                    and key != previous
                    and key not in after.setdefault(previous, set())
                ):
                    after[previous].add(key)
                    waiting[key] += 1
                previous = key
        ready = [(first[key], key) for key, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        order: list[_Key] = []
        while ready:
            _, key = heapq.heappop(ready)
            order.append(key)
            for following in after.get(key, ()):
                waiting[following] -= 1
                if waiting[following] == 0:
                    heapq.heappush(ready, (first[following], following))
        return order if len(order) == len(first) else None


Work = Callable[[Session, Later], Any]


class GroupCommitter:
    """Runs concurrent callers' small write transactions as one commit (module docstring)."""

    def __init__(self, engine: Engine, *, max_group: int = 64) -> None:
        self._engine = engine
        self._batcher: LeaderBatcher[Work | _Statement, Any] = LeaderBatcher(
            self._commit, max_batch=max_group
        )

    def run(self, statement: Executable, parameters: dict[str, Any] | list[dict[str, Any]]) -> None:
        """Execute one statement (``parameters``: a dict, or a list of dicts for an
        executemany) in a committed write transaction, perhaps shared with other callers'
        work and merged with their parameters for the same statement object."""
        rows = parameters if isinstance(parameters, list) else [parameters]
        if rows:
            self._batcher.submit(_Statement(statement, rows))

    def run_work(self, work: Callable[[Session, Later], T]) -> T:
        """Run ``work(session, later)`` in a committed write transaction, perhaps shared with
        other callers' work; returns what it returned once that transaction has committed
        (with the statements it gave ``later``)."""
        return self._batcher.submit(work)  # type: ignore[no-any-return]

    def _commit(self, group: Sequence[Work | _Statement]) -> list[Any]:
        try:
            return self._transaction(group)
        except Exception as exc:
            if len(group) == 1:
                return [exc]
        outcomes: list[Any] = []
        for work in group:  # the group failed: find whose work it was
            try:
                outcomes.append(self._transaction([work])[0])
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    def _transaction(self, group: Sequence[Work | _Statement]) -> list[Any]:
        """Run ``group`` in one committed write transaction: on a plain connection when it
        holds only statements (intake rows, finalized marks), else in an ORM session."""
        if all(isinstance(work, _Statement) for work in group):
            merged = list(_merged_statements(group).values())
            alone = len(merged) == 1 and len(merged[0].rows) == 1  # atomic by itself
            with write_connection(self._engine, one_statement=alone) as connection:
                for statement in merged:
                    statement.run(connection)
            return [None] * len(group)
        with session_scope(self._engine) as session:
            return _run_merged(session, group)


def _merged_statements(group: Sequence[Work | _Statement]) -> dict[int, _Statement]:
    """The group's statements by statement object, in the order the group first meets them,
    each with every caller's rows."""
    merged: dict[int, _Statement] = {}
    for work in group:
        if isinstance(work, _Statement):
            first = merged.setdefault(id(work.statement), _Statement(work.statement, []))
            first.rows.extend(work.rows)
    return merged


def _run_merged(session: Session, group: Sequence[Work | _Statement]) -> list[Any]:
    """Run a group's work in order, each statement object once with every caller's rows,
    then the statements the work left for later."""
    later = Later()
    merged = _merged_statements(group)
    outcomes: list[Any] = []
    for work in group:
        if isinstance(work, _Statement):
            pending = merged.pop(id(work.statement), None)
            if pending is not None:  # the first of its statement: run all of them here
                pending.run(session.connection())
            outcomes.append(None)
        else:
            later._next_caller()
            outcomes.append(work(session, later))
    if later._callers:
        session.flush()  # what the work added to the session goes first
        later._confirm(session.connection())
        later._run(session.connection())
    return outcomes
