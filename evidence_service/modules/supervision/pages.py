"""The clue centre's pages (线索中心) and the cockpit (数据驾驶舱), server-rendered, no script:
``/supervision/clues`` (the list, with the office's "run the models now"), one clue with the form
that opens its disposal, and ``/supervision/cockpit``, whose figures are those of
``GET /api/v1/supervision/cockpit`` (the same function computes both). How a page signs its
caller in, guards its forms and shows a refusal: ``page_kit.py``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import anyio
from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import HTMLResponse, Response

from evidence_service.modules.supervision import cockpit_svg
from evidence_service.modules.supervision.api import AUDITOR, INGESTERS, READERS, _require, state_of
from evidence_service.modules.supervision.clues import registry, runner
from evidence_service.modules.supervision.clues.api import start_run
from evidence_service.modules.supervision.page_kit import (
    PROCEDURES,
    Signed,
    SignedForm,
    as_bearer,
    blank,
    department_names,
    render_page,
    see_other,
)
from evidence_service.modules.supervision.problems import BadQueryError, RecordNotFoundError
from evidence_service.modules.supervision.records import decode_cursor, encode_cursor
from evidence_service.modules.supervision.review_api import cockpit_figures
from evidence_service.modules.supervision.schemas import RunRequest

LEVELS = (("department", "部门"), ("city", "设区市"), ("region", "区县"), ("officer", "执法人员"))

pages_router = APIRouter(include_in_schema=False)


@pages_router.get("/supervision/cockpit", response_class=HTMLResponse)
async def cockpit_page(
    request: Request,
    signed: Signed,
    level: Annotated[str, Query(max_length=16)] = "department",
    period: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    who = signed.who
    figures = await cockpit_figures(
        state_of(request), who, token=signed.token, level=level, period=period or None,
        background=None,
    )  # fmt: skip
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
    return render_page(request, "cockpit.html", who, context)


@pages_router.get("/supervision/clues", response_class=HTMLResponse)
async def clues_page(
    request: Request,
    signed: Signed,
    model: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    department_id: Annotated[str | None, Query(max_length=64)] = None,
    severity: Annotated[str | None, Query(max_length=16)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    ran: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    who = signed.who
    chosen = {
        "model": blank(model),
        "status": blank(status),
        "department_id": blank(department_id),
        "severity": blank(severity),
    }
    state = state_of(request)
    _require(who, READERS, "read clues")
    if chosen["status"] not in (None, "open", "closed"):
        raise BadQueryError("status: open or closed")
    if chosen["severity"] not in (None, "high", "medium", "low"):
        raise BadQueryError("severity: high, medium or low")
    try:
        after = decode_cursor(cursor) if cursor else None
    except ValueError as exc:
        raise BadQueryError(f"cursor: {exc}") from exc
    flt = runner.ClueFilter(
        departments=None if who.sees_all else frozenset({who.department_id}), **chosen
    )
    page, last = await anyio.to_thread.run_sync(
        lambda: runner.search_clues(state.engine, flt, limit=50, after=after)
    )
    names = await department_names(request, signed.token)
    more = (
        {k: v for k, v in chosen.items() if v} | {"cursor": encode_cursor(last)} if last else None
    )
    run = None
    if ran:
        run = await anyio.to_thread.run_sync(lambda: runner.get_run(state.engine, ran[:64]))
    context = {
        "clues": page,
        "chosen": chosen,
        "models": [(m.code, m.name) for m in registry.MODELS],
        "departments": sorted(names.items(), key=lambda kv: kv[1]) if who.sees_all else [],
        "names": names,
        "next_link": f"/supervision/clues?{urlencode(more)}" if more else None,
        "may_run": who.role == AUDITOR or (who.office and who.role in INGESTERS),
        "run": run,
    }
    return render_page(request, "clues.html", who, context)


@pages_router.post("/supervision/runs", response_class=HTMLResponse)
async def run_page(request: Request, signed: SignedForm) -> Response:
    tasks = BackgroundTasks()  # the cockpit's summary, rebuilt after answering (as the API)
    done = await start_run(
        as_bearer(request, signed.token), RunRequest(models=None), signed.who, tasks
    )
    run_id = json.loads(bytes(done.body))["id"]
    return see_other(f"/supervision/clues?ran={quote(run_id)}", background=tasks)


@pages_router.get("/supervision/clues/{clue_id}", response_class=HTMLResponse)
async def clue_page(request: Request, clue_id: str, signed: Signed) -> Response:
    who, state = signed.who, state_of(request)
    found = await anyio.to_thread.run_sync(lambda: runner.get_clue(state.engine, clue_id[:64]))
    if found is None or not (who.sees_all or found["department_id"] == who.department_id):
        raise RecordNotFoundError(f"no clue {clue_id[:64]}")
    context = {
        "clue": found,
        "model": registry.BY_CODE.get(found["model"]),
        "names": await department_names(request, signed.token),
        "procedures": PROCEDURES,
        "may_open": who.office and who.role in INGESTERS and found["disposal"] is None,
    }
    return render_page(request, "clue.html", who, context)
