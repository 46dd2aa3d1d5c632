"""``/api/v1/catering/…``: the factor table, the registry (restaurants and devices), frames over
HTTP, readings, devices' status and alarms.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from evidence_service.modules.catering import models as m
from evidence_service.modules.catering import registry
from evidence_service.modules.catering.common import (
    WORKERS,
    BadRequestError,
    BadRowsError,
    CallerDep,
    ForbiddenError,
    FrameRefusedError,
    NotFoundError,
    UnsupportedMediaError,
    keyset_page,
    problems,
    require_role,
    state_of,
    utcnow,
)
from evidence_service.modules.catering.frames import Incoming
from evidence_service.modules.catering.registry_store import device_columns, restaurant_columns
from evidence_service.modules.catering.state import CateringState
from evidence_service.modules.kit.db import dialect_insert, write_transaction
from evidence_service.modules.kit.problems import PROBLEM_JSON

router = APIRouter(prefix="/api/v1/catering", tags=["catering"])

MiB = 1024 * 1024
#: Registry uploads are larger than the core's JSON limit; a frame is small (HJ 212 caps a
#: frame at 1,036 bytes, its signed envelope at 4 KiB).
BODY_LIMITS = (
    ("POST", r"/api/v1/catering/(restaurants|devices)", 16 * MiB),
    ("POST", r"/api/v1/catering/frames", 4096),
    ("POST", r"/api/v1/catering/problems/[^/]+/rectification", 21 * MiB),
)
MN = Path(max_length=27, pattern=r"^[A-Za-z0-9_-]{1,27}$")
ID = Path(max_length=26, pattern=r"^[0-9A-Za-z]{1,26}$")
MAX_READINGS = 10_000


# -- factor table ------------------------------------------------------------------------------
@router.get("/factors", responses=problems(401, 422))
async def factors(request: Request) -> dict[str, Any]:
    """The factor table: each HJ 212 code the module reads, its unit, plausible range and
    whether the code is verified against the standard (``docs/modules/catering.md``)."""
    return state_of(request).factors.as_json()


# -- registry ----------------------------------------------------------------------------------
async def _rows(request: Request) -> tuple[str, Any]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if kind == "text/csv":
        try:
            return "csv", body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadRequestError("the CSV is not UTF-8") from exc
    if kind == "application/json":
        try:
            return "json", json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise BadRequestError(f"the body is not JSON: {exc}") from exc
    raise UnsupportedMediaError("send text/csv or application/json")


def _bad_rows(exc: registry.RowsError) -> BadRowsError:
    errors = [
        {
            "loc": f"rows[{e.row}].{e.field}" if e.field else f"rows[{e.row}]",
            "msg": e.message,
            "row": e.row,
            "field": e.field,
        }
        for e in exc.errors
    ]
    return BadRowsError(f"{len(errors)} problem(s); nothing was stored", errors=errors)


@router.post("/restaurants", responses=problems(401, 403, 413, 415, 422))
async def import_restaurants(request: Request, who: CallerDep) -> dict[str, Any]:
    """Register or update restaurants (一户一档) from CSV or a JSON array, all or nothing: a
    restaurant is keyed by its credit code; its department must be the caller's."""
    require_role(who, WORKERS, "register restaurants")
    form, rows = await _rows(request)
    try:
        read = (
            registry.restaurants_from_csv(rows)
            if form == "csv"
            else registry.restaurants_from_json(rows)
        )
    except registry.RowsError as exc:
        raise _bad_rows(exc) from exc
    foreign = sorted({r.department_id for r in read} - {who.department_id})
    if foreign:
        raise ForbiddenError(
            f"department {who.department_id} may register only its own restaurants, not "
            f"those of {', '.join(foreign)}"
        )
    state = state_of(request)
    created, updated = await anyio.to_thread.run_sync(_store_restaurants, state, read)
    return {"created": created, "updated": updated}


def _store_restaurants(
    state: CateringState, rows: tuple[registry.Restaurant, ...]
) -> tuple[int, int]:
    from ulid import ULID

    now = utcnow()
    with write_transaction(state.engine) as conn:
        known = dict(
            conn.execute(
                select(m.restaurant.c.credit_code, m.restaurant.c.id).where(
                    m.restaurant.c.credit_code.in_([r.credit_code for r in rows])
                )
            ).all()
        )
        for r in rows:
            values = restaurant_columns(r, now)
            if r.credit_code in known:
                conn.execute(
                    m.restaurant.update()
                    .where(m.restaurant.c.id == known[r.credit_code])
                    .values(**values)
                )
            else:
                conn.execute(
                    m.restaurant.insert().values(
                        id=str(ULID()), credit_code=r.credit_code, created_at=now, **values
                    )
                )
    return len(rows) - len(known), len(known)


