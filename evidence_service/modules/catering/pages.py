"""The catering pages, server-rendered, no script.

Public (no sign-in, mobile-first): a restaurant's QR page ``/catering/r/{id}`` — its licence,
size, grades, scores, devices' status, the last 24 hours of oil fume, open problems, penalties
decided (decision, date, amount: no person), published feedback and the feedback form — and
the QR code pointing at it. Nothing personal is shown: no officer, no operator, no sender.

Signed in (the web app's session, ``kit/pages.py``): the layout map (一张布局图) coloured by
alarm state or score band, the registry with scores, one restaurant's file (一户一档) with the
feedback to moderate, the open alarms and the open problems (those queued for transfer first).
"""

from __future__ import annotations

import io
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import anyio
import segno
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection, case, func, or_, select

from evidence_service.modules.catering import charts, feedback, scores
from evidence_service.modules.catering import models as m
from evidence_service.modules.catering.common import (
    WORKERS,
    BadRequestError,
    state_of,
    utcnow,
)
from evidence_service.modules.catering.limits import size_row
from evidence_service.modules.catering.state import CateringState
from evidence_service.modules.kit.caller import CoreCaller, ask_core
from evidence_service.modules.kit.pages import PageKit, SignedIn, see_other

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
ALARM_NAMES = {
    "exceedance-warning": "超标预警",
    "sustained-exceedance": "油烟持续超标",
    "purifier-off": "风机运行时净化器未开启",
    "cleaning-overdue": "净化设施清洗超期",
    "offline": "监测设备离线",
    "gas-alarm": "燃气报警",
    "tampering": "数据疑似篡改",
    "grease-level-high": "隔油池液位过高",
}
DEVICE_KINDS = {"oil_fume": "油烟在线监测", "grease_trap": "隔油池液位", "gas": "燃气报警器"}
FEEDBACK_STATES = {"pending": "待审核", "published": "已公开", "rejected": "未采纳"}
BAND_NAMES = {key: label for key, label, _ in scores.BANDS}
BAND_COLOURS = {key: colour for key, _, colour in scores.BANDS}
FACES = {"优秀": "😀 优秀（大笑）", "良好": "🙂 良好（微笑）", "一般": "😐 一般（平脸）"}
ID = r"^[0-9A-Za-z]{1,26}$"
CHART_HOURS = 24


def _tz(request: Request) -> ZoneInfo:
    return ZoneInfo(state_of(request).config.timezone)


