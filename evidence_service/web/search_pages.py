"""The search page: what the officer may see, by text, port, tag, case, party and time.

The same search and visibility rule as ``GET /api/v1/evidence`` (``cases.search``,
``capture.visibility``); bad input is shown on the page, never a stack trace.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from evidence_service.api.deps import ServicesDep
from evidence_service.capture.metadata import TagType
from evidence_service.capture.ports.registry import PORT_IDS
from evidence_service.capture.visibility import evidence_clause
from evidence_service.cases.search import EvidenceFilter, evidence_page
from evidence_service.core.errors import EvidenceError
from evidence_service.web.pages import day_start, render, require_actor

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _day(value: str, *, end: bool) -> datetime | None:
    """A received date typed on the form (Asia/Shanghai): from its 00:00, or — as the end of
    the range, which the search excludes — to the next day's 00:00, so the day is whole."""
    return day_start(value, next_day=end) if value else None


def _near(lat: str, lon: str, within: str) -> tuple[float, float, float] | None:
    """A place search: all three or none; ValueError otherwise or out of range."""
    given = [v.strip() for v in (lat, lon, within)]
    if not any(given):
        return None
    if not all(given):
        raise ValueError("a place search needs latitude, longitude and a distance")
    point = (float(given[0]), float(given[1]), float(given[2]))
    if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180 and 0 < point[2] <= 1_000_000):
        raise ValueError("latitude, longitude or distance out of range")
    return point


@router.get("/search")
def search(
    request: Request,
    services: ServicesDep,
    q: Annotated[str, Query(max_length=200)] = "",
    port: Annotated[str, Query(max_length=32)] = "",
    tag_type: Annotated[str, Query(max_length=32)] = "",
    tag_value: Annotated[str, Query(max_length=200)] = "",
    case_id: Annotated[str, Query(max_length=26)] = "",
    party_id: Annotated[str, Query(max_length=26)] = "",
    received_from: Annotated[str, Query(max_length=10)] = "",
    received_to: Annotated[str, Query(max_length=10)] = "",
    near_lat: Annotated[str, Query(max_length=32)] = "",
    near_lon: Annotated[str, Query(max_length=32)] = "",
    within_m: Annotated[str, Query(max_length=32)] = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    actor = require_actor(request, services)
    form = {
        "q": q,
        "port": port,
        "tag_type": tag_type,
        "tag_value": tag_value,
        "case_id": case_id,
        "party_id": party_id,
        "received_from": received_from,
        "received_to": received_to,
        "near_lat": near_lat,
        "near_lon": near_lon,
        "within_m": within_m,
    }
    asked = any(form.values())
    items: list[dict[str, object]] = []
    next_cursor = None
    error = None
    if asked:
        try:
            if port and port not in PORT_IDS:
                raise ValueError(f"unknown port {port!r}")
            if tag_type and tag_type not in {t.value for t in TagType}:
                raise ValueError(f"unknown tag type {tag_type!r}")
            near = _near(near_lat, near_lon, within_m)
            page = evidence_page(
                services.engine,
                EvidenceFilter(
                    port=port or None,
                    received_from=_day(received_from, end=False),
                    received_to=_day(received_to, end=True),
                    tag_type=tag_type or None,
                    tag_value=tag_value or None,
                    case_id=case_id or None,
                    text=q or None,
                    party_id=party_id or None,
                    near=near,
                    visible=evidence_clause(actor),
                ),
                limit=PAGE_SIZE,
                cursor=cursor or None,
                sort="-received_at",
            )
            items, next_cursor = page["items"], page["next_cursor"]
        except (ValueError, EvidenceError) as exc:
            error = str(exc)
    status = 422 if error else 200
    return render(
        request,
        services,
        "search.html",
        actor,
        status_code=status,
        form=form,
        asked=asked,
        items=items,
        next_cursor=next_cursor,
        error=error,
        ports=PORT_IDS,
        tag_types=[t.value for t in TagType],
    )
