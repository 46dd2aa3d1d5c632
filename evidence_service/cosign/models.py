"""The cosign wing's tables (SQLModel): ``<Name>`` is the table, ``<Name>Public`` what the API
returns, ``<Name>Create`` what it accepts. Ids are ULIDs; datetimes are timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from evidence_service.core.db import utc_column as _utc_column


class CoSignature(SQLModel, table=True):
    """One BLS aggregate signature by several departments over one record."""

    id: str = Field(primary_key=True, max_length=26)
    subject_kind: str = Field(max_length=16)  # statement | batch
    subject_id: str = Field(max_length=26, index=True)
    message: str = Field(sa_column=Column(Text, nullable=False))  # the signed bytes, as text
    department_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    public_keys: list[str] = Field(sa_column=Column(JSON, nullable=False))  # hex, same order
    aggregate: str = Field(max_length=192)  # hex, 96 bytes
    created_by: str = Field(max_length=26)
    created_at: datetime = _utc_column(nullable=False)
