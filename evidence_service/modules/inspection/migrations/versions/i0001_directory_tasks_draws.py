"""Directory, signals, warnings, tasks and draws: the module's first tables.

Revision ID: i0001_directory_tasks_draws
Revises:
Create Date: 2026-12-05 23:51:40.177039
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i0001_directory_tasks_draws"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inspection_department",
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("coordinator", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=26), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("department_id"),
    )
    op.create_table(
        "inspection_draw",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("commitment", sa.JSON(), nullable=False),
        sa.Column("left_out", sa.JSON(), nullable=False),
        sa.Column("target_block", sa.Integer(), nullable=False),
        sa.Column("anchor_id", sa.String(length=64), nullable=True),
        sa.Column("document", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inspection_draw", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspection_draw_state"), ["state"], unique=False)

    op.create_table(
        "inspection_enterprise",
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("industry", sa.String(length=500), nullable=False),
        sa.Column("scale", sa.String(length=8), nullable=False),
        sa.Column("risk_class", sa.String(length=16), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("credit_code"),
    )
    with op.batch_alter_table("inspection_enterprise", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_enterprise_region"), ["region"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inspection_enterprise_risk_class"), ["risk_class"], unique=False
        )

    op.create_table(
        "inspection_inspector",
        sa.Column("officer_id", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("cert_no", sa.String(length=64), nullable=False),
        sa.Column("specialities", sa.JSON(), nullable=False),
        sa.Column("conflicts", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("officer_id"),
        sa.UniqueConstraint("cert_no"),
    )
    with op.batch_alter_table("inspection_inspector", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_inspector_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "inspection_signal",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("posted_by", sa.String(length=26), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "ref", name="uq_inspection_signal_source_ref"),
    )
    with op.batch_alter_table("inspection_signal", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inspection_signal_enterprise_at", ["credit_code", "at"], unique=False
        )

    op.create_table(
        "inspection_task",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("warning_id", sa.String(length=26), nullable=True),
        sa.Column("draw_id", sa.String(length=64), nullable=True),
        sa.Column("scenario", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("lead_department", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inspection_task", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_task_credit_code"), ["credit_code"], unique=False
        )
        batch_op.create_index(
            "ix_inspection_task_enterprise_year", ["credit_code", "year"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inspection_task_state"), ["state"], unique=False)

    op.create_table(
        "inspection_warning",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("contributions", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task_id", sa.String(length=26), nullable=True),
        sa.Column("closed_note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inspection_warning", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_warning_credit_code"), ["credit_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inspection_warning_state"), ["state"], unique=False)

    op.create_table(
        "inspection_task_department",
        sa.Column("task_id", sa.String(length=26), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("joined_by", sa.String(length=26), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["inspection_task.id"],
        ),
        sa.PrimaryKeyConstraint("task_id", "department_id"),
    )
    op.create_table(
        "inspection_task_inspector",
        sa.Column("task_id", sa.String(length=26), nullable=False),
        sa.Column("officer_id", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("drawn", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["inspection_task.id"],
        ),
        sa.PrimaryKeyConstraint("task_id", "officer_id"),
    )
    op.create_table(
        "inspection_task_item",
        sa.Column("task_id", sa.String(length=26), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("included", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=26), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["inspection_task.id"],
        ),
        sa.PrimaryKeyConstraint("task_id", "item_code"),
    )


def downgrade() -> None:
    op.drop_table("inspection_task_item")
    op.drop_table("inspection_task_inspector")
    op.drop_table("inspection_task_department")
    with op.batch_alter_table("inspection_warning", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_warning_state"))
        batch_op.drop_index(batch_op.f("ix_inspection_warning_credit_code"))

    op.drop_table("inspection_warning")
    with op.batch_alter_table("inspection_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_task_state"))
        batch_op.drop_index("ix_inspection_task_enterprise_year")
        batch_op.drop_index(batch_op.f("ix_inspection_task_credit_code"))

    op.drop_table("inspection_task")
    with op.batch_alter_table("inspection_signal", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_signal_enterprise_at")

    op.drop_table("inspection_signal")
    with op.batch_alter_table("inspection_inspector", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_inspector_department_id"))

    op.drop_table("inspection_inspector")
    with op.batch_alter_table("inspection_enterprise", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_enterprise_risk_class"))
        batch_op.drop_index(batch_op.f("ix_inspection_enterprise_region"))

    op.drop_table("inspection_enterprise")
    with op.batch_alter_table("inspection_draw", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_draw_state"))

    op.drop_table("inspection_draw")
    op.drop_table("inspection_department")
