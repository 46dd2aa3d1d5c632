"""Frames in: validated, counted, stored as readings, and run through the alarm rules.

Every frame — from MQTT (``catering/<MN>/hj212``, or ``…/hj212s`` with a signed envelope) or
posted over HTTP — goes through :meth:`FrameSink.handle`, in batches, one write transaction per
batch:

1. the envelope of a signed topic is opened (``validation.parse_envelope``); the device is
   found by the topic's MN, or for HTTP by the MN the frame names;
2. ``validation.validate`` judges the frame against the device's registration and the last QN
   accepted from it (the batch's own frames count: QN must rise frame by frame);
3. a refused frame adds one to its device's count for that reason (``catering_rejection``;
   :data:`~.models.UNKNOWN_MN` when no device is known), and a frame from a device that signs
   refused as unsigned or badly signed is fed to the rules as tampering;
4. an accepted frame's numbers become ``catering_reading`` rows, its hour is marked to be
   captured (``catering_hour``), and its readings go through the rules (``alarms.step``):
   alarms opened become ``catering_alarm`` rows, alarms cleared close theirs;
5. the device keeps its last QN, the time of its last frame and the rules' state.

Either the whole batch is written or none of it: a batch that fails is handled again frame by
frame, so one frame that breaks a constraint costs only itself.
"""

from __future__ import annotations

import base64
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, select, update
from sqlalchemy.exc import SQLAlchemyError
from ulid import ULID

from evidence_service.modules.catering import alarms, problems
from evidence_service.modules.catering import models as m
from evidence_service.modules.catering.factors import FactorTable
from evidence_service.modules.catering.hj212 import CrcVariant, FrameError, parse_frame
from evidence_service.modules.catering.hour_batch import hour_of
from evidence_service.modules.catering.limits import Limits
from evidence_service.modules.catering.validation import (
    Accepted,
    DeviceInfo,
    EnvelopeError,
    Rejected,
    parse_envelope,
    validate,
)
from evidence_service.modules.kit.db import dialect_insert, write_transaction

log = logging.getLogger(__name__)

#: The statistic a frame's factor is judged by: the real-time value, else the average.
JUDGED_STATISTICS = ("Rtd", "Avg")
_MN_FIELD = re.compile(rb";MN=([^;]{1,27});")


