"""The cases wing's tables (SQLModel): ``<Name>`` is the table, ``<Name>Public`` what the API
returns, ``<Name>Create`` what it accepts. Ids are ULIDs; datetimes are timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from evidence_service.core.db import AutoBigInt
from evidence_service.core.db import utc_column as _utc_column


class PartyKind(StrEnum):
    person = "person"  # 自然人
    organisation = "organisation"  # 法人或其他组织


class Party(SQLModel, table=True):
    """行政相对人. The identifier is kept only as a keyed hash and a masked display form."""

    __table_args__ = (
        UniqueConstraint("identifier_kind", "identifier_hmac", name="uq_party_identifier"),
    )

    id: str = Field(primary_key=True, max_length=26)
    kind: PartyKind = Field(max_length=16)
    name: str = Field(max_length=200)
    identifier_kind: str | None = Field(default=None, max_length=16)
    identifier_hmac: str | None = Field(default=None, max_length=64, index=True)
    identifier_masked: str | None = Field(default=None, max_length=32)
    department_id: str = Field(foreign_key="department.id", max_length=26)
    created_at: datetime = _utc_column(nullable=False)


class Place(SQLModel, table=True):
    """A place where evidence was captured or that a case concerns: an address, with an
    optional position (WGS-84 degrees). Capture locations become places automatically."""

    __table_args__ = (Index("ix_place_position", "lat", "lon"),)

    id: str = Field(primary_key=True, max_length=26)
    address: str = Field(default="", max_length=500)
    lat: float | None = None
    lon: float | None = None
    department_id: str = Field(foreign_key="department.id", index=True, max_length=26)
    created_at: datetime = _utc_column(nullable=False)


class CaseKind(StrEnum):
    inspection = "inspection"
    penalty = "penalty"
    complaint = "complaint"
    permit = "permit"
    reconsideration = "reconsideration"


class CaseStatus(StrEnum):
    open = "open"
    closed = "closed"


class Cause(SQLModel, table=True):
    """违法案由: an extendable catalogue of violation causes."""

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)


class Case(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("department_id", "case_number", name="uq_case_department_number"),
    )

    id: str = Field(primary_key=True, max_length=26)
    department_id: str = Field(foreign_key="department.id", index=True, max_length=26)
    case_number: str = Field(max_length=64)
    kind: CaseKind = Field(max_length=16)
    title: str = Field(max_length=200)
    status: CaseStatus = Field(default=CaseStatus.open, max_length=16)
    cause_code: str | None = Field(default=None, foreign_key="cause.code", max_length=32)
    opened_at: datetime = _utc_column(nullable=False)
    closed_at: datetime | None = _utc_column(nullable=True)
    created_by: str = Field(max_length=26)


class GraphEdge(SQLModel, table=True):
    """A typed edge between two graph nodes (evidence, case, party, place, officer, cause)."""

    __table_args__ = (
        UniqueConstraint("kind", "source_id", "target_id", name="uq_edge"),
        Index("ix_edge_source", "source_id", "kind"),
        Index("ix_edge_target", "target_id", "kind"),
    )

    id: int | None = Field(default=None, sa_column=Column(AutoBigInt, primary_key=True))
    kind: str = Field(max_length=32)
    source_kind: str = Field(max_length=16)
    source_id: str = Field(max_length=64)
    target_kind: str = Field(max_length=16)
    target_id: str = Field(max_length=64)
    created_by: str | None = Field(default=None, max_length=26)
    created_at: datetime = _utc_column(nullable=False)


class CaseEvidenceEntry(SQLModel, table=True):
    """An item's place in its case's evidence list (证据清单) and what it proves (证明目的)."""

    # an item's cases, looked up by the item (the evidence feed reads them a batch at a time)
    __table_args__ = (Index("ix_caseevidenceentry_evidence", "evidence_id", "case_id"),)

    case_id: str = Field(primary_key=True, foreign_key="case.id", max_length=26)
    evidence_id: str = Field(primary_key=True, foreign_key="evidence.id", max_length=26)
    position: int
    purpose: str = Field(default="", max_length=1000)


class EvidenceList(SQLModel, table=True):
    """An issued evidence list: its JCS body, sealed by the department and anchored as a leaf."""

    id: str = Field(primary_key=True, max_length=26)
    case_id: str = Field(foreign_key="case.id", index=True, max_length=26)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    digest: str = Field(max_length=64, index=True)  # SHA-256 of JCS(body); public look-up
    seal: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the seal record
    leaf_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    issued_by: str = Field(max_length=26)
    issued_at: datetime = _utc_column(nullable=False)
