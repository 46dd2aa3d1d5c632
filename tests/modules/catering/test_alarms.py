"""The alarm rules one reading at a time: durations, spans, flapping, flags, order, the clock
rules, external events, the state's JSON round trip and bad input."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from evidence_service.modules.catering.alarms import (
    AlarmEvent,
    AlarmInputError,
    Cleaning,
    DeviceState,
    Input,
    Reading,
    Tampering,
    Tick,
    step,
)
from evidence_service.modules.catering.limits import Limits

T0 = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)
LIMITS = Limits()


def minute(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def run(items: Iterable[Input], state: DeviceState | None = None,
        limits: Limits = LIMITS) -> tuple[DeviceState, list[AlarmEvent]]:  # fmt: skip
    state = state or DeviceState.new(T0)
    events: list[AlarmEvent] = []
    for item in items:
        _, new = step(state, item, limits)
        events += new
    return state, events


def fume(values: Iterable[float], start: float = 0, flag: str = "N") -> list[Reading]:
    return [Reading("oil-fume", v, minute(start + i), flag) for i, v in enumerate(values)]


def kinds(events: list[AlarmEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.transition) for e in events]


def test_29_minutes_above_the_limit_give_only_a_warning() -> None:
    _, events = run(fume([1.2] * 29))
    assert events == [
        AlarmEvent("exceedance-warning", "opened", T0, "oil-fume", 1.2, 0.8, first=T0, last=T0)
    ]


def test_the_30th_minute_opens_the_sustained_alarm_with_the_span_of_the_run() -> None:
    state, events = run(fume([0.5, 0.5] + [1.2] * 30))
    assert kinds(events) == [
        ("exceedance-warning", "opened"),
        ("sustained-exceedance", "opened"),
    ]
    assert events[1] == AlarmEvent(
        "sustained-exceedance", "opened", minute(31), "oil-fume", 1.2, 1.0,
        first=minute(2), last=minute(31),
    )  # fmt: skip
    assert state.open_alarms() == [
        ("exceedance-warning", "oil-fume", minute(2)),
        ("sustained-exceedance", "oil-fume", minute(31)),
    ]


def test_the_sustained_duration_is_configurable() -> None:
    _, events = run(fume([1.2] * 5), limits=Limits(sustained_minutes=5))
    assert events[-1].kind == "sustained-exceedance" and events[-1].at == minute(4)


def test_a_value_equal_to_the_limit_complies_and_one_dip_restarts_the_run() -> None:
    _, events = run(fume([1.0] * 40))
    assert kinds(events) == [("exceedance-warning", "opened")]
    _, events = run(fume([1.2] * 20 + [0.9] + [1.2] * 29))
    assert kinds(events) == [("exceedance-warning", "opened")]
    _, events = run(fume([0.8] * 40))
    assert events == []  # the warning is strictly above 80 % of the limit


def test_no_flapping_clearing_needs_ten_quiet_minutes() -> None:
    state, events = run(fume([1.2] * 30))
    assert kinds(events)[-1] == ("sustained-exceedance", "opened")
    _, events = run(fume([0.5] * 9 + [1.2] + [0.5] * 9, start=30), state)
    assert events == []  # nine quiet minutes, then the count restarts
    _, events = run(fume([0.5], start=49), state)
    assert events == [
        AlarmEvent(
            "exceedance-warning", "cleared", minute(49), "oil-fume", 0.5, 0.8,
            first=minute(40), last=minute(49),
        ),
        AlarmEvent(
            "sustained-exceedance", "cleared", minute(49), "oil-fume", 0.5, 1.0,
            first=minute(40), last=minute(49),
        ),
    ]  # fmt: skip
    _, events = run(fume([1.2] * 29, start=50), state)
    assert kinds(events) == [("exceedance-warning", "opened")]  # a new run needs 30 again


def test_readings_flagged_other_than_n_do_not_count_but_are_bridged() -> None:
    _, events = run(fume([1.2] * 40, flag="M"))
    assert events == []
    readings = fume([1.2] * 10) + fume([5.0] * 5, start=10, flag="C") + fume([1.2] * 15, 15)
    _, events = run(readings)
    assert events[-1] == AlarmEvent(
        "sustained-exceedance", "opened", minute(29), "oil-fume", 1.2, 1.0,
        first=T0, last=minute(29),
    )  # fmt: skip


def test_a_gap_of_offline_minutes_between_valid_readings_restarts_the_run() -> None:
    _, events = run(fume([1.2] * 20) + fume([1.2] * 20, start=34))  # a 15-minute gap
    assert kinds(events) == [("exceedance-warning", "opened")]
    _, events = run(fume([1.2] * 20) + fume([1.2] * 10, start=33))  # 14 minutes: bridged
    assert events[-1].kind == "sustained-exceedance"
    assert (events[-1].first, events[-1].last) == (T0, minute(33))


def test_older_and_duplicate_readings_are_ignored() -> None:
    state, _ = run(fume([0.5] * 10))
    before = state.to_dict()
    _, events = run([Reading("oil-fume", 9.0, minute(3)), Reading("oil-fume", 9.0, minute(9))],
                    state)  # fmt: skip
    assert events == [] and state.to_dict() == before


def fan_purifier(m: float, fan_a: float, purifier_state: int,
                 purifier_a: float = 2.0) -> list[Reading]:  # fmt: skip
    return [
        Reading("fan-current", fan_a, minute(m)),
        Reading("purifier-state", purifier_state, minute(m)),
        Reading("purifier-current", purifier_a, minute(m)),
    ]


def test_purifier_off_while_the_fan_runs_opens_after_five_minutes() -> None:
    readings = [r for m in range(5) for r in fan_purifier(m, 3.0, 0, 0.0)]
    state, events = run(readings)
    assert events == [
        AlarmEvent("purifier-off", "opened", minute(4), None, 5.0, 5.0, T0, minute(4))
    ]
    readings = [r for m in range(5, 15) for r in fan_purifier(m, 3.0, 1)]
    _, events = run(readings, state)
    assert events == [
        AlarmEvent("purifier-off", "cleared", minute(14), None, 10.0, 5.0, minute(5), minute(14))
    ]


def test_purifier_off_needs_the_fan_running_and_trusts_the_current() -> None:
    _, events = run([r for m in range(10) for r in fan_purifier(m, 0.1, 0, 0.0)])
    assert events == []  # the fan is off: the kitchen is closed
    # the switch says "on" but no current flows: off
    _, events = run([r for m in range(10) for r in fan_purifier(m, 3.0, 1, 0.2)])
    assert kinds(events) == [("purifier-off", "opened")]
    fan_state = [Reading("fan-state", 1, minute(m)) for m in range(5)]
    purifier = [Reading("purifier-state", 0, minute(m)) for m in range(5)]
    _, events = run([r for pair in zip(fan_state, purifier, strict=True) for r in pair])
    assert kinds(events) == [("purifier-off", "opened")]


def test_offline_opens_on_a_tick_after_fifteen_silent_minutes() -> None:
    state, _ = run(fume([0.5]))
    _, events = run([Tick(minute(14))], state)
    assert events == []
    _, events = run([Tick(minute(15)), Tick(minute(20))], state)
    assert events == [AlarmEvent("offline", "opened", minute(15), None, 15.0, 15.0, T0, T0)]
    _, events = run(fume([0.5], start=21, flag="F"), state)
    assert events == [AlarmEvent("offline", "cleared", minute(21), first=minute(21),
                                 last=minute(21))]  # fmt: skip


def test_a_device_that_never_sent_goes_offline_from_its_registration() -> None:
    _, events = run([Tick(minute(15))])
    assert events == [AlarmEvent("offline", "opened", minute(15), None, 15.0, 15.0)]


def test_cleaning_overdue_after_thirty_days_cleared_by_a_cleaning() -> None:
    cleaned = T0 - timedelta(days=30)
    state = DeviceState.new(T0 - timedelta(days=40), last_cleaning=cleaned)
    _, events = run([Reading("oil-fume", 0.1, T0), Tick(T0)], state)
    assert events == []
    later = T0 + timedelta(hours=12)
    _, events = run([Reading("oil-fume", 0.1, later), Tick(later)], state)
    assert events == [AlarmEvent("cleaning-overdue", "opened", later, None, 30.5, 30.0)]
    _, events = run([Cleaning(cleaned), Cleaning(later + timedelta(hours=1))], state)
    assert events == [AlarmEvent("cleaning-overdue", "cleared", later + timedelta(hours=1))]


def test_gas_alarm_opens_at_once_and_clears_after_ten_quiet_minutes() -> None:
    readings = [Reading("gas-alarm", 1, T0)] + [
        Reading("gas-alarm", 0, minute(m)) for m in range(1, 11)
    ]
    _, events = run(readings)
    assert events == [
        AlarmEvent("gas-alarm", "opened", T0, "gas-alarm", 1, None, T0, T0),
        AlarmEvent("gas-alarm", "cleared", minute(10), "gas-alarm", 0, None, minute(1),
                   minute(10)),
    ]  # fmt: skip


def test_grease_level_at_the_configured_percentage_opens() -> None:
    _, events = run([Reading("grease-level", 79.9, T0), Reading("grease-level", 80, minute(1))])
    assert events == [
        AlarmEvent("grease-level-high", "opened", minute(1), "grease-level", 80, 80.0,
                   minute(1), minute(1))
    ]  # fmt: skip


def test_tampering_opens_once_and_clears_after_ten_valid_minutes() -> None:
    state, events = run([Tampering(T0, "bad signature"), Tampering(minute(2), "bad CRC")])
    assert events == [AlarmEvent("tampering", "opened", T0, first=T0, last=T0,
                                 detail="bad signature")]  # fmt: skip
    _, events = run(fume([0.5] * 9, start=3), state)
    assert events == []  # ten minutes after the last report, not the first
    _, events = run(fume([0.5], start=12), state)
    assert events == [AlarmEvent("tampering", "cleared", minute(12), first=minute(12),
                                 last=minute(12))]  # fmt: skip


def test_particulates_and_nmhc_alarm_only_when_their_limit_is_configured() -> None:
    readings = [Reading("particulates", 9.0, minute(m)) for m in range(30)]
    _, events = run(readings)
    assert events == []
    _, events = run(readings, limits=Limits(particulates_limit_mg_m3=5.0))
    assert [(e.kind, e.factor, e.limit) for e in events] == [
        ("exceedance-warning", "particulates", 4.0),
        ("sustained-exceedance", "particulates", 5.0),
    ]


def test_the_state_round_trips_through_json_and_carries_on_alike() -> None:
    first = fume([1.2] * 20) + [r for m in range(3) for r in fan_purifier(m, 3.0, 0)]
    state, _ = run(first + [Tampering(minute(1), "bad CRC"), Tick(minute(20))])
    copy = DeviceState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert copy == state
    rest = fume([1.2] * 10, start=20) + [Tick(minute(60))]
    events = run(rest, state)[1]
    assert [(e.kind, e.transition, e.at) for e in events] == [
        ("tampering", "cleared", minute(20)),
        ("sustained-exceedance", "opened", minute(29)),
        ("offline", "opened", minute(60)),
    ]
    assert run(rest, copy)[1] == events


@pytest.mark.parametrize(
    ("kind", "value", "time", "flag", "reason"),
    [
        ("co2", 1.0, T0, "N", "unknown-kind"),
        ("oil-fume", 1.0, T0, "X", "unknown-flag"),
        ("oil-fume", 1.0, datetime(2026, 6, 1, 11), "N", "naive-time"),
        ("oil-fume", float("nan"), T0, "N", "bad-value"),
        ("oil-fume", -0.1, T0, "N", "bad-value"),
        ("oil-fume", True, T0, "N", "bad-value"),
        ("fan-state", 2, T0, "N", "bad-value"),
    ],
)
def test_bad_readings_are_refused(kind: str, value: float, time: datetime, flag: str,
                                  reason: str) -> None:  # fmt: skip
    with pytest.raises(AlarmInputError) as caught:
        Reading(kind, value, time, flag)
    assert caught.value.reason == reason


def test_bad_inputs_and_states_are_refused() -> None:
    with pytest.raises(AlarmInputError) as caught:
        Tick(datetime(2026, 6, 1))
    assert caught.value.reason == "naive-time"
    with pytest.raises(AlarmInputError) as caught:
        step(DeviceState.new(T0), "oil-fume 1.2", LIMITS)  # type: ignore[arg-type]
    assert caught.value.reason == "bad-input"
    good = run(fume([1.2] * 3))[0].to_dict()
    for broken in (
        {**good, "version": 2},
        {k: v for k, v in good.items() if k != "since"},
        {**good, "last_seen": "yesterday"},
        {**good, "last_by_kind": {"co2": 1.0}},
        {**good, "episodes": {"smoke:oil-fume": [True, 1, 1, 1, None, None]}},
        {**good, "episodes": {"gas-alarm": ["yes", 1, 1, 1, None, None]}},
    ):
        with pytest.raises(AlarmInputError) as caught:
            DeviceState.from_dict(broken)
        assert caught.value.reason == "bad-state"
