"""The custody wing's tables (SQLModel): ``<Name>`` is the table, ``<Name>Public`` what the API
returns, ``<Name>Create`` what it accepts. Ids are ULIDs; datetimes are timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from evidence_service.core.db import utc_column as _utc_column


class CustodyEvent(SQLModel, table=True):
    """One append-only row of the custody log: hash = SHA-256(prev_hash ‖ JCS(event))."""

    __table_args__ = (Index("ix_custody_evidence_seq", "evidence_id", "seq"),)

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    evidence_id: str | None = Field(default=None, max_length=26)
    action: str = Field(max_length=32)
    actor_id: str | None = Field(default=None, max_length=26)
    department_id: str | None = Field(default=None, max_length=26)
    at: datetime = _utc_column(nullable=False)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
