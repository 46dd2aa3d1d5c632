"""Rows planted straight into the catering tables, for the index, the map and the pages: exact
inputs without running the frame pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from evidence_service.modules.catering import models as m
from tests.modules.catering.helpers import credit_code

OIL_FUME, FAN, PURIFIER = "a34041", "cy0101", "cy0102"


def plant_restaurant(
    engine: Engine,
    n: int,
    *,
    name: str | None = None,
    now: datetime,
    department_id: str = "dept-1",
    licensed_on: str | None = "2020-01-01",
    lat: float | None = 30.26,
    lon: float | None = 120.15,
    **extra: Any,
) -> str:
    restaurant_id = f"R{n:04d}"
    with engine.begin() as conn:
        conn.execute(
            insert(m.restaurant).values(
                id=restaurant_id,
                name=name or f"餐馆{n}",
                credit_code=credit_code(n),
                licence_no=f"JY{n:014d}",
                burners=4,
                size_class="medium",
                department_id=department_id,
                licensed_on=licensed_on,
                lat=lat,
                lon=lon,
                created_at=now,
                updated_at=now,
                **extra,
            )
        )
    return restaurant_id


def plant_device(
    engine: Engine, restaurant_id: str, mn: str, kind: str, *, created_at: datetime, **extra: Any
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(m.device).values(
                mn=mn,
                restaurant_id=restaurant_id,
                kind=kind,
                password_sha256="0" * 64,
                crc="hj212",
                accepted=0,
                created_at=created_at,
                **extra,
            )
        )


def plant_readings(
    engine: Engine, mn: str, rows: Sequence[tuple[datetime, str, str, float, str | None]]
) -> None:
    """(time, code, statistic, value, flag) rows."""
    with engine.begin() as conn:
        conn.execute(
            insert(m.reading),
            [
                {
                    "mn": mn,
                    "data_time": t,
                    "code": code,
                    "statistic": stat,
                    "value": value,
                    "text": f"{value:g}",
                    "flag": flag,
                    "qn": t.strftime("%Y%m%d%H%M%S000"),
                }
                for t, code, stat, value, flag in rows
            ],
        )


_ids = iter(range(1, 10**9))


def plant_alarm(
    engine: Engine,
    restaurant_id: str,
    mn: str,
    kind: str,
    opened_at: datetime,
    *,
    cleared_at: datetime | None = None,
    value: float | None = None,
) -> str:
    alarm_id = f"A{next(_ids):08d}"
    with engine.begin() as conn:
        conn.execute(
            insert(m.alarm).values(
                id=alarm_id,
                mn=mn,
                restaurant_id=restaurant_id,
                kind=kind,
                state="cleared" if cleared_at else "open",
                opened_at=opened_at,
                cleared_at=cleared_at,
                value=value,
                raised_at=opened_at,
                signalled=False,
            )
        )
    return alarm_id


def plant_inspection(
    engine: Engine,
    restaurant_id: str,
    on: str,
    findings: list[dict[str, Any]],
    *,
    score: float,
    grade: str,
    incident: bool = False,
    officer_id: str = "OFFICER0000000000000000001",
) -> str:
    inspection_id = f"I{next(_ids):08d}"
    with engine.begin() as conn:
        conn.execute(
            insert(m.inspection).values(
                id=inspection_id,
                restaurant_id=restaurant_id,
                inspected_on=on,
                officer_id=officer_id,
                department_id="dept-1",
                findings=findings,
                incident=incident,
                score=score,
                grade=grade,
                evidence_ids=[],
                created_at=datetime.fromisoformat(on + "T02:00:00+00:00"),
            )
        )
    return inspection_id


def plant_problem(
    engine: Engine,
    restaurant_id: str,
    title: str,
    opened_at: datetime,
    *,
    state: str = "open",
    escalation: str | None = None,
    penalty: dict[str, Any] | None = None,
    transferred_by: str | None = None,
) -> str:
    problem_id = f"P{next(_ids):08d}"
    with engine.begin() as conn:
        conn.execute(
            insert(m.problem).values(
                id=problem_id,
                restaurant_id=restaurant_id,
                source="inspection",
                kind="inspection",
                title=title,
                state=state,
                opened_at=opened_at,
                due_at=opened_at + timedelta(days=7),
                reopened=0,
                escalation=escalation,
                penalty=penalty,
                transferred_by=transferred_by,
            )
        )
    return problem_id
