"""The joint-inspection module's own tables (``inspection_`` prefix), on their own ``MetaData``.

They share the core's database but not its ``SQLModel.metadata`` or its Alembic chain (the
module's chain is ``migrations/``, version table ``inspection_alembic_version``). Written in
SQLAlchemy Core, as the supervision module's are.

- ``inspection_department``: how the core's departments map onto the scenario library's
  department kinds (市场监管, 消防 …), and which of them coordinates (the 综合执法 office);
- ``inspection_enterprise`` / ``inspection_inspector``: the directory and roster (一户一档);
- ``inspection_signal``: what is known about an enterprise (12345, grid, IoT alarm …), and
  ``inspection_warning``: a score that crossed the threshold, with the signals that caused it;
- ``inspection_task`` with its departments, check items and inspectors: one joint visit,
  agreed in an online consultation (线上磋商);
- ``inspection_draw``: a double-random draw, from its commitment to its published DRAW.json.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from evidence_service.modules.kit.db import UTCDateTime

metadata = MetaData()

WARNING_STATES = ("open", "tasked", "resolved", "dismissed")
TASK_ORIGINS = ("warning", "plan", "draw")
#: consulting: departments join, add or drop items, agree a date; scheduled: every department
#: agreed the same date; visited → recorded (the co-signed record anchored) → closed; cancelled.
TASK_STATES = ("consulting", "scheduled", "visited", "recorded", "closed", "cancelled")
#: planned → committed (anchored, waiting for the target block) → published | void | failed
DRAW_STATES = ("planned", "committed", "published", "void", "failed")

department = Table(
    "inspection_department",
    metadata,
    Column("department_id", String(64), primary_key=True),  # the core's department id
    Column("name", String(200), nullable=True),  # as the core named it when mapped (public)
    # the scenario library's department kind (scenarios.DEPARTMENT_KINDS); None: coordinates only
    Column("kind", String(32), nullable=True),
    Column("coordinator", Boolean, nullable=False, default=False),
    Column("updated_by", String(26), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

enterprise = Table(
    "inspection_enterprise",
    metadata,
    Column("credit_code", String(18), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("address", String(500), nullable=False),
    Column("industry", String(500), nullable=False),
    Column("scale", String(8), nullable=False),
    Column("risk_class", String(16), nullable=False, index=True),
    # characters 3–8 of the credit code: the registering authority's GB/T 2260 region
    Column("region", String(6), nullable=False, index=True),
    Column("longitude", Float, nullable=True),
    Column("latitude", Float, nullable=True),
    Column("imported_at", UTCDateTime(), nullable=False),
)

inspector = Table(
    "inspection_inspector",
    metadata,
    Column("officer_id", String(64), primary_key=True),
    Column("department_id", String(64), nullable=False, index=True),
    Column("cert_no", String(64), nullable=False, unique=True),
    Column("specialities", JSON, nullable=False),
    Column("conflicts", JSON, nullable=False),  # credit codes
    Column("imported_at", UTCDateTime(), nullable=False),
)

signal = Table(
    "inspection_signal",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("credit_code", String(18), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("severity", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    # who reports it (e.g. "12345", "grid", "catering") and its own id there: re-posting the
    # same (source, ref) changes nothing
    Column("source", String(64), nullable=False),
    Column("ref", String(128), nullable=False),
    Column("note", String(500), nullable=True),
    Column("posted_by", String(26), nullable=False),  # the core officer id
    Column("received_at", UTCDateTime(), nullable=False),
    UniqueConstraint("source", "ref", name="uq_inspection_signal_source_ref"),
    Index("ix_inspection_signal_enterprise_at", "credit_code", "at"),
)

warning = Table(
    "inspection_warning",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("credit_code", String(18), nullable=False, index=True),
    Column("state", String(12), nullable=False, index=True),
    Column("score", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    # the strongest signals when it opened: [{signal_id, kind, at, severity, points}]
    Column("contributions", JSON, nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("task_id", String(26), nullable=True),
    Column("closed_note", String(500), nullable=True),
)

task = Table(
    "inspection_task",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("credit_code", String(18), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("origin", String(8), nullable=False),
    Column("warning_id", String(26), nullable=True),
    Column("draw_id", String(64), nullable=True),
    Column("scenario", String(64), nullable=False),
    Column("state", String(12), nullable=False, index=True),
    # the year (Asia/Shanghai) whose annual cap the task counts against
    Column("year", Integer, nullable=False),
    Column("planned_on", Date, nullable=True),  # the agreed date, once every department agrees
    Column("lead_department", String(64), nullable=False),
    Column("created_by", String(26), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("cancel_reason", String(500), nullable=True),  # why the office cancelled it
    Index("ix_inspection_task_enterprise_year", "credit_code", "year"),
)

task_department = Table(
    "inspection_task_department",
    metadata,
    Column("task_id", String(26), ForeignKey("inspection_task.id"), primary_key=True),
    Column("department_id", String(64), primary_key=True),
    Column("joined_by", String(26), nullable=False),
    Column("joined_at", UTCDateTime(), nullable=False),
    Column("proposed_on", Date, nullable=True),  # the date this department agrees to
)

task_item = Table(
    "inspection_task_item",
    metadata,
    Column("task_id", String(26), ForeignKey("inspection_task.id"), primary_key=True),
    Column("item_code", String(64), primary_key=True),
    Column("department_id", String(64), nullable=False),  # who checks it on the visit
    Column("included", Boolean, nullable=False),
    Column("changed_by", String(26), nullable=False),
    Column("changed_at", UTCDateTime(), nullable=False),
)

task_inspector = Table(
    "inspection_task_inspector",
    metadata,
    Column("task_id", String(26), ForeignKey("inspection_task.id"), primary_key=True),
    Column("officer_id", String(64), primary_key=True),
    Column("department_id", String(64), nullable=False),
    Column("drawn", Boolean, nullable=False),  # chosen by a draw, not named by a department
)

draw = Table(
    "inspection_draw",
    metadata,
    Column("id", String(64), primary_key=True),  # the commitment's draw_id
    Column("task", String(200), nullable=False),  # the commitment's task label
    Column("state", String(10), nullable=False, index=True),
    Column("commitment", JSON, nullable=False),
    Column("left_out", JSON, nullable=False),  # [[credit code, reason]]
    Column("target_block", Integer, nullable=False),
    # the commitment's digest (docs/draw-format.md §2), shown in every list
    Column("inputs_digest", String(64), nullable=True),
    # what the drawn enterprises' tasks are for: their scenario and lead department
    Column("scenario", String(64), nullable=True),
    Column("lead_department", String(64), nullable=True),
    Column("anchor_id", String(64), nullable=True),  # the core's anchored document
    Column("document", JSON, nullable=True),  # DRAW.json once published (void ones too)
    Column("error", Text, nullable=True),  # why a draw failed before it was committed
    Column("created_by", String(26), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("published_at", UTCDateTime(), nullable=True),
)

# -- the visit (one visit, shared evidence, one signed record) and its follow-up

FINDING_RESULTS = ("compliant", "non_compliant", "not_applicable")
FOLLOW_UPS = ("none", "rectification", "penalty")
#: signing: the co-signature is requested; signed: every department approved (the BLS
#: aggregate exists) and the record is published; declined / expired: the core's answer.
RECORD_STATES = ("signing", "signed", "declined", "expired")

finding = Table(
    "inspection_finding",
    metadata,
    Column("task_id", String(26), ForeignKey("inspection_task.id"), primary_key=True),
    Column("item_code", String(64), primary_key=True),
    Column("department_id", String(64), nullable=False),
    Column("result", String(16), nullable=False),
    Column("note", String(1000), nullable=True),
    Column("evidence_ids", JSON, nullable=False),  # captured through the core's ports
    Column("follow_up", String(16), nullable=False),
    Column("recorded_by", String(26), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)

share = Table(
    "inspection_share",
    metadata,
    Column("task_id", String(26), ForeignKey("inspection_task.id"), primary_key=True),
    Column("evidence_id", String(26), primary_key=True),
    Column("to_department", String(64), primary_key=True),
    Column("from_department", String(64), nullable=False),
    Column("transfer_id", String(26), nullable=False),  # the core's transfer
    Column("shared_by", String(26), nullable=False),
    Column("shared_at", UTCDateTime(), nullable=False),
)

record = Table(
    "inspection_record",
    metadata,
    Column("task_id", String(26), ForeignKey("inspection_task.id"), primary_key=True),
    Column("evidence_id", String(26), nullable=False),  # the record as captured in the core
    Column("digest", String(64), nullable=False),  # SHA-256 of the record's bytes
    Column("cosignature_id", String(26), nullable=False),
    Column("state", String(10), nullable=False),
    Column("document", JSON, nullable=False),  # what is published: no personal data
    Column("requested_by", String(26), nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("signed_at", UTCDateTime(), nullable=True),
)

follow_up = Table(
    "inspection_follow_up",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("task_id", String(26), ForeignKey("inspection_task.id"), nullable=False, index=True),
    Column("item_code", String(64), nullable=False),
    Column("department_id", String(64), nullable=False, index=True),
    Column("credit_code", String(18), nullable=False),
    Column("kind", String(16), nullable=False),  # rectification | penalty
    Column("state", String(8), nullable=False),  # open | closed
    Column("core_case_id", String(26), nullable=True),  # the penalty case, once opened
    Column("due_on", Date, nullable=True),
    Column("note", String(1000), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime(), nullable=True),
    Column("closed_by", String(26), nullable=True),
    UniqueConstraint("task_id", "item_code", name="uq_inspection_follow_up_item"),
)
