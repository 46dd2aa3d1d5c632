"""The index system: each special score's deductions, the overall weights, dynamic grades with
their withholding rules, and the yearly A/B/C — with exact numbers."""

from __future__ import annotations

from datetime import date

import pytest

from evidence_service.modules.catering.index import (
    EXCELLENT,
    FAIR,
    GOOD,
    NOT_RATED,
    Deductions,
    DynamicRating,
    Finding,
    GasRecord,
    GradeSettings,
    GreaseRecord,
    IndexInputError,
    Inspection,
    OilFumeRecord,
    SpecialScores,
    Weights,
    add_months,
    dynamic_grade,
    food_safety_score,
    gas_score,
    grease_score,
    oil_fume_score,
    overall_score,
    rate_inspection,
    yearly_grade,
)

LICENSED = date(2024, 1, 15)


def test_oil_fume_loses_points_for_exceedance_alarms_and_idle_purifier() -> None:
    # 2 % of minutes above the limit (−4), one alarm (−10), 开机率 95 % (−5)
    record = OilFumeRecord(6000, 120, 3000, 2850, 1)
    assert oil_fume_score(record) == 81.0
    assert oil_fume_score(OilFumeRecord(6000, 0, 0, 0, 0)) == 100.0  # the fan never ran
    assert oil_fume_score(OilFumeRecord(100, 100, 100, 0, 9)) == 0.0  # floored
    assert oil_fume_score(OilFumeRecord(0, 0, 0, 0, 0)) is None
    custom = Deductions(exceedance_pct=5.0, oil_fume_alarm=0.0, purifier_idle_pct=0.0)
    assert oil_fume_score(record, custom) == 90.0


def test_grease_gas_and_food_safety_scores() -> None:
    assert grease_score(GreaseRecord(level_alarms=2, overdue_cleanings=1)) == 60.0
    assert gas_score(GasRecord(period_minutes=1000, offline_minutes=50, gas_alarms=1)) == 70.0
    assert gas_score(GasRecord(0, 0, 0)) is None
    inspection = Inspection(
        date(2026, 3, 1), (Finding("留样不足", 4), Finding("从业人员健康证", 6.5, critical=True))
    )
    assert food_safety_score(inspection) == 89.5
    assert inspection.critical_failures == 1
    assert food_safety_score(Inspection(date(2026, 3, 1), (Finding("x", 150),))) == 0.0


def test_overall_score_weights_and_missing_specials() -> None:
    scores = SpecialScores(food_safety=80, oil_fume=60, grease=100, gas=100)
    assert overall_score(scores) == pytest.approx(0.35 * 80 + 0.35 * 60 + 0.15 * 100 + 0.15 * 100)
    assert overall_score(scores) == pytest.approx(79.0)
    # without an oil-fume monitor: (0.35·80 + 0.15·100 + 0.15·100) / 0.65
    no_monitor = SpecialScores(food_safety=80, grease=100, gas=100)
    assert overall_score(no_monitor) == pytest.approx(58 / 0.65)
    equal = Weights(oil_fume=0.25, grease=0.25, food_safety=0.25, gas=0.25)
    assert overall_score(scores, equal) == 85.0


@pytest.mark.parametrize(
    ("score", "grade"),
    [(100, EXCELLENT), (90, EXCELLENT), (89.99, GOOD), (75, GOOD), (74.9, FAIR), (60, FAIR),
     (59.9, NOT_RATED), (0, NOT_RATED)],
)  # fmt: skip
def test_dynamic_grade_thresholds(score: float, grade: str) -> None:
    assert dynamic_grade(score) == grade


def test_dynamic_grade_thresholds_are_configurable() -> None:
    assert dynamic_grade(80, GradeSettings(excellent_min=80)) == EXCELLENT


