"""The risk score of an enterprise (智能预警): which enterprises to look at before a draw.

Each signal about an enterprise — a 12345 hotline complaint, a grid patrol report, a petition,
a finding of an earlier inspection, a penalty, an IoT alarm — adds points that fade with age::

    score = base(risk_class) + Σ weight(kind) × severity × 0.5 ** (age_days / half_life_days(kind))

so a signal is worth half as much after its kind's half-life, a quarter after two. Severity is
1 (minor), 2 (serious) or 3 (grave). An enterprise whose score reaches the threshold is
*warned*; the warning lists the signals that contributed most (top 5), so an inspector sees why.

Defaults (:class:`RiskSettings`; a locality sets its own — no published formula was found, see
docs/modules/inspection.md):

=================== ====== ================
kind                weight half-life (days)
=================== ====== ================
hotline             2      90
grid                1.5    60
petition            3      180
inspection_finding  4      180
penalty             6      365
iot_alarm           1      30
=================== ====== ================

Base by credit-risk class: high 30, medium_high 20, medium 12, medium_low 6, low 2 (the order
of the classes' sampling ratios, 100 % / 20 % / 8 % / 4 % / 1 %). Threshold: 50.

Pure: signals and ``now`` in, scores out; no clock, no I/O. A signal dated after ``now`` is
refused (its weight would grow past 1), as is an unknown kind or a severity outside 1–3.
:func:`score_all` scores a whole directory in one pass over signals sorted by enterprise
(a million signals in a few seconds), with the same arithmetic as :func:`score`.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

SIGNAL_KINDS = ("hotline", "grid", "petition", "inspection_finding", "penalty", "iot_alarm")
RISK_CLASSES = ("high", "medium_high", "medium", "medium_low", "low")
SEVERITIES = (1, 2, 3)
_SECONDS_PER_DAY = 86_400.0

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "hotline": 2.0,
        "grid": 1.5,
        "petition": 3.0,
        "inspection_finding": 4.0,
        "penalty": 6.0,
        "iot_alarm": 1.0,
    }
)
DEFAULT_HALF_LIVES_DAYS: Mapping[str, float] = MappingProxyType(
    {
        "hotline": 90.0,
        "grid": 60.0,
        "petition": 180.0,
        "inspection_finding": 180.0,
        "penalty": 365.0,
        "iot_alarm": 30.0,
    }
)
DEFAULT_BASE: Mapping[str, float] = MappingProxyType(
    {"high": 30.0, "medium_high": 20.0, "medium": 12.0, "medium_low": 6.0, "low": 2.0}
)


class RiskInputError(ValueError):
    """A signal, a risk class or the settings break a rule above; the message says which."""


@dataclass(frozen=True)
class RiskSettings:
    """The numbers a locality may change; every kind and class must have a value."""

    weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    half_life_days: Mapping[str, float] = field(default_factory=lambda: DEFAULT_HALF_LIVES_DAYS)
    base: Mapping[str, float] = field(default_factory=lambda: DEFAULT_BASE)
    #: A score at or above this is a warning.
    threshold: float = 50.0
    #: Contributions kept per enterprise (the strongest first).
    top_contributions: int = 5

    def __post_init__(self) -> None:
        _require_keys("weights", self.weights, SIGNAL_KINDS, positive=False)
        _require_keys("half_life_days", self.half_life_days, SIGNAL_KINDS, positive=True)
        _require_keys("base", self.base, RISK_CLASSES, positive=False)
        if self.top_contributions < 1:
            raise RiskInputError("top_contributions must be at least 1")


def _require_keys(
    name: str, values: Mapping[str, float], keys: tuple[str, ...], *, positive: bool
) -> None:
    if set(values) != set(keys):
        raise RiskInputError(f"{name} must have exactly the keys {', '.join(keys)}")
    for key, value in values.items():
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            bound = "> 0" if positive else ">= 0"
            raise RiskInputError(f"{name}[{key}] must be a finite number {bound}")


@dataclass(frozen=True)
class Signal:
    kind: str
    at: datetime  # timezone-aware
    severity: int

    def __post_init__(self) -> None:
        _check_signal(self.kind, self.at, self.severity)


@dataclass(frozen=True)
class Contribution:
    signal: Signal
    points: float


@dataclass(frozen=True)
class RiskScore:
    """``total`` = ``base`` + the points of every signal; ``contributions`` holds only the
    strongest few (most points first, the newer first on a tie)."""

    risk_class: str
    base: float
    total: float
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True)
class RiskWarning:
    enterprise: str
    score: RiskScore


def _check_signal(kind: str, at: datetime, severity: int) -> None:
    if kind not in SIGNAL_KINDS:
        raise RiskInputError(f"unknown signal kind {kind!r}; known: {', '.join(SIGNAL_KINDS)}")
    if severity not in SEVERITIES or isinstance(severity, bool):
        raise RiskInputError(f"severity must be 1, 2 or 3, not {severity!r}")
    if at.tzinfo is None:
        raise RiskInputError("a signal's time must be timezone-aware (UTC)")


class RiskScorer:
    """The arithmetic shared by :func:`score` and :func:`score_all`: per kind, the factor
    ``weight`` and the decay rate ``ln 2 / half-life`` (``0.5 ** x == exp(-x ln 2)``)."""

    def __init__(self, now: datetime, settings: RiskSettings) -> None:
        if now.tzinfo is None:
            raise RiskInputError("now must be timezone-aware (UTC)")
        self.now = now
        self.settings = settings
        self.rates = {
            kind: math.log(2) / (settings.half_life_days[kind] * _SECONDS_PER_DAY)
            for kind in SIGNAL_KINDS
        }

    def points(self, kind: str, at: datetime, severity: int) -> float:
        age_s = (self.now - at).total_seconds()
        if age_s < 0:
            raise RiskInputError(f"a signal at {at.isoformat()} is after now")
        return self.settings.weights[kind] * severity * math.exp(-self.rates[kind] * age_s)

    def score(self, risk_class: str, signals: Iterable[Signal]) -> RiskScore:
        if risk_class not in RISK_CLASSES:
            raise RiskInputError(
                f"unknown risk class {risk_class!r}; known: {', '.join(RISK_CLASSES)}"
            )
        base = self.settings.base[risk_class]
        total = base
        kept: list[tuple[float, datetime, int, Signal]] = []
        for order, signal in enumerate(signals):
            points = self.points(signal.kind, signal.at, signal.severity)
            total += points
            entry = (points, signal.at, -order, signal)
            if len(kept) < self.settings.top_contributions:
                heapq.heappush(kept, entry)
            elif entry[:3] > kept[0][:3]:
                heapq.heapreplace(kept, entry)
        kept.sort(key=lambda entry: entry[:3], reverse=True)
        contributions = tuple(Contribution(signal, points) for points, _, _, signal in kept)
        return RiskScore(risk_class, base, total, contributions)


def score(
    signals: Iterable[Signal],
    risk_class: str,
    now: datetime,
    settings: RiskSettings | None = None,
) -> RiskScore:
    """One enterprise's score at ``now``."""
    return RiskScorer(now, settings or RiskSettings()).score(risk_class, signals)


