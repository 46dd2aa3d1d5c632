"""The anchoring wing's tables (SQLModel): ``<Name>`` is the table, ``<Name>Public`` what the API
returns, ``<Name>Create`` what it accepts. Ids are ULIDs; datetimes are timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, ForeignKey, Index
from sqlmodel import Field, SQLModel

from evidence_service.core.db import AutoBigInt
from evidence_service.core.db import utc_column as _utc_column


class LeafKind(StrEnum):
    statement = "statement"  # JCS bytes of a capture statement
    evidence_list = "evidence_list"  # JCS bytes of an issued evidence list
    custody_head = "custody_head"  # the custody log head when the batch closed
    transfer_manifest = "transfer_manifest"  # JCS bytes of a sealed transfer manifest
    transfer_receipt = "transfer_receipt"  # JCS bytes of a recipient's sealed receipt
    document = "document"  # JCS bytes of any document a caller anchors (POST /api/v1/anchors)


class AnchorLeaf(SQLModel, table=True):
    """One Merkle leaf. Written pending (no batch) in the capture transaction; the anchoring
    worker assigns it a batch and its index in that batch's tree."""

    __table_args__ = (
        Index("ix_anchorleaf_pending", "batch_id", "seq"),
        Index("ix_anchorleaf_batch_index", "batch_id", "leaf_index", unique=True),
    )

    seq: int | None = Field(default=None, sa_column=Column(AutoBigInt, primary_key=True))
    kind: LeafKind = Field(max_length=20)
    evidence_id: str | None = Field(default=None, max_length=26, unique=True)
    leaf_hash: str = Field(max_length=64)
    batch_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("anchorbatch.id"), nullable=True)
    )
    leaf_index: int | None = None
    created_at: datetime = _utc_column(nullable=False)


class AnchoredDocument(SQLModel, table=True):
    """A JSON document a caller anchored: its JCS digest and its leaf (never the document,
    which its owner keeps and publishes). One row per distinct document."""

    id: str = Field(primary_key=True, max_length=26)
    digest: str = Field(max_length=64, unique=True)  # SHA-256 of the JCS bytes
    leaf_seq: int = Field(
        sa_column=Column(BigInteger, ForeignKey("anchorleaf.seq"), nullable=False)
    )
    size: int  # bytes of the JCS form
    created_by: str = Field(max_length=26)
    department_id: str = Field(max_length=26)
    created_at: datetime = _utc_column(nullable=False)


class BatchStatus(StrEnum):
    closed = "closed"  # tree built and recorded; waiting for (or retrying) its anchor
    anchored = "anchored"  # the root is mined on chain; the anchor facts are recorded


class AnchorBatch(SQLModel, table=True):
    id: int | None = Field(default=None, sa_column=Column(AutoBigInt, primary_key=True))
    status: BatchStatus = Field(default=BatchStatus.closed, max_length=16, index=True)
    root: str = Field(max_length=64, unique=True)
    tree_size: int
    custody_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    custody_head: str = Field(max_length=64)
    closed_at: datetime = _utc_column(nullable=False)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=1000)
    next_attempt_at: datetime | None = _utc_column(nullable=True)
    chain_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    contract: str | None = Field(default=None, max_length=42)
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    block_hash: str | None = Field(default=None, max_length=66)
    block_timestamp: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    gas_used: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    anchored_at: datetime | None = _utc_column(nullable=True)


class ChainDeployment(SQLModel, table=True):
    """The AnchorRegistry this service anchors into, per chain."""

    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    contract: str = Field(max_length=42)
    created_at: datetime = _utc_column(nullable=False)
