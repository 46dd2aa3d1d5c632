"""The custody wing's tables (SQLModel): ``<Name>`` is the table, ``<Name>Public`` what the API
returns, ``<Name>Create`` what it accepts. Ids are ULIDs; datetimes are timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, text
from sqlmodel import Field, SQLModel

from evidence_service.core.db import AutoBigInt
from evidence_service.core.db import utc_column as _utc_column

_PENDING = text("seq IS NULL")


class CustodyEvent(SQLModel, table=True):
    """One append-only row of the custody log: hash = SHA-256(prev_hash ‖ JCS(event)).

    A request writes the row *pending* — ``id`` (its arrival) set, ``seq``, ``prev_hash`` and
    ``hash`` NULL — and the sequencer (``custody/sequencer.py``) later gives it its place in
    the chain. Only the three chain columns are ever written after the insert, once."""

    __table_args__ = (
        Index("ix_custody_evidence_seq", "evidence_id", "seq"),
        Index("ux_custody_seq", "seq", unique=True),
        Index("ix_custody_pending", "id", postgresql_where=_PENDING, sqlite_where=_PENDING),
    )

    id: int | None = Field(default=None, sa_column=Column(AutoBigInt, primary_key=True))
    seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    evidence_id: str | None = Field(default=None, max_length=26)
    action: str = Field(max_length=32)
    actor_id: str | None = Field(default=None, max_length=26)
    department_id: str | None = Field(default=None, max_length=26)
    at: datetime = _utc_column(nullable=False)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64, unique=True)


class CustodyCheckpoint(SQLModel, table=True):
    """The last anchored log head that ``/custody/verify`` found whole (one row, ``id`` 1):
    the next check trusts the events up to it, re-reads its hash, and walks only later ones."""

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(max_length=64)
    batch_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    verified_at: datetime = _utc_column(nullable=False)


class CustodyVerifyJob(SQLModel, table=True):
    """A full walk of the custody log run in the background (``anchoring/custody_jobs.py``).

    ``active`` is 1 while the job is queued or running and NULL after, under a unique index:
    the database admits one active job. The runner writes its progress (``walked_seq``,
    ``walked_hash``) with a heartbeat; a job whose heartbeat stops is resumed from there."""

    id: int | None = Field(default=None, sa_column=Column(AutoBigInt, primary_key=True))
    status: str = Field(max_length=16)  # queued, running, done, failed
    active: int | None = Field(default=None, unique=True)
    requested_by: str | None = Field(default=None, max_length=26)
    runner: str | None = Field(default=None, max_length=80)
    created_at: datetime = _utc_column(nullable=False)
    started_at: datetime | None = _utc_column(nullable=True)
    heartbeat_at: datetime | None = _utc_column(nullable=True)
    finished_at: datetime | None = _utc_column(nullable=True)
    events_total: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    events_checked: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    walked_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    walked_hash: str = Field(default="00" * 32, max_length=64)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, max_length=1000)