def score_all(
    rows: Iterable[tuple[str, str, datetime, int]],
    risk_classes: Mapping[str, str],
    now: datetime,
    settings: RiskSettings | None = None,
) -> dict[str, RiskScore]:
    """Every enterprise of ``risk_classes`` scored from ``rows`` of (enterprise, kind, at,
    severity) sorted (grouped) by enterprise; an enterprise without rows gets its base.

    Refuses rows of an enterprise not in ``risk_classes`` and rows not grouped by enterprise
    (an enterprise seen again after others), rather than scoring half its signals."""
    scorer = RiskScorer(now, settings or RiskSettings())
    scores: dict[str, RiskScore] = {}
    for enterprise, signals in _grouped(rows):
        if enterprise in scores:
            raise RiskInputError(f"rows are not sorted by enterprise: {enterprise!r} recurs")
        if enterprise not in risk_classes:
            raise RiskInputError(f"enterprise {enterprise!r} has no risk class")
        scores[enterprise] = scorer.score(risk_classes[enterprise], signals)
    for enterprise, risk_class in risk_classes.items():
        if enterprise not in scores:
            scores[enterprise] = scorer.score(risk_class, ())
    return scores


def _grouped(
    rows: Iterable[tuple[str, str, datetime, int]],
) -> Iterator[tuple[str, list[Signal]]]:
    current: str | None = None
    signals: list[Signal] = []
    for enterprise, kind, at, severity in rows:
        if enterprise != current:
            if current is not None:
                yield current, signals
            current, signals = enterprise, []
        signals.append(Signal(kind, at, severity))
    if current is not None:
        yield current, signals


def warnings(scores: Mapping[str, RiskScore], threshold: float) -> list[RiskWarning]:
    """The enterprises whose score reaches ``threshold``, the highest first (then by name,
    so the list is the same on every run)."""
    crossed = [
        RiskWarning(enterprise, risk)
        for enterprise, risk in scores.items()
        if risk.total >= threshold
    ]
    crossed.sort(key=lambda warning: (-warning.score.total, warning.enterprise))
    return crossed