def test_rating_is_withheld_after_a_new_licence_an_incident_or_two_critical_items() -> None:
    clean = Inspection(date(2024, 4, 14), (Finding("x", 5),))
    assert rate_inspection(clean, licensed_on=LICENSED) == DynamicRating(
        date(2024, 4, 14), 95.0, NOT_RATED, 0, "new-licence", False
    )
    on_time = Inspection(date(2024, 4, 15), (Finding("x", 5),))
    assert rate_inspection(on_time, licensed_on=LICENSED).grade == EXCELLENT
    incident = date(2025, 2, 1)
    during = Inspection(date(2025, 7, 31))
    after = Inspection(date(2025, 8, 1))
    assert rate_inspection(during, licensed_on=LICENSED, incidents=[incident]).withheld == (
        "incident"
    )
    assert rate_inspection(after, licensed_on=LICENSED, incidents=[incident]).grade == EXCELLENT
    two = Inspection(date(2025, 9, 1), (Finding("a", 1, True), Finding("b", 1, True)))
    one = Inspection(date(2025, 9, 1), (Finding("a", 1, True),))
    assert rate_inspection(two, licensed_on=LICENSED).withheld == "critical-items"
    assert rate_inspection(one, licensed_on=LICENSED).grade == EXCELLENT
    poor = rate_inspection(Inspection(date(2025, 9, 1), (Finding("a", 45),)), licensed_on=LICENSED)
    assert (poor.grade, poor.rectify, poor.withheld) == (NOT_RATED, True, None)


def rating(on: date, score: float, critical: int = 0, withheld: str | None = None) -> DynamicRating:
    return DynamicRating(on, score, dynamic_grade(score), critical, withheld, score < 60)


def test_the_yearly_window_is_the_twelve_months_up_to_the_day() -> None:
    today = date(2026, 6, 30)
    old = rating(date(2025, 6, 30), 10)  # exactly 12 months ago: outside the window
    assert yearly_grade([old, rating(date(2026, 1, 5), 95), rating(date(2026, 5, 1), 90)],
                        on=today) == "A"  # fmt: skip
    inside = rating(date(2025, 7, 1), 10)  # a day later: inside, and the average falls to 65
    assert yearly_grade([inside, rating(date(2026, 1, 5), 95), rating(date(2026, 5, 1), 90)],
                        on=today) == "C"  # fmt: skip


def test_yearly_grade_rules_precisely() -> None:
    today = date(2026, 6, 30)
    a = [rating(date(2026, 1, 5), 100), rating(date(2026, 5, 1), 80)]  # avg 90, none below 75
    assert yearly_grade(a, on=today) == "A"
    b = [rating(date(2026, 1, 5), 100), rating(date(2026, 5, 1), 74)]  # avg 87: one 一般
    assert yearly_grade(b, on=today) == "B"
    c = [rating(date(2026, 1, 5), 80), rating(date(2026, 5, 1), 69)]  # avg 74.5
    assert yearly_grade(c, on=today) == "C"
    critical = [rating(date(2026, 1, 5), 98, critical=1)]
    assert yearly_grade(critical, on=today) == "C"
    incident = [rating(date(2026, 1, 5), 98, withheld="incident")]
    assert yearly_grade(incident, on=today) == "C"
    assert yearly_grade([], on=today) is None
    lenient = GradeSettings(yearly_c_below=70)
    assert yearly_grade(c, on=today, settings=lenient) == "B"


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(2024, 2, 29), -12) == date(2023, 2, 28)
    assert add_months(date(2026, 1, 31), -1) == date(2025, 12, 31)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: OilFumeRecord(10, 11, 0, 0, 0), "bad-count"),
        (lambda: OilFumeRecord(10, 1, 5, 6, 0), "bad-count"),
        (lambda: OilFumeRecord(10, 1, 5, 5, -1), "bad-count"),
        (lambda: GreaseRecord(1.5, 0), "bad-count"),  # type: ignore[arg-type]
        (lambda: GasRecord(10, 11, 0), "bad-count"),
        (lambda: Finding("x", -1), "bad-score"),
        (lambda: Finding("x", float("nan")), "bad-score"),
        (lambda: SpecialScores(food_safety=101), "bad-score"),
        (lambda: SpecialScores(food_safety=None), "bad-score"),  # type: ignore[arg-type]
        (lambda: dynamic_grade(-1), "bad-score"),
        (lambda: Weights(oil_fume=0.5), "bad-weights"),
        (lambda: Weights(oil_fume=0.5, food_safety=0.0, grease=0.25, gas=0.25), "bad-weights"),
        (lambda: Deductions(gas_alarm=-5), "bad-settings"),
        (lambda: GradeSettings(good_min=95), "bad-settings"),
        (lambda: GradeSettings(window_months=0), "bad-settings"),
        (lambda: rate_inspection(Inspection(date(2020, 1, 1)), licensed_on=LICENSED), "bad-date"),
    ],
)
def test_bad_input_is_refused(make: object, reason: str) -> None:
    with pytest.raises(IndexInputError) as caught:
        make()  # type: ignore[operator]
    assert caught.value.reason == reason
