"""The index system (一套指数体系): four special scores, an overall score and the grades.

Every special score starts at 100 and loses points per fault, floored at 0 (扣分制, the way
Chinese inspection forms score); the points are :class:`Deductions`, a locality's to change:

- **oil fume** (油烟), from a period of online monitoring::

      100 − 2 × exceedance % − 10 × alarms − 1 × idle %

  exceedance % = 100 × minutes above the limit / minutes monitored; alarms = the
  ``sustained-exceedance`` and ``purifier-off`` alarms opened; idle % = 100 × fan minutes
  without the purifier / fan minutes (100 − 开机率). No minutes monitored ⇒ no score (``None``).
- **grease** (隔油池): ``100 − 10 × trap-level alarms − 20 × cleanings overdue``.
- **food safety** (食品安全), from one inspection: ``100 − Σ points of its findings``; a finding
  may be a 关键项 (critical item), which matters for the grades below.
- **gas safety** (燃气): ``100 − 25 × gas alarms − 1 × offline %`` (offline % = 100 × minutes
  the detector was offline / minutes in the period). No period ⇒ no score.

Overall score = Σ wᵢ·sᵢ / Σ wᵢ over the special scores present (an outlet without an oil-fume
monitor is scored on the rest; food safety is always present). :class:`Weights` defaults:
food safety 0.35 — the statutory core of 量化分级 and the 市场监管 mandate; oil fume 0.35 — the
neighbours' main complaint and the one with a national limit and penalty (GB 18483; 大气污染防治法
arts. 81, 118); grease 0.15 and gas 0.15 — supporting duties with fewer devices and no national
number found. No published weighting was found (ANCHORS.md §6); these are this project's.

Grades (量化分级, SFDA 2012 guidance, ANCHORS.md §3.3, *(mirror)* sources):

- :func:`dynamic_grade`: 优秀 ≥ 90, 良好 ≥ 75, 一般 ≥ 60, otherwise 不评级 (2011 draft
  thresholds; below 一般 ⇒ 限期整改).
- :func:`rate_inspection` posts one inspection's grade, withheld (不评级) within 3 months of a
  new licence, within 6 months after a food-safety incident, or when ≥ 2 关键项 fail (Hainan).
- :func:`yearly_grade`, this project's reading of the guidance's A/B/C over the past 12 months:
  C if the average score is below 75, or any inspection had a failed 关键项 or was withheld for
  an incident; A if the average is ≥ 90 and no inspection scored below 75 (no 一般 or worse);
  B otherwise; ``None`` if nobody inspected the outlet in the window.

Every number above is a field of :class:`Deductions`, :class:`Weights` or :class:`GradeSettings`.
Pure: values in, values out; dates are parameters.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date

EXCELLENT, GOOD, FAIR, NOT_RATED = "优秀", "良好", "一般", "不评级"
YEARLY_A, YEARLY_B, YEARLY_C = "A", "B", "C"


class IndexInputError(ValueError):
    """An input or a setting breaks a rule above. ``reason`` is a stable code: ``bad-count``,
    ``bad-score``, ``bad-weights``, ``bad-settings``, ``bad-date``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _non_negative(owner: object, reason: str, *, whole: bool) -> None:
    for f in fields(owner):  # type: ignore[arg-type]
        value = getattr(owner, f.name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise IndexInputError(reason, f"{f.name} must be a number, not {value!r}")
        if whole and not isinstance(value, int):
            raise IndexInputError(reason, f"{f.name} must be a whole number, not {value!r}")
        if not math.isfinite(value) or value < 0:
            raise IndexInputError(reason, f"{f.name} must be finite and >= 0, not {value!r}")


@dataclass(frozen=True)
class Deductions:
    """Points lost per fault (per percentage point for the ``_pct`` fields)."""

    exceedance_pct: float = 2.0
    oil_fume_alarm: float = 10.0
    purifier_idle_pct: float = 1.0
    grease_level_alarm: float = 10.0
    overdue_cleaning: float = 20.0
    gas_alarm: float = 25.0
    gas_offline_pct: float = 1.0

    def __post_init__(self) -> None:
        _non_negative(self, "bad-settings", whole=False)


@dataclass(frozen=True)
class Weights:
    """The overall score's weights; they must sum to 1."""

    oil_fume: float = 0.35
    grease: float = 0.15
    food_safety: float = 0.35
    gas: float = 0.15

    def __post_init__(self) -> None:
        _non_negative(self, "bad-weights", whole=False)
        total = self.oil_fume + self.grease + self.food_safety + self.gas
        if abs(total - 1.0) > 1e-9:
            raise IndexInputError("bad-weights", f"the weights must sum to 1, not {total}")
        if self.food_safety == 0:
            raise IndexInputError("bad-weights", "food_safety must weigh more than 0")


@dataclass(frozen=True)
class GradeSettings:
    excellent_min: float = 90.0
    good_min: float = 75.0
    fair_min: float = 60.0
    #: This many failed 关键项 in one inspection withhold its grade (Hainan: 2).
    critical_withhold: int = 2
    new_licence_months: int = 3
    incident_months: int = 6
    window_months: int = 12
    yearly_a_min: float = 90.0
    yearly_c_below: float = 75.0

    def __post_init__(self) -> None:
        _non_negative(self, "bad-settings", whole=False)
        if not 0 <= self.fair_min <= self.good_min <= self.excellent_min <= 100:
            raise IndexInputError("bad-settings", "need 0 <= fair <= good <= excellent <= 100")
        for name in ("critical_withhold", "new_licence_months", "incident_months"):
            if not isinstance(getattr(self, name), int):
                raise IndexInputError("bad-settings", f"{name} must be a whole number")
        if not isinstance(self.window_months, int) or self.window_months < 1:
            raise IndexInputError("bad-settings", "window_months must be a whole number >= 1")
        if self.critical_withhold < 1:
            raise IndexInputError("bad-settings", "critical_withhold must be >= 1")


@dataclass(frozen=True)
class OilFumeRecord:
    """A period of the oil-fume monitor, in minutes; ``purifier_minutes`` counts the fan
    minutes in which the purifier ran too."""

    monitored_minutes: int
    exceeding_minutes: int
    fan_minutes: int
    purifier_minutes: int
    alarms: int

    def __post_init__(self) -> None:
        _non_negative(self, "bad-count", whole=True)
        if self.exceeding_minutes > self.monitored_minutes:
            raise IndexInputError("bad-count", "exceeding_minutes > monitored_minutes")
        if self.purifier_minutes > self.fan_minutes:
            raise IndexInputError("bad-count", "purifier_minutes > fan_minutes")


@dataclass(frozen=True)
class GreaseRecord:
    level_alarms: int
    overdue_cleanings: int

    def __post_init__(self) -> None:
        _non_negative(self, "bad-count", whole=True)


@dataclass(frozen=True)
class GasRecord:
    period_minutes: int
    offline_minutes: int
    gas_alarms: int

    def __post_init__(self) -> None:
        _non_negative(self, "bad-count", whole=True)
        if self.offline_minutes > self.period_minutes:
            raise IndexInputError("bad-count", "offline_minutes > period_minutes")


@dataclass(frozen=True)
class Finding:
    item: str
    points: float
    critical: bool = False  # 关键项

    def __post_init__(self) -> None:
        if isinstance(self.points, bool) or not isinstance(self.points, int | float):
            raise IndexInputError("bad-score", f"points must be a number: {self.points!r}")
        if not math.isfinite(self.points) or self.points < 0:
            raise IndexInputError("bad-score", f"points must be finite and >= 0: {self.points}")


@dataclass(frozen=True)
class Inspection:
    on: date
    findings: tuple[Finding, ...] = ()

    @property
    def critical_failures(self) -> int:
        return sum(1 for finding in self.findings if finding.critical)


def _clamp(score: float) -> float:
    return min(100.0, max(0.0, score))


def oil_fume_score(record: OilFumeRecord, deductions: Deductions | None = None) -> float | None:
    d = deductions or Deductions()
    if record.monitored_minutes == 0:
        return None
    exceedance_pct = 100 * record.exceeding_minutes / record.monitored_minutes
    idle_pct = (
        100 * (record.fan_minutes - record.purifier_minutes) / record.fan_minutes
        if record.fan_minutes
        else 0.0
    )
    return _clamp(
        100
        - d.exceedance_pct * exceedance_pct
        - d.oil_fume_alarm * record.alarms
        - d.purifier_idle_pct * idle_pct
    )


def grease_score(record: GreaseRecord, deductions: Deductions | None = None) -> float:
    d = deductions or Deductions()
    return _clamp(
        100
        - d.grease_level_alarm * record.level_alarms
        - d.overdue_cleaning * record.overdue_cleanings
    )


def gas_score(record: GasRecord, deductions: Deductions | None = None) -> float | None:
    d = deductions or Deductions()
    if record.period_minutes == 0:
        return None
    offline_pct = 100 * record.offline_minutes / record.period_minutes
    return _clamp(100 - d.gas_alarm * record.gas_alarms - d.gas_offline_pct * offline_pct)


def food_safety_score(inspection: Inspection) -> float:
    return _clamp(100 - sum(finding.points for finding in inspection.findings))


@dataclass(frozen=True)
class SpecialScores:
    food_safety: float
    oil_fume: float | None = None
    grease: float | None = None
    gas: float | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name != "food_safety":
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value <= 100
            ):
                raise IndexInputError("bad-score", f"{f.name} must be 0–100, not {value!r}")


