"""Anchored documents (``POST /api/v1/anchors``): the leaf kind ``document`` and the table
``anchoreddocument`` (a document's JCS digest and its leaf; never the document).

Revision ID: 0009_anchored_documents
Revises: 0008_refused_requests
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_anchored_documents"
down_revision: str | None = "0008_refused_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # A native enum gains a value in place (PostgreSQL 12+ allows it in a transaction;
        # the value is first used by later transactions). SQLite stores the name as text.
        op.execute("ALTER TYPE leafkind ADD VALUE IF NOT EXISTS 'document'")
    op.create_table(
        "anchoreddocument",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("leaf_seq", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column("department_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["leaf_seq"], ["anchorleaf.seq"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value; a leaf of kind 'document' stays readable as text.
    op.drop_table("anchoreddocument")
