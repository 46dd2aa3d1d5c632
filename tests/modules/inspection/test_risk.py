"""The risk score: decay, weights, base, the threshold and which signals are named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evidence_service.modules.inspection.risk import (
    DEFAULT_WEIGHTS,
    RiskInputError,
    RiskSettings,
    Signal,
    score,
    score_all,
    warnings,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_a_signal_is_worth_half_after_its_half_life_and_a_quarter_after_two() -> None:
    fresh = score([Signal("hotline", NOW, 1)], "low", NOW)
    half = score([Signal("hotline", ago(90), 1)], "low", NOW)
    quarter = score([Signal("hotline", ago(180), 1)], "low", NOW)
    assert fresh.total - fresh.base == pytest.approx(2.0)
    assert half.total - half.base == pytest.approx(1.0)
    assert quarter.total - quarter.base == pytest.approx(0.5)


def test_points_are_weight_times_severity_plus_the_class_base() -> None:
    signals = [Signal("penalty", NOW, 3), Signal("grid", NOW, 2)]
    result = score(signals, "high", NOW)
    assert result.base == 30.0
    assert result.total == pytest.approx(30 + 6 * 3 + 1.5 * 2)
    assert score([], "low", NOW).total == 2.0


def test_settings_change_weights_half_lives_and_base() -> None:
    settings = RiskSettings(
        weights={**DEFAULT_WEIGHTS, "iot_alarm": 10.0},
        half_life_days={
            "hotline": 90, "grid": 60, "petition": 180,
            "inspection_finding": 180, "penalty": 365, "iot_alarm": 7,
        },
        base={"high": 0, "medium_high": 0, "medium": 0, "medium_low": 0, "low": 0},
    )  # fmt: skip
    result = score([Signal("iot_alarm", ago(7), 2)], "high", NOW, settings)
    assert result.total == pytest.approx(10.0)


def test_contributions_are_the_strongest_five_newest_first_on_a_tie() -> None:
    signals = [Signal("iot_alarm", ago(day), 1) for day in range(1, 9)]
    signals += [Signal("penalty", ago(400), 2), Signal("hotline", ago(3), 1)]
    signals.append(Signal("hotline", ago(3), 1))  # an equal twin: the earlier one ranks first
    result = score(signals, "medium", NOW)
    kinds = [c.signal.kind for c in result.contributions]
    assert kinds == ["penalty", "hotline", "hotline", "iot_alarm", "iot_alarm"]
    assert result.contributions[1].signal is signals[9]
    points = [c.points for c in result.contributions]
    assert points == sorted(points, reverse=True)
    assert [c.signal.at for c in result.contributions[3:]] == [ago(1), ago(2)]
    assert result.total == pytest.approx(result.base + sum(
        6 * 2 * 0.5 ** (400 / 365) if s.kind == "penalty" else 0 for s in signals
    ) + sum(
        2 * 0.5 ** (3 / 90) for s in signals if s.kind == "hotline"
    ) + sum(0.5 ** (d / 30) for d in range(1, 9)))  # fmt: skip


def test_warnings_list_who_reaches_the_threshold_highest_first() -> None:
    rows = [
        ("91A", "penalty", ago(1), 3),
        ("91A", "petition", ago(10), 3),
        ("91B", "hotline", ago(0), 1),
        ("91C", "inspection_finding", ago(0), 3),
        ("91C", "inspection_finding", ago(0), 3),
        ("91C", "hotline", ago(0), 3),
    ]
    classes = {"91A": "high", "91B": "high", "91C": "medium", "91D": "low"}
    scores = score_all(rows, classes, NOW)
    assert set(scores) == set(classes)
    assert scores["91D"].total == 2.0 and scores["91D"].contributions == ()
    assert scores["91C"].total == pytest.approx(12 + 12 + 12 + 6)
    crossed = warnings(scores, 42.0)
    assert [w.enterprise for w in crossed] == ["91A", "91C"]
    assert crossed[0].score.contributions[0].signal.kind == "penalty"
    assert [w.enterprise for w in warnings(scores, 42.000001)] == ["91A"]
    assert warnings(scores, 1000) == []


def test_score_all_agrees_with_score() -> None:
    rows = [("91A", "grid", ago(d), 1 + d % 3) for d in range(0, 50, 7)]
    alone = score([Signal(kind, at, sev) for _, kind, at, sev in rows], "medium", NOW)
    assert score_all(rows, {"91A": "medium"}, NOW)["91A"] == alone


@pytest.mark.parametrize(
    ("rows", "classes", "message"),
    [
        ([("91A", "rumour", NOW, 1)], {"91A": "low"}, "unknown signal kind 'rumour'"),
        ([("91A", "grid", NOW, 4)], {"91A": "low"}, "severity must be 1, 2 or 3"),
        ([("91A", "grid", NOW, 0)], {"91A": "low"}, "severity must be 1, 2 or 3"),
        ([("91A", "grid", NOW + timedelta(seconds=1), 1)], {"91A": "low"}, "after now"),
        ([("91A", "grid", NOW.replace(tzinfo=None), 1)], {"91A": "low"}, "timezone-aware"),
        ([("91A", "grid", NOW, 1)], {"91A": "severe"}, "unknown risk class 'severe'"),
        ([("91X", "grid", NOW, 1)], {"91A": "low"}, "'91X' has no risk class"),
        (
            [("91A", "grid", NOW, 1), ("91B", "grid", NOW, 1), ("91A", "grid", NOW, 1)],
            {"91A": "low", "91B": "low"},
            "not sorted by enterprise: '91A' recurs",
        ),
    ],
)
def test_bad_rows_are_refused(
    rows: list[tuple[str, str, datetime, int]], classes: dict[str, str], message: str
) -> None:
    with pytest.raises(RiskInputError, match=message):
        score_all(rows, classes, NOW)


def test_bad_settings_and_a_naive_now_are_refused() -> None:
    with pytest.raises(RiskInputError, match="weights must have exactly the keys"):
        RiskSettings(weights={"hotline": 1.0})
    with pytest.raises(RiskInputError, match=r"half_life_days\[grid\] must be a finite number > 0"):
        RiskSettings(half_life_days={**RiskSettings().half_life_days, "grid": 0})
    with pytest.raises(RiskInputError, match="top_contributions"):
        RiskSettings(top_contributions=0)
    with pytest.raises(RiskInputError, match="now must be timezone-aware"):
        score([], "low", NOW.replace(tzinfo=None))
