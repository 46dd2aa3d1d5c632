"""Read models of the core: its evidence, refusals and transfers feeds, read over HTTP with the
caller's own token from where the last reading stopped (``supervision_sync``).

Each page is written in one transaction together with its new cursor, so a reading cut short
(a stream without its end line, a dropped connection) keeps every complete line it got and the
next call resumes after the last of them. A cursor is kept per scope — ``<feed>@all`` for an
auditor, who reads every department's, ``<feed>@<department>`` for a department's own — so a
department's reading never makes the auditor's skip another department's items.

The refusals feed is oversight's: a department worker gets 403 and that feed is skipped. A
transfer's later decision does not move it in the transfers feed, so each reading starts again
just before the oldest transfer the read model still holds pending.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, delete, func, insert, select

from evidence_service.client import AsyncEvidenceClient
from evidence_service.modules.kit.db import dialect_insert, write_transaction
from evidence_service.modules.supervision.models import (
    evidence,
    evidence_case,
    refusal,
    sync,
    transfer,
)
from evidence_service.modules.supervision.records import utcnow

FEEDS = ("evidence", "refusals", "transfers")
PATHS = {feed: f"/api/v1/feeds/{feed}" for feed in FEEDS}
#: Lines asked per page, per feed (the core's own bounds: 100,000 and 10,000).
PAGE = {"evidence": 5000, "refusals": 5000, "transfers": 1000}
#: Pages read per feed in one call at most; the answer says when more remain.
MAX_PAGES = 40


class FeedError(Exception):
    """The core answered a feed with something other than 200 or 403."""


@dataclass
class FeedResult:
    read: int = 0
    pages: int = 0
    cursor: str = "0"
    complete: bool = True  # every page arrived with its end line
    more: bool = False  # stopped at MAX_PAGES with lines left
    skipped: str | None = None  # "forbidden" when the caller may not read this feed

    def public(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "pages": self.pages,
            "cursor": self.cursor,
            "complete": self.complete,
            "more": self.more,
            "skipped": self.skipped,
        }


@dataclass
class SyncResult:
    scope: str
    feeds: dict[str, FeedResult] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {"scope": self.scope, "feeds": {k: v.public() for k, v in self.feeds.items()}}


def parse_lines(text: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The complete JSON lines of an answer, and its end line if it arrived; a line cut in
    the middle (the stream ended there) ends the reading."""
    items: list[dict[str, Any]] = []
    for raw in text.split("\n"):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except ValueError:
            break
        if not isinstance(row, dict):
            break
        if row.get("end") is True:
            return items, row
        items.append(row)
    return items, None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _upsert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]], key: str) -> None:
    if not rows:
        return
    ins = dialect_insert(conn, table)
    cols = {c.name: ins.excluded[c.name] for c in table.columns if c.name != key}
    for start in range(0, len(rows), 1000):
        conn.execute(
            ins.on_conflict_do_update(index_elements=[key], set_=cols), rows[start : start + 1000]
        )


def _save_cursor(conn: Connection, key: str, cursor: str, now: datetime) -> None:
    _upsert(conn, sync, [{"feed": key, "cursor": cursor, "synced_at": now}], "feed")


def cursor_of(engine: Engine, key: str) -> str:
    with engine.connect() as conn:
        found = conn.execute(select(sync.c.cursor).where(sync.c.feed == key)).scalar()
    return str(found) if found is not None else "0"


def write_evidence(conn: Connection, lines: Sequence[dict[str, Any]], now: datetime) -> None:
    rows = [
        {
            "id": line["id"],
            "department_id": line["department_id"],
            "officer_id": line.get("officer_id"),
            "port": line["port"],
            "captured_at": _time(line["captured_at"]),
            "received_at": _time(line["received_at"]),
            "sha256": line["sha256"],
            "signed": bool(line.get("signed")),
            "anchored_at": _time(line.get("anchored_at")),
            "synced_at": now,
        }
        for line in lines
    ]
    _upsert(conn, evidence, rows, "id")
    ids = [line["id"] for line in lines]
    for start in range(0, len(ids), 500):
        conn.execute(
            delete(evidence_case).where(evidence_case.c.evidence_id.in_(ids[start : start + 500]))
        )
    links = [
        {
            "evidence_id": line["id"],
            "case_id": link["case_id"],
            "purpose": link.get("purpose") or "",
        }
        for line in lines
        for link in _case_links(line)
    ]
    if links:
        conn.execute(insert(evidence_case), links)