def overall_score(scores: SpecialScores, weights: Weights | None = None) -> float:
    """The weighted mean of the special scores present."""
    w = weights or Weights()
    pairs = [
        (w.oil_fume, scores.oil_fume),
        (w.grease, scores.grease),
        (w.food_safety, scores.food_safety),
        (w.gas, scores.gas),
    ]
    present = [(weight, score) for weight, score in pairs if score is not None]
    return sum(weight * score for weight, score in present) / sum(w for w, _ in present)


def dynamic_grade(score: float, settings: GradeSettings | None = None) -> str:
    """The grade a score earns by the thresholds alone."""
    s = settings or GradeSettings()
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 100:
        raise IndexInputError("bad-score", f"a score must be 0–100, not {score!r}")
    if score >= s.excellent_min:
        return EXCELLENT
    if score >= s.good_min:
        return GOOD
    if score >= s.fair_min:
        return FAIR
    return NOT_RATED


@dataclass(frozen=True)
class DynamicRating:
    """One inspection's posted grade. ``withheld`` says why it is 不评级 despite the score
    (``new-licence``, ``incident``, ``critical-items``), ``None`` otherwise; ``rectify``: the
    score is below 一般 (限期整改)."""

    on: date
    score: float
    grade: str
    critical_failures: int
    withheld: str | None
    rectify: bool


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def rate_inspection(
    inspection: Inspection,
    *,
    licensed_on: date,
    incidents: Iterable[date] = (),
    settings: GradeSettings | None = None,
) -> DynamicRating:
    s = settings or GradeSettings()
    if inspection.on < licensed_on:
        raise IndexInputError("bad-date", "an inspection before the licence was issued")
    score = food_safety_score(inspection)
    critical = inspection.critical_failures
    withheld: str | None = None
    if inspection.on < add_months(licensed_on, s.new_licence_months):
        withheld = "new-licence"
    elif any(i <= inspection.on < add_months(i, s.incident_months) for i in incidents):
        withheld = "incident"
    elif critical >= s.critical_withhold:
        withheld = "critical-items"
    grade = NOT_RATED if withheld else dynamic_grade(score, s)
    return DynamicRating(inspection.on, score, grade, critical, withheld, score < s.fair_min)


def yearly_grade(
    ratings: Sequence[DynamicRating], *, on: date, settings: GradeSettings | None = None
) -> str | None:
    """A, B or C over the ratings of the ``window_months`` up to ``on`` (see the module
    docstring); ``None`` without any."""
    s = settings or GradeSettings()
    start = add_months(on, -s.window_months)
    window = [r for r in ratings if start < r.on <= on]
    if not window:
        return None
    average = sum(r.score for r in window) / len(window)
    if (
        average < s.yearly_c_below
        or any(r.critical_failures for r in window)
        or any(r.withheld == "incident" for r in window)
    ):
        return YEARLY_C
    if average >= s.yearly_a_min and all(r.score >= s.good_min for r in window):
        return YEARLY_A
    return YEARLY_B
