"""The registry, readings, device-hours, alarms, inspections, the problem list and the public's
feedback: the module's first tables.

Revision ID: c0001_registry_readings_alarms
Revises:
Create Date: 2026-12-06 03:36:23.500380
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0001_registry_readings_alarms"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catering_hour",
        sa.Column("mn", sa.String(length=27), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("evidence_id", sa.String(length=26), nullable=True),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("mn", "hour_start"),
    )
    with op.batch_alter_table("catering_hour", schema=None) as batch_op:
        batch_op.create_index("ix_catering_hour_state", ["state"], unique=False)

    op.create_table(
        "catering_reading",
        sa.Column("mn", sa.String(length=27), nullable=False),
        sa.Column("data_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("statistic", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("text", sa.String(length=32), nullable=False),
        sa.Column("flag", sa.String(length=1), nullable=True),
        sa.Column("qn", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("mn", "data_time", "code", "statistic"),
    )
    with op.batch_alter_table("catering_reading", schema=None) as batch_op:
        batch_op.create_index("ix_catering_reading_time", ["data_time"], unique=False)

    op.create_table(
        "catering_rejection",
        sa.Column("mn", sa.String(length=27), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mn", "reason"),
    )
    op.create_table(
        "catering_restaurant",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("licence_no", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("burners", sa.Float(), nullable=False),
        sa.Column("size_class", sa.String(length=8), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=True),
        sa.Column("purifier_model", sa.String(length=120), nullable=True),
        sa.Column("purifier_efficiency", sa.Float(), nullable=True),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("licensed_on", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credit_code"),
    )
    op.create_table(
        "catering_device",
        sa.Column("mn", sa.String(length=27), nullable=False),
        sa.Column("restaurant_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("password_sha256", sa.String(length=64), nullable=False),
        sa.Column("crc", sa.String(length=8), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=True),
        sa.Column("last_qn", sa.String(length=20), nullable=True),
        sa.Column("last_frame_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rules_state", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["restaurant_id"],
            ["catering_restaurant.id"],
        ),
        sa.PrimaryKeyConstraint("mn"),
    )
    with op.batch_alter_table("catering_device", schema=None) as batch_op:
        batch_op.create_index("ix_catering_device_restaurant", ["restaurant_id"], unique=False)

    op.create_table(
        "catering_feedback",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("restaurant_id", sa.String(length=26), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("moderated_by", sa.String(length=26), nullable=True),
        sa.Column("moderated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["restaurant_id"],
            ["catering_restaurant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("catering_feedback", schema=None) as batch_op:
        batch_op.create_index(
            "ix_catering_feedback_restaurant", ["restaurant_id", "state"], unique=False
        )
        batch_op.create_index("ix_catering_feedback_sender", ["sender", "created_at"], unique=False)

    op.create_table(
        "catering_inspection",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("restaurant_id", sa.String(length=26), nullable=False),
        sa.Column("inspected_on", sa.String(length=10), nullable=False),
        sa.Column("officer_id", sa.String(length=26), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("incident", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["restaurant_id"],
            ["catering_restaurant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("catering_inspection", schema=None) as batch_op:
        batch_op.create_index(
            "ix_catering_inspection_restaurant", ["restaurant_id", "inspected_on"], unique=False
        )

    op.create_table(
        "catering_restaurant_key",
        sa.Column("restaurant_id", sa.String(length=26), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.String(length=26), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["restaurant_id"],
            ["catering_restaurant.id"],
        ),
        sa.PrimaryKeyConstraint("restaurant_id"),
        sa.UniqueConstraint("key_sha256"),
    )
    op.create_table(
        "catering_alarm",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("mn", sa.String(length=27), nullable=False),
        sa.Column("restaurant_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("factor", sa.String(length=16), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("limit_value", sa.Float(), nullable=True),
        sa.Column("span_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("span_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signalled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mn"],
            ["catering_device.mn"],
        ),
        sa.ForeignKeyConstraint(
            ["restaurant_id"],
            ["catering_restaurant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("catering_alarm", schema=None) as batch_op:
        batch_op.create_index("ix_catering_alarm_device", ["mn", "kind", "state"], unique=False)
        batch_op.create_index(
            "ix_catering_alarm_restaurant", ["restaurant_id", "state"], unique=False
        )

    op.create_table(
        "catering_problem",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("restaurant_id", sa.String(length=26), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("alarm_id", sa.String(length=26), nullable=True),
        sa.Column("inspection_id", sa.String(length=26), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rectification_evidence_id", sa.String(length=26), nullable=True),
        sa.Column("rectification_note", sa.Text(), nullable=True),
        sa.Column("escalation", sa.String(length=12), nullable=True),
        sa.Column("transfer_id", sa.String(length=26), nullable=True),
        sa.Column("transferred_by", sa.String(length=26), nullable=True),
        sa.Column("transferred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("penalty", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alarm_id"],
            ["catering_alarm.id"],
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["catering_inspection.id"],
        ),
        sa.ForeignKeyConstraint(
            ["restaurant_id"],
            ["catering_restaurant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("catering_problem", schema=None) as batch_op:
        batch_op.create_index(
            "ix_catering_problem_kind", ["restaurant_id", "kind", "state"], unique=False
        )
        batch_op.create_index(
            "ix_catering_problem_restaurant", ["restaurant_id", "state"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("catering_problem", schema=None) as batch_op:
        batch_op.drop_index("ix_catering_problem_restaurant")
        batch_op.drop_index("ix_catering_problem_kind")

    op.drop_table("catering_problem")
    with op.batch_alter_table("catering_alarm", schema=None) as batch_op:
        batch_op.drop_index("ix_catering_alarm_restaurant")
        batch_op.drop_index("ix_catering_alarm_device")

    op.drop_table("catering_alarm")
    op.drop_table("catering_restaurant_key")
    with op.batch_alter_table("catering_inspection", schema=None) as batch_op:
        batch_op.drop_index("ix_catering_inspection_restaurant")

    op.drop_table("catering_inspection")
    with op.batch_alter_table("catering_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_catering_feedback_sender")
        batch_op.drop_index("ix_catering_feedback_restaurant")

    op.drop_table("catering_feedback")
    with op.batch_alter_table("catering_device", schema=None) as batch_op:
        batch_op.drop_index("ix_catering_device_restaurant")

    op.drop_table("catering_device")
    op.drop_table("catering_restaurant")
    op.drop_table("catering_rejection")
    with op.batch_alter_table("catering_reading", schema=None) as batch_op:
        batch_op.drop_index("ix_catering_reading_time")

    op.drop_table("catering_reading")
    with op.batch_alter_table("catering_hour", schema=None) as batch_op:
        batch_op.drop_index("ix_catering_hour_state")

    op.drop_table("catering_hour")