def _local(value: datetime | None, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "—" if value is None else value.astimezone(tz).strftime(fmt)


def _shanghai(iso: str) -> str:
    """An ISO time from the API's JSON (UTC) as the pages show times: Asia/Shanghai."""
    return _local(datetime.fromisoformat(iso), ZoneInfo("Asia/Shanghai"))


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


templates.env.globals.update(
    alarm_names=ALARM_NAMES,
    device_kinds=DEVICE_KINDS,
    feedback_states=FEEDBACK_STATES,
    band_names=BAND_NAMES,
    band_colours=BAND_COLOURS,
    faces=FACES,
    score=_score,
    shanghai=_shanghai,
)


async def _caller(request: Request, token: str) -> CoreCaller:
    return await ask_core(state_of(request).core_client(token), CoreCaller)


KIT = PageKit(
    name="catering", templates=templates, caller=_caller, actors=WORKERS, bad_form=BadRequestError
)
Signed = Annotated[SignedIn, Depends(KIT.signed)]
SignedForm = Annotated[SignedIn, Depends(KIT.signed_form)]
pages_router = APIRouter(include_in_schema=False)


def _page(
    request: Request, name: str, who: Any, context: dict[str, Any], status: int = 200
) -> Response:
    """A signed-in page through the kit, or a public one (who is None) that still carries the
    form guard's cookie, so the public feedback form is guarded the same way."""
    context = {"tz": _tz(request), "local": _local, **context}
    if who is not None:
        return KIT.render(request, name, who, context, status)
    token = request.cookies.get(KIT.csrf_cookie, "")
    fresh = not (16 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum())
    if fresh:
        token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        name,
        {"who": None, "csrf": token, "may_act": False, **context},
        status_code=status,
    )
    if fresh:
        response.set_cookie(
            KIT.csrf_cookie,
            token,
            path="/catering",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def _not_found(request: Request, who: Any = None) -> Response:
    return _page(request, "not_found.html", who, {"detail": "没有这家餐饮单位"}, 404)


# -------------------------------------------------------------------------- reading the rows


def _chart(conn: Connection, state: CateringState, restaurant_id: str, now: datetime) -> str:
    """The restaurant's oil fume of the last 24 hours (the highest valid value per minute)."""
    start = now - timedelta(hours=CHART_HOURS)
    codes = [c for c, role in state.factors.rules().items() if role == "oil-fume"]
    r = m.reading.c
    mns = select(m.device.c.mn).where(m.device.c.restaurant_id == restaurant_id)
    rows = conn.execute(
        select(r.data_time, func.max(r.value))
        .where(
            r.mn.in_(mns),
            r.code.in_(codes),
            r.statistic.in_(scores.MINUTE_STATISTICS),
            r.data_time >= start,
            r.data_time <= now,
            or_(r.flag == "N", r.flag.is_(None)),
        )
        .group_by(r.data_time)
        .order_by(r.data_time)
    )
    return charts.readings_chart(
        [(t, float(v)) for t, v in rows],
        limit=state.config.limits.oil_fume_limit_mg_m3,
        start=start,
        end=now,
        tz=ZoneInfo(state.config.timezone),
    )


def _devices(conn: Connection, restaurant_id: str) -> list[dict[str, Any]]:
    offline = {
        mn
        for (mn,) in conn.execute(
            select(m.alarm.c.mn).where(
                m.alarm.c.restaurant_id == restaurant_id,
                m.alarm.c.kind == "offline",
                m.alarm.c.state == "open",
            )
        )
    }
    rejected = dict(
        conn.execute(
            select(m.rejection.c.mn, func.sum(m.rejection.c.count))
            .join(m.device, m.device.c.mn == m.rejection.c.mn)
            .where(m.device.c.restaurant_id == restaurant_id)
            .group_by(m.rejection.c.mn)
        ).all()
    )
    rows = conn.execute(
        select(m.device.c.mn, m.device.c.kind, m.device.c.last_frame_at, m.device.c.accepted)
        .where(m.device.c.restaurant_id == restaurant_id)
        .order_by(m.device.c.kind, m.device.c.mn)
    )
    return [
        {
            "mn": row.mn,
            "kind": row.kind,
            "online": row.last_frame_at is not None and row.mn not in offline,
            "last_frame_at": row.last_frame_at,
            "accepted": row.accepted,
            "rejected": int(rejected.get(row.mn, 0)),
        }
        for row in rows
    ]


def _problems(conn: Connection, restaurant_id: str) -> tuple[list[Any], list[dict[str, Any]]]:
    """The open problems, and the penalties decided (no personal data: decision, date, sum)."""
    p = m.problem.c
    rows = list(
        conn.execute(
            select(p.title, p.opened_at, p.due_at, p.state, p.escalation, p.penalty, p.kind)
            .where(p.restaurant_id == restaurant_id)
            .order_by(p.opened_at.desc(), p.id)
        )
    )
    open_rows = [row for row in rows if row.state == "open"]
    penalties = [
        {
            "decision_no": str(row.penalty.get("decision_no", "")),
            "decided_on": str(row.penalty.get("decided_on", "")),
            "amount_yuan": row.penalty.get("amount_yuan"),
            "title": row.title,
        }
        for row in rows
        if isinstance(row.penalty, dict)
    ]
    return open_rows, penalties


def _restaurant(conn: Connection, restaurant_id: str) -> Any:
    return conn.execute(select(m.restaurant).where(m.restaurant.c.id == restaurant_id)).first()


def public_view(state: CateringState, restaurant_id: str, now: datetime) -> dict[str, Any] | None:
    """Everything the public page shows (None: no such restaurant)."""
    with state.engine.connect() as conn:
        row = _restaurant(conn, restaurant_id)
        if row is None:
            return None
        open_problems, penalties = _problems(conn, restaurant_id)
        return {
            "restaurant": row,
            "size_name": size_row(row.size_class).name_zh,
            "index": _index(conn, state, restaurant_id, now),
            "devices": _devices(conn, restaurant_id),
            "chart": _chart(conn, state, restaurant_id, now),
            "open_problems": open_problems,
            "penalties": penalties,
        }


def _index(
    conn: Connection, state: CateringState, restaurant_id: str, now: datetime
) -> scores.RestaurantIndex | None:
    return scores.restaurant_index(
        conn,
        restaurant_id,
        now=now,
        roles=state.factors.rules(),
        limits=state.config.limits,
        tz=ZoneInfo(state.config.timezone),
    )


# -------------------------------------------------------------------------------- public


@pages_router.get("/catering/r/{restaurant_id}", response_class=HTMLResponse)
async def public_page(request: Request, restaurant_id: str, sent: int = 0) -> Response:
    """The restaurant's public page, what its QR code opens."""
    return await _public_page(request, restaurant_id, sent=bool(sent))


async def _public_page(
    request: Request,
    restaurant_id: str,
    *,
    sent: bool = False,
    error: str | None = None,
    status: int = 200,
    typed: str = "",
) -> Response:
    state = state_of(request)
    view = await anyio.to_thread.run_sync(public_view, state, restaurant_id, utcnow())
    if view is None:
        return _not_found(request)
    published = await anyio.to_thread.run_sync(
        lambda: feedback.list_feedback(
            state.engine, restaurant_id=restaurant_id, state="published", limit=20
        )
    )
    context = {**view, "published": published, "sent": sent, "error": error, "typed": typed}
    return _page(request, "public.html", None, context, status)


@pages_router.post("/catering/r/{restaurant_id}/feedback", response_class=HTMLResponse)
async def post_feedback(
    request: Request,
    restaurant_id: str,
    text: Annotated[str, Form(max_length=2000)] = "",
    rating: Annotated[str, Form(max_length=2)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """The public feedback form: stored pending, or the page again with why not (422, 429)."""
    KIT.check_form(request, csrf)
    state = state_of(request)
    address = request.client.host if request.client else "unknown"
    stars: Any = None
    if rating.strip():
        stars = int(rating) if rating.strip().isdigit() else rating
    try:
        await anyio.to_thread.run_sync(
            lambda: feedback.submit(
                state.engine,
                restaurant_id=restaurant_id,
                text=text,
                rating=stars,
                address=address,
                secret=state.config.pii_secret,
                now=utcnow(),
            )
        )
    except feedback.FeedbackRefused as exc:
        if exc.reason == "no-restaurant":
            return _not_found(request)
        limited = exc.reason in ("sender-limit", "restaurant-limit")
        message = {
            "sender-limit": "提交过于频繁：每小时最多 3 条，请稍后再试。",
            "restaurant-limit": "该单位本小时收到的反馈已达上限，请稍后再试。",
            "bad-rating": "评分须为 1–5 星。",
        }.get(exc.reason, "反馈内容须为 1–500 字，且不含控制字符。")
        return await _public_page(
            request,
            restaurant_id,
            error=message,
            status=429 if limited else 422,
            typed=text[:500],
        )
    return see_other(f"/catering/r/{restaurant_id}?sent=1#feedback")


@pages_router.get("/catering/r/{restaurant_id}/qr.svg")
async def qr_code(request: Request, restaurant_id: str) -> Response:
    """The QR code of the restaurant's public page (absolute URL), to print at the entrance."""
    state = state_of(request)

    def exists() -> bool:
        with state.engine.connect() as conn:
            return _restaurant(conn, restaurant_id) is not None

    if not await anyio.to_thread.run_sync(exists):
        return _not_found(request)
    target = str(request.base_url).rstrip("/") + f"/catering/r/{restaurant_id}"
    out = io.BytesIO()
    segno.make(target, error="m").save(
        out, kind="svg", scale=4, border=2, title=f"二维码：{target}", xmldecl=False
    )
    return Response(
        out.getvalue(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=3600"},
    )


# ----------------------------------------------------------------------------- signed in


@pages_router.get("/catering/map", response_class=HTMLResponse)
async def map_page(
    request: Request,
    signed: Signed,
    band: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The layout map: every located restaurant as a dot, coloured by alarm state or band."""
    state = state_of(request)
    chosen = band if band in scores.BAND_KEYS else None
    points = await anyio.to_thread.run_sync(lambda: _map_points(state))
    svg, unplaced = render_map(points, chosen)
    counts = {key: sum(1 for p in points if p.band == key) for key in scores.BAND_KEYS}
    context = {"svg": svg, "band": chosen, "counts": counts, "unplaced": unplaced}
    return _page(request, "map.html", signed.who, context)


def _map_points(state: CateringState) -> list[scores.MapPoint]:
    with state.engine.connect() as conn:
        return scores.map_points(conn, now=utcnow(), tz=ZoneInfo(state.config.timezone))


def render_map(points: list[scores.MapPoint], band: str | None) -> tuple[str, int]:
    """The map's SVG (only ``band``'s dots when one is chosen) and how many restaurants have
    no coordinates."""
    shown = [
        p
        for p in points
        if (band is None or p.band == band) and p.lat is not None and p.lon is not None
    ]
    dots = [
        charts.Dot(
            p.lat,
            p.lon,
            BAND_COLOURS[p.band],
            f"{p.name} · 评分 {_score(p.score)} · "
            + (f"告警 {p.open_alarms} 条" if p.open_alarms else "无告警"),
            f"/catering/restaurants/{p.restaurant_id}",
        )
        for p in shown
        if p.lat is not None and p.lon is not None  # for the type checker: shown are placed
    ]
    legend = [
        charts.LegendEntry(colour, label, sum(1 for p in shown if p.band == key))
        for key, label, colour in scores.BANDS
    ]
    return charts.layout_map(dots, legend), sum(1 for p in points if p.lat is None or p.lon is None)


@pages_router.get("/catering/restaurants", response_class=HTMLResponse)
async def restaurants_page(request: Request, signed: Signed) -> Response:
    """The registry: each restaurant's quick score, latest grade, open alarms and problems."""
    state = state_of(request)

    def read() -> list[dict[str, Any]]:
        with state.engine.connect() as conn:
            points = scores.map_points(conn, now=utcnow(), tz=ZoneInfo(state.config.timezone))
            problems: dict[str, int] = dict(
                conn.execute(
                    select(m.problem.c.restaurant_id, func.count())
                    .where(m.problem.c.state == "open")
                    .group_by(m.problem.c.restaurant_id)
                ).all()
            )
            grades = _latest_grades(conn)
        return [
            {
                "point": p,
                "problems": int(problems.get(p.restaurant_id, 0)),
                "grade": grades.get(p.restaurant_id),
            }
            for p in points
        ]

    rows = await anyio.to_thread.run_sync(read)
    return _page(request, "restaurants.html", signed.who, {"rows": rows})


def _latest_grades(conn: Connection) -> dict[str, str]:
    i = m.inspection.c
    grades: dict[str, str] = {}
    for row in conn.execute(
        select(i.restaurant_id, i.grade).order_by(i.restaurant_id, i.inspected_on, i.id)
    ):
        grades[row.restaurant_id] = row.grade
    return grades


@pages_router.get("/catering/restaurants/{restaurant_id}", response_class=HTMLResponse)
async def restaurant_page(request: Request, signed: Signed, restaurant_id: str) -> Response:
    """One restaurant's file (一户一档)."""
    state = state_of(request)
    now = utcnow()

    def read() -> dict[str, Any] | None:
        view = public_view(state, restaurant_id, now)
        if view is None:
            return None
        with state.engine.connect() as conn:
            view["alarms"] = list(
                conn.execute(
                    select(m.alarm)
                    .where(m.alarm.c.restaurant_id == restaurant_id)
                    .order_by(m.alarm.c.opened_at.desc(), m.alarm.c.id)
                    .limit(100)
                )
            )
            view["problems"] = list(
                conn.execute(
                    select(m.problem)
                    .where(m.problem.c.restaurant_id == restaurant_id)
                    .order_by(m.problem.c.opened_at.desc(), m.problem.c.id)
                    .limit(100)
                )
            )
            view["inspections"] = list(
                conn.execute(
                    select(m.inspection)
                    .where(m.inspection.c.restaurant_id == restaurant_id)
                    .order_by(m.inspection.c.inspected_on.desc(), m.inspection.c.id)
                    .limit(50)
                )
            )
        view["feedback"] = feedback.list_feedback(
            state.engine, restaurant_id=restaurant_id, limit=100
        )
        return view

    view = await anyio.to_thread.run_sync(read)
    if view is None:
        return _not_found(request, signed.who)
    own = signed.who.department_id == view["restaurant"].department_id
    return _page(request, "restaurant.html", signed.who, {**view, "own": own})


@pages_router.post("/catering/restaurants/{restaurant_id}/feedback/{feedback_id}")
async def moderate_form(
    request: Request,
    signed: SignedForm,
    restaurant_id: str,
    feedback_id: str,
    decision: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """The file's publish / reject buttons (a worker of the restaurant's department)."""
    from evidence_service.modules.catering.feedback_api import refusal

    state = state_of(request)
    who = signed.who
    if who.role not in WORKERS:
        raise refusal(feedback.FeedbackRefused("wrong-department", "only workers moderate"))
    try:
        await anyio.to_thread.run_sync(
            lambda: feedback.moderate(
                state.engine,
                feedback_id,
                decision=decision,
                officer_id=who.officer_id,
                department_id=who.department_id,
                now=utcnow(),
            )
        )
    except feedback.FeedbackRefused as exc:
        raise refusal(exc) from exc
    return see_other(f"/catering/restaurants/{restaurant_id}#feedback")


@pages_router.post("/catering/problems/{problem_id}/transfer")
async def transfer_form(request: Request, signed: SignedForm, problem_id: str) -> Response:
    """The problem list's 移送 button: the problem's evidence to the enforcement department,
    made by the core with the reviewer's own token (``problems_api.transfer_problem``)."""
    from evidence_service.modules.catering.problems_api import transfer_problem

    await transfer_problem(state_of(request), signed.token, signed.who, problem_id)
    return see_other("/catering/problems")


@pages_router.get("/catering/alarms", response_class=HTMLResponse)
async def alarms_page(request: Request, signed: Signed) -> Response:
    """The open alarms, newest first."""
    state = state_of(request)

    def read() -> list[Any]:
        with state.engine.connect() as conn:
            return list(
                conn.execute(
                    select(m.alarm, m.restaurant.c.name)
                    .join(m.restaurant, m.restaurant.c.id == m.alarm.c.restaurant_id)
                    .where(m.alarm.c.state == "open")
                    .order_by(m.alarm.c.opened_at.desc(), m.alarm.c.id)
                    .limit(500)
                )
            )

    rows = await anyio.to_thread.run_sync(read)
    return _page(request, "alarms.html", signed.who, {"rows": rows})


@pages_router.get("/catering/problems", response_class=HTMLResponse)
async def problems_page(request: Request, signed: Signed) -> Response:
    """The open problems: those queued for transfer (待移送) first, then by due date."""
    state = state_of(request)

    def read() -> list[Any]:
        p = m.problem.c
        with state.engine.connect() as conn:
            return list(
                conn.execute(
                    select(
                        m.problem,
                        m.restaurant.c.name,
                        m.restaurant.c.department_id.label("restaurant_department"),
                    )
                    .join(m.restaurant, m.restaurant.c.id == p.restaurant_id)
                    .where(p.state == "open")
                    .order_by(
                        case((p.escalation == "queued", 0), else_=1), p.due_at, p.opened_at, p.id
                    )
                    .limit(500)
                )
            )

    rows = await anyio.to_thread.run_sync(read)
    senders = signed.who.role in ("reviewer", "penalty")
    return _page(
        request, "problems.html", signed.who, {"rows": rows, "now": utcnow(), "senders": senders}
    )