@router.get("/restaurants", responses=problems(401, 403, 422))
async def list_restaurants(
    request: Request,
    after: Annotated[str | None, Query(max_length=26, pattern=r"^[0-9A-Za-z]{1,26}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Restaurants in id order, ``limit`` at a time (``after``: the last id of a page)."""
    state = state_of(request)
    query = select(m.restaurant).order_by(m.restaurant.c.id).limit(limit + 1)
    if after:
        query = query.where(m.restaurant.c.id > after)

    return await keyset_page(state, query, limit, restaurant_json)


def restaurant_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "credit_code": row.credit_code,
        "licence_no": row.licence_no,
        "address": row.address,
        "lat": row.lat,
        "lon": row.lon,
        "burners": row.burners,
        "size_class": row.size_class,
        "seats": row.seats,
        "purifier_model": row.purifier_model,
        "purifier_efficiency": row.purifier_efficiency,
        "department_id": row.department_id,
        "licensed_on": row.licensed_on,
    }


@router.post("/devices", responses=problems(401, 403, 413, 415, 422))
async def import_devices(request: Request, who: CallerDep) -> dict[str, Any]:
    """Register or update monitors from CSV or a JSON array, all or nothing: each names its
    restaurant by credit code (registered, and the caller's department's). The password is
    kept only as its SHA-256."""
    require_role(who, WORKERS, "register devices")
    form, rows = await _rows(request)
    try:
        read = (
            registry.devices_from_csv(rows) if form == "csv" else registry.devices_from_json(rows)
        )
    except registry.RowsError as exc:
        raise _bad_rows(exc) from exc
    state = state_of(request)
    return await anyio.to_thread.run_sync(_store_devices, state, read, who.department_id)


def _store_devices(
    state: CateringState, rows: tuple[registry.Device, ...], department_id: str
) -> dict[str, Any]:
    now = utcnow()
    with write_transaction(state.engine) as conn:
        restaurants = {
            r.credit_code: r
            for r in conn.execute(
                select(
                    m.restaurant.c.credit_code, m.restaurant.c.id, m.restaurant.c.department_id
                ).where(m.restaurant.c.credit_code.in_({d.credit_code for d in rows}))
            )
        }
        errors = []
        for number, d in enumerate(rows, start=1):
            found = restaurants.get(d.credit_code)
            if found is None:
                errors.append(registry.RowError(number, "credit_code", "no such restaurant"))
            elif found.department_id != department_id:
                errors.append(
                    registry.RowError(number, "credit_code", "not your department's restaurant")
                )
        if errors:
            raise _bad_rows(registry.RowsError(errors))
        known = set(
            conn.execute(
                select(m.device.c.mn).where(m.device.c.mn.in_([d.mn for d in rows]))
            ).scalars()
        )
        ins = dialect_insert(conn, m.device)
        for d in rows:
            values = device_columns(d, restaurants[d.credit_code].id)
            conn.execute(
                ins.values(mn=d.mn, created_at=now, accepted=0, **values).on_conflict_do_update(
                    index_elements=["mn"], set_=values
                )
            )
    return {"created": len(rows) - len(known), "updated": len(known)}


# -- devices and readings ----------------------------------------------------------------------
def device_json(
    row: Any, rejected: dict[str, int], now: datetime, offline_after: timedelta
) -> dict[str, Any]:
    seen = row.last_seen_at
    return {
        "mn": row.mn,
        "restaurant_id": row.restaurant_id,
        "kind": row.kind,
        "crc": row.crc,
        "signs_frames": row.public_key is not None,
        "status": "online" if seen is not None and now - seen < offline_after else "offline",
        "last_qn": row.last_qn,
        "last_frame_at": row.last_frame_at,
        "last_seen_at": seen,
        "accepted": row.accepted,
        "rejected": rejected,
    }


def _rejections(conn: Any, mns: list[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {mn: {} for mn in mns}
    for row in conn.execute(select(m.rejection).where(m.rejection.c.mn.in_(mns))):
        counts[row.mn][row.reason] = row.count
    return counts


@router.get("/devices", responses=problems(401, 403, 422))
async def list_devices(
    request: Request,
    restaurant_id: Annotated[str | None, Query(max_length=26)] = None,
    after: Annotated[str | None, Query(max_length=27, pattern=r"^[A-Za-z0-9_-]{1,27}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Monitors in MN order with their status, last frame and refused frames by reason."""
    state = state_of(request)
    query = select(m.device).order_by(m.device.c.mn).limit(limit + 1)
    if after:
        query = query.where(m.device.c.mn > after)
    if restaurant_id:
        query = query.where(m.device.c.restaurant_id == restaurant_id)
    now = utcnow()
    offline = timedelta(minutes=state.config.limits.offline_minutes)

    def read() -> dict[str, Any]:
        with state.engine.connect() as conn:
            rows = list(conn.execute(query))
            more = len(rows) > limit
            rows = rows[:limit]
            counts = _rejections(conn, [r.mn for r in rows])
        return {
            "items": [device_json(r, counts[r.mn], now, offline) for r in rows],
            "next_after": rows[-1].mn if more else None,
        }

    return await anyio.to_thread.run_sync(read)


@router.get("/devices/{mn}", responses=problems(401, 403, 404, 422))
async def get_device(request: Request, mn: Annotated[str, MN]) -> dict[str, Any]:
    """One monitor: status, last frame, refused frames by reason, open alarms."""
    state = state_of(request)
    now = utcnow()
    offline = timedelta(minutes=state.config.limits.offline_minutes)

    def read() -> dict[str, Any] | None:
        with state.engine.connect() as conn:
            row = conn.execute(select(m.device).where(m.device.c.mn == mn)).first()
            if row is None:
                return None
            found = device_json(row, _rejections(conn, [mn])[mn], now, offline)
            found["open_alarms"] = [
                alarm_json(a)
                for a in conn.execute(
                    select(m.alarm)
                    .where(m.alarm.c.mn == mn, m.alarm.c.state == "open")
                    .order_by(m.alarm.c.opened_at)
                )
            ]
            return found

    found = await anyio.to_thread.run_sync(read)
    if found is None:
        raise NotFoundError(f"no device {mn}")
    return found


@router.get("/devices/{mn}/readings", responses=problems(401, 403, 404, 422))
async def device_readings(
    request: Request,
    mn: Annotated[str, MN],
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    code: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z0-9_]{1,16}$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_READINGS)] = 1440,
) -> dict[str, Any]:
    """A monitor's readings from ``from`` (default: 24 hours before ``to``) to ``to``
    (default: now), oldest first, at most ``limit``; ``code`` keeps one factor."""
    state = state_of(request)
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise BadRequestError(f"{name}: give a time with its zone (RFC 3339)")
    end = until or utcnow()
    try:
        start = since or end - timedelta(hours=24)
    except OverflowError as exc:  # "to" in the first day of year 1
        raise BadRequestError("to: too early to look back a day from") from exc
    query = (
        select(m.reading)
        .where(m.reading.c.mn == mn, m.reading.c.data_time >= start, m.reading.c.data_time < end)
        .order_by(m.reading.c.data_time, m.reading.c.code, m.reading.c.statistic)
        .limit(limit)
    )
    if code:
        query = query.where(m.reading.c.code == code)

    def read() -> list[Any] | None:
        with state.engine.connect() as conn:
            if conn.execute(select(m.device.c.mn).where(m.device.c.mn == mn)).first() is None:
                return None
            return list(conn.execute(query))

    rows = await anyio.to_thread.run_sync(read)
    if rows is None:
        raise NotFoundError(f"no device {mn}")
    return {
        "mn": mn,
        "from": start,
        "to": end,
        "items": [
            {
                "time": r.data_time,
                "code": r.code,
                "statistic": r.statistic,
                "value": r.value,
                "text": r.text,
                "flag": r.flag,
                "qn": r.qn,
            }
            for r in rows
        ],
    }


# -- frames over HTTP --------------------------------------------------------------------------
class AlarmChange(BaseModel):
    kind: str
    transition: str = Field(description="opened or cleared")
    factor: str | None


class FrameOutcomeOut(BaseModel):
    """What became of an accepted frame."""

    mn: str | None
    accepted: bool
    reason: str | None
    detail: str | None
    readings: int = Field(description="numbers stored from the frame")
    alarms: list[AlarmChange]


@router.post(
    "/frames",
    response_model=FrameOutcomeOut,
    responses=problems(401, 403, 413, 422),
)
async def post_frame(request: Request) -> JSONResponse:
    """One HJ 212-2017 frame (``text/plain``), or a signed envelope ``{"frame", "sig"}``
    (``application/json``). Accepted: 200 with what the frame gave. Refused: 422
    ``frame-refused`` with the ``reason`` — counted against the device all the same."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    item = Incoming(body, utcnow(), enveloped=kind == "application/json")
    state = state_of(request)
    outcome = (await anyio.to_thread.run_sync(state.sink.handle, [item]))[0]
    if not outcome.accepted:
        refused = FrameRefusedError(
            outcome.detail or outcome.reason or "refused",
            reason=outcome.reason,
            mn=outcome.mn,
            alarms=list(outcome.alarms),
        )
        return JSONResponse(
            refused.problem(request.url.path), status_code=422, media_type=PROBLEM_JSON
        )
    return JSONResponse(outcome.as_json())


# -- alarms ------------------------------------------------------------------------------------
def alarm_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "mn": row.mn,
        "restaurant_id": row.restaurant_id,
        "kind": row.kind,
        "factor": row.factor,
        "state": row.state,
        "opened_at": row.opened_at,
        "cleared_at": row.cleared_at,
        "value": row.value,
        "limit": row.limit_value,
        "span_from": row.span_from,
        "span_to": row.span_to,
        "raised_at": row.raised_at,
    }


@router.get("/alarms", responses=problems(401, 403, 422))
async def list_alarms(
    request: Request,
    state_filter: Annotated[str | None, Query(alias="state", pattern="^(open|cleared)$")] = None,
    restaurant_id: Annotated[str | None, Query(max_length=26)] = None,
    mn: Annotated[str | None, Query(max_length=27)] = None,
    after: Annotated[str | None, Query(max_length=26, pattern=r"^[0-9A-Za-z]{1,26}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Alarms, newest first (``after``: the last id of a page)."""
    state = state_of(request)
    query = select(m.alarm).order_by(m.alarm.c.id.desc()).limit(limit + 1)
    if state_filter:
        query = query.where(m.alarm.c.state == state_filter)
    if restaurant_id:
        query = query.where(m.alarm.c.restaurant_id == restaurant_id)
    if mn:
        query = query.where(m.alarm.c.mn == mn)
    if after:
        query = query.where(m.alarm.c.id < after)

    return await keyset_page(state, query, limit, alarm_json)


@router.post("/hours/flush", responses=problems(401, 403, 422, 502))
async def flush_hours(request: Request, who: CallerDep) -> dict[str, Any]:
    """Capture every device-hour not yet captured now, the current partial hours included (a
    shutdown, the end of a benchmark run); later readings of a partial hour reopen it."""
    require_role(who, WORKERS, "flush the device-hours")
    report = await state_of(request).round(flush=True)
    return {
        "captured": [
            {"mn": h.mn, "hour_start": h.hour_start, "evidence_id": h.evidence_id}
            for h in report.hours
            if h.evidence_id
        ],
        "failed": [
            {"mn": h.mn, "hour_start": h.hour_start, "error": h.error}
            for h in report.hours
            if h.error
        ],
    }


@router.get("/status", responses=problems(401, 403, 422))
async def status(request: Request) -> dict[str, Any]:
    """The platform at a glance: restaurants, devices, hours captured and waiting, open
    alarms, refused frames, and whether the MQTT subscriber is connected."""
    state = state_of(request)

    def read() -> dict[str, Any]:
        with state.engine.connect() as conn:
            hours: dict[str, int] = dict(
                conn.execute(select(m.hour.c.state, func.count()).group_by(m.hour.c.state)).all()
            )
            return {
                "restaurants": conn.execute(
                    select(func.count()).select_from(m.restaurant)
                ).scalar(),
                "devices": conn.execute(select(func.count()).select_from(m.device)).scalar(),
                "hours": {s: hours.get(s, 0) for s in m.HOUR_STATES},
                "open_alarms": conn.execute(
                    select(func.count()).select_from(m.alarm).where(m.alarm.c.state == "open")
                ).scalar(),
                "rejected_frames": conn.execute(select(func.sum(m.rejection.c.count))).scalar()
                or 0,
                "mqtt": {
                    "configured": state.config.mqtt_host is not None,
                    "connected": state.mqtt_connected,
                },
            }

    return await anyio.to_thread.run_sync(read)
