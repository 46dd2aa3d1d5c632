"""The supervision module's own tables (``supervision_`` prefix), on their own ``MetaData``.

They share the core's database but not its ``SQLModel.metadata`` or its Alembic chain: the
core's migrations and schema check never see them, and this module's chain
(``migrations/``, version table ``supervision_alembic_version``) never sees the core's.
Written in SQLAlchemy Core, which the ingest path uses for batched upserts.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from evidence_service.modules.kit.db import UTCDateTime

metadata = MetaData()

#: The stages of an enforcement record, in the order the law usually runs them, with the
#: Chinese name each is known by; each has a nullable date column ``<stage>_on``.
STAGES: dict[str, str] = {
    "filing": "立案",
    "investigation": "调查",
    "preservation": "先行登记保存",
    "preservation_decision": "保存处理决定",
    "notice": "告知",
    "hearing": "听证",
    "legal_review": "法制审核",
    "decision": "决定",
    "service": "送达",
    "execution": "执行",
    "closing": "结案",
}
KINDS = ("complaint", "permit", "inspection", "penalty", "reconsideration")
PROCEDURES = ("simple", "general")
PARTY_KINDS = ("person", "organisation")
LINK_ROLES = ("evidence", "document")  # evidence ids; documentary captures the record cites

batch = Table(
    "supervision_batch",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("ingested_by", String(26), nullable=False),  # the core officer id
    Column("format", String(8), nullable=False),  # json | csv | demo
    Column("records", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

record = Table(
    "supervision_record",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("batch_id", String(26), ForeignKey("supervision_batch.id"), nullable=False),
    Column("department_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("case_number", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("region", String(64), nullable=True),
    Column("city", String(64), nullable=False),
    Column("procedure", String(8), nullable=False),
    Column("party_kind", String(16), nullable=True),
    Column("party_digest", String(64), nullable=True, index=True),
    Column("party_masked", String(32), nullable=True),
    # amounts in fen (分, 1/100 yuan), exact on every database
    Column("notified_fen", BigInteger, nullable=True),
    Column("decided_fen", BigInteger, nullable=True),
    Column("core_case_id", String(64), nullable=True),
    *(Column(f"{stage}_on", Date, nullable=True) for stage in STAGES),
    # when the act happened (行政处罚法 art. 36: found more than two years later, time-barred)
    Column("occurred_on", Date, nullable=True),
    # whether the party was told of a right to a hearing (art. 63); None: not said
    Column("hearing_offered", Boolean, nullable=True),
    # demo data only: the codes of the problems planted in the record (SQL NULL when clean)
    Column("planted", JSON(none_as_null=True), nullable=True),
    Column("ingested_by", String(26), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("department_id", "case_number", "kind", name="uq_supervision_record_key"),
    Index("ix_supervision_record_dept_id", "department_id", "id"),
    Index("ix_supervision_record_city", "city"),
    Index("ix_supervision_record_filing_on", "filing_on"),
    Index("ix_supervision_record_updated_at", "updated_at"),  # incremental model runs
)

record_officer = Table(
    "supervision_record_officer",
    metadata,
    Column("record_id", String(26), ForeignKey("supervision_record.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("cert_no", String(32), nullable=True),  # 执法证号
)

record_link = Table(
    "supervision_record_link",
    metadata,
    Column("record_id", String(26), ForeignKey("supervision_record.id"), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("evidence_id", String(64), primary_key=True),
    Index("ix_supervision_record_link_evidence", "evidence_id"),
)


# ------------------------------------------------------------------ 执法证 register

#: The enforcement-certificate register (执法证): who holds which number, valid when. A core
#: officer id ties a holder to the officer who captures in the core (optional: most holders
#: in the records are known only by name and number).
certificate = Table(
    "supervision_certificate",
    metadata,
    Column("cert_no", String(32), primary_key=True),
    Column("holder", String(100), nullable=False),
    Column("department_id", String(64), nullable=False),
    Column("officer_id", String(26), nullable=True, index=True),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=False),
    Column("revoked_on", Date, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_supervision_certificate_dept", "department_id"),
)

# ------------------------------------------------------------------ read models of the core

#: Where each core feed was last read to, per scope: ``<feed>@all`` for a caller who sees
#: every department (an auditor), ``<feed>@<department id>`` for a department's own reading.
sync = Table(
    "supervision_sync",
    metadata,
    Column("feed", String(64), primary_key=True),
    Column("cursor", String(64), nullable=False),
    Column("synced_at", UTCDateTime(), nullable=False),
)

#: The core's evidence metadata, as its feed gives it (``GET /api/v1/feeds/evidence``).
evidence = Table(
    "supervision_evidence",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("department_id", String(64), nullable=False),
    Column("officer_id", String(26), nullable=True),
    Column("port", String(32), nullable=False),
    Column("captured_at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("signed", Boolean, nullable=False),
    Column("anchored_at", UTCDateTime(), nullable=True),
    Column("synced_at", UTCDateTime(), nullable=False),
    Index("ix_supervision_evidence_officer", "officer_id", "captured_at"),
    Index("ix_supervision_evidence_synced", "synced_at"),
)

#: An item's links to core cases, with the purpose given on the evidence list ("" if none).
evidence_case = Table(
    "supervision_evidence_case",
    metadata,
    Column("evidence_id", String(64), primary_key=True),
    Column("case_id", String(64), primary_key=True),
    Column("purpose", String(1000), nullable=False),
)

#: The core's refused-request log (``GET /api/v1/feeds/refusals``).
refusal = Table(
    "supervision_refusal",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor_id", String(26), nullable=True, index=True),
    Column("department_id", String(64), nullable=True),
    Column("route", String(200), nullable=False),
    Column("status", Integer, nullable=False),
    Column("count", Integer, nullable=False),
    Column("synced_at", UTCDateTime(), nullable=False),
)

#: The core's transfers between departments (sent, accepted or rejected).
transfer = Table(
    "supervision_transfer",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("from_department_id", String(64), nullable=False),
    Column("to_department_id", String(64), nullable=False),
    Column("to_kind", String(16), nullable=True),  # the receiving department's kind (court…)
    Column("status", String(16), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=False),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("evidence_ids", JSON, nullable=False),
    Column("synced_at", UTCDateTime(), nullable=False),
)

# ------------------------------------------------------------------ clue centre

#: One run of the problem models (on schedule or on demand).
run = Table(
    "supervision_run",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("trigger", String(16), nullable=False),  # schedule | demand
    Column("mode", String(16), nullable=False),  # full | incremental
    Column("models", JSON, nullable=False),  # the codes run
    Column("started_by", String(26), nullable=True),  # a core officer id (None: the schedule)
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    Column("status", String(16), nullable=False),  # running | done | failed
    Column("hits", Integer, nullable=False, default=0),
    Column("opened", Integer, nullable=False, default=0),
    Column("closed", Integer, nullable=False, default=0),
    Column("error", String(500), nullable=True),
)

#: A problem a model found: one per (model, subject); it closes itself when the cause is gone
#: and opens again if it comes back.
clue = Table(
    "supervision_clue",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("model", String(64), nullable=False),
    Column("subject", String(200), nullable=False),  # what the clue is about, per model
    Column("department_id", String(64), nullable=False),
    Column("severity", String(8), nullable=False),  # high | medium | low
    Column("status", String(8), nullable=False),  # open | closed
    Column("summary", String(500), nullable=False),
    Column("facts", JSON, nullable=False),  # the figures that made the hit (dates, amounts…)
    Column("first_run_id", String(26), nullable=False),
    Column("last_run_id", String(26), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime(), nullable=True),
    UniqueConstraint("model", "subject", name="uq_supervision_clue_subject"),
    Index("ix_supervision_clue_status_dept", "status", "department_id", "id"),
)

#: What a clue rests on, linked never copied: ``record``, ``evidence``, ``officer``,
#: ``certificate``, ``party`` (an HMAC digest), ``transfer``, ``case``.
clue_link = Table(
    "supervision_clue_link",
    metadata,
    Column("clue_id", String(26), ForeignKey("supervision_clue.id"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("ref", String(64), primary_key=True),
    Index("ix_supervision_clue_link_ref", "kind", "ref"),
)

# ------------------------------------------------------------------ disposal centre

#: A clue's disposal, by one of three procedures (general, simple, warning).
disposal = Table(
    "supervision_disposal",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("clue_id", String(26), ForeignKey("supervision_clue.id"), nullable=False, unique=True),
    Column("procedure", String(8), nullable=False),
    Column("state", String(16), nullable=False),
    Column("department_id", String(64), nullable=False),  # the supervised department
    Column("assignee_id", String(26), nullable=True),
    Column("due_on", Date, nullable=True),  # the current step's deadline
    Column("opened_by", String(26), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime(), nullable=True),
    Column("outcome", String(500), nullable=True),
    # the sealed supervision notice and its delivery through the core
    Column("notice_evidence_id", String(64), nullable=True),
    Column("notice_sha256", String(64), nullable=True),
    Column("notice_seal", JSON, nullable=True),
    Column("notice_transfer_id", String(64), nullable=True),
    # the department's written rectification report, come back the same way
    Column("reply_transfer_id", String(64), nullable=True),
    Column("reply_evidence_id", String(64), nullable=True),
    Column("version", Integer, nullable=False),
    Index("ix_supervision_disposal_state", "state", "due_on"),
)

#: Every step of a disposal, in order.
disposal_step = Table(
    "supervision_disposal_step",
    metadata,
    Column("disposal_id", String(26), ForeignKey("supervision_disposal.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor_id", String(26), nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_state", String(16), nullable=True),
    Column("to_state", String(16), nullable=False),
    Column("note", String(2000), nullable=False),
    Column("details", JSON, nullable=False),
)

# ------------------------------------------------------------------ case-file review

#: One review of a record's case file against its kind's checklist.
review = Table(
    "supervision_review",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("record_id", String(26), ForeignKey("supervision_record.id"), nullable=False),
    Column("checklist", String(32), nullable=False),
    Column("status", String(8), nullable=False),  # draft | final
    Column("vetoed", Boolean, nullable=False),
    Column("score", Integer, nullable=False),  # 0 when vetoed
    Column("grade", String(16), nullable=True),  # 优秀 / 合格 / 不合格 when final
    Column("reviewer_id", String(26), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("finalized_by", String(26), nullable=True),
    Column("finalized_at", UTCDateTime(), nullable=True),
    # the sealed result document, captured in the core
    Column("result_evidence_id", String(64), nullable=True),
    Column("result_sha256", String(64), nullable=True),
    Column("result_seal", JSON, nullable=True),
    # the names printed on the result (reviewed department, office, reviewer), kept so the
    # same bytes can be rendered again whatever is renamed later
    Column("result_names", JSON, nullable=True),
    Index("ix_supervision_review_record", "record_id"),
)

#: One checklist item of a review: decided from the data (``auto``) or by the reviewer.
review_item = Table(
    "supervision_review_item",
    metadata,
    Column("review_id", String(26), ForeignKey("supervision_review.id"), primary_key=True),
    Column("code", String(32), primary_key=True),
    Column("auto", Boolean, nullable=False),
    Column("passed", Boolean, nullable=True),  # None: not decided yet
    Column("deducted", Integer, nullable=False),  # points taken off (scored items)
    Column("note", String(1000), nullable=False),
    Column("decided_by", String(26), nullable=True),  # a core officer id (None: the data)
    Column("decided_at", UTCDateTime(), nullable=True),
)

# ------------------------------------------------------------------ cockpit

#: The cockpit's summary (indicators.py): per level, department, key and month of 立案, the
#: counts each indicator's ratio is made of; rebuilt whole by ``refresh_summary``.
cockpit_cell = Table(
    "supervision_cockpit_cell",
    metadata,
    Column("level", String(16), primary_key=True),  # department | region | city | officer
    Column("department_id", String(64), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),  # YYYY-MM ("" when no date)
    Column("records", Integer, nullable=False),
    Column("decided", Integer, nullable=False),
    Column("timely", Integer, nullable=False),
    Column("clued", Integer, nullable=False),
    Column("evidence", Integer, nullable=False),
    Column("evidence_complete", Integer, nullable=False),
    Column("disposals", Integer, nullable=False),
    Column("corrected", Integer, nullable=False),
    Column("reviews", Integer, nullable=False),
    Column("review_points", Integer, nullable=False),
)

#: When the cockpit's summary was last rebuilt (one row, ``id`` 1).
cockpit_refresh = Table(
    "supervision_cockpit_refresh",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("refreshed_at", UTCDateTime(), nullable=False),
    Column("cells", Integer, nullable=False),
)
