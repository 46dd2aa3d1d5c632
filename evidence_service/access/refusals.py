"""The refused-request log: who was turned away by the access policy, where, and why.

Kept outside the custody log (a refusal touches no item, and strangers must not grow a
hash-chained log) in its own table, written in its own small transaction after the policy
refused: a failed write is logged and never changes the answer. The supervision office reads
it (through ``GET /api/v1/feeds/refusals``) to find officers who keep knocking on records that
are not theirs.

Bounds. A signed-in caller's refusals are one row each: the caller is known and already held to
a rate limit, and each attempt is the fact an auditor looks for. Refusals of callers nobody
knows (no token, or a token that resolves to no one: 401) are aggregated — one row per minute
per (method, route, status, problem type) and process, its ``count`` raised by each further
refusal — so an anonymous flood adds at most a few rows a minute however fast it runs. Rows
older than ``EVIDENCE_REFUSED_REQUEST_RETENTION_DAYS`` are deleted by the reaper.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Column, Index, delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from evidence_service.core.db import AutoBigInt, session_scope
from evidence_service.core.db import utc_column as _utc_column

log = logging.getLogger(__name__)

#: Most rows one feed page returns.
MAX_FEED = 100_000


class RefusedRequest(SQLModel, table=True):
    """One refusal by the access policy (401, 403, or 404 for a record not the caller's), or
    ``count`` anonymous ones of the same minute and route."""

    __tablename__ = "refused_request"
    __table_args__ = (
        Index("ix_refused_request_at", "at"),
        Index("ix_refused_request_actor_at", "actor_id", "at"),
    )

    id: int | None = Field(default=None, sa_column=Column(AutoBigInt, primary_key=True))
    at: datetime = _utc_column(nullable=False)
    actor_id: str | None = Field(default=None, max_length=26)
    token_id: str | None = Field(default=None, max_length=26)
    department_id: str | None = Field(default=None, max_length=26)
    method: str = Field(max_length=16)
    route: str = Field(max_length=300)
    status: int
    problem_type: str = Field(max_length=120)
    request_id: str | None = Field(default=None, max_length=128)
    count: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))


@dataclass(frozen=True)
class Refusal:
    """What the policy dependency knows about a request it refused."""

    at: datetime
    method: str
    route: str
    status: int
    problem_type: str
    request_id: str | None
    actor_id: str | None = None
    token_id: str | None = None
    department_id: str | None = None


class RefusalRecorder:
    """Writes refusals; remembers, per process, this minute's aggregate row of each anonymous
    (method, route, status, type) so a flood raises a count instead of adding rows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._minute: datetime | None = None
        self._rows: dict[tuple[str, str, int, str], int] = {}

    def record(self, refusal: Refusal) -> None:
        """Never raises: the refusal is answered whether or not its row could be written."""
        try:
            if refusal.actor_id is None:
                self._record_anonymous(refusal)
            else:
                self._insert(refusal)
        except Exception:
            log.exception("could not record the refusal of %s %s", refusal.method, refusal.route)

    def _insert(self, refusal: Refusal) -> int:
        with session_scope(self.engine) as session:
            row = RefusedRequest(**refusal.__dict__)
            session.add(row)
            session.flush()
            assert row.id is not None
            return row.id

    def _record_anonymous(self, refusal: Refusal) -> None:
        minute = refusal.at.replace(second=0, microsecond=0)
        key = (refusal.method, refusal.route, refusal.status, refusal.problem_type)
        with self._lock:  # one insert per key and minute, even when a flood is concurrent
            if minute != self._minute:
                self._minute, self._rows = minute, {}
            row_id = self._rows.get(key)
            if row_id is None:
                self._rows[key] = self._insert(refusal)
                return
        with session_scope(self.engine) as session:
            table = RefusedRequest.__table__  # type: ignore[attr-defined]
            raised: Any = session.execute(
                update(table).where(table.c.id == row_id).values(count=table.c.count + 1)
            )
        if not raised.rowcount:  # the row went meanwhile (deleted): start this minute's again
            with self._lock:
                self._rows[key] = self._insert(refusal)


def refusal_record(row: RefusedRequest) -> dict[str, Any]:
    """One line of the refusals feed."""
    return {
        "id": row.id,
        "at": row.at,
        "actor_id": row.actor_id,
        "token_id": row.token_id,
        "department_id": row.department_id,
        "method": row.method,
        "route": row.route,
        "status": row.status,
        "type": row.problem_type,
        "request_id": row.request_id,
        "count": row.count,
    }


def refusals_after(session: Session, after: int, limit: int) -> Sequence[RefusedRequest]:
    """Up to ``limit`` rows written after row ``after``, in the order they were written."""
    return session.exec(
        select(RefusedRequest)
        .where(col(RefusedRequest.id) > after)
        .order_by(col(RefusedRequest.id))
        .limit(limit)
    ).all()


def purge_refusals(engine: Engine, *, now: datetime, retention_days: int) -> int:
    """Delete the rows older than the retention; how many went."""
    cutoff = now - timedelta(days=retention_days)
    with session_scope(engine) as session:
        result: Any = session.execute(delete(RefusedRequest).where(col(RefusedRequest.at) < cutoff))
        return int(result.rowcount or 0)
