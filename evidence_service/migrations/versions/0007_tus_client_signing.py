"""tus client signing: an upload session names the prepared capture it completes and carries
the officer's signature block (``uploadsession.prepared_id``, ``uploadsession.signature``).

Revision ID: 0007_tus_client_signing
Revises: 0006_tus_pending_bytes
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_tus_client_signing"
down_revision: str | None = "0006_tus_pending_bytes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uploadsession", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prepared_id", sa.String(length=26), nullable=True))
        batch_op.add_column(sa.Column("signature", sa.JSON(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_uploadsession_prepared_id"), ["prepared_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("uploadsession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uploadsession_prepared_id"))
        batch_op.drop_column("signature")
        batch_op.drop_column("prepared_id")
