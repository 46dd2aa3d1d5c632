"""The module's pages in the web app: ``/supervision/cockpit`` (数据驾驶舱), server-rendered,
no script.

The module may not import the web app (``evidence_service.web``), so the page signs its caller
in the way any client of the core would: the web app's session cookie holds a person token
(``api/sessions.py``), which the page forwards to the core as a bearer token to learn who calls
(``GET /api/v1/me``). Without a cookie, or with one the core refuses, it redirects to
``/login`` as the core's pages do. The figures are those of ``GET /api/v1/supervision/cockpit``
(the same function computes both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from evidence_service.modules.supervision import cockpit_svg
from evidence_service.modules.supervision.api import (
    Caller,
    CallerRefusedError,
    caller_for_token,
    state_of,
)
from evidence_service.modules.supervision.review_api import cockpit_figures
from evidence_service.modules.supervision.state import SupervisionState

SESSION_COOKIE = "evd_session"  # the web app's session cookie (api/sessions.py)
LEVELS = (("department", "部门"), ("city", "设区市"), ("region", "区县"), ("officer", "执法人员"))

pages_router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


templates.env.globals.update(pct=_pct, num=_num)


async def _page_caller(state: SupervisionState, token: str) -> Caller | None:
    """The signed-in officer as the core knows them; None when the core refuses the token."""
    try:
        return await caller_for_token(state, token)
    except CallerRefusedError:
        return None


@pages_router.get("/supervision/cockpit", response_class=HTMLResponse)
async def cockpit_page(
    request: Request,
    level: Annotated[str, Query(max_length=16)] = "department",
    period: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    state = state_of(request)
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    who = await _page_caller(state, token) if token else None
    if who is None:
        target = quote(str(request.url.path), safe="")
        return RedirectResponse(f"/login?next={target}", status_code=303)
    figures = await cockpit_figures(
        state, who, token=token, level=level, period=period or None, background=None
    )
    names = {row["key"]: row["name"] for row in figures["rows"]}
    level_name = dict(LEVELS)[figures["level"]]
    context: dict[str, Any] = {
        "figures": figures,
        "levels": LEVELS,
        "level_name": level_name,
        "who_sees_all": who.sees_all,
        "as_of": figures["as_of"].isoformat(timespec="seconds") if figures["as_of"] else "—",
        "indicator_names": list(cockpit_svg.INDICATOR_NAMES.items()),
        "gauge": cockpit_svg.gauge(figures["total"]["composite"], "综合得分"),
        "indicator_bars": cockpit_svg.indicator_bars(figures["total"], "各项指标（合计）"),
        "composite_bars": cockpit_svg.composite_bars(
            figures["rows"][:50], names, f"综合得分（按{level_name}）"
        ),
    }
    return templates.TemplateResponse(request, "cockpit.html", context)