def _case_links(line: dict[str, Any]) -> list[dict[str, Any]]:
    """``case_links`` (with purposes); from a core without them, ``case_ids`` and no purpose
    known — counted as given so that no item is flagged for a purpose the core did not send."""
    if "case_links" in line:
        return list(line["case_links"])
    return [{"case_id": c, "purpose": "(unknown)"} for c in line.get("case_ids", [])]


def write_refusals(conn: Connection, lines: Sequence[dict[str, Any]], now: datetime) -> None:
    rows = [
        {
            "id": int(line["id"]),
            "at": _time(line["at"]),
            "actor_id": line.get("actor_id"),
            "department_id": line.get("department_id"),
            "route": str(line.get("route") or "")[:200],
            "status": int(line["status"]),
            "count": int(line.get("count") or 1),
            "synced_at": now,
        }
        for line in lines
    ]
    _upsert(conn, refusal, rows, "id")


def write_transfers(conn: Connection, lines: Sequence[dict[str, Any]], now: datetime) -> None:
    rows = [
        {
            "id": line["id"],
            "from_department_id": line["from_department_id"],
            "to_department_id": line["to_department_id"],
            "to_kind": line.get("to_kind"),
            "status": line["status"],
            "sent_at": _time(line["sent_at"]),
            "decided_at": _time(line.get("decided_at")),
            "evidence_ids": list(line.get("evidence_ids") or []),
            "synced_at": now,
        }
        for line in lines
    ]
    _upsert(conn, transfer, rows, "id")


WRITERS = {"evidence": write_evidence, "refusals": write_refusals, "transfers": write_transfers}


def _line_cursor(feed: str, line: dict[str, Any]) -> str:
    return str(line["cursor"]) if feed == "evidence" else str(line["id"])


def transfers_start(engine: Engine, stored: str) -> str:
    """Where the transfers reading starts: the stored cursor, or just before the oldest
    transfer still pending in the read model (its decision may have come since)."""
    with engine.connect() as conn:
        oldest = conn.execute(
            select(func.min(transfer.c.id)).where(transfer.c.status == "pending")
        ).scalar()
        if oldest is None or str(oldest) > stored:
            return stored
        before = conn.execute(
            select(func.max(transfer.c.id)).where(transfer.c.id < oldest)
        ).scalar()
    return str(before) if before is not None else "0"


def store_page(
    engine: Engine, feed: str, key: str, lines: list[dict[str, Any]], cursor: str
) -> None:
    now = utcnow()
    with write_transaction(engine) as conn:
        WRITERS[feed](conn, lines, now)
        _save_cursor(conn, key, cursor, now)


async def sync_feed(
    core: AsyncEvidenceClient,
    engine: Engine,
    feed: str,
    key: str,
    *,
    run_sync: Any,
    page_size: int | None = None,
    max_pages: int = MAX_PAGES,
) -> FeedResult:
    """Read ``feed`` from its stored cursor until drained or ``max_pages`` pages."""
    limit = page_size or PAGE[feed]
    stored = await run_sync(lambda: cursor_of(engine, key))
    cursor = (
        await run_sync(lambda: transfers_start(engine, stored)) if feed == "transfers" else stored
    )
    result = FeedResult(cursor=cursor)
    for _ in range(max_pages):
        try:
            answer = await core.http.get(PATHS[feed], params={"after": cursor, "limit": limit})
        except httpx.HTTPError as exc:
            raise FeedError(f"reading {feed} from {cursor}: {exc}") from exc
        if answer.status_code == 403:
            result.skipped = "forbidden"
            return result
        if answer.status_code != 200:
            raise FeedError(f"the core answered {feed} with {answer.status_code}")
        lines, end = parse_lines(answer.text)
        result.pages += 1
        if end is None:
            result.complete = False
        next_cursor = (
            str(end["next_cursor"]) if end else (_line_cursor(feed, lines[-1]) if lines else cursor)
        )
        if feed == "transfers" and next_cursor < stored:
            # re-reading pending ones: never move the stored cursor back
            save = stored
        else:
            save = next_cursor
        # written even when empty: ``synced_at`` then says when the feed was last read in full
        # (``record_cites_unknown_evidence`` judges only records ingested before that)
        await run_sync(partial(store_page, engine, feed, key, lines, save))
        stored = max(stored, save) if feed == "transfers" else save
        result.read += len(lines)
        result.cursor = stored
        if end is None and not lines:
            break  # nothing usable arrived: stop, the next call resumes here
        cursor = next_cursor
        if end is not None and len(lines) < limit:
            return result
    else:
        result.more = True
    return result


def scope_key(feed: str, *, sees_all: bool, department_id: str) -> str:
    return f"{feed}@{'all' if sees_all else department_id}"
