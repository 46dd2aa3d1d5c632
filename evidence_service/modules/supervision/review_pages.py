"""The case centre's and case-file review's pages: ``/supervision/records`` (案卷) and
``/supervision/reviews`` (案卷评查), server-rendered, no script.

The pages sign their caller in and guard their forms as ``pages.py`` does (its helpers, not
copies). They read and write through the module's API functions themselves, called with the
signed-in caller, so a page shows exactly what the JSON answers and refuses exactly what the
API refuses (who may start, decide and seal; a department sees only its own records and
reviews, another's answering 404). A form is checked (``page_kit.SignedForm``) before
anything else, so a refused one writes nothing; a refusal is a page (``page_kit.py``).
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import anyio
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from evidence_service.modules.supervision import review as rv
from evidence_service.modules.supervision.api import (
    READERS,
    Caller,
    _require,
    get_record,
    list_records,
    state_of,
)
from evidence_service.modules.supervision.clues import runner
from evidence_service.modules.supervision.models import STAGES
from evidence_service.modules.supervision.page_kit import (
    Signed,
    SignedForm,
    as_bearer,
    blank,
    department_names,
    form_fields,
    render_page,
    see_other,
    templates,
)
from evidence_service.modules.supervision.problems import BadQueryError
from evidence_service.modules.supervision.review_api import (
    MAX_NOTE,
    OFFICE_WORKERS,
    SEALERS,
    ItemDecision,
    ReviewStart,
    decide_item,
    finalize_review,
    get_review,
    list_reviews,
    result_pdf,
    start_review,
)

review_pages_router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
#: The record kinds (``records.RecordIn.kind``) and what the pages call them.
KIND_NAMES = {
    "penalty": "行政处罚",
    "permit": "行政许可",
    "inspection": "行政检查",
    "complaint": "投诉举报",
    "reconsideration": "行政复议",
}
CHECKLIST_NAMES = {"penalty": "行政处罚案卷评查表", "general": "通用案卷评查表"}
REVIEW_STATUSES = {"draft": "评查中", "sealing": "盖章中", "final": "已定稿"}
PASSED = {"yes": True, "no": False, "": None}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_REVIEW_CURSOR = re.compile(r"[0-9A-Z]{1,64}")
templates.env.globals.update(
    kind_names=KIND_NAMES,
    checklist_names=CHECKLIST_NAMES,
    review_status_names=REVIEW_STATUSES,
    stage_names=STAGES,
)


def _works_in_office(who: Caller, roles: frozenset[str] = OFFICE_WORKERS) -> bool:
    """Whether ``who`` works in the supervision office in one of ``roles`` (the API's rule;
    the pages only use it to decide which forms to show)."""
    return who.office and who.role in roles


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    if not _DAY.fullmatch(value):
        raise BadQueryError(f"{name}: a date is written YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadQueryError(f"{name}: {exc}") from exc


def _next_link(path: str, chosen: dict[str, str | None], cursor: str | None) -> str | None:
    """The next page's address: the same filters and the cursor (None: no more)."""
    if cursor is None:
        return None
    return f"{path}?{urlencode({k: v for k, v in chosen.items() if v} | {'cursor': cursor})}"


# ------------------------------------------------------------------ records (案卷)


