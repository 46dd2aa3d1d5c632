"""The cosign wing's tables (SQLModel). Ids are ULIDs; datetimes are timezone-aware UTC.

A co-signature is first a :class:`CoSignatureRequest` (what is to be signed, by which
departments, until when), then one :class:`CoSignatureAnswer` per department, and — only once
every named department has approved — one :class:`CoSignature` row with the aggregate, under the
request's id. No aggregate exists without every department's recorded approval.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from evidence_service.core.db import utc_column as _utc_column


class CoSignatureStatus(StrEnum):
    pending = "pending"  # waiting for approvals
    complete = "complete"  # every named department approved: the aggregate exists
    declined = "declined"  # a named department declined: it ends there
    expired = "expired"  # never stored: a pending request read on or after its expiry


class Answer(StrEnum):
    approved = "approved"
    declined = "declined"


class CoSignatureRequest(SQLModel, table=True):
    """A request that several departments co-sign one record; it signs nothing by itself."""

    id: str = Field(primary_key=True, max_length=26)  # the co-signature's id, from the start
    subject_kind: str = Field(max_length=16)  # statement | batch
    subject_id: str = Field(max_length=26, index=True)
    evidence_id: str | None = Field(default=None, max_length=26, index=True)  # a statement's item
    message: str = Field(sa_column=Column(Text, nullable=False))  # the bytes to sign, as text
    department_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))  # signing order
    requested_by: str = Field(max_length=26)  # officer id
    department_id: str = Field(max_length=26)  # the requester's department (named, approved)
    requested_at: datetime = _utc_column(nullable=False)
    expires_at: datetime = _utc_column(nullable=False)
    status: str = Field(default=CoSignatureStatus.pending, max_length=16)  # never "expired"
    decided_at: datetime | None = _utc_column(nullable=True)  # completed or declined


class CoSignatureAnswer(SQLModel, table=True):
    """One department's answer to a request: who approved or declined it, and when."""

    request_id: str = Field(primary_key=True, foreign_key="cosignaturerequest.id", max_length=26)
    department_id: str = Field(primary_key=True, max_length=26)
    answer: str = Field(max_length=16)  # approved | declined
    officer_id: str = Field(max_length=26)
    at: datetime = _utc_column(nullable=False)
    reason: str | None = Field(default=None, max_length=2000)


class CoSignature(SQLModel, table=True):
    """One BLS aggregate signature by several departments over one record: written only when
    the last named department approves its request (same id)."""

    id: str = Field(primary_key=True, max_length=26)
    subject_kind: str = Field(max_length=16)  # statement | batch
    subject_id: str = Field(max_length=26, index=True)
    message: str = Field(sa_column=Column(Text, nullable=False))  # the signed bytes, as text
    department_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    public_keys: list[str] = Field(sa_column=Column(JSON, nullable=False))  # hex, same order
    aggregate: str = Field(max_length=192)  # hex, 96 bytes
    created_by: str = Field(max_length=26)  # the officer whose approval completed it
    created_at: datetime = _utc_column(nullable=False)
