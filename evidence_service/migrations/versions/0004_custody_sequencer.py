"""The custody sequencer (issue 15): events are written pending and chained by one integrator;
a checkpoint for the incremental check and rows for the full check's background jobs.

``custodyevent`` gains ``id``, its arrival order and new primary key; ``seq``, ``prev_hash``
and ``hash`` may be NULL (a pending event) and ``seq`` stays unique. Rows that existed keep
their seq and hashes, and get ``id = seq``, so arrival order is log order for them and new
events arrive after them. New tables: ``custodycheckpoint`` and ``custodyverifyjob``.

Downgrade refuses while events are pending (the old schema has no place for them): let the
worker (or any custody read) chain them first.

Revision ID: 0004_custody_sequencer
Revises: 0003_hardening
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_custody_sequencer"
down_revision: str | None = "0003_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COPIED = "evidence_id, action, actor_id, department_id, at, details, prev_hash, hash"
_PENDING = sa.text("seq IS NULL")


def _event_columns(*, sequenced: bool) -> list[sa.Column[object]]:
    """The columns of ``custodyevent`` after (``sequenced``) or before this revision."""
    if sequenced:
        keys: list[sa.Column[object]] = [
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.Column("seq", sa.BigInteger(), nullable=True),
        ]
    else:
        keys = [sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False)]
    return [
        *keys,
        sa.Column("evidence_id", sa.String(length=26), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.String(length=26), nullable=True),
        sa.Column("department_id", sa.String(length=26), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=sequenced),
        sa.Column("hash", sa.String(length=64), nullable=sequenced),
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()
    op.create_table(
        "custodycheckpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "custodyverifyjob",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=26), nullable=True),
        sa.Column("runner", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("events_total", sa.BigInteger(), nullable=False),
        sa.Column("events_checked", sa.BigInteger(), nullable=False),
        sa.Column("walked_seq", sa.BigInteger(), nullable=False),
        sa.Column("walked_hash", sa.String(length=64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active"),
    )


def _upgrade_postgresql() -> None:
    """In place: a bigserial ``id`` filled from ``seq``, then the keys and NULLs move."""
    op.add_column("custodyevent", sa.Column("id", sa.BigInteger(), nullable=True))
    op.execute("UPDATE custodyevent SET id = seq")
    op.execute("CREATE SEQUENCE custodyevent_id_seq OWNED BY custodyevent.id")
    op.execute(
        "SELECT setval('custodyevent_id_seq', COALESCE((SELECT max(id) FROM custodyevent), 0)"
        " + 1, false)"
    )
    op.execute(
        "ALTER TABLE custodyevent ALTER COLUMN id SET DEFAULT nextval('custodyevent_id_seq')"
    )
    op.alter_column("custodyevent", "id", nullable=False)
    op.drop_constraint("custodyevent_pkey", "custodyevent", type_="primary")
    op.create_primary_key("custodyevent_pkey", "custodyevent", ["id"])
    for column in ("seq", "prev_hash", "hash"):
        op.alter_column("custodyevent", column, nullable=True)
    _create_event_indexes(evidence_index=False)


def _upgrade_sqlite() -> None:
    """A copy (SQLite cannot change a primary key in place): ``id`` is the copy's rowid."""
    op.create_table(
        "_custodyevent_0004",
        *_event_columns(sequenced=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
    )
    op.execute(
        f"INSERT INTO _custodyevent_0004 (id, seq, {_COPIED})"
        f" SELECT seq, seq, {_COPIED} FROM custodyevent ORDER BY seq"
    )
    op.drop_table("custodyevent")
    op.rename_table("_custodyevent_0004", "custodyevent")
    _create_event_indexes(evidence_index=True)


def _create_event_indexes(*, evidence_index: bool) -> None:
    with op.batch_alter_table("custodyevent", schema=None) as batch_op:
        if evidence_index:
            batch_op.create_index("ix_custody_evidence_seq", ["evidence_id", "seq"], unique=False)
        batch_op.create_index("ux_custody_seq", ["seq"], unique=True)
        batch_op.create_index(
            "ix_custody_pending",
            ["id"],
            unique=False,
            postgresql_where=_PENDING,
            sqlite_where=_PENDING,
        )


def downgrade() -> None:
    pending = op.get_bind().execute(sa.text("SELECT count(*) FROM custodyevent WHERE seq IS NULL"))
    if pending.scalar():
        raise RuntimeError(
            "custody events are pending: chain them first (run `evidence worker` a moment, or "
            "GET /api/v1/custody/verify), then downgrade"
        )
    op.drop_table("custodyverifyjob")
    op.drop_table("custodycheckpoint")
    with op.batch_alter_table("custodyevent", schema=None) as batch_op:
        batch_op.drop_index("ix_custody_pending")
        batch_op.drop_index("ux_custody_seq")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("custodyevent_pkey", "custodyevent", type_="primary")
        for column in ("seq", "prev_hash", "hash"):
            op.alter_column("custodyevent", column, nullable=False)
        op.create_primary_key("custodyevent_pkey", "custodyevent", ["seq"])
        op.drop_column("custodyevent", "id")  # and its owned sequence
        return
    op.create_table(
        "_custodyevent_0003",
        *_event_columns(sequenced=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("hash"),
    )
    op.execute(
        f"INSERT INTO _custodyevent_0003 (seq, {_COPIED})"
        f" SELECT seq, {_COPIED} FROM custodyevent ORDER BY seq"
    )
    op.drop_table("custodyevent")
    op.rename_table("_custodyevent_0003", "custodyevent")
    with op.batch_alter_table("custodyevent", schema=None) as batch_op:
        batch_op.create_index("ix_custody_evidence_seq", ["evidence_id", "seq"], unique=False)
