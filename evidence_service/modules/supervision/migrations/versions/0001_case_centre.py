"""Case centre: ingest batches, enforcement records, their officers and linked evidence ids.

Revision ID: s0001_case_centre
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0001_case_centre"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGES = (
    "filing",
    "investigation",
    "notice",
    "hearing",
    "legal_review",
    "decision",
    "service",
    "execution",
    "closing",
)


def upgrade() -> None:
    op.create_table(
        "supervision_batch",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("ingested_by", sa.String(length=26), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "supervision_record",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("batch_id", sa.String(length=26), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("city", sa.String(length=64), nullable=False),
        sa.Column("procedure", sa.String(length=8), nullable=False),
        sa.Column("party_kind", sa.String(length=16), nullable=True),
        sa.Column("party_digest", sa.String(length=64), nullable=True),
        sa.Column("party_masked", sa.String(length=32), nullable=True),
        sa.Column("notified_fen", sa.BigInteger(), nullable=True),
        sa.Column("decided_fen", sa.BigInteger(), nullable=True),
        sa.Column("core_case_id", sa.String(length=64), nullable=True),
        *(sa.Column(f"{stage}_on", sa.Date(), nullable=True) for stage in STAGES),
        sa.Column("planted", sa.JSON(), nullable=True),
        sa.Column("ingested_by", sa.String(length=26), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["supervision_batch.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "department_id", "case_number", "kind", name="uq_supervision_record_key"
        ),
    )
    op.create_index("ix_supervision_record_city", "supervision_record", ["city"])
    op.create_index("ix_supervision_record_dept_id", "supervision_record", ["department_id", "id"])
    op.create_index("ix_supervision_record_filing_on", "supervision_record", ["filing_on"])
    op.create_index(
        op.f("ix_supervision_record_party_digest"), "supervision_record", ["party_digest"]
    )
    op.create_table(
        "supervision_record_officer",
        sa.Column("record_id", sa.String(length=26), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("cert_no", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["supervision_record.id"]),
        sa.PrimaryKeyConstraint("record_id", "position"),
    )
    op.create_table(
        "supervision_record_link",
        sa.Column("record_id", sa.String(length=26), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("evidence_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["supervision_record.id"]),
        sa.PrimaryKeyConstraint("record_id", "role", "evidence_id"),
    )
    op.create_index(
        "ix_supervision_record_link_evidence", "supervision_record_link", ["evidence_id"]
    )


def downgrade() -> None:
    op.drop_table("supervision_record_link")
    op.drop_table("supervision_record_officer")
    op.drop_table("supervision_record")
    op.drop_table("supervision_batch")
