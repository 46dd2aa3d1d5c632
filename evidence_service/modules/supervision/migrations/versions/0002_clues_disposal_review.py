"""Clue centre, disposal centre and case-file review: the 执法证 register, read models of the
core's feeds (evidence, refusals, transfers), model runs and their clues, disposals with their
steps, reviews with their checklist items.

Revision ID: s0002_clues_disposal_review
Revises: s0001_case_centre
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0002_clues_disposal_review"
down_revision: str | None = "s0001_case_centre"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: Record fields the problem models read (先行登记保存 and its decision, when the act
#: happened, whether a hearing was offered), nullable: records sent before keep working.
RECORD_COLUMNS = (
    ("preservation_on", sa.Date()),
    ("preservation_decision_on", sa.Date()),
    ("occurred_on", sa.Date()),
    ("hearing_offered", sa.Boolean()),
)


def upgrade() -> None:
    for name, type_ in RECORD_COLUMNS:
        op.add_column("supervision_record", sa.Column(name, type_, nullable=True))
    op.create_index(
        "ix_supervision_record_updated_at", "supervision_record", ["updated_at"], unique=False
    )
    op.create_table(
        "supervision_certificate",
        sa.Column("cert_no", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.String(length=26), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cert_no"),
    )
    op.create_index(
        op.f("ix_supervision_certificate_officer_id"),
        "supervision_certificate",
        ["officer_id"],
        unique=False,
    )
    op.create_index(
        "ix_supervision_certificate_dept",
        "supervision_certificate",
        ["department_id"],
        unique=False,
    )
    op.create_table(
        "supervision_clue",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("first_run_id", sa.String(length=26), nullable=False),
        sa.Column("last_run_id", sa.String(length=26), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model", "subject", name="uq_supervision_clue_subject"),
    )
    op.create_index(
        "ix_supervision_clue_status_dept",
        "supervision_clue",
        ["status", "department_id", "id"],
        unique=False,
    )
    op.create_table(
        "supervision_evidence",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.String(length=26), nullable=True),
        sa.Column("port", sa.String(length=32), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("signed", sa.Boolean(), nullable=False),
        sa.Column("anchored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_supervision_evidence_sha256"), "supervision_evidence", ["sha256"], unique=False
    )
    op.create_index(
        "ix_supervision_evidence_officer",
        "supervision_evidence",
        ["officer_id", "captured_at"],
        unique=False,
    )
    op.create_index(
        "ix_supervision_evidence_synced", "supervision_evidence", ["synced_at"], unique=False
    )
    op.create_table(
        "supervision_evidence_case",
        sa.Column("evidence_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("evidence_id", "case_id"),
    )
    op.create_table(
        "supervision_refusal",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=26), nullable=True),
        sa.Column("department_id", sa.String(length=64), nullable=True),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_supervision_refusal_actor_id"), "supervision_refusal", ["actor_id"], unique=False
    )
    op.create_table(
        "supervision_run",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("started_by", sa.String(length=26), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "supervision_sync",
        sa.Column("feed", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.String(length=64), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feed"),
    )
    op.create_table(
        "supervision_transfer",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("from_department_id", sa.String(length=64), nullable=False),
        sa.Column("to_department_id", sa.String(length=64), nullable=False),
        sa.Column("to_kind", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "supervision_clue_link",
        sa.Column("clue_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["clue_id"],
            ["supervision_clue.id"],
        ),
        sa.PrimaryKeyConstraint("clue_id", "kind", "ref"),
    )
    op.create_index(
        "ix_supervision_clue_link_ref", "supervision_clue_link", ["kind", "ref"], unique=False
    )
    op.create_table(
        "supervision_disposal",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("clue_id", sa.String(length=26), nullable=False),
        sa.Column("procedure", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("assignee_id", sa.String(length=26), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("opened_by", sa.String(length=26), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=500), nullable=True),
        sa.Column("notice_evidence_id", sa.String(length=64), nullable=True),
        sa.Column("notice_sha256", sa.String(length=64), nullable=True),
        sa.Column("notice_seal", sa.JSON(), nullable=True),
        sa.Column("notice_transfer_id", sa.String(length=64), nullable=True),
        sa.Column("reply_transfer_id", sa.String(length=64), nullable=True),
        sa.Column("reply_evidence_id", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clue_id"],
            ["supervision_clue.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("clue_id"),
    )
    op.create_index(
        "ix_supervision_disposal_state", "supervision_disposal", ["state", "due_on"], unique=False
    )
    op.create_table(
        "supervision_disposal_step",
        sa.Column("disposal_id", sa.String(length=26), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=26), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["disposal_id"],
            ["supervision_disposal.id"],
        ),
        sa.PrimaryKeyConstraint("disposal_id", "position"),
    )
    op.create_table(
        "supervision_review",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("record_id", sa.String(length=26), nullable=False),
        sa.Column("checklist", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("vetoed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=True),
        sa.Column("reviewer_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finalized_by", sa.String(length=26), nullable=True),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result_evidence_id", sa.String(length=64), nullable=True),
        sa.Column("result_sha256", sa.String(length=64), nullable=True),
        sa.Column("result_seal", sa.JSON(), nullable=True),
        sa.Column("result_names", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["supervision_record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_supervision_review_record", "supervision_review", ["record_id"], unique=False
    )
    op.create_table(
        "supervision_review_item",
        sa.Column("review_id", sa.String(length=26), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("deducted", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("decided_by", sa.String(length=26), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["supervision_review.id"],
        ),
        sa.PrimaryKeyConstraint("review_id", "code"),
    )
    op.create_table(
        "supervision_cockpit_cell",
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("decided", sa.Integer(), nullable=False),
        sa.Column("timely", sa.Integer(), nullable=False),
        sa.Column("clued", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.Integer(), nullable=False),
        sa.Column("evidence_complete", sa.Integer(), nullable=False),
        sa.Column("disposals", sa.Integer(), nullable=False),
        sa.Column("corrected", sa.Integer(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("review_points", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("level", "department_id", "key", "month"),
    )
    op.create_table(
        "supervision_cockpit_refresh",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cells", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("supervision_cockpit_refresh")
    op.drop_table("supervision_cockpit_cell")
    op.drop_table("supervision_review_item")
    op.drop_index("ix_supervision_review_record", table_name="supervision_review")
    op.drop_table("supervision_review")
    op.drop_table("supervision_disposal_step")
    op.drop_index("ix_supervision_disposal_state", table_name="supervision_disposal")
    op.drop_table("supervision_disposal")
    op.drop_index("ix_supervision_clue_link_ref", table_name="supervision_clue_link")
    op.drop_table("supervision_clue_link")
    op.drop_table("supervision_transfer")
    op.drop_table("supervision_sync")
    op.drop_table("supervision_run")
    op.drop_index(op.f("ix_supervision_refusal_actor_id"), table_name="supervision_refusal")
    op.drop_table("supervision_refusal")
    op.drop_table("supervision_evidence_case")
    op.drop_index("ix_supervision_evidence_synced", table_name="supervision_evidence")
    op.drop_index("ix_supervision_evidence_officer", table_name="supervision_evidence")
    op.drop_index(op.f("ix_supervision_evidence_sha256"), table_name="supervision_evidence")
    op.drop_table("supervision_evidence")
    op.drop_index("ix_supervision_clue_status_dept", table_name="supervision_clue")
    op.drop_table("supervision_clue")
    op.drop_index("ix_supervision_certificate_dept", table_name="supervision_certificate")
    op.drop_index(
        op.f("ix_supervision_certificate_officer_id"), table_name="supervision_certificate"
    )
    op.drop_table("supervision_certificate")
    op.drop_index("ix_supervision_record_updated_at", table_name="supervision_record")
    with op.batch_alter_table("supervision_record") as batch_op:
        for name, _ in reversed(RECORD_COLUMNS):
            batch_op.drop_column(name)
