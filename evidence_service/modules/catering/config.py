"""What the app hands the catering module: it reads no core settings itself.

Numbers that differ by locality are here with their defaults (``docs/modules/catering.md``):
the alarm limits (:class:`~.limits.Limits`), how long minute readings are kept, where the
factor table comes from, and the MQTT broker the monitors publish to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evidence_service.modules.catering.limits import Limits


@dataclass(frozen=True)
class CateringConfig:
    """``db_url``: the database the module's tables live in (the core's by default);
    ``core_base_url``: the core's URL when the module runs as a separate deployment (None: in
    the same process, through the ASGI app); ``service_token``: the module's service identity
    in the core (a service token of an officer of the department that runs the platform),
    with which each device-hour is captured; None: readings are kept but not captured."""

    db_url: str
    #: Keys the hash of a feedback sender's address (rate limits without keeping addresses):
    #: the core's PII secret, as the supervision module's party digests.
    pii_secret: bytes = b""
    core_base_url: str | None = None
    service_token: str | None = None
    #: The broker the monitors publish to (``catering/<MN>/hj212`` and ``…/hj212s``); None:
    #: frames come over HTTP only.
    mqtt_host: str | None = None
    mqtt_port: int = 1883
    mqtt_topic_prefix: str = "catering"
    #: The subscriber's client id, stable across restarts so the broker keeps its session
    #: (None: ``evidence-catering-<host name>``; replicas need one each).
    mqtt_client_id: str | None = None
    #: Keep the session while disconnected (frames published meanwhile wait in the broker).
    mqtt_persistent: bool = True
    #: The alarm rules' limits (GB 18483 and the locality's).
    limits: Limits = field(default_factory=Limits)
    #: A replacement factor table (JSON, ``factors.py``); None: the shipped one.
    factors_file: Path | None = None
    #: Days a restaurant has to rectify a problem (问题整改期限; this project's default).
    rectify_days: int = 7
    #: The comprehensive enforcement department problems are transferred to (its code or id
    #: in the core); None: the reviewer names it with each transfer.
    enforcement_department: str | None = None
    #: Days minute readings stay queryable (the hour documents stay as evidence for good).
    readings_keep_days: int = 3 * 365
    #: Seconds after an hour ends before its readings are captured (late frames still count).
    hour_grace_seconds: int = 120
    #: Seconds between the background rounds (hours captured, offline devices ticked).
    round_seconds: float = 15.0
    #: Frames handled in one transaction at most (MQTT bursts are batched).
    max_batch: int = 500
    #: Items on one page of a list.
    max_page_size: int = 500
    #: The zone DataTime is written in and pages show.
    timezone: str = "Asia/Shanghai"
