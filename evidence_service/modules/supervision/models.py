"""The supervision module's own tables (``supervision_`` prefix), on their own ``MetaData``.

They share the core's database but not its ``SQLModel.metadata`` or its Alembic chain: the
core's migrations and schema check never see them, and this module's chain
(``migrations/``, version table ``supervision_alembic_version``) never sees the core's.
Written in SQLAlchemy Core, which the ingest path uses for batched upserts.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()

#: The stages of an enforcement record, in the order the law usually runs them, with the
#: Chinese name each is known by; each has a nullable date column ``<stage>_on``.
STAGES: dict[str, str] = {
    "filing": "立案",
    "investigation": "调查",
    "notice": "告知",
    "hearing": "听证",
    "legal_review": "法制审核",
    "decision": "决定",
    "service": "送达",
    "execution": "执行",
    "closing": "结案",
}
KINDS = ("complaint", "permit", "inspection", "penalty", "reconsideration")
PROCEDURES = ("simple", "general")
PARTY_KINDS = ("person", "organisation")
LINK_ROLES = ("evidence", "document")  # evidence ids; documentary captures the record cites

batch = Table(
    "supervision_batch",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("ingested_by", String(26), nullable=False),  # the core officer id
    Column("format", String(8), nullable=False),  # json | csv | demo
    Column("records", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

record = Table(
    "supervision_record",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("batch_id", String(26), ForeignKey("supervision_batch.id"), nullable=False),
    Column("department_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("case_number", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("region", String(64), nullable=True),
    Column("city", String(64), nullable=False),
    Column("procedure", String(8), nullable=False),
    Column("party_kind", String(16), nullable=True),
    Column("party_digest", String(64), nullable=True, index=True),
    Column("party_masked", String(32), nullable=True),
    # amounts in fen (分, 1/100 yuan), exact on every database
    Column("notified_fen", BigInteger, nullable=True),
    Column("decided_fen", BigInteger, nullable=True),
    Column("core_case_id", String(64), nullable=True),
    *(Column(f"{stage}_on", Date, nullable=True) for stage in STAGES),
    # demo data only: the codes of the problems planted in the record (SQL NULL when clean)
    Column("planted", JSON(none_as_null=True), nullable=True),
    Column("ingested_by", String(26), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("department_id", "case_number", "kind", name="uq_supervision_record_key"),
    Index("ix_supervision_record_dept_id", "department_id", "id"),
    Index("ix_supervision_record_city", "city"),
    Index("ix_supervision_record_filing_on", "filing_on"),
)

record_officer = Table(
    "supervision_record_officer",
    metadata,
    Column("record_id", String(26), ForeignKey("supervision_record.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("cert_no", String(32), nullable=True),  # 执法证号
)

record_link = Table(
    "supervision_record_link",
    metadata,
    Column("record_id", String(26), ForeignKey("supervision_record.id"), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("evidence_id", String(64), primary_key=True),
    Index("ix_supervision_record_link_evidence", "evidence_id"),
)
