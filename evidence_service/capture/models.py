"""The capture wing's tables (SQLModel): ``<Name>`` is the table, ``<Name>Public`` what the API
returns, ``<Name>Create`` what it accepts. Ids are ULIDs; datetimes are timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from evidence_service.core.db import AutoBigInt
from evidence_service.core.db import utc_column as _utc_column


class Evidence(SQLModel, table=True):
    __table_args__ = (
        Index("ix_evidence_dept_received", "department_id", "received_at", "id"),
        Index("ix_evidence_officer_received", "officer_id", "received_at", "id"),
        Index("ix_evidence_port_received", "port", "received_at", "id"),
        Index("ix_evidence_captured", "captured_at", "id"),
        Index("ix_evidence_position", "location_lat", "location_lon"),
    )

    id: str = Field(primary_key=True, max_length=26)
    port: str = Field(max_length=32)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    captured_at: datetime = _utc_column(nullable=False)
    received_at: datetime = _utc_column(nullable=False)
    officer_id: str = Field(foreign_key="officer.id", max_length=26)
    department_id: str = Field(foreign_key="department.id", max_length=26)
    original_filename: str | None = Field(default=None, max_length=255)
    location_lat: float | None = None
    location_lon: float | None = None
    location_address: str | None = Field(default=None, max_length=500)
    tags: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    capture_metadata: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    metadata_sha256: str = Field(max_length=64)
    media_type: str = Field(max_length=128)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64, index=True)
    sm3: str = Field(max_length=64)
    extracted: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    statement: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    statement_sha256: str = Field(max_length=64)
    #: The PROOF_FORMAT.md `signature` block, when the officer's statement is signed.
    signature: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    object_key: str = Field(max_length=512)
    #: Where the bytes sit until finalize when they were assembled elsewhere (resumable uploads).
    temp_key: str | None = Field(default=None, max_length=512)
    finalized: bool = Field(default=False, index=True)
    upload_session_id: str | None = Field(default=None, max_length=26)
    chunk_chain_head: str | None = Field(default=None, max_length=64)
    chunk_count: int | None = None
    #: COMPLIANCE retention set on the stored objects (per port category); removal is refused
    #: before it passes.
    retention_until: datetime | None = _utc_column(nullable=True)
    #: A legal hold set by an admin (with a reason, as a custody event); removal is refused.
    legal_hold: bool = False
    #: When the stored bytes were removed after retention ran out (the row, statement and proof
    #: stay, so the record of what existed survives its disposal).
    disposed_at: datetime | None = _utc_column(nullable=True)


class DerivedObject(SQLModel, table=True):
    """A file a port derived from an evidence item (thumbnail, rendering, readable record)."""

    id: str = Field(primary_key=True, max_length=26)
    evidence_id: str = Field(foreign_key="evidence.id", index=True, max_length=26)
    role: str = Field(max_length=32)
    media_type: str = Field(max_length=128)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    object_key: str = Field(max_length=512)


class PendingIntake(SQLModel, table=True):
    """Written before an upload's bytes go to its final key; removed with the evidence row's
    commit. A row left behind by a crash tells the reaper which unlocked objects to remove."""

    id: str = Field(primary_key=True, max_length=26)  # the evidence id
    object_key: str = Field(max_length=512)
    started_at: datetime = _utc_column(nullable=False, index=True)


class UploadStatus(StrEnum):
    open = "open"
    completed = "completed"
    aborted = "aborted"
    expired = "expired"


class UploadSession(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=26)
    port: str = Field(max_length=32)
    capture_metadata: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    filename: str | None = Field(default=None, max_length=255)
    officer_id: str = Field(foreign_key="officer.id", index=True, max_length=26)
    department_id: str = Field(foreign_key="department.id", max_length=26)
    declared_size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    declared_sha256: str | None = Field(default=None, max_length=64)
    offset: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    chunk_count: int = 0
    chain_head: str = Field(max_length=64)
    tail_received: bool = False  # a short (final) part arrived; only completion may follow
    status: UploadStatus = Field(default=UploadStatus.open, index=True)
    temp_key: str = Field(max_length=512)
    store_upload_id: str = Field(max_length=1024)
    evidence_id: str | None = Field(default=None, max_length=26)
    created_at: datetime = _utc_column(nullable=False)
    updated_at: datetime = _utc_column(nullable=False)
    expires_at: datetime = _utc_column(nullable=False)
    #: A client-signed capture (tus): the prepared capture this upload completes — its id
    #: becomes the item's — and the officer's PROOF_FORMAT.md signature block over its
    #: statement, verified at creation and again at completion.
    prepared_id: str | None = Field(default=None, max_length=26, index=True)
    signature: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class UploadChunk(SQLModel, table=True):
    """One received chunk; ``chain_hash`` = SHA-256(previous chain hash ‖ sha256(chunk))."""

    session_id: str = Field(foreign_key="uploadsession.id", primary_key=True, max_length=26)
    part_number: int = Field(primary_key=True)
    offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    etag: str = Field(max_length=128)
    chain_hash: str = Field(max_length=64)
    received_at: datetime = _utc_column(nullable=False)


class TusPendingBytes(SQLModel, table=True):
    """Bytes a tus PATCH delivered that do not yet make a store part (fewer than the store's
    minimum part size, ``capture/tus.py``), kept where every replica reads them. ``offset`` is
    where they start in the file; rows before the session's ``offset`` were appended already."""

    session_id: str = Field(foreign_key="uploadsession.id", primary_key=True, max_length=26)
    offset: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = _utc_column(nullable=False)


class IdempotencyRecord(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("actor_id", "key", name="uq_idempotency_actor_key"),)

    id: int | None = Field(default=None, primary_key=True)
    actor_id: str = Field(max_length=26)
    key: str = Field(max_length=255)
    route: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc_column(nullable=False)


class PreparedCapture(SQLModel, table=True):
    """Step one of a client-signed capture: the statement the server will build, handed to the
    officer's own key (a phone, a USB key) to sign before the file is sent."""

    id: str = Field(primary_key=True, max_length=26)  # the evidence id it reserves
    officer_id: str = Field(foreign_key="officer.id", index=True, max_length=26)
    port: str = Field(max_length=32)
    statement: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = _utc_column(nullable=False)
    expires_at: datetime = _utc_column(nullable=False, index=True)


class EvidenceTag(SQLModel, table=True):
    """A typed tag on an item as it stands now (capture-time tags included). Tags are later
    facts about an item: adding and removing them are custody events; the statement stays."""

    __table_args__ = (
        UniqueConstraint("evidence_id", "type", "value", name="uq_evidence_tag"),
        Index("ix_evidencetag_type_value", "type", "value", "evidence_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(AutoBigInt, primary_key=True))
    evidence_id: str = Field(foreign_key="evidence.id", max_length=26)
    type: str = Field(max_length=16)
    value: str = Field(max_length=200)
    created_by: str | None = Field(default=None, max_length=26)
    created_at: datetime = _utc_column(nullable=False)