@review_pages_router.get("/supervision/records", response_class=HTMLResponse)
async def records_page(
    request: Request,
    signed: Signed,
    q: Annotated[str | None, Query(max_length=100)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    department_id: Annotated[str | None, Query(max_length=64)] = None,
    filed_from: Annotated[str | None, Query(max_length=10)] = None,
    filed_to: Annotated[str | None, Query(max_length=10)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    who = signed.who
    chosen = {
        "q": blank(q),
        "kind": blank(kind),
        "department_id": blank(department_id) if who.sees_all else None,
        "filed_from": blank(filed_from),
        "filed_to": blank(filed_to),
    }
    if chosen["kind"] not in (None, *KIND_NAMES):
        raise BadQueryError(f"kind: one of {', '.join(KIND_NAMES)}")
    start = _day(chosen["filed_from"], "filed_from")
    end = _day(chosen["filed_to"], "filed_to")
    if start and end and start > end:
        raise BadQueryError("filed_from: after filed_to")
    found = await list_records(
        request,
        who,
        department_id=chosen["department_id"],
        kind=chosen["kind"],
        city=None,
        filed_from=start,
        filed_to=end,
        q=chosen["q"],
        party=None,
        limit=PAGE_SIZE,
        cursor=blank(cursor),
    )
    names = await department_names(request, signed.token)
    context = {
        "records": found["items"],
        "chosen": chosen,
        "departments": sorted(names.items(), key=lambda kv: kv[1]) if who.sees_all else [],
        "names": names,
        "next_link": _next_link("/supervision/records", chosen, found["next_cursor"]),
    }
    return render_page(request, "records.html", who, context)


@review_pages_router.get("/supervision/records/{record_id}", response_class=HTMLResponse)
async def record_page(request: Request, record_id: str, signed: Signed) -> Response:
    who, record_id, state = signed.who, record_id[:64], state_of(request)
    found = await get_record(request, record_id, who)
    reviews = await list_reviews(
        request, who, record_id=record_id, status=None, department_id=None,
        limit=PAGE_SIZE, cursor=None,
    )  # fmt: skip
    flt = runner.ClueFilter(
        departments=None if who.sees_all else frozenset({who.department_id}), record_id=record_id
    )
    clues, _ = await anyio.to_thread.run_sync(
        lambda: runner.search_clues(state.engine, flt, limit=PAGE_SIZE, after=None)
    )
    open_review = next((r for r in reviews["items"] if r["status"] != rv.FINAL), None)
    context = {
        "r": found,
        "clues": clues,
        "reviews": reviews["items"],
        "open_review": open_review,
        "may_start": _works_in_office(who) and open_review is None,
        "names": await department_names(request, signed.token),
    }
    return render_page(request, "record.html", who, context)


# ------------------------------------------------------------------ reviews (案卷评查)


def _to_review(review_id: str, anchor: str = "") -> Response:
    return see_other(f"/supervision/reviews/{quote(review_id)}{anchor}")


@review_pages_router.post("/supervision/reviews", response_class=HTMLResponse)
async def start_review_page(
    request: Request, signed: SignedForm, record_id: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    body = form_fields(ReviewStart, {"record_id": record_id})
    started = await start_review(as_bearer(request, signed.token), body, signed.who)
    return _to_review(json.loads(bytes(started.body))["id"])


@review_pages_router.get("/supervision/reviews", response_class=HTMLResponse)
async def reviews_page(
    request: Request,
    signed: Signed,
    status: Annotated[str | None, Query(max_length=16)] = None,
    department_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    who = signed.who
    chosen = {
        "status": blank(status),
        "department_id": blank(department_id) if who.sees_all else None,
    }
    after = blank(cursor)
    _require(who, READERS, "read reviews")
    if chosen["status"] not in (None, *REVIEW_STATUSES):
        raise BadQueryError(f"status: one of {', '.join(REVIEW_STATUSES)}")
    if after is not None and not _REVIEW_CURSOR.fullmatch(after):
        raise BadQueryError("cursor: not a cursor of this list")
    found = await list_reviews(
        request, who, record_id=None, status=chosen["status"],
        department_id=chosen["department_id"], limit=PAGE_SIZE, cursor=after,
    )  # fmt: skip
    names = await department_names(request, signed.token)
    context = {
        "reviews": found["items"],
        "chosen": chosen,
        "departments": sorted(names.items(), key=lambda kv: kv[1]) if who.sees_all else [],
        "names": names,
        "next_link": _next_link("/supervision/reviews", chosen, found["next_cursor"]),
    }
    return render_page(request, "reviews.html", who, context)


@review_pages_router.get("/supervision/reviews/{review_id}", response_class=HTMLResponse)
async def review_page(request: Request, review_id: str, signed: Signed) -> Response:
    who = signed.who
    shown = await get_review(request, review_id[:64], who)
    draft = shown["status"] == rv.DRAFT
    sections = [
        (section, name, [i for i in shown["items"] if i["section"] == section])
        for section, name in rv.SECTION_NAMES.items()
    ]
    context = {
        "v": shown,
        "sections": sections,
        "may_decide": draft and _works_in_office(who),
        "may_finalize": draft and not shown["undecided"] and _works_in_office(who, SEALERS),
        "max_note": MAX_NOTE,
        "names": await department_names(request, signed.token),
    }
    return render_page(request, "review.html", who, context)


@review_pages_router.post(
    "/supervision/reviews/{review_id}/items/{code}", response_class=HTMLResponse
)
async def decide_item_page(
    request: Request,
    review_id: str,
    code: str,
    signed: SignedForm,
    passed: Annotated[str, Form(max_length=8)] = "",
    deducted: Annotated[str, Form(max_length=3)] = "",
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
) -> Response:
    """A reviewer's item: a veto item's radio (``passed`` yes/no) or a scored item's points
    off (``deducted``); the API checks the decision fits the item."""
    review_id, code = review_id[:64], code[:64]
    if passed not in PASSED:
        raise BadQueryError("passed: yes or no")
    fields: dict[str, Any] = {"passed": PASSED[passed], "note": note.strip()}
    if deducted.strip():
        fields["deducted"] = deducted.strip()
    body = form_fields(ItemDecision, fields)
    await decide_item(as_bearer(request, signed.token), review_id, code, body, signed.who)
    return _to_review(review_id, f"#item-{quote(code)}")


@review_pages_router.post("/supervision/reviews/{review_id}/finalize", response_class=HTMLResponse)
async def finalize_page(request: Request, review_id: str, signed: SignedForm) -> Response:
    """定稿并盖章: the API captures the result PDF in the core and seals its digest with the
    office's seal (the core refuses the seal to anyone but the office's reviewers)."""
    await finalize_review(as_bearer(request, signed.token), review_id[:64], signed.who)
    return _to_review(review_id[:64])


@review_pages_router.get("/supervision/reviews/{review_id}/result.pdf")
async def result_pdf_page(request: Request, review_id: str, signed: Signed) -> Response:
    """The sealed result's PDF for a signed-in browser (a link sends no bearer token)."""
    return await result_pdf(as_bearer(request, signed.token), review_id[:64], signed.who)
