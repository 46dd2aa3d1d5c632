"""A restaurant's index from planted rows, with exact numbers: oil fume from minute readings
(flags, statistics, the window), alarms per special score, the gas devices' offline share, the
food-safety grades; and the map's quick score and band for every restaurant at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from evidence_service.modules.catering import models as m
from evidence_service.modules.catering.factors import load_factors
from evidence_service.modules.catering.index import GradeSettings, Weights
from evidence_service.modules.catering.limits import Limits
from evidence_service.modules.catering.scores import band_of, map_points, restaurant_index
from evidence_service.modules.kit.db import make_engine
from tests.modules.catering.page_helpers import (
    FAN,
    OIL_FUME,
    PURIFIER,
    plant_alarm,
    plant_device,
    plant_inspection,
    plant_readings,
    plant_restaurant,
)

NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
TZ = ZoneInfo("Asia/Shanghai")
ROLES = load_factors().rules()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    m.metadata.create_all(made)
    yield made
    made.dispose()


def plant_full(engine: Engine) -> str:
    """R0001: every device, readings, alarms and two inspections (see each test's numbers)."""
    rid = plant_restaurant(engine, 1, now=NOW, licensed_on="2025-01-01")
    created = NOW - timedelta(days=40)
    for mn, kind in (("OIL1", "oil_fume"), ("GR1", "grease_trap"), ("GAS1", "gas")):
        plant_device(engine, rid, mn, kind, created_at=created)
    start = NOW - timedelta(hours=2)
    rows = []
    for k in range(20):
        t = start + timedelta(minutes=k)
        rows.append((t, OIL_FUME, "Avg", 1.5 if k == 19 else 0.5, "N"))
        rows.append((t, FAN, "Avg", 3.0, "N"))
        rows.append((t, PURIFIER, "Avg", 0.3 if k >= 17 else 1.2, "N"))
    rows.append((start, OIL_FUME, "Rtd", 1.2, "N"))  # minute 0 exceeds by its Rtd
    rows.append((start, OIL_FUME, "Max", 9.0, "N"))  # not a minute's concentration
    late = start + timedelta(minutes=20)
    rows.append((late, OIL_FUME, "Avg", 5.0, "M"))  # maintenance: not monitored
    rows.append((late, FAN, "Avg", 0.2, "N"))  # fan off: not a fan minute
    old = NOW - timedelta(days=31)
    rows.append((old, OIL_FUME, "Avg", 5.0, "N"))  # outside the 30 days
    plant_readings(engine, "OIL1", rows)
    plant_alarm(
        engine, rid, "OIL1", "sustained-exceedance", NOW - timedelta(days=1), cleared_at=NOW
    )
    plant_alarm(engine, rid, "OIL1", "purifier-off", NOW - timedelta(days=2))  # still open
    plant_alarm(engine, rid, "OIL1", "exceedance-warning", NOW - timedelta(days=1), cleared_at=NOW)
    plant_alarm(
        engine, rid, "OIL1", "sustained-exceedance", NOW - timedelta(days=40), cleared_at=NOW
    )
    plant_alarm(engine, rid, "GR1", "grease-level-high", NOW - timedelta(days=5), cleared_at=NOW)
    plant_alarm(engine, rid, "GR1", "cleaning-overdue", NOW - timedelta(days=6), cleared_at=NOW)
    plant_alarm(engine, rid, "GAS1", "gas-alarm", NOW - timedelta(days=7), cleared_at=NOW)
    off = NOW - timedelta(days=3)
    plant_alarm(engine, rid, "GAS1", "offline", off, cleared_at=off + timedelta(minutes=432))
    plant_inspection(
        engine, rid, "2025-09-01", [{"item": "a", "points": 5}], score=95, grade="优秀"
    )
    plant_inspection(
        engine,
        rid,
        "2026-05-10",
        [{"item": "b", "points": 12, "critical": False}, {"item": "c", "points": 3}],
        score=85,
        grade="良好",
    )
    plant_inspection(engine, rid, "2024-01-10", [], score=100, grade="优秀", incident=True)
    return rid


def test_every_special_score_from_planted_rows(engine: Engine) -> None:
    rid = plant_full(engine)
    with engine.connect() as conn:
        idx = restaurant_index(conn, rid, now=NOW, roles=ROLES, limits=Limits(), tz=TZ)
    assert idx is not None
    assert idx.oil_record is not None and vars(idx.oil_record) == {
        "monitored_minutes": 20,
        "exceeding_minutes": 2,
        "fan_minutes": 20,
        "purifier_minutes": 17,
        "alarms": 2,
    }
    assert idx.oil_fume == pytest.approx(100 - 2 * 10 - 10 * 2 - 1 * 15)  # 45
    assert idx.grease == 70.0
    assert idx.gas_record is not None and vars(idx.gas_record) == {
        "period_minutes": 30 * 24 * 60,
        "offline_minutes": 432,
        "gas_alarms": 1,
    }
    assert idx.gas == pytest.approx(100 - 25 - 1.0)
    assert idx.food_safety == 85.0
    assert idx.latest is not None and (idx.latest.grade, idx.latest.withheld) == ("良好", None)
    assert idx.yearly == "A"  # average 90 over 2025-09-01 and 2026-05-10, none below 75
    assert idx.inspections == 2
    assert idx.overall == pytest.approx(0.35 * 45 + 0.15 * 70 + 0.35 * 85 + 0.15 * 74)
    as_json = idx.as_json(Weights())
    assert as_json["scores"] == {
        "oil_fume": 45.0,
        "grease": 70.0,
        "food_safety": 85.0,
        "gas": 74.0,
        "overall": 67.1,
    }


def test_a_stricter_limit_counts_more_minutes(engine: Engine) -> None:
    rid = plant_full(engine)
    with engine.connect() as conn:
        idx = restaurant_index(
            conn, rid, now=NOW, roles=ROLES, limits=Limits(oil_fume_limit_mg_m3=0.4), tz=TZ
        )
    assert idx is not None and idx.oil_record is not None
    assert idx.oil_record.exceeding_minutes == 20


def test_no_devices_no_inspection_means_no_scores(engine: Engine) -> None:
    rid = plant_restaurant(engine, 2, now=NOW)
    with engine.connect() as conn:
        idx = restaurant_index(conn, rid, now=NOW, roles=ROLES, limits=Limits(), tz=TZ)
        missing = restaurant_index(conn, "NOPE", now=NOW, roles=ROLES, limits=Limits(), tz=TZ)
    assert missing is None
    assert idx is not None
    assert (idx.oil_fume, idx.grease, idx.gas, idx.food_safety, idx.overall) == (None,) * 5
    assert (idx.latest, idx.yearly) == (None, None)


def test_a_new_licence_withholds_the_grade_and_an_incident_makes_the_year_c(
    engine: Engine,
) -> None:
    new = plant_restaurant(engine, 3, now=NOW, licensed_on="2026-04-01")
    plant_inspection(engine, new, "2026-05-10", [], score=100, grade="不评级")
    hit = plant_restaurant(engine, 4, now=NOW, licensed_on="2020-01-01")
    plant_inspection(engine, hit, "2026-03-01", [], score=100, grade="优秀", incident=True)
    plant_inspection(engine, hit, "2026-05-01", [], score=100, grade="不评级")
    with engine.connect() as conn:
        a = restaurant_index(conn, new, now=NOW, roles=ROLES, limits=Limits(), tz=TZ)
        b = restaurant_index(conn, hit, now=NOW, roles=ROLES, limits=Limits(), tz=TZ)
    assert a is not None and a.latest is not None
    assert (a.latest.grade, a.latest.withheld, a.overall) == ("不评级", "new-licence", 100.0)
    assert b is not None and b.latest is not None
    assert (b.latest.grade, b.latest.withheld, b.yearly) == ("不评级", "incident", "C")


def test_map_points_band_every_restaurant_in_one_query(engine: Engine) -> None:
    full = plant_full(engine)  # an open purifier-off alarm
    bare = plant_restaurant(engine, 2, now=NOW, lat=None, lon=None)
    good = plant_restaurant(engine, 3, now=NOW)
    plant_inspection(
        engine, good, "2026-05-10", [{"item": "x", "points": 5}], score=95, grade="优秀"
    )
    with engine.connect() as conn:
        points = {p.restaurant_id: p for p in map_points(conn, now=NOW, tz=TZ)}
    assert points[full].band == "alarm" and points[full].open_alarms == 1
    # quick score: oil 100 − 10 × 2, grease 70, gas 100 − 25, food 85 (no minute shares)
    assert points[full].score == pytest.approx(0.35 * 80 + 0.15 * 70 + 0.35 * 85 + 0.15 * 75)
    assert (points[bare].band, points[bare].score, points[bare].lat) == ("none", None, None)
    assert (points[good].band, points[good].score) == ("excellent", 95.0)


@pytest.mark.parametrize(
    ("score", "alarms", "band"),
    [
        (None, 0, "none"),
        (None, 2, "alarm"),
        (100.0, 1, "alarm"),
        (90.0, 0, "excellent"),
        (89.99, 0, "good"),
        (75.0, 0, "good"),
        (74.9, 0, "fair"),
        (60.0, 0, "fair"),
        (59.9, 0, "poor"),
    ],
)
def test_bands_follow_the_grade_thresholds(score: float | None, alarms: int, band: str) -> None:
    assert band_of(score, alarms, GradeSettings()) == band
