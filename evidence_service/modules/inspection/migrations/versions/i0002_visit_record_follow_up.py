"""The visit: findings, shared evidence, the co-signed record, follow-up; a task's cancel
reason; a draw's inputs digest, scenario and lead department; a department's name.

Revision ID: i0002_visit_record_follow_up
Revises: i0001_directory_tasks_draws
Create Date: 2026-12-06 00:01:18.076757
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i0002_visit_record_follow_up"
down_revision: str | None = "i0001_directory_tasks_draws"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inspection_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=500), nullable=True))
    with op.batch_alter_table("inspection_department", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=200), nullable=True))
    with op.batch_alter_table("inspection_draw", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inputs_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("scenario", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lead_department", sa.String(length=64), nullable=True))
    op.create_table(
        "inspection_finding",
        sa.Column("task_id", sa.String(length=26), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("follow_up", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.String(length=26), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["inspection_task.id"],
        ),
        sa.PrimaryKeyConstraint("task_id", "item_code"),
    )
    op.create_table(
        "inspection_follow_up",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("task_id", sa.String(length=26), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("core_case_id", sa.String(length=26), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=26), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["inspection_task.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "item_code", name="uq_inspection_follow_up_item"),
    )
    with op.batch_alter_table("inspection_follow_up", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_follow_up_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inspection_follow_up_task_id"), ["task_id"], unique=False
        )

    op.create_table(
        "inspection_record",
        sa.Column("task_id", sa.String(length=26), nullable=False),
        sa.Column("evidence_id", sa.String(length=26), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("cosignature_id", sa.String(length=26), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(length=26), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["inspection_task.id"],
        ),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_table(
        "inspection_share",
        sa.Column("task_id", sa.String(length=26), nullable=False),
        sa.Column("evidence_id", sa.String(length=26), nullable=False),
        sa.Column("to_department", sa.String(length=64), nullable=False),
        sa.Column("from_department", sa.String(length=64), nullable=False),
        sa.Column("transfer_id", sa.String(length=26), nullable=False),
        sa.Column("shared_by", sa.String(length=26), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["inspection_task.id"],
        ),
        sa.PrimaryKeyConstraint("task_id", "evidence_id", "to_department"),
    )


def downgrade() -> None:
    with op.batch_alter_table("inspection_task", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason")
    with op.batch_alter_table("inspection_department", schema=None) as batch_op:
        batch_op.drop_column("name")
    with op.batch_alter_table("inspection_draw", schema=None) as batch_op:
        batch_op.drop_column("lead_department")
        batch_op.drop_column("scenario")
        batch_op.drop_column("inputs_digest")
    op.drop_table("inspection_share")
    op.drop_table("inspection_record")
    with op.batch_alter_table("inspection_follow_up", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_follow_up_task_id"))
        batch_op.drop_index(batch_op.f("ix_inspection_follow_up_department_id"))

    op.drop_table("inspection_follow_up")
    op.drop_table("inspection_finding")
