"""The refused-request log (``refused_request``: who the access policy turned away, kept
outside the custody log) and an index finding an item's cases by the item, which the evidence
feed reads a batch at a time.

Revision ID: 0008_refused_requests
Revises: 0007_tus_client_signing
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_refused_requests"
down_revision: str | None = "0007_tus_client_signing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refused_request",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=26), nullable=True),
        sa.Column("token_id", sa.String(length=26), nullable=True),
        sa.Column("department_id", sa.String(length=26), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("route", sa.String(length=300), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("problem_type", sa.String(length=120), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("refused_request", schema=None) as batch_op:
        batch_op.create_index("ix_refused_request_at", ["at"], unique=False)
        batch_op.create_index("ix_refused_request_actor_at", ["actor_id", "at"], unique=False)
    with op.batch_alter_table("caseevidenceentry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_caseevidenceentry_evidence", ["evidence_id", "case_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("caseevidenceentry", schema=None) as batch_op:
        batch_op.drop_index("ix_caseevidenceentry_evidence")
    op.drop_table("refused_request")
