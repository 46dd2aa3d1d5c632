"""The transfer wing's tables (SQLModel): ``<Name>`` is the table, ``<Name>Public`` what the API
returns, ``<Name>Create`` what it accepts. Ids are ULIDs; datetimes are timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from evidence_service.core.db import utc_column as _utc_column


class TransferStatus(StrEnum):
    pending = "pending"  # sealed and in the recipient's inbox
    accepted = "accepted"  # the recipient sealed a receipt; its department may read the items
    rejected = "rejected"  # refused by the recipient, with a reason; grants nothing
    withdrawn = "withdrawn"  # taken back by the sender before a decision; grants nothing


class Transfer(SQLModel, table=True):
    """A package of evidence sent from one department to another, sealed by the sender."""

    __table_args__ = (
        Index("ix_transfer_to_created", "to_department_id", "created_at", "id"),
        Index("ix_transfer_from_created", "from_department_id", "created_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=26)
    from_department_id: str = Field(foreign_key="department.id", max_length=26)
    to_department_id: str = Field(foreign_key="department.id", max_length=26)
    case_id: str | None = Field(default=None, foreign_key="case.id", max_length=26)
    status: TransferStatus = Field(max_length=16)
    note: str | None = Field(default=None, max_length=2000)
    manifest: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # evidence-package/1
    manifest_digest: str = Field(max_length=64, unique=True, index=True)  # SHA-256 of JCS
    seal: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # sender's seal record
    manifest_leaf_seq: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_by: str = Field(max_length=26)
    created_at: datetime = _utc_column(nullable=False)
    verdict: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # last open
    opened_at: datetime | None = _utc_column(nullable=True)
    decided_by: str | None = Field(default=None, max_length=26)
    decided_at: datetime | None = _utc_column(nullable=True)
    reason: str | None = Field(default=None, max_length=2000)  # of a rejection or withdrawal
    receipt: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # JCS body
    receipt_digest: str | None = Field(default=None, max_length=64, index=True)
    receipt_seal: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    receipt_leaf_seq: int | None = Field(default=None, sa_column=Column(BigInteger))
