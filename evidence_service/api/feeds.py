"""/api/v1/feeds: bulk reads as streamed NDJSON, for business modules keeping read models.

Each answer is ``application/x-ndjson``: one JSON object a line, then a last line
``{"end": true, "next_cursor": …, "count": …}`` — a stream cut short lacks it, so a reader
knows to ask again from the cursor it last saw. The next cursor is also the ``X-Next-Cursor``
header (the page's positions are read before the first byte is sent). Cursors are decimal
positions: the custody seq of an item's ``captured`` event for evidence, the row id for
refusals; ``after=0`` starts at the beginning. The transfers feed's cursor is the transfer id
(a ULID: time-ordered, compared as text), and ``after=0`` starts there too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from evidence_service.access.refusals import MAX_FEED, refusal_record, refusals_after
from evidence_service.api.deps import CurrentActor, ServicesDep
from evidence_service.api.policy import sees_everything
from evidence_service.api.responses import binary, header, problems
from evidence_service.cases.feed import evidence_lines, evidence_page
from evidence_service.transfer.feed import transfer_lines

router = APIRouter(prefix="/api/v1/feeds", tags=["feeds"])

NDJSON = "application/x-ndjson"
DEFAULT_LIMIT = 10_000
MAX_CURSOR = 2**63 - 1

After = Annotated[int, Query(ge=0, le=MAX_CURSOR, description="The cursor a page ended on")]
Limit = Annotated[int, Query(ge=1, le=MAX_FEED, description="Most lines in this page")]
#: Transfers carry their item ids (up to a package's items each): smaller pages.
MAX_TRANSFER_FEED = 10_000
DEFAULT_TRANSFER_LIMIT = 1000
TransferAfter = Annotated[
    str,
    Query(
        min_length=1,
        max_length=26,
        pattern="^[0-9A-Za-z]+$",
        description="The transfer id a page ended on (0: the beginning)",
    ),
]
TransferLimit = Annotated[
    int, Query(ge=1, le=MAX_TRANSFER_FEED, description="Most lines in this page")
]
FEED_HEADERS = {"X-Next-Cursor": header("Where the next page starts (pass it as `after`)")}


def _ndjson(lines: Iterable[dict[str, Any]], next_cursor: int | str) -> Iterator[bytes]:
    count = 0
    for line in lines:
        count += 1
        yield _encode(line)
    yield _encode({"end": True, "next_cursor": str(next_cursor), "count": count})


def _encode(line: dict[str, Any]) -> bytes:
    text = json.dumps(jsonable_encoder(line), ensure_ascii=False, separators=(",", ":"))
    return text.encode() + b"\n"


def _answer(lines: Iterable[dict[str, Any]], next_cursor: int | str) -> StreamingResponse:
    return StreamingResponse(
        _ndjson(lines, next_cursor),
        media_type=NDJSON,
        headers={"X-Next-Cursor": str(next_cursor)},
    )


@router.get(
    "/evidence",
    summary="Every item the caller may see, as metadata lines in arrival order (NDJSON)",
    response_class=StreamingResponse,
    responses={
        **binary(NDJSON, description="One item a line, then the end line", headers=FEED_HEADERS),
        **problems(401, 403, 422),
    },
)
def evidence_feed(
    services: ServicesDep,
    actor: CurrentActor,
    after: After = 0,
    limit: Limit = DEFAULT_LIMIT,
) -> StreamingResponse:
    page = evidence_page(services.engine, actor, after=after, limit=limit)
    return _answer(evidence_lines(services.engine, page), page.next_cursor)


@router.get(
    "/refusals",
    summary="The refused-request log (401, 403, 404 by the access policy), oldest first (NDJSON)",
    response_class=StreamingResponse,
    responses={
        **binary(NDJSON, description="One refusal a line, then the end line", headers=FEED_HEADERS),
        **problems(401, 403, 422),
    },
)
def refusals_feed(
    services: ServicesDep,
    actor: CurrentActor,
    after: After = 0,
    limit: Limit = DEFAULT_LIMIT,
) -> StreamingResponse:
    with Session(services.engine) as session:
        rows = refusals_after(session, after, limit)
    lines = [refusal_record(row) for row in rows]
    next_cursor = int(rows[-1].id or after) if rows else after
    return _answer(lines, next_cursor)


@router.get(
    "/transfers",
    summary="Every transfer the caller may see, with its status and item ids (NDJSON)",
    response_class=StreamingResponse,
    responses={
        **binary(NDJSON, description="One transfer a line, then an end line", headers=FEED_HEADERS),
        **problems(401, 403, 422),
    },
)
def transfers_feed(
    services: ServicesDep,
    actor: CurrentActor,
    after: TransferAfter = "0",
    limit: TransferLimit = DEFAULT_TRANSFER_LIMIT,
) -> StreamingResponse:
    """The transfers the caller's department sent or received (an auditor: every
    department's, as ``GET /api/v1/transfers`` lists them), in id order after ``after``: id,
    both departments, the receiving department's kind, status, when sent and decided, and the
    ids of the items it carries. A transfer's later decision does not move it in the feed: a
    reader that wants it re-reads from before the oldest transfer it still holds pending."""
    department = None if sees_everything(actor) else actor.department_id
    lines, next_cursor = transfer_lines(
        services.engine, department_id=department, after=after.upper(), limit=limit
    )
    return _answer(lines, next_cursor)
