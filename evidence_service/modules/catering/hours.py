"""Each device-hour of accepted readings becomes one evidence item in the core.

An hour is captured once it has ended and ``hour_grace_seconds`` have passed (frames sent late
still count), or at once when flushed (``flush=True``: the end of a run, a shutdown). The
document is ``hour_batch.hour_document`` — JSON, readings sorted, numbers as the device sent
them — captured through the core's electronic-data port with the module's service identity, so
the core stores it immutably, signs the capture statement and anchors it like any other item.

Readings that arrive after their hour was captured (a monitor resending its buffer after an
outage) reopen the hour; the next capture is a new item holding every reading of the hour,
whose description names the item it supersedes, and the hour keeps both ids. An hour whose
capture failed (the core down, the token revoked) is marked ``failed`` with the reason and
tried again on the next round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import ColumnElement, Engine, and_, select, update

from evidence_service.client import ApiError, AsyncEvidenceClient
from evidence_service.modules.catering import models as m
from evidence_service.modules.catering.factors import FactorTable
from evidence_service.modules.catering.hour_batch import (
    HOUR,
    MEDIA_TYPE,
    hour_document,
    hour_metadata,
)
from evidence_service.modules.catering.validation import Reading
from evidence_service.modules.kit.db import write_transaction

log = logging.getLogger(__name__)

#: Hours read for capture at once: a round's share (the next round takes the rest), or one
#: chunk of a flush.
ROUND_HOURS = 200
NOTHING_TO_CAPTURE = "no readings"


@dataclass(frozen=True)
class HourToCapture:
    mn: str
    hour_start: datetime
    readings: int  # the count when read: a capture only counts if nothing arrived since
    evidence_ids: tuple[str, ...]
    restaurant: dict[str, Any]


@dataclass(frozen=True)
class CapturedHour:
    mn: str
    hour_start: datetime
    evidence_id: str | None
    error: str | None = None


def due_hours(
    engine: Engine,
    now: datetime,
    *,
    grace: timedelta,
    flush: bool = False,
    states: tuple[str, ...] = ("open", "failed"),
) -> list[HourToCapture]:
    """Hours with readings not yet captured (in ``states``), oldest first: ended and past the
    grace period, or every one when ``flush``."""
    due: ColumnElement[bool] = m.hour.c.state.in_(states)
    if not flush:
        due = and_(due, m.hour.c.hour_start <= now - HOUR - grace)
    query = (
        select(
            m.hour.c.mn,
            m.hour.c.hour_start,
            m.hour.c.readings,
            m.hour.c.evidence_ids,
            m.restaurant.c.name,
            m.restaurant.c.lat,
            m.restaurant.c.lon,
            m.restaurant.c.address,
            m.restaurant.c.credit_code,
        )
        .join(m.device, m.device.c.mn == m.hour.c.mn)
        .join(m.restaurant, m.restaurant.c.id == m.device.c.restaurant_id)
        .where(due)
        .order_by(m.hour.c.hour_start, m.hour.c.mn)
        .limit(ROUND_HOURS)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        HourToCapture(
            mn=row.mn,
            hour_start=row.hour_start,
            readings=row.readings,
            evidence_ids=tuple(row.evidence_ids or ()),
            restaurant={
                "name": row.name,
                "lat": row.lat,
                "lon": row.lon,
                "address": row.address,
                "credit_code": row.credit_code,
            },
        )
        for row in rows
    ]


def hour_readings(engine: Engine, mn: str, hour_start: datetime) -> list[Reading]:
    query = select(m.reading).where(
        m.reading.c.mn == mn,
        m.reading.c.data_time >= hour_start,
        m.reading.c.data_time < hour_start + HOUR,
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Reading(
            code=row.code,
            statistic=row.statistic,
            value=row.text,
            flag=row.flag,
            data_time=row.data_time,
            qn=row.qn,
        )
        for row in rows
    ]


def capture_metadata(hour: HourToCapture, facts: dict[str, Any]) -> dict[str, Any]:
    """The core's capture metadata for an hour (its ``CaptureMetadata``: title, description,
    time, place)."""
    restaurant = hour.restaurant
    lines = [
        f"餐饮单位：{restaurant['name']}（统一社会信用代码 {restaurant['credit_code']}）",
        f"监测设备 MN：{hour.mn}",
        f"时段：{facts['hour_start']} 至 {facts['hour_end']}（Asia/Shanghai）",
        f"读数 {facts['reading_count']} 条，数据帧 {facts['frame_count']} 个，"
        f"因子 {', '.join(facts['codes'])}",
        f"文件格式 {facts['format']}，SHA-256 {facts['sha256']}",
    ]
    if hour.evidence_ids:
        lines.append(f"补充数据：取代本时段此前的证据 {hour.evidence_ids[-1]}")
    metadata: dict[str, Any] = {
        "title": facts["title"],
        "description": "\n".join(lines),
        "captured_at": facts["hour_end"],
    }
    if restaurant["lat"] is not None and restaurant["lon"] is not None:
        metadata["location"] = {
            "lat": restaurant["lat"],
            "lon": restaurant["lon"],
            "address": restaurant["address"],
        }
    return metadata


async def capture_hour(
    engine: Engine, core: AsyncEvidenceClient, hour: HourToCapture, factors: FactorTable
) -> CapturedHour:
    """Capture one hour through the core and record the item (``core`` is open)."""
    readings = await anyio.to_thread.run_sync(hour_readings, engine, hour.mn, hour.hour_start)
    if not readings:  # pruned, or nothing was ever stored: nothing to capture
        await anyio.to_thread.run_sync(_mark, engine, hour, None, None, NOTHING_TO_CAPTURE)
        return CapturedHour(hour.mn, hour.hour_start, None, NOTHING_TO_CAPTURE)
    document = hour_document(hour.mn, hour.hour_start, readings, factors)
    facts = hour_metadata(hour.mn, hour.hour_start, readings, factors, document=document)
    try:
        item = await core.capture(
            document,
            port="electronic",
            metadata=capture_metadata(hour, facts),
            filename=facts["filename"],
            media_type=MEDIA_TYPE,
            # a retry after a lost answer gets the same item, not a second one
            idempotency_key=f"catering-hour-{hour.mn}-{hour.hour_start:%Y%m%d%H}-{facts['sha256'][:16]}",
        )
    except ApiError as exc:
        reason = f"{exc.status} {exc.problem.get('title', '')}: {exc.problem.get('detail', '')}"
        await anyio.to_thread.run_sync(_mark, engine, hour, None, None, reason[:500])
        return CapturedHour(hour.mn, hour.hour_start, None, reason)
    await anyio.to_thread.run_sync(_mark, engine, hour, item.id, facts["sha256"], None)
    return CapturedHour(hour.mn, hour.hour_start, item.id)


def _mark(
    engine: Engine,
    hour: HourToCapture,
    evidence_id: str | None,
    sha256: str | None,
    error: str | None,
) -> None:
    """Record the capture. The hour is ``captured`` only if no reading arrived meanwhile;
    else it stays open, and the next round captures it whole as a new item."""
    key = and_(m.hour.c.mn == hour.mn, m.hour.c.hour_start == hour.hour_start)
    with write_transaction(engine) as conn:
        if evidence_id is None:
            state = "captured" if error == NOTHING_TO_CAPTURE else "failed"
            conn.execute(update(m.hour).where(key).values(state=state, error=error))
            return
        query = select(m.hour.c.readings, m.hour.c.evidence_ids).where(key)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).one()
        conn.execute(
            update(m.hour)
            .where(key)
            .values(
                state="captured" if row.readings == hour.readings else "open",
                evidence_id=evidence_id,
                evidence_ids=[*(row.evidence_ids or ()), evidence_id],
                sha256=sha256,
                error=None,
                captured_at=datetime.now(UTC),
            )
        )
