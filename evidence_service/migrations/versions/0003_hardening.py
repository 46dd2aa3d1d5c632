"""The hardening issue (14): enrolment codes and expiring tokens, consent co-signatures,
retired department CAs, departments that require signed captures.

Values given to rows that existed before (they matter for what the service then allows):

- ``apitoken.expires_at``: a person token expires ``created_at`` + 30 days, the default
  ``EVIDENCE_TOKEN_TTL_DAYS`` — as if issued under the new rule, so one older than that stops
  working and its officer enrols again; device tokens keep ``NULL`` (they do not expire).
- ``apitoken.issued_by``: ``NULL`` (who minted an old token was never recorded).
- ``department.require_signed_captures``: true, the new default: a capture the service cannot
  sign is refused (an officer without a certificate is issued one on their first capture; an
  admin can turn it off per department).

Revision ID: 0003_hardening
Revises: 0002_house
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0003_hardening"
down_revision: str | None = "0002_house"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The default EVIDENCE_TOKEN_TTL_DAYS when this revision was written.
PERSON_TOKEN_TTL = timedelta(days=30)


def upgrade() -> None:
    op.create_table(
        "enrolmentcode",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.String(length=26), nullable=False),
        sa.Column("issued_by", sa.String(length=26), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("enrolmentcode", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrolmentcode_code_sha256"), ["code_sha256"], unique=True
        )
        batch_op.create_index(
            batch_op.f("ix_enrolmentcode_officer_id"), ["officer_id"], unique=False
        )

    with op.batch_alter_table("apitoken", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("issued_by", sa.String(length=26), nullable=True))
    _expire_person_tokens()

    op.create_table(
        "cosignaturerequest",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=26), nullable=False),
        sa.Column("evidence_id", sa.String(length=26), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("department_ids", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(length=26), nullable=False),
        sa.Column("department_id", sa.String(length=26), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cosignaturerequest", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cosignaturerequest_evidence_id"), ["evidence_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cosignaturerequest_subject_id"), ["subject_id"], unique=False
        )
    op.create_table(
        "cosignatureanswer",
        sa.Column("request_id", sa.String(length=26), nullable=False),
        sa.Column("department_id", sa.String(length=26), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=False),
        sa.Column("officer_id", sa.String(length=26), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["cosignaturerequest.id"]),
        sa.PrimaryKeyConstraint("request_id", "department_id"),
    )

    op.create_table(
        "retireddepartmentca",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("department_id", sa.String(length=26), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("crl", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("retireddepartmentca", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retireddepartmentca_department_id"), ["department_id"], unique=False
        )

    # Old rows get true through a server default, which then goes: the models declare none.
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "require_signed_captures", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.alter_column(
            "require_signed_captures", existing_type=sa.Boolean(), server_default=None
        )


def _expire_person_tokens() -> None:
    """Give each person token the expiry it would have had if issued under the new rule."""
    tokens = sa.table(
        "apitoken",
        sa.column("id", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(tokens.c.id, tokens.c.created_at).where(tokens.c.kind == "person")
    ).all()
    for token_id, created_at in rows:
        bind.execute(
            tokens.update()
            .where(tokens.c.id == token_id)
            .values(expires_at=created_at + PERSON_TOKEN_TTL)
        )


def downgrade() -> None:
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.drop_column("require_signed_captures")
    with op.batch_alter_table("retireddepartmentca", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retireddepartmentca_department_id"))
    op.drop_table("retireddepartmentca")
    op.drop_table("cosignatureanswer")
    with op.batch_alter_table("cosignaturerequest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cosignaturerequest_subject_id"))
        batch_op.drop_index(batch_op.f("ix_cosignaturerequest_evidence_id"))
    op.drop_table("cosignaturerequest")
    with op.batch_alter_table("apitoken", schema=None) as batch_op:
        batch_op.drop_column("issued_by")
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("enrolmentcode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolmentcode_officer_id"))
        batch_op.drop_index(batch_op.f("ix_enrolmentcode_code_sha256"))
    op.drop_table("enrolmentcode")