@dataclass(frozen=True)
class Incoming:
    """One frame as it arrived: ``payload`` is the frame, or a signed envelope when
    ``enveloped`` (the ``hj212s`` topic); ``topic_mn`` is the MN of the MQTT topic (None over
    HTTP, where the frame's own MN names the device)."""

    payload: bytes
    received_at: datetime
    enveloped: bool = False
    topic_mn: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one frame."""

    mn: str | None
    accepted: bool
    reason: str | None = None  # validation's reason when refused
    detail: str | None = None
    readings: int = 0
    alarms: tuple[dict[str, Any], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "mn": self.mn,
            "accepted": self.accepted,
            "reason": self.reason,
            "detail": self.detail,
            "readings": self.readings,
            "alarms": list(self.alarms),
        }


def peek_mn(frame: bytes) -> str | None:
    """The MN a frame names (before it is checked: only to find the device it claims)."""
    found = _MN_FIELD.search(frame[:1100])
    if found is None:
        return None
    try:
        return found.group(1).decode("ascii")
    except UnicodeDecodeError:
        return None


@dataclass
class _Device:
    """A device row being worked on within one batch."""

    row: Any
    info: DeviceInfo
    last_qn: str | None
    state: alarms.DeviceState
    last_frame_at: datetime | None
    accepted: int = 0
    touched: bool = False
    seen_at: datetime | None = None


@dataclass
class _Batch:
    """What one batch will write."""

    readings: list[dict[str, Any]] = field(default_factory=list)
    hours: Counter[tuple[str, datetime]] = field(default_factory=Counter)
    rejections: Counter[tuple[str, str]] = field(default_factory=Counter)
    rejected_at: dict[tuple[str, str], datetime] = field(default_factory=dict)
    events: list[tuple[_Device, alarms.AlarmEvent, datetime]] = field(default_factory=list)


class FrameSink:
    """Judges and stores frames (module docstring); safe to call from several threads."""

    def __init__(
        self,
        engine: Engine,
        *,
        factors: FactorTable,
        limits: Limits,
        roles: dict[str, str],
        rectify_days: int = 7,
    ) -> None:
        self.engine = engine
        self.factors = factors
        self.limits = limits
        #: factor code -> the alarm rules' reading kind (``alarms.READING_KINDS``)
        self.roles = roles
        #: Days a restaurant has to rectify the problem an alarm opens (``problems.py``).
        self.rectify_days = rectify_days

    def handle(self, items: Sequence[Incoming], *, now: datetime | None = None) -> list[Outcome]:
        """Judge and store a batch of frames, in arrival order; one outcome per frame."""
        if not items:
            return []
        now = now or datetime.now(UTC)
        try:
            with write_transaction(self.engine) as conn:
                return self._handle(conn, items, now)
        except SQLAlchemyError:
            if len(items) == 1:
                raise
            log.warning("a batch of %d frames failed; handling them one by one", len(items))
        return [self._one(item, now) for item in items]

    def _one(self, item: Incoming, now: datetime) -> Outcome:
        try:
            with write_transaction(self.engine) as conn:
                return self._handle(conn, [item], now)[0]
        except SQLAlchemyError as exc:
            log.exception("a frame could not be stored")
            return Outcome(None, False, "store-failed", str(exc)[:200])

    # -- the batch ------------------------------------------------------------------------------
    def _handle(self, conn: Connection, items: Sequence[Incoming], now: datetime) -> list[Outcome]:
        opened: list[tuple[Incoming, bytes | None, bytes | None, str | None, Rejected | None]] = []
        for item in items:
            if item.enveloped:
                try:
                    frame, signature = parse_envelope(item.payload)
                except EnvelopeError as exc:
                    rejected = Rejected(exc.reason, exc.detail)
                    opened.append((item, None, None, item.topic_mn, rejected))
                    continue
            else:
                frame, signature = item.payload, None
            opened.append((item, frame, signature, item.topic_mn or peek_mn(frame), None))
        devices = self._devices(conn, {mn for *_, mn, _ in opened if mn})
        batch = _Batch()
        outcomes = [
            self._judge(batch, devices.get(mn) if mn else None, mn, item, frame, sig, early, now)
            for item, frame, sig, mn, early in opened
        ]
        self._write(conn, batch, devices, now)
        return outcomes

    def _devices(self, conn: Connection, mns: set[str]) -> dict[str, _Device]:
        if not mns:
            return {}
        query = select(m.device).where(m.device.c.mn.in_(sorted(mns)))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()  # QN order and the rules' state, one batch at a time
        found: dict[str, _Device] = {}
        for row in conn.execute(query):
            info = DeviceInfo(
                mn=row.mn,
                password_sha256=row.password_sha256,
                crc=CrcVariant(row.crc),
                public_key=base64.b64decode(row.public_key) if row.public_key else None,
            )
            state = (
                alarms.DeviceState.from_dict(row.rules_state)
                if row.rules_state
                else alarms.DeviceState.new(row.created_at)
            )
            found[row.mn] = _Device(row, info, row.last_qn, state, row.last_frame_at)
        return found

    def _judge(
        self,
        batch: _Batch,
        device: _Device | None,
        mn: str | None,
        item: Incoming,
        frame: bytes | None,
        signature: bytes | None,
        early: Rejected | None,
        now: datetime,
    ) -> Outcome:
        verdict: Accepted | Rejected
        if early is not None:  # a broken envelope: tampering when the device signs
            signs = device is not None and device.info.public_key is not None
            verdict = Rejected(early.reason, early.detail, tampering=signs)
        elif device is None or frame is None:
            verdict = _unknown(frame, mn)
        else:
            verdict = validate(
                frame,
                device=device.info,
                last_qn=device.last_qn,
                factors=self.factors,
                now=now,
                signature=signature,
            )
        if isinstance(verdict, Rejected):
            return self._refused(batch, device, mn, item, verdict)
        assert device is not None
        return self._accepted(batch, device, item, verdict)

    def _refused(
        self,
        batch: _Batch,
        device: _Device | None,
        mn: str | None,
        item: Incoming,
        verdict: Rejected,
    ) -> Outcome:
        key = (device.row.mn if device else m.UNKNOWN_MN, verdict.reason)
        batch.rejections[key] += 1
        batch.rejected_at[key] = item.received_at
        events: tuple[dict[str, Any], ...] = ()
        if device is not None:
            device.touched = True
            if verdict.tampering:
                fed = alarms.Tampering(time=item.received_at, reason=verdict.reason)
                events = self._feed(batch, device, [fed], item.received_at)
        return Outcome(mn, False, verdict.reason, verdict.detail, alarms=events)

    def _accepted(
        self, batch: _Batch, device: _Device, item: Incoming, verdict: Accepted
    ) -> Outcome:
        mn = device.row.mn
        device.last_qn = verdict.frame.qn
        device.accepted += 1
        device.touched = True
        device.seen_at = item.received_at
        judged: dict[str, alarms.Reading] = {}
        data_time = None
        for reading in verdict.readings:
            data_time = reading.data_time
            batch.readings.append(
                {
                    "mn": mn,
                    "data_time": reading.data_time,
                    "code": reading.code,
                    "statistic": reading.statistic,
                    "value": reading.number,
                    "text": reading.value,
                    "flag": reading.flag,
                    "qn": reading.qn,
                }
            )
            kind = self.roles.get(reading.code)
            if kind is None or reading.statistic not in JUDGED_STATISTICS:
                continue
            if reading.code in judged and reading.statistic != JUDGED_STATISTICS[0]:
                continue  # the real-time value wins over the average
            try:
                judged[reading.code] = alarms.Reading(
                    kind=kind,
                    value=reading.number,
                    time=reading.data_time,
                    flag=reading.flag or alarms.VALID_FLAG,
                )
            except alarms.AlarmInputError:
                continue  # a value the rules cannot judge (e.g. a state of 2) is stored only
        if data_time is not None:
            batch.hours[(mn, hour_of(data_time))] += len(verdict.readings)
            if device.last_frame_at is None or data_time > device.last_frame_at:
                device.last_frame_at = data_time
        events = self._feed(batch, device, list(judged.values()), item.received_at)
        return Outcome(mn, True, readings=len(verdict.readings), alarms=events)

    def _feed(
        self, batch: _Batch, device: _Device, inputs: list[alarms.Input], raised_at: datetime
    ) -> tuple[dict[str, Any], ...]:
        seen: list[dict[str, Any]] = []
        for fed in inputs:
            _, events = alarms.step(device.state, fed, self.limits)
            for event in events:
                batch.events.append((device, event, raised_at))
                seen.append(
                    {"kind": event.kind, "transition": event.transition, "factor": event.factor}
                )
        return tuple(seen)

    # -- writing --------------------------------------------------------------------------------
    def _write(
        self, conn: Connection, batch: _Batch, devices: dict[str, _Device], now: datetime
    ) -> None:
        if batch.readings:
            ins = dialect_insert(conn, m.reading)
            conn.execute(ins.on_conflict_do_nothing(), batch.readings)
        if batch.hours:
            ins = dialect_insert(conn, m.hour)
            for (mn, start), count in batch.hours.items():
                conn.execute(
                    ins.values(
                        mn=mn, hour_start=start, state="open", readings=count, evidence_ids=[]
                    ).on_conflict_do_update(
                        index_elements=["mn", "hour_start"],
                        set_={"readings": m.hour.c.readings + count, "state": "open"},
                    )
                )
        if batch.rejections:
            ins = dialect_insert(conn, m.rejection)
            for (mn, reason), count in batch.rejections.items():
                at = batch.rejected_at[(mn, reason)]
                conn.execute(
                    ins.values(mn=mn, reason=reason, count=count, last_at=at).on_conflict_do_update(
                        index_elements=["mn", "reason"],
                        set_={"count": m.rejection.c.count + count, "last_at": at},
                    )
                )
        raised_at = datetime.now(UTC)  # when the service knew: the alarm's latency ends here
        for device, event, _received in batch.events:
            record_event(
                conn,
                device.row.mn,
                device.row.restaurant_id,
                event,
                raised_at,
                rectify_days=self.rectify_days,
            )
        for device in devices.values():
            if not device.touched:
                continue
            values: dict[str, Any] = {
                "last_qn": device.last_qn,
                "last_frame_at": device.last_frame_at,
                "accepted": m.device.c.accepted + device.accepted,
                "rules_state": device.state.to_dict(),
            }
            if device.seen_at is not None:
                values["last_seen_at"] = device.seen_at
            conn.execute(update(m.device).where(m.device.c.mn == device.row.mn).values(**values))


def _unknown(frame: bytes | None, mn: str | None) -> Rejected:
    """A frame no registered device sent: what is wrong with it as a frame when it names no
    MN at all (garbage, a cut frame), else ``unknown-mn``."""
    if mn is None and frame is not None:
        try:
            parse_frame(frame)
        except FrameError as exc:
            return Rejected(exc.reason, exc.detail)
    return Rejected("unknown-mn", "no device is registered under this MN")


def record_event(
    conn: Connection,
    mn: str,
    restaurant_id: str,
    event: alarms.AlarmEvent,
    raised_at: datetime,
    *,
    rectify_days: int,
) -> None:
    """An alarm opened becomes a row, and opens (or reopens) its restaurant's problem
    (``problems.py``); one cleared closes the open row of its kind and factor."""
    if event.transition == alarms.OPENED:
        alarm_id = str(ULID())
        conn.execute(
            m.alarm.insert().values(
                id=alarm_id,
                mn=mn,
                restaurant_id=restaurant_id,
                kind=event.kind,
                factor=event.factor,
                state="open",
                opened_at=event.at,
                value=event.value,
                limit_value=event.limit,
                span_from=event.first,
                span_to=event.last,
                detail={"detail": event.detail} if event.detail else None,
                raised_at=raised_at,
                signalled=False,
            )
        )
        problems.on_alarm_opened(
            conn,
            alarm_id=alarm_id,
            restaurant_id=restaurant_id,
            kind=event.kind,
            at=event.at,
            rectify_days=rectify_days,
        )
        return
    conn.execute(
        update(m.alarm)
        .where(
            and_(
                m.alarm.c.mn == mn,
                m.alarm.c.kind == event.kind,
                m.alarm.c.state == "open",
                m.alarm.c.factor.is_(None)
                if event.factor is None
                else m.alarm.c.factor == event.factor,
            )
        )
        .values(state="cleared", cleared_at=event.at)
    )
