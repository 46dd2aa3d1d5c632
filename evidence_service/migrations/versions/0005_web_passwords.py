"""Web sign-in passwords (issue 16): ``officerpassword`` holds one argon2id hash per officer.

Revision ID: 0005_web_passwords
Revises: 0004_custody_sequencer
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_web_passwords"
down_revision: str | None = "0004_custody_sequencer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "officerpassword",
        sa.Column("officer_id", sa.String(length=26), nullable=False),
        sa.Column("hash", sa.String(length=255), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"]),
        sa.PrimaryKeyConstraint("officer_id"),
    )


def downgrade() -> None:
    op.drop_table("officerpassword")
