"""Draws kept and run by the service (双随机、一公开): the ``inspection_draw`` rows, the plan
made from the stored directory, and the job that takes a committed draw to its publication.

A draw's life (``models.DRAW_STATES``):

- ``planned``: the commitment is made (``plan.plan_draw``) and stored before it leaves;
- ``failed``: the core refused the commitment — it was never anchored, so there is nothing to
  void, and ``error`` says why. A commitment the core did not answer for stays ``planned``
  (the core may have taken it) until it is posted again (``POST …/advance``);
- ``committed``: the core took the commitment for anchoring (``anchor_id``); the job waits for
  the anchor, then for the target block, in the background. A job that times out or loses the
  core leaves the draw here, to be resumed (``POST …/advance``): the commitment is out, so the
  draw can only end published or void;
- ``published`` / ``void``: ``document`` holds ``DRAW.json`` (docs/draw-format.md §5), and a
  published draw's tasks exist — both written in one transaction, so a draw is never published
  without its tasks, nor tasked twice.

Besides the commitment, the row keeps what the job needs to make the tasks (their scenario and
lead department) and the commitment's digest, which every list shows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy import Connection, Engine, select

from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection import publish, tasks
from evidence_service.modules.inspection.common import local_date, utcnow
from evidence_service.modules.inspection.directory import Inspector
from evidence_service.modules.inspection.draw import commitment_digest
from evidence_service.modules.inspection.plan import Drawable, DrawTarget, Plan, plan_draw
from evidence_service.modules.inspection.state import InspectionState
from evidence_service.modules.kit.db import write_transaction

log = logging.getLogger(__name__)

#: Seconds between two looks at the core while a job waits (anchor mined, block reached).
POLL_S = 0.5
TITLE_CHARS = 200  # inspection_task.title


@dataclass(frozen=True)
class Intent:
    """What the draw's tasks are for, beyond the commitment: the scenario and the lead."""

    scenario: str
    lead_department: str


# ------------------------------------------------------------------------------ planning


def read_directory(
    conn: Connection, departments: Sequence[str], *, industry: str | None = None
) -> tuple[list[Drawable], list[Inspector]]:
    """What a draw reads of the stored directory: each enterprise's credit code and risk class
    (of one ``industry``, or all), and the officers of ``departments`` (the draw's pools)."""
    query = select(m.enterprise.c.credit_code, m.enterprise.c.risk_class)
    if industry is not None:
        query = query.where(m.enterprise.c.industry == industry)
    enterprises: list[Drawable] = list(conn.execute(query))
    rows = conn.execute(
        select(m.inspector).where(m.inspector.c.department_id.in_(list(departments)))
    )
    inspectors = [
        Inspector(
            r.officer_id,
            r.department_id,
            r.cert_no,
            tuple(r.specialities),
            tuple(r.conflicts),
        )
        for r in rows
    ]
    return enterprises, inspectors


def year_of(now: datetime, timezone: str) -> int:
    """The calendar year an inspection counts in (the locality's zone, not UTC)."""
    return local_date(now, timezone).year


def plan_from_directory(
    engine: Engine,
    target: DrawTarget,
    departments: Sequence[str],
    *,
    per_department: int,
    ratios: Mapping[str, str],
    annual_cap: int,
    year: int,
) -> Plan:
    """The commitment over the stored directory, enterprises at the year's cap left out
    (``plan.PlanError`` when it cannot be made)."""
    with engine.connect() as conn:
        enterprises, inspectors = read_directory(conn, departments)
        done = tasks.inspections_this_year(conn, year)
    return plan_draw(
        target,
        enterprises,
        inspectors,
        departments,
        per_department=per_department,
        ratios=ratios,
        inspections_this_year=done,
        annual_cap=annual_cap,
    )


# ------------------------------------------------------------------------------ rows


def insert_planned(
    engine: Engine, plan: Plan, intent: Intent, *, created_by: str, now: datetime
) -> None:
    commitment = plan.commitment
    with write_transaction(engine) as conn:
        conn.execute(
            m.draw.insert().values(
                id=commitment["draw_id"],
                task=commitment["task"],
                state="planned",
                commitment=commitment,
                left_out=[list(item) for item in plan.left_out],
                target_block=commitment["target_block"],
                inputs_digest=commitment_digest(commitment).hex(),
                scenario=intent.scenario,
                lead_department=intent.lead_department,
                document=None,
                created_by=created_by,
                created_at=now,
            )
        )


def mark_failed(engine: Engine, draw_id: str, error: str) -> None:
    """The commitment never left: the draw failed, nothing to void."""
    with write_transaction(engine) as conn:
        conn.execute(
            m.draw.update()
            .where(m.draw.c.id == draw_id, m.draw.c.state == "planned")
            .values(state="failed", error=error[:2000])
        )


def mark_committed(engine: Engine, draw_id: str, anchor_id: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            m.draw.update()
            .where(m.draw.c.id == draw_id, m.draw.c.state == "planned")
            .values(state="committed", anchor_id=anchor_id)
        )


def get_row(engine: Engine, draw_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(m.draw).where(m.draw.c.id == draw_id)).mappings().first()
    return dict(row) if row else None


def intent_of(row: Mapping[str, Any]) -> Intent:
    return Intent(scenario=row["scenario"], lead_department=row["lead_department"])


def summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """What anyone may know of a draw: never who created it, nor a failure's inner detail."""
    document = row["document"] if row["state"] in ("published", "void") else None
    result = document.get("result") if document else None
    return {
        "draw_id": row["id"],
        "task": row["task"],
        "state": row["state"],
        "target_block": row["target_block"],
        "inputs_digest": row["inputs_digest"],
        "created_at": row["created_at"],
        "published_at": row["published_at"],
        "void": document.get("void") if document else None,
        "selected": len(result["selected"]) if result else None,
    }


def list_rows(
    engine: Engine, *, state: str | None, limit: int, after: str | None
) -> list[dict[str, Any]]:
    """Newest first (a draw id is a ULID: it sorts by creation), ``limit`` rows after the
    draw id ``after``."""
    query = select(m.draw).order_by(m.draw.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(m.draw.c.state == state)
    if after is not None:
        query = query.where(m.draw.c.id < after)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def _title(label: str, name: str) -> str:
    title = f"{label}: {name}"
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def store_document(
    engine: Engine, draw_id: str, document: dict[str, Any], now: datetime, *, timezone: str
) -> bool:
    """Publish the draw — ``DRAW.json``, its state, and for a published one a task per
    selected enterprise with its drawn inspectors — in one transaction. False when the draw
    was no longer ``committed`` (another job published it): nothing written."""
    with write_transaction(engine) as conn:
        row = dict(
            conn.execute(select(m.draw).where(m.draw.c.id == draw_id).with_for_update())
            .mappings()
            .one()
        )
        if row["state"] != "committed":
            return False
        intent = intent_of(row)
        result = document.get("result")
        conn.execute(
            m.draw.update()
            .where(m.draw.c.id == draw_id)
            .values(
                state="void" if result is None else "published", document=document, published_at=now
            )
        )
        if result is not None:
            _create_tasks(conn, row, intent, result, now, year_of(row["created_at"], timezone))
    return True


def _create_tasks(
    conn: Connection,
    row: Mapping[str, Any],
    intent: Intent,
    result: Mapping[str, Any],
    now: datetime,
    year: int,
) -> None:
    """One task per selected enterprise, in the draw's order, counted against the year the
    draw was planned in (the year whose cap it checked)."""
    codes = [s["enterprise"] for s in result["selected"]]
    names = dict(
        conn.execute(
            select(m.enterprise.c.credit_code, m.enterprise.c.name).where(
                m.enterprise.c.credit_code.in_(codes)
            )
        ).all()
    )
    drawn: dict[str, list[tuple[str, str]]] = {code: [] for code in codes}
    for a in result["assignments"]:
        drawn[a["enterprise"]].extend((officer, a["department"]) for officer in a["inspectors"])
    for code in codes:
        tasks.insert_task(
            conn,
            credit_code=code,
            scenario=intent.scenario,
            title=_title(row["task"], names.get(code, code)),
            origin="draw",
            lead_department=intent.lead_department,
            departments=row["commitment"]["departments"],
            created_by=row["created_by"],
            year=year,
            now=now,
            draw_id=row["id"],
            inspectors=drawn[code],
        )


# ------------------------------------------------------------------------------ the job


async def advance(state: InspectionState, draw_id: str, token: str) -> None:
    """Take a committed draw to its publication with ``token`` (the coordinator's, in memory
    only): the anchor mined, the target block confirmed (heartbeats on a quiet chain), the
    document built and stored. A void draw needs no target block: its anchor came too late."""
    config = state.config
    row = await anyio.to_thread.run_sync(get_row, state.engine, draw_id)
    if row is None or row["state"] != "committed":
        return
    commitment = row["commitment"]
    async with state.core_client(token) as core:
        mined = await publish.wait_anchored(
            core, row["anchor_id"], timeout=config.draw_timeout_s, poll=POLL_S
        )
        block_hash = bytes(32)  # unused by a void draw
        if mined["anchor"]["block_number"] < commitment["target_block"]:
            block_hash = await publish.reach(
                core,
                commitment["target_block"],
                confirmations=config.draw_confirmations,
                draw_id=draw_id,
                timeout=config.draw_timeout_s,
                poll=POLL_S,
            )
    document = publish.draw_document(commitment, mined["merkle"], mined["anchor"], block_hash)
    await anyio.to_thread.run_sync(
        lambda: store_document(state.engine, draw_id, document, utcnow(), timezone=config.timezone)
    )


async def _guarded(state: InspectionState, draw_id: str, token: str) -> None:
    """The job: whatever stops it leaves the draw ``committed``, to be advanced again."""
    try:
        await advance(state, draw_id, token)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning("draw %s: left committed, to be advanced again", draw_id, exc_info=True)


def start(state: InspectionState, draw_id: str, token: str) -> bool:
    """Run the job in the background (``state.running``); False when one runs already."""
    if draw_id in state.running:
        return False
    job = asyncio.get_running_loop().create_task(
        _guarded(state, draw_id, token), name=f"draw {draw_id}"
    )
    state.running[draw_id] = job

    def done(finished: asyncio.Task[None]) -> None:
        if state.running.get(draw_id) is finished:
            del state.running[draw_id]

    job.add_done_callback(done)
    return True
