"""tus uploads: ``tuspendingbytes`` holds PATCH bytes not yet a store part (below its minimum).

Revision ID: 0006_tus_pending_bytes
Revises: 0005_web_passwords
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_tus_pending_bytes"
down_revision: str | None = "0005_web_passwords"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tuspendingbytes",
        sa.Column("session_id", sa.String(length=26), nullable=False),
        sa.Column("offset", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["uploadsession.id"]),
        sa.PrimaryKeyConstraint("session_id", "offset"),
    )


def downgrade() -> None:
    op.drop_table("tuspendingbytes")
