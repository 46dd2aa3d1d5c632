"""The alarm rules of one catering outlet's monitor, evaluated one reading at a time.

The service keeps a :class:`DeviceState` per device and feeds every reading, every clock tick
and every external fact (a recorded cleaning, a tampered frame) through :func:`step`, which
updates the state **in place** (and returns it) and answers the alarms that opened or cleared.
Each call does a constant amount of work — no rescans of history — so an alarm is known as soon
as the frame that completes its condition is read (the issue's p95 ≤ 5 s). The state is plain
data: :meth:`DeviceState.to_dict` / :meth:`DeviceState.from_dict` persist it as JSON.

Inputs. A :class:`Reading` is one factor of one frame: ``kind`` (one of :data:`READING_KINDS`;
the frame codec maps HJ 212 codes onto these), ``value``, ``time`` (the frame's DataTime,
timezone-aware) and the HJ 212 data ``flag``. Readings are **minute data**: a reading stands for
the minute starting at its time, so readings from 10:00 to 10:29 cover 30 minutes. A
:class:`Tick` carries ``now`` for the clock rules; :class:`Cleaning` records a cleaning of the
purifier (from the logbook or an inspection); :class:`Tampering` reports a bad frame from a
signed device.

Rules (kinds are stable strings, :data:`ALARM_KINDS`; numbers come from :class:`Limits`):

- ``exceedance-warning``: a valid reading above ``warning_ratio`` × limit opens it at once.
- ``sustained-exceedance``: valid readings above the limit for ``sustained_minutes`` in a row.
  Oil fume always; particulates and NMHC only when their (unverified) limit is configured. Both
  rules run per factor; the event's ``factor`` names it. "Above" is strictly above: a value
  equal to the limit complies.
- ``purifier-off``: the fan runs (state 1, or current above ``fan_on_current_a``) while the
  purifier is off (state 0, or current at or below ``purifier_on_current_a`` — either sign of
  "off" counts: the current is the physical proof, a switch state alone can be faked) for
  ``purifier_off_minutes``. Values older than ``offline_minutes`` count as unknown; an unknown
  purifier is not "off".
- ``grease-level-high``: the grease trap's fill level (percent) at or above
  ``grease_level_alarm_pct``; opens at once.
- ``gas-alarm``: a gas-alarm reading of 1; opens at once (safety).
- ``offline`` (on a tick): no reading for ``offline_minutes`` (from the state's creation if
  none ever came); cleared by the next reading of any kind and flag.
- ``cleaning-overdue`` (on a tick): more than ``cleaning_interval_days`` since the last cleaning
  (or since the state's creation); cleared by a :class:`Cleaning`.
- ``tampering``: opened by a :class:`Tampering`; later reports while open add nothing; cleared
  by the first valid reading ``clear_minutes`` after the last report.

Clearing: a value rule (the first five) clears after ``clear_minutes`` of valid readings
without its condition, so a value swinging around the limit does not flap; within an open alarm
a reading with the condition restarts the clearing count.

Flags. Only flag ``N`` (正常) readings count for the value rules. F 停运, M 维护, D 故障,
C 校准, T 超限, B 通讯异常 and S 手工输入 say the value is not a normal measurement (a
calibration gas, maintenance, a hand-typed number), so such a reading is treated as absent: it
neither opens, extends nor clears anything — but it proves the device is online. Absent minutes
are bridged, so dropping a frame or two does not reset a run; a gap of ``offline_minutes`` or
more between valid readings (the device was offline, we know nothing) starts the run afresh.

Order. A reading no newer than the last reading of the same kind is ignored (a duplicate or
a late resend: its minute was already judged); so are ticks older than the last tick and
cleanings older than the last cleaning. The caller refuses frames dated in the future before
they get here (one would mute the device's later readings).

Events. :class:`AlarmEvent` gives the kind, ``opened``/``cleared``, the time (the completing
reading's time, or the tick's), the factor, the value and limit that triggered it, and
``first``/``last``: the span of the readings that prove it — the run that opened it or the
quiet run that cleared it — so the service links the anchored device-hour items covering that
span. The value/limit pair is: the concentration or level and its limit for value rules, the
gas reading (limit ``None``), the minutes off and ``purifier_off_minutes`` for purifier-off,
the minutes silent and ``offline_minutes`` for offline (span: the last reading), the days since
cleaning and the interval for cleaning-overdue (no span).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evidence_service.modules.catering.limits import Limits

READING_KINDS = (
    "oil-fume",  # mg/m³
    "particulates",  # mg/m³
    "nmhc",  # mg/m³
    "fan-current",  # A
    "purifier-current",  # A
    "fan-state",  # 1 on, 0 off
    "purifier-state",  # 1 on, 0 off
    "grease-level",  # percent of the trap's capacity
    "gas-alarm",  # 1 alarm, 0 normal
)
_BINARY_KINDS = frozenset({"fan-state", "purifier-state", "gas-alarm"})
_CONCENTRATIONS = ("oil-fume", "particulates", "nmhc")
_FAN_PURIFIER = frozenset({"fan-current", "purifier-current", "fan-state", "purifier-state"})
#: HJ 212-2017 data flags; only N counts for the value rules.
FLAGS = frozenset("NFMDCTBS")
VALID_FLAG = "N"

ALARM_KINDS = (
    "exceedance-warning",
    "sustained-exceedance",
    "purifier-off",
    "cleaning-overdue",
    "offline",
    "gas-alarm",
    "tampering",
    "grease-level-high",
)
OPENED = "opened"
CLEARED = "cleared"
#: Seconds one reading stands for (minute data, HJ 212 CN 2051).
READING_PERIOD_S = 60.0
_STATE_VERSION = 1


class AlarmInputError(ValueError):
    """A reading, tick or stored state is malformed. ``reason`` is a stable code:
    ``unknown-kind``, ``unknown-flag``, ``naive-time``, ``bad-value``, ``bad-input``,
    ``bad-state``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _aware(name: str, moment: object) -> None:
    if not isinstance(moment, datetime):
        raise AlarmInputError("naive-time", f"{name} must be a datetime, not {moment!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise AlarmInputError("naive-time", f"{name} must be timezone-aware, not {moment}")


@dataclass(frozen=True, slots=True)
class Reading:
    """One factor of one frame; checked on construction."""

    kind: str
    value: float
    time: datetime
    flag: str = VALID_FLAG

    def __post_init__(self) -> None:
        if self.kind not in READING_KINDS:
            raise AlarmInputError(
                "unknown-kind", f"unknown reading kind {self.kind!r}; known: {READING_KINDS}"
            )
        if self.flag not in FLAGS:
            raise AlarmInputError(
                "unknown-flag", f"unknown flag {self.flag!r}; HJ 212 flags: N F M D C T B S"
            )
        _aware("a reading's time", self.time)
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AlarmInputError("bad-value", f"{self.kind} value must be a number: {value!r}")
        if not math.isfinite(value) or value < 0:
            raise AlarmInputError(
                "bad-value", f"{self.kind} value must be finite and >= 0, not {value!r}"
            )
        if self.kind in _BINARY_KINDS and value not in (0, 1):
            raise AlarmInputError("bad-value", f"{self.kind} must be 0 or 1, not {value!r}")


@dataclass(frozen=True, slots=True)
class Tick:
    """The clock: evaluates ``offline`` and ``cleaning-overdue`` at ``now``."""

    now: datetime

    def __post_init__(self) -> None:
        _aware("a tick's now", self.now)


@dataclass(frozen=True, slots=True)
class Cleaning:
    """The purifier was cleaned at ``time``."""

    time: datetime

    def __post_init__(self) -> None:
        _aware("a cleaning's time", self.time)


@dataclass(frozen=True, slots=True)
class Tampering:
    """A signed device sent a bad frame (wrong signature, CRC, counter…) at ``time``."""

    time: datetime
    reason: str

    def __post_init__(self) -> None:
        _aware("a tampering's time", self.time)


Input = Reading | Tick | Cleaning | Tampering


@dataclass(frozen=True)
class AlarmEvent:
    kind: str
    transition: str  # OPENED or CLEARED
    at: datetime
    factor: str | None = None
    value: float | None = None
    limit: float | None = None
    first: datetime | None = None
    last: datetime | None = None
    detail: str | None = None


@dataclass(slots=True)
class Episode:
    """One rule's debounce state: the run of readings with the condition (while closed) or
    without it (while open). Times are POSIX seconds."""

    open: bool = False
    opened_at: float | None = None
    run_first: float | None = None
    run_last: float | None = None
    clear_first: float | None = None
    clear_last: float | None = None

    def feed(
        self, t: float, condition: bool, open_after: float, clear_after: float, max_gap: float
    ) -> str | None:
        """The transition this valid observation causes, if any."""
        if not self.open:
            if not condition:
                self.run_first = None
                return None
            if self.run_first is None or self.run_last is None or t - self.run_last >= max_gap:
                self.run_first = t
            self.run_last = t
            if t - self.run_first + READING_PERIOD_S >= open_after:
                self.open, self.opened_at, self.clear_first = True, t, None
                return OPENED
            return None
        if condition:
            self.clear_first = None
            return None
        if self.clear_first is None or self.clear_last is None or t - self.clear_last >= max_gap:
            self.clear_first = t
        self.clear_last = t
        if t - self.clear_first + READING_PERIOD_S >= clear_after:
            self.open, self.opened_at, self.run_first = False, None, None
            return CLEARED
        return None


@dataclass(slots=True)
class DeviceState:
    """Everything the rules remember about one device; times are POSIX seconds. Create with
    :meth:`new`; :func:`step` updates it in place."""

    since: float
    last_cleaning: float
    last_seen: float | None = None
    last_tick: float | None = None
    last_by_kind: dict[str, float] = field(default_factory=dict)
    #: The latest valid fan/purifier values: kind -> (value, time).
    latest: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: Value rules by "<alarm kind>" or "<alarm kind>:<factor>".
    episodes: dict[str, Episode] = field(default_factory=dict)
    offline_since: float | None = None
    cleaning_overdue_since: float | None = None
    tampering_since: float | None = None
    tampering_last: float | None = None

    @classmethod
    def new(cls, since: datetime, last_cleaning: datetime | None = None) -> DeviceState:
        """A device registered at ``since``; its cleaning clock starts at ``last_cleaning`` or,
        if none is recorded, at ``since``."""
        _aware("since", since)
        if last_cleaning is not None:
            _aware("last_cleaning", last_cleaning)
        start = since.timestamp()
        return cls(start, last_cleaning.timestamp() if last_cleaning else start)

    def open_alarms(self) -> list[tuple[str, str | None, datetime]]:
        """(kind, factor, opened at) of every open alarm, for the reviewer's deadline queue."""
        found: list[tuple[str, str | None, float]] = []
        for key, episode in self.episodes.items():
            if episode.open and episode.opened_at is not None:
                kind, _, factor = key.partition(":")
                found.append((kind, factor or None, episode.opened_at))
        for kind, since in (
            ("offline", self.offline_since),
            ("cleaning-overdue", self.cleaning_overdue_since),
            ("tampering", self.tampering_since),
        ):
            if since is not None:
                found.append((kind, None, since))
        found.sort(key=lambda item: (item[2], item[0], item[1] or ""))
        return [(kind, factor, _at(since)) for kind, factor, since in found]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict that :meth:`from_dict` turns back into an equal state."""
        return {
            "version": _STATE_VERSION,
            "since": self.since,
            "last_cleaning": self.last_cleaning,
            "last_seen": self.last_seen,
            "last_tick": self.last_tick,
            "last_by_kind": dict(self.last_by_kind),
            "latest": {kind: [value, t] for kind, (value, t) in self.latest.items()},
            "episodes": {
                key: [e.open, e.opened_at, e.run_first, e.run_last, e.clear_first, e.clear_last]
                for key, e in self.episodes.items()
            },
            "offline_since": self.offline_since,
            "cleaning_overdue_since": self.cleaning_overdue_since,
            "tampering_since": self.tampering_since,
            "tampering_last": self.tampering_last,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeviceState:
        """Parse, then check: refuses a dict of another version or shape (``bad-state``)."""
        try:
            if data["version"] != _STATE_VERSION:
                raise AlarmInputError("bad-state", f"state version {data['version']!r} != 1")
            episodes = {}
            for key, row in data["episodes"].items():
                is_open, *times = row
                if not isinstance(is_open, bool) or len(times) != 5:
                    raise AlarmInputError("bad-state", f"episode {key!r} is malformed")
                episodes[_key(key)] = Episode(is_open, *(_time_or_none(t) for t in times))
            return cls(
                since=_time(data["since"]),
                last_cleaning=_time(data["last_cleaning"]),
                last_seen=_time_or_none(data["last_seen"]),
                last_tick=_time_or_none(data["last_tick"]),
                last_by_kind={_kind(k): _time(t) for k, t in data["last_by_kind"].items()},
                latest={_kind(k): (_time(v), _time(t)) for k, (v, t) in data["latest"].items()},
                episodes=episodes,
                offline_since=_time_or_none(data["offline_since"]),
                cleaning_overdue_since=_time_or_none(data["cleaning_overdue_since"]),
                tampering_since=_time_or_none(data["tampering_since"]),
                tampering_last=_time_or_none(data["tampering_last"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, AlarmInputError):
                raise
            raise AlarmInputError("bad-state", f"not a device state: {exc!r}") from exc


def _time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AlarmInputError("bad-state", f"expected a number, found {value!r}")
    return float(value)


def _time_or_none(value: object) -> float | None:
    return None if value is None else _time(value)


def _kind(kind: object) -> str:
    if kind not in READING_KINDS:
        raise AlarmInputError("bad-state", f"unknown reading kind {kind!r} in a state")
    return str(kind)


def _key(key: object) -> str:
    kind, _, factor = str(key).partition(":")
    if kind not in ALARM_KINDS or (factor and factor not in READING_KINDS):
        raise AlarmInputError("bad-state", f"unknown rule {key!r} in a state")
    return str(key)


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _when(t: float | None) -> datetime | None:
    return None if t is None else _at(t)


@dataclass(frozen=True)
class _Plan:
    """The limits in seconds, worked out once per :class:`Limits`."""

    limits: Limits
    sustained_s: float
    clear_s: float
    offline_s: float
    cleaning_s: float
    purifier_off_s: float
    concentration_limits: Mapping[str, float]


_last_plan: list[_Plan] = []


def _plan(limits: Limits) -> _Plan:
    if _last_plan and _last_plan[0].limits is limits:
        return _last_plan[0]
    concentration = {"oil-fume": limits.oil_fume_limit_mg_m3}
    if limits.particulates_limit_mg_m3 is not None:
        concentration["particulates"] = limits.particulates_limit_mg_m3
    if limits.nmhc_limit_mg_m3 is not None:
        concentration["nmhc"] = limits.nmhc_limit_mg_m3
    plan = _Plan(
        limits,
        sustained_s=limits.sustained_minutes * 60.0,
        clear_s=limits.clear_minutes * 60.0,
        offline_s=limits.offline_minutes * 60.0,
        cleaning_s=limits.cleaning_interval_days * 86_400.0,
        purifier_off_s=limits.purifier_off_minutes * 60.0,
        concentration_limits=concentration,
    )
    _last_plan[:] = [plan]
    return plan


def step(state: DeviceState, item: Input, limits: Limits) -> tuple[DeviceState, list[AlarmEvent]]:
    """Feed one input; ``state`` is updated in place and returned with the events it caused
    (in rule order: offline, tampering, then the value rules)."""
    plan = _plan(limits)
    if isinstance(item, Reading):
        return state, _on_reading(state, item, plan)
    if isinstance(item, Tick):
        return state, _on_tick(state, item.now.timestamp(), plan)
    if isinstance(item, Cleaning):
        return state, _on_cleaning(state, item.time.timestamp())
    if isinstance(item, Tampering):
        return state, _on_tampering(state, item)
    raise AlarmInputError("bad-input", f"cannot step on {type(item).__name__}")


def _episode(state: DeviceState, key: str) -> Episode:
    episode = state.episodes.get(key)
    if episode is None:
        episode = state.episodes[key] = Episode()
    return episode


def _on_reading(state: DeviceState, reading: Reading, plan: _Plan) -> list[AlarmEvent]:
    t = reading.time.timestamp()
    kind = reading.kind
    previous = state.last_by_kind.get(kind)
    if previous is not None and t <= previous:
        return []
    state.last_by_kind[kind] = t
    if state.last_seen is None or t > state.last_seen:
        state.last_seen = t
    events: list[AlarmEvent] = []
    if state.offline_since is not None:
        state.offline_since = None
        events.append(AlarmEvent("offline", CLEARED, reading.time, first=_when(t), last=_when(t)))
    if reading.flag != VALID_FLAG:
        return events
    if state.tampering_last is not None and t - state.tampering_last >= plan.clear_s:
        events.append(AlarmEvent("tampering", CLEARED, reading.time, first=_when(t), last=_when(t)))
        state.tampering_since = state.tampering_last = None
    value = reading.value
    if kind in plan.concentration_limits:
        limit = plan.concentration_limits[kind]
        warning = limit * plan.limits.warning_ratio
        for alarm, level, open_after in (
            ("exceedance-warning", warning, 0.0),
            ("sustained-exceedance", limit, plan.sustained_s),
        ):
            episode = _episode(state, f"{alarm}:{kind}")
            change = episode.feed(t, value > level, open_after, plan.clear_s, plan.offline_s)
            if change is not None:
                events.append(_value_event(alarm, change, reading, kind, value, level, episode))
    elif kind in _FAN_PURIFIER:
        state.latest[kind] = (value, t)
        episode = _episode(state, "purifier-off")
        off = _fan_running(state, t, plan) and _purifier_off(state, t, plan)
        change = episode.feed(t, off, plan.purifier_off_s, plan.clear_s, plan.offline_s)
        if change is not None:
            first, last = _span(episode, change)
            minutes = (last - first + READING_PERIOD_S) / 60.0
            events.append(
                AlarmEvent(
                    "purifier-off",
                    change,
                    reading.time,
                    None,
                    minutes,
                    float(plan.limits.purifier_off_minutes),
                    _when(first),
                    _when(last),
                )
            )
    elif kind == "grease-level":
        level = plan.limits.grease_level_alarm_pct
        episode = _episode(state, "grease-level-high")
        change = episode.feed(t, value >= level, 0.0, plan.clear_s, plan.offline_s)
        if change is not None:
            events.append(
                _value_event("grease-level-high", change, reading, kind, value, level, episode)
            )
    elif kind == "gas-alarm":
        episode = _episode(state, "gas-alarm")
        change = episode.feed(t, value == 1, 0.0, plan.clear_s, plan.offline_s)
        if change is not None:
            events.append(_value_event("gas-alarm", change, reading, kind, value, None, episode))
    return events


def _span(episode: Episode, change: str) -> tuple[float, float]:
    if change == OPENED:
        assert episode.run_first is not None and episode.run_last is not None
        return episode.run_first, episode.run_last
    assert episode.clear_first is not None and episode.clear_last is not None
    return episode.clear_first, episode.clear_last


def _value_event(
    alarm: str,
    change: str,
    reading: Reading,
    factor: str,
    value: float,
    limit: float | None,
    episode: Episode,
) -> AlarmEvent:
    first, last = _span(episode, change)
    return AlarmEvent(alarm, change, reading.time, factor, value, limit, _when(first), _when(last))


def _known(state: DeviceState, kind: str, t: float, plan: _Plan) -> float | None:
    latest = state.latest.get(kind)
    if latest is None or t - latest[1] >= plan.offline_s:
        return None
    return latest[0]


def _fan_running(state: DeviceState, t: float, plan: _Plan) -> bool:
    on = _known(state, "fan-state", t, plan)
    current = _known(state, "fan-current", t, plan)
    return on == 1 or (current is not None and current > plan.limits.fan_on_current_a)


def _purifier_off(state: DeviceState, t: float, plan: _Plan) -> bool:
    on = _known(state, "purifier-state", t, plan)
    current = _known(state, "purifier-current", t, plan)
    return on == 0 or (current is not None and current <= plan.limits.purifier_on_current_a)


def _on_tick(state: DeviceState, now: float, plan: _Plan) -> list[AlarmEvent]:
    if state.last_tick is not None and now < state.last_tick:
        return []
    state.last_tick = now
    events: list[AlarmEvent] = []
    at = _at(now)
    reference = state.last_seen if state.last_seen is not None else state.since
    if state.offline_since is None and now - reference >= plan.offline_s:
        state.offline_since = now
        seen = _when(state.last_seen)
        events.append(
            AlarmEvent(
                "offline",
                OPENED,
                at,
                None,
                (now - reference) / 60.0,
                float(plan.limits.offline_minutes),
                seen,
                seen,
            )
        )
    if state.cleaning_overdue_since is None and now - state.last_cleaning > plan.cleaning_s:
        state.cleaning_overdue_since = now
        events.append(
            AlarmEvent(
                "cleaning-overdue",
                OPENED,
                at,
                None,
                (now - state.last_cleaning) / 86_400.0,
                float(plan.limits.cleaning_interval_days),
            )
        )
    return events


def _on_cleaning(state: DeviceState, t: float) -> list[AlarmEvent]:
    if t <= state.last_cleaning:
        return []
    state.last_cleaning = t
    if state.cleaning_overdue_since is None:
        return []
    state.cleaning_overdue_since = None
    return [AlarmEvent("cleaning-overdue", CLEARED, _at(t))]


def _on_tampering(state: DeviceState, tampering: Tampering) -> list[AlarmEvent]:
    t = tampering.time.timestamp()
    if state.tampering_last is not None and t <= state.tampering_last:
        return []
    state.tampering_last = t
    if state.tampering_since is not None:
        return []
    state.tampering_since = t
    at = tampering.time
    return [AlarmEvent("tampering", OPENED, at, first=at, last=at, detail=tampering.reason)]
