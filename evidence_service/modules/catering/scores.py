"""A restaurant's index (一套指数体系) from the database, through :mod:`.index`'s pure rules.

:func:`restaurant_index` gathers one restaurant's inputs over two windows ending ``now``
(``docs/modules/catering.md``):

- **oil fume**, over the monitoring window (default 30 days): the minutes of the oil-fume role's
  ``Avg``/``Rtd`` values with flag ``N`` (a minute is monitored once, whatever the number of
  devices or statistics; it exceeds when its highest value is strictly above
  ``limits.oil_fume_limit_mg_m3``), the ``sustained-exceedance`` and ``purifier-off`` alarms
  opened, and the fan minutes (fan current above ``limits.fan_on_current_a``) in which the
  purifier current was at or below ``limits.purifier_on_current_a`` (idle); no oil-fume
  minutes ⇒ no score;
- **grease**: ``grease-level-high`` and ``cleaning-overdue`` alarms opened in the monitoring
  window; no grease-trap device ⇒ no score;
- **gas**: ``gas-alarm`` alarms opened and the minutes the gas devices' ``offline`` alarms were
  open, over the minutes each gas device existed in the window; no gas device ⇒ no score;
- **food safety**: the latest inspection of the inspection window (default 12 months), rated by
  :func:`.index.rate_inspection` (licence date ``restaurant.licensed_on``; incidents: every
  inspection that recorded one), and the yearly grade over the window's ratings; no inspection
  ⇒ no food-safety score and so no overall score.

:func:`map_points` answers every located restaurant's colour for the layout map in one
set-based query: ``alarm`` when any alarm is open, else the band of a *quick* overall score —
the same rules without the minute shares (exceedance %, idle %, offline %), which need the
readings: alarms opened in the monitoring window and the latest inspection's food-safety
score. The restaurant's page shows the full index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, case, func, literal, or_, select

from evidence_service.modules.catering import index
from evidence_service.modules.catering import models as m
from evidence_service.modules.catering.limits import Limits

MONITOR_DAYS = 30
INSPECTION_MONTHS = 12
#: Statistics of a minute frame that stand for the minute's concentration.
MINUTE_STATISTICS = ("Avg", "Rtd")
OIL_ALARMS = ("sustained-exceedance", "purifier-off")
GREASE_ALARMS = ("grease-level-high", "cleaning-overdue")
GAS_ALARMS = ("gas-alarm",)
#: The map's bands, best first, then the two without a score: (key, label, colour).
BANDS = (
    ("alarm", "告警中", "#c62828"),
    ("excellent", "优秀 ≥ 90", "#2e7d32"),
    ("good", "良好 75–90", "#1565c0"),
    ("fair", "一般 60–75", "#b8860b"),
    ("poor", "低于 60", "#6a1b9a"),
    ("none", "暂无评分", "#757575"),
)
BAND_KEYS = tuple(key for key, _, _ in BANDS)


@dataclass(frozen=True)
class IndexSettings:
    """The windows and the index's numbers (:mod:`.index`'s defaults unless a locality
    changes them)."""

    monitor_days: int = MONITOR_DAYS
    inspection_months: int = INSPECTION_MONTHS
    deductions: index.Deductions = field(default_factory=index.Deductions)
    weights: index.Weights = field(default_factory=index.Weights)
    grades: index.GradeSettings = field(default_factory=index.GradeSettings)


@dataclass(frozen=True)
class RestaurantIndex:
    restaurant_id: str
    on: date  # the local day of ``now``
    oil_fume: float | None
    grease: float | None
    food_safety: float | None
    gas: float | None
    overall: float | None
    latest: index.DynamicRating | None  # the latest inspection's posted grade
    yearly: str | None  # A, B or C
    oil_record: index.OilFumeRecord | None
    grease_record: index.GreaseRecord | None
    gas_record: index.GasRecord | None
    inspections: int

    def as_json(self, weights: index.Weights) -> dict[str, Any]:
        latest = self.latest
        return {
            "restaurant_id": self.restaurant_id,
            "on": self.on.isoformat(),
            "scores": {
                "oil_fume": _round(self.oil_fume),
                "grease": _round(self.grease),
                "food_safety": _round(self.food_safety),
                "gas": _round(self.gas),
                "overall": _round(self.overall),
            },
            "weights": {
                "oil_fume": weights.oil_fume,
                "grease": weights.grease,
                "food_safety": weights.food_safety,
                "gas": weights.gas,
            },
            "dynamic_grade": None
            if latest is None
            else {
                "inspected_on": latest.on.isoformat(),
                "score": _round(latest.score),
                "grade": latest.grade,
                "withheld": latest.withheld,
                "rectify": latest.rectify,
            },
            "yearly_grade": self.yearly,
            "inputs": {
                "oil_fume": None if self.oil_record is None else vars(self.oil_record),
                "grease": None if self.grease_record is None else vars(self.grease_record),
                "gas": None if self.gas_record is None else vars(self.gas_record),
                "inspections": self.inspections,
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _codes(roles: Mapping[str, str], role: str) -> list[str]:
    return [code for code, r in roles.items() if r == role]


def _devices(conn: Connection, restaurant_id: str) -> dict[str, list[tuple[str, datetime]]]:
    rows = conn.execute(
        select(m.device.c.mn, m.device.c.kind, m.device.c.created_at).where(
            m.device.c.restaurant_id == restaurant_id
        )
    )
    kinds: dict[str, list[tuple[str, datetime]]] = {}
    for row in rows:
        kinds.setdefault(row.kind, []).append((row.mn, row.created_at))
    return kinds


def _alarms_opened(
    conn: Connection, restaurant_id: str, since: datetime, until: datetime
) -> dict[str, int]:
    rows = conn.execute(
        select(m.alarm.c.kind, func.count())
        .where(
            m.alarm.c.restaurant_id == restaurant_id,
            m.alarm.c.opened_at >= since,
            m.alarm.c.opened_at <= until,
        )
        .group_by(m.alarm.c.kind)
    )
    return {kind: int(n) for kind, n in rows}


def _oil_minutes(
    conn: Connection,
    mns: list[str],
    roles: Mapping[str, str],
    limits: Limits,
    since: datetime,
    until: datetime,
) -> tuple[int, int, int, int]:
    """(monitored, exceeding, fan, fan with the purifier running) minutes."""
    oil, fan, purifier = (_codes(roles, r) for r in ("oil-fume", "fan-current", "purifier-current"))
    r = m.reading.c
    valid = or_(r.flag == "N", r.flag.is_(None))
    window = and_(r.mn.in_(mns), r.data_time >= since, r.data_time < until, valid)
    per_minute = (
        select(r.data_time, func.max(r.value).label("top"))
        .where(window, r.code.in_(oil), r.statistic.in_(MINUTE_STATISTICS))
        .group_by(r.data_time)
        .subquery()
    )
    monitored, exceeding = conn.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(case((per_minute.c.top > limits.oil_fume_limit_mg_m3, 1), else_=0)), 0
            ),
        ).select_from(per_minute)
    ).one()
    currents = (
        select(
            r.mn,
            r.data_time,
            func.max(case((r.code.in_(fan), r.value))).label("fan"),
            func.max(case((r.code.in_(purifier), r.value))).label("purifier"),
        )
        .where(window, r.code.in_(fan + purifier), r.statistic.in_(MINUTE_STATISTICS))
        .group_by(r.mn, r.data_time)
        .subquery()
    )
    running = currents.c.fan > limits.fan_on_current_a
    idle = and_(running, currents.c.purifier <= limits.purifier_on_current_a)
    fan_minutes, idle_minutes = conn.execute(
        select(
            func.coalesce(func.sum(case((running, 1), else_=0)), 0),
            func.coalesce(func.sum(case((idle, 1), else_=0)), 0),
        ).select_from(currents)
    ).one()
    return int(monitored), int(exceeding), int(fan_minutes), int(fan_minutes) - int(idle_minutes)


def _offline_minutes(conn: Connection, mns: list[str], since: datetime, until: datetime) -> int:
    rows = conn.execute(
        select(m.alarm.c.opened_at, m.alarm.c.cleared_at).where(
            m.alarm.c.mn.in_(mns),
            m.alarm.c.kind == "offline",
            m.alarm.c.opened_at < until,
            or_(m.alarm.c.cleared_at.is_(None), m.alarm.c.cleared_at > since),
        )
    )
    seconds = 0.0
    for opened, cleared in rows:
        start, end = max(opened, since), min(cleared or until, until)
        seconds += max(0.0, (end - start).total_seconds())
    return int(seconds // 60)


def _ratings(
    conn: Connection, restaurant_id: str, licensed_on: str | None, settings: IndexSettings
) -> list[tuple[index.DynamicRating, index.Inspection]]:
    rows = list(
        conn.execute(
            select(m.inspection.c.inspected_on, m.inspection.c.findings, m.inspection.c.incident)
            .where(m.inspection.c.restaurant_id == restaurant_id)
            .order_by(m.inspection.c.inspected_on, m.inspection.c.id)
        )
    )
    incidents = [date.fromisoformat(row.inspected_on) for row in rows if row.incident]
    licence = date.fromisoformat(licensed_on) if licensed_on else date.min
    rated = []
    for row in rows:
        inspection = index.Inspection(
            date.fromisoformat(row.inspected_on),
            tuple(
                index.Finding(str(f["item"]), f["points"], bool(f.get("critical", False)))
                for f in row.findings or ()
            ),
        )
        rating = index.rate_inspection(
            inspection,
            licensed_on=min(licence, inspection.on),
            incidents=incidents,
            settings=settings.grades,
        )
        rated.append((rating, inspection))
    return rated


def restaurant_index(
    conn: Connection,
    restaurant_id: str,
    *,
    now: datetime,
    roles: Mapping[str, str],
    limits: Limits,
    tz: ZoneInfo,
    settings: IndexSettings | None = None,
) -> RestaurantIndex | None:
    """The index of one restaurant at ``now`` (None: no such restaurant)."""
    s = settings or IndexSettings()
    row = conn.execute(
        select(m.restaurant.c.licensed_on).where(m.restaurant.c.id == restaurant_id)
    ).first()
    if row is None:
        return None
    since = now - timedelta(days=s.monitor_days)
    devices = _devices(conn, restaurant_id)
    alarms = _alarms_opened(conn, restaurant_id, since, now)

    oil_record = None
    oil = None
    if devices.get("oil_fume"):
        mns = [mn for mn, _ in devices["oil_fume"]]
        monitored, exceeding, fan, running = _oil_minutes(conn, mns, roles, limits, since, now)
        oil_record = index.OilFumeRecord(
            monitored, exceeding, fan, running, sum(alarms.get(k, 0) for k in OIL_ALARMS)
        )
        oil = index.oil_fume_score(oil_record, s.deductions)

    grease_record = None
    grease = None
    if devices.get("grease_trap"):
        grease_record = index.GreaseRecord(
            alarms.get("grease-level-high", 0), alarms.get("cleaning-overdue", 0)
        )
        grease = index.grease_score(grease_record, s.deductions)

    gas_record = None
    gas = None
    if devices.get("gas"):
        period = sum(
            max(0, int((now - max(created, since)).total_seconds() // 60))
            for _, created in devices["gas"]
        )
        offline = min(period, _offline_minutes(conn, [mn for mn, _ in devices["gas"]], since, now))
        gas_record = index.GasRecord(period, offline, sum(alarms.get(k, 0) for k in GAS_ALARMS))
        gas = index.gas_score(gas_record, s.deductions)

    today = now.astimezone(tz).date()
    start = index.add_months(today, -s.inspection_months)
    rated = [
        (rating, insp)
        for rating, insp in _ratings(conn, restaurant_id, row.licensed_on, s)
        if start < rating.on <= today
    ]
    latest = rated[-1][0] if rated else None
    yearly = index.yearly_grade([r for r, _ in rated], on=today, settings=s.grades)
    food = latest.score if latest else None
    overall = None
    if food is not None:
        overall = index.overall_score(
            index.SpecialScores(food_safety=food, oil_fume=oil, grease=grease, gas=gas),
            s.weights,
        )
    return RestaurantIndex(
        restaurant_id,
        today,
        oil,
        grease,
        food,
        gas,
        overall,
        latest,
        yearly,
        oil_record,
        grease_record,
        gas_record,
        len(rated),
    )


# -- the layout map ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MapPoint:
    restaurant_id: str
    name: str
    lat: float | None
    lon: float | None
    score: float | None  # the quick overall score (module docstring)
    open_alarms: int
    band: str  # BAND_KEYS


def band_of(score: float | None, open_alarms: int, grades: index.GradeSettings) -> str:
    if open_alarms:
        return "alarm"
    if score is None:
        return "none"
    if score >= grades.excellent_min:
        return "excellent"
    if score >= grades.good_min:
        return "good"
    if score >= grades.fair_min:
        return "fair"
    return "poor"


def _count(kinds: tuple[str, ...], since: datetime) -> Any:
    opened = and_(m.alarm.c.kind.in_(kinds), m.alarm.c.opened_at >= since)
    return func.coalesce(func.sum(case((opened, 1), else_=0)), 0)


def map_points(
    conn: Connection,
    *,
    now: datetime,
    tz: ZoneInfo,
    settings: IndexSettings | None = None,
) -> list[MapPoint]:
    """Every restaurant with its quick score and band, in name order (one query)."""
    s = settings or IndexSettings()
    since = now - timedelta(days=s.monitor_days)
    today = now.astimezone(tz).date()
    first_day = index.add_months(today, -s.inspection_months) + timedelta(days=1)
    a = m.alarm.c
    alarms = (
        select(
            a.restaurant_id,
            func.coalesce(func.sum(case((a.state == "open", 1), else_=0)), 0).label("open"),
            _count(OIL_ALARMS, since).label("oil"),
            _count(("grease-level-high",), since).label("level"),
            _count(("cleaning-overdue",), since).label("cleaning"),
            _count(GAS_ALARMS, since).label("gas"),
        )
        .where(or_(a.state == "open", a.opened_at >= since))
        .group_by(a.restaurant_id)
        .subquery()
    )
    d = m.device.c
    kinds = (
        select(
            d.restaurant_id,
            func.max(case((d.kind == "oil_fume", 1), else_=0)).label("has_oil"),
            func.max(case((d.kind == "grease_trap", 1), else_=0)).label("has_grease"),
            func.max(case((d.kind == "gas", 1), else_=0)).label("has_gas"),
        )
        .group_by(d.restaurant_id)
        .subquery()
    )
    i = m.inspection.c
    window = and_(i.inspected_on >= first_day.isoformat(), i.inspected_on <= today.isoformat())
    latest_day = (
        select(i.restaurant_id, func.max(i.inspected_on).label("day"))
        .where(window)
        .group_by(i.restaurant_id)
        .subquery()
    )
    latest = (
        select(i.restaurant_id, func.min(i.score).label("score"))
        .join(
            latest_day,
            and_(latest_day.c.restaurant_id == i.restaurant_id, latest_day.c.day == i.inspected_on),
        )
        .group_by(i.restaurant_id)
        .subquery()
    )
    r = m.restaurant.c
    zero = literal(0)
    query = (
        select(
            r.id,
            r.name,
            r.lat,
            r.lon,
            func.coalesce(alarms.c.open, zero).label("open"),
            func.coalesce(alarms.c.oil, zero).label("oil"),
            func.coalesce(alarms.c.level, zero).label("level"),
            func.coalesce(alarms.c.cleaning, zero).label("cleaning"),
            func.coalesce(alarms.c.gas, zero).label("gas"),
            func.coalesce(kinds.c.has_oil, zero).label("has_oil"),
            func.coalesce(kinds.c.has_grease, zero).label("has_grease"),
            func.coalesce(kinds.c.has_gas, zero).label("has_gas"),
            latest.c.score,
        )
        .outerjoin(alarms, alarms.c.restaurant_id == r.id)
        .outerjoin(kinds, kinds.c.restaurant_id == r.id)
        .outerjoin(latest, latest.c.restaurant_id == r.id)
        .order_by(r.name, r.id)
    )
    points = []
    for row in conn.execute(query):
        score = _quick_score(row, s)
        points.append(
            MapPoint(
                row.id,
                row.name,
                row.lat,
                row.lon,
                score,
                int(row.open),
                band_of(score, int(row.open), s.grades),
            )
        )
    return points


def _quick_score(row: Any, s: IndexSettings) -> float | None:
    if row.score is None:
        return None
    d = s.deductions
    oil = max(0.0, 100 - d.oil_fume_alarm * row.oil) if row.has_oil else None
    grease = (
        index.grease_score(index.GreaseRecord(int(row.level), int(row.cleaning)), d)
        if row.has_grease
        else None
    )
    gas = max(0.0, 100 - d.gas_alarm * row.gas) if row.has_gas else None
    return index.overall_score(
        index.SpecialScores(food_safety=float(row.score), oil_fume=oil, grease=grease, gas=gas),
        s.weights,
    )
