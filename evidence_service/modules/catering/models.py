"""The catering module's own tables (``catering_`` prefix), on their own ``MetaData``.

They share the core's database but not its ``SQLModel.metadata`` or its Alembic chain (the
module's chain is ``migrations/``, version table ``catering_alembic_version``). Written in
SQLAlchemy Core, as the other modules' are.

- ``catering_restaurant``: the registry (一户一档), one row per restaurant;
- ``catering_device``: a monitor reporting HJ 212 frames, known by its MN, with the hash of
  its password (PW), its CRC variant and, when registered, its Ed25519 key; it keeps the last
  accepted QN (frames must come in order) and the alarm rules' state;
- ``catering_rejection``: refused frames counted per device and reason (never silently
  dropped); frames naming no known device are counted under ``UNKNOWN_MN``;
- ``catering_reading``: accepted readings, one row per device, time and factor, kept for
  ``CateringConfig.readings_keep_days``;
- ``catering_hour``: one row per device-hour with readings: its evidence item once captured;
- ``catering_alarm``: what the alarm rules opened, with the span of readings that proves it;
- ``catering_inspection``: an on-site inspection's findings and food-safety score;
- ``catering_problem``: the problem list (一份问题清单), from alarms and inspections, rectified
  by the restaurant (``catering_restaurant_key``) and escalated by transfer;
- ``catering_feedback``: the public's feedback from the QR page, moderated before it shows.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from evidence_service.modules.kit.db import UTCDateTime

metadata = MetaData()

#: The ``mn`` under which frames naming no registered device are counted.
UNKNOWN_MN = "*"
DEVICE_KINDS = ("oil_fume", "grease_trap", "gas")
#: open → captured (the hour's evidence item exists) | failed (the core refused; retried)
HOUR_STATES = ("open", "captured", "failed")
ALARM_STATES = ("open", "cleared")

restaurant = Table(
    "catering_restaurant",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("credit_code", String(18), nullable=False, unique=True),  # 统一社会信用代码
    Column("licence_no", String(64), nullable=True),  # 食品经营许可证编号
    Column("address", String(300), nullable=True),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("burners", Float, nullable=False),  # 基准灶头数 (GB 18483 Table 1)
    Column("size_class", String(8), nullable=False),  # small | medium | large
    Column("seats", Integer, nullable=True),
    Column("purifier_model", String(120), nullable=True),
    Column("purifier_efficiency", Float, nullable=True),  # rated removal efficiency, percent
    Column("department_id", String(64), nullable=False),  # the core department in charge
    Column("licensed_on", String(10), nullable=True),  # ISO date of the licence
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

device = Table(
    "catering_device",
    metadata,
    Column("mn", String(27), primary_key=True),  # HJ 212 MN, at most 27 characters
    Column("restaurant_id", String(26), ForeignKey("catering_restaurant.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # DEVICE_KINDS
    Column("password_sha256", String(64), nullable=False),  # of the frame's PW
    Column("crc", String(8), nullable=False, default="hj212"),  # hj212 | modbus
    Column("public_key", String(64), nullable=True),  # Ed25519, base64 of the 32 raw bytes
    Column("last_qn", String(20), nullable=True),
    Column("last_frame_at", UTCDateTime(), nullable=True),  # the last accepted frame's DataTime
    Column("last_seen_at", UTCDateTime(), nullable=True),  # when it was received
    Column("accepted", Integer, nullable=False, default=0),
    Column("rules_state", JSON, nullable=True),  # the alarm rules' state (alarms.DeviceState)
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_catering_device_restaurant", "restaurant_id"),
)

rejection = Table(
    "catering_rejection",
    metadata,
    Column("mn", String(27), primary_key=True),  # UNKNOWN_MN for frames naming no device
    Column("reason", String(32), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("last_at", UTCDateTime(), nullable=False),
)

reading = Table(
    "catering_reading",
    metadata,
    Column("mn", String(27), primary_key=True),
    Column("data_time", UTCDateTime(), primary_key=True),
    Column("code", String(16), primary_key=True),
    Column("statistic", String(8), primary_key=True),  # Rtd, Avg, Min, Max, ZsRtd, Cou …
    Column("value", Float, nullable=False),
    Column("text", String(32), nullable=False),  # the value exactly as the frame wrote it
    Column("flag", String(1), nullable=True),
    Column("qn", String(20), nullable=False),  # the frame it came in
    Index("ix_catering_reading_time", "data_time"),
)

hour = Table(
    "catering_hour",
    metadata,
    Column("mn", String(27), primary_key=True),
    Column("hour_start", UTCDateTime(), primary_key=True),
    Column("state", String(10), nullable=False, default="open"),
    Column("readings", Integer, nullable=False, default=0),
    Column("sha256", String(64), nullable=True),  # of the latest captured document
    Column("evidence_id", String(26), nullable=True),  # the latest captured item
    # every item captured for the hour, oldest first: readings arriving after a capture
    # (a monitor resending its buffer after an outage) reopen the hour, and the next capture
    # is a new item naming the one it supersedes
    Column("evidence_ids", JSON, nullable=False, default=list),
    Column("error", Text, nullable=True),
    Column("captured_at", UTCDateTime(), nullable=True),
    Index("ix_catering_hour_state", "state"),
)

alarm = Table(
    "catering_alarm",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("mn", String(27), ForeignKey("catering_device.mn"), nullable=False),
    Column("restaurant_id", String(26), ForeignKey("catering_restaurant.id"), nullable=False),
    Column("kind", String(32), nullable=False),  # alarms.ALARM_KINDS
    Column("factor", String(16), nullable=True),  # the factor code of a value rule
    Column("state", String(8), nullable=False),  # ALARM_STATES
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("cleared_at", UTCDateTime(), nullable=True),
    Column("value", Float, nullable=True),
    Column("limit_value", Float, nullable=True),
    Column("span_from", UTCDateTime(), nullable=True),  # the readings that prove it
    Column("span_to", UTCDateTime(), nullable=True),
    Column("detail", JSON, nullable=True),
    Column("raised_at", UTCDateTime(), nullable=False),  # when the service raised it
    Column("signalled", Boolean, nullable=False, default=False),  # posted to joint inspection
    Index("ix_catering_alarm_device", "mn", "kind", "state"),
    Index("ix_catering_alarm_restaurant", "restaurant_id", "state"),
)

#: open → closed (rectified: 销号) → open again when the cause returns (``reopened`` counts)
PROBLEM_STATES = ("open", "closed")
PROBLEM_SOURCES = ("alarm", "inspection")
#: None → queued (an alarm's problem open past its deadline: for a reviewer) → transferred
ESCALATIONS = ("queued", "transferred")
FEEDBACK_STATES = ("pending", "published", "rejected")

inspection = Table(
    "catering_inspection",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("restaurant_id", String(26), ForeignKey("catering_restaurant.id"), nullable=False),
    Column("inspected_on", String(10), nullable=False),  # ISO date, Asia/Shanghai
    Column("officer_id", String(26), nullable=False),
    Column("department_id", String(64), nullable=False),
    # [{"item", "points", "critical", "note"}]: what was found, points deducted (index.py)
    Column("findings", JSON, nullable=False),
    Column("incident", Boolean, nullable=False, default=False),  # a food-safety incident
    Column("score", Float, nullable=False),  # food-safety score of this inspection
    Column("grade", String(8), nullable=False),  # the dynamic grade posted (or 不评级)
    Column("evidence_ids", JSON, nullable=False),  # the officer's evidence in the core
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_catering_inspection_restaurant", "restaurant_id", "inspected_on"),
)

problem = Table(
    "catering_problem",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("restaurant_id", String(26), ForeignKey("catering_restaurant.id"), nullable=False),
    Column("source", String(12), nullable=False),  # PROBLEM_SOURCES
    Column("kind", String(32), nullable=False),  # the alarm kind, or "inspection"
    Column("alarm_id", String(26), ForeignKey("catering_alarm.id"), nullable=True),
    Column("inspection_id", String(26), ForeignKey("catering_inspection.id"), nullable=True),
    Column("title", String(200), nullable=False),
    Column("state", String(8), nullable=False),  # PROBLEM_STATES
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),  # rectify by
    Column("reopened", Integer, nullable=False, default=0),
    Column("closed_at", UTCDateTime(), nullable=True),
    # the restaurant's rectification (销号), captured through the core: its evidence id
    Column("rectification_evidence_id", String(26), nullable=True),
    Column("rectification_note", Text, nullable=True),
    Column("escalation", String(12), nullable=True),  # ESCALATIONS
    Column("transfer_id", String(26), nullable=True),  # the core's transfer
    Column("transferred_by", String(26), nullable=True),
    Column("transferred_at", UTCDateTime(), nullable=True),
    # a penalty decided on it (no personal data): {"decision_no", "decided_on", "amount_yuan"}
    Column("penalty", JSON, nullable=True),
    Index("ix_catering_problem_restaurant", "restaurant_id", "state"),
    Index("ix_catering_problem_kind", "restaurant_id", "kind", "state"),
)

#: A restaurant's key for its rectifications (the restaurant is a module account, not a
#: core role): only its SHA-256 is kept; the registering officer hands the key over.
restaurant_key = Table(
    "catering_restaurant_key",
    metadata,
    Column("restaurant_id", String(26), ForeignKey("catering_restaurant.id"), primary_key=True),
    Column("key_sha256", String(64), nullable=False, unique=True),
    Column("issued_by", String(26), nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
)

feedback = Table(
    "catering_feedback",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("restaurant_id", String(26), ForeignKey("catering_restaurant.id"), nullable=False),
    Column("text", String(500), nullable=False),
    Column("rating", Integer, nullable=True),  # 1–5 stars, optional
    Column("state", String(10), nullable=False),  # FEEDBACK_STATES
    Column("sender", String(64), nullable=False),  # a keyed hash of the address (rate limit)
    Column("created_at", UTCDateTime(), nullable=False),
    Column("moderated_by", String(26), nullable=True),
    Column("moderated_at", UTCDateTime(), nullable=True),
    Index("ix_catering_feedback_restaurant", "restaurant_id", "state"),
    Index("ix_catering_feedback_sender", "sender", "created_at"),
)
