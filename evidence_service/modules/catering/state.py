"""What the module keeps on the app (``app.state.catering``): its configuration, its engine,
the frame sink, how it reaches the core, and its background work — the MQTT subscriber
(``mqtt.py``) and the rounds that tick the clock rules, capture ended hours and prune old
readings."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
from sqlalchemy import Engine, delete, select, update

from evidence_service.client import ApiError, AsyncEvidenceClient
from evidence_service.modules.catering import alarms, problems
from evidence_service.modules.catering import models as m
from evidence_service.modules.catering.config import CateringConfig
from evidence_service.modules.catering.factors import FactorTable
from evidence_service.modules.catering.frames import FrameSink, record_event
from evidence_service.modules.catering.hours import (
    ROUND_HOURS,
    CapturedHour,
    HourToCapture,
    capture_hour,
    due_hours,
)
from evidence_service.modules.kit.caller import core_client
from evidence_service.modules.kit.db import write_transaction

log = logging.getLogger(__name__)

#: Devices ticked in one transaction.
TICK_CHUNK = 500
#: Hours captured at once: the core's group commit shares their write transactions.
CAPTURE_CONCURRENCY = 8
#: How long one flush goes on capturing chunk after chunk (an HTTP request waits for it).
FLUSH_SECONDS = 60.0
#: Readings older than the keeping period are deleted this often.
PRUNE_EVERY = timedelta(hours=6)


@dataclass
class CateringState:
    config: CateringConfig
    engine: Engine
    core_app: Any  # the ASGI app of the core in this process (None: reach core_base_url)
    factors: FactorTable
    sink: FrameSink
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    mqtt_connected: bool = False
    last_pruned: datetime | None = None

    def core_client(self, token: str) -> AsyncEvidenceClient:
        """A client of the core acting as ``token``'s holder (``kit/caller.py``)."""
        return core_client(self.config.core_base_url, self.core_app, token)

    # -- background work --------------------------------------------------------------------
    def start(self) -> None:
        """Start the rounds, and the MQTT subscriber when a broker is configured (called in the
        app's lifespan)."""
        from evidence_service.modules.catering.mqtt import subscribe

        self.tasks.append(asyncio.create_task(self._rounds(), name="catering-rounds"))
        if self.config.mqtt_host:
            self.tasks.append(asyncio.create_task(subscribe(self), name="catering-mqtt"))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()

    def close(self) -> None:
        self.engine.dispose()

    async def _rounds(self) -> None:
        while True:
            await asyncio.sleep(self.config.round_seconds)
            try:
                await self.round()
            except Exception:  # keep the loop alive; the next round retries
                log.exception("catering round failed")

    async def round(self, *, now: datetime | None = None, flush: bool = False) -> RoundReport:
        """One round: tick every device's clock rules, capture the hours that are due (every
        open hour when ``flush``), and prune readings past the keeping period."""
        now = now or datetime.now(UTC)
        ticked = await anyio.to_thread.run_sync(self.tick, now)
        queued = await anyio.to_thread.run_sync(problems.queue_overdue, self.engine, now)
        captured = await self.capture_hours(now, flush=flush)
        signalled = await self.post_signals()
        if self.last_pruned is None or now - self.last_pruned >= PRUNE_EVERY:
            await anyio.to_thread.run_sync(self.prune, now)
            self.last_pruned = now
        return RoundReport(ticked, captured, queued, signalled)

    def tick(self, now: datetime) -> int:
        """Feed ``now`` to every device's rules (offline, cleaning overdue); returns how many
        alarms opened or cleared."""
        changed = 0
        after = ""
        while True:
            with write_transaction(self.engine) as conn:
                query = (
                    select(
                        m.device.c.mn,
                        m.device.c.restaurant_id,
                        m.device.c.rules_state,
                        m.device.c.created_at,
                    )
                    .where(m.device.c.mn > after)
                    .order_by(m.device.c.mn)
                    .limit(TICK_CHUNK)
                )
                if conn.dialect.name == "postgresql":
                    query = query.with_for_update()
                rows = conn.execute(query).all()
                for row in rows:
                    state = (
                        alarms.DeviceState.from_dict(row.rules_state)
                        if row.rules_state
                        else alarms.DeviceState.new(row.created_at)
                    )
                    _, events = alarms.step(state, alarms.Tick(now), self.config.limits)
                    if not events:
                        # a quiet tick changes only the state's last tick, which guards
                        # against older ticks: not worth a write per device every round
                        continue
                    for event in events:
                        record_event(
                            conn,
                            row.mn,
                            row.restaurant_id,
                            event,
                            now,
                            rectify_days=self.config.rectify_days,
                        )
                    changed += len(events)
                    conn.execute(
                        update(m.device)
                        .where(m.device.c.mn == row.mn)
                        .values(rules_state=state.to_dict())
                    )
            if len(rows) < TICK_CHUNK:
                return changed
            after = rows[-1].mn

    async def capture_hours(self, now: datetime, *, flush: bool = False) -> list[CapturedHour]:
        """Capture the due hours through the core with the module's service identity: a
        round's share (:data:`ROUND_HOURS`), or when ``flush`` every open hour, chunk after
        chunk for up to :data:`FLUSH_SECONDS` (the caller flushes again for the rest). A flush
        tries the failed hours once, in its first chunk, so a core that refuses them cannot
        keep it busy."""
        token = self.config.service_token
        if not token:
            return []
        grace = timedelta(seconds=self.config.hour_grace_seconds)
        started = anyio.current_time()

        async def due(states: tuple[str, ...]) -> list[HourToCapture]:
            read = functools.partial(
                due_hours, self.engine, now, grace=grace, flush=flush, states=states
            )
            return await anyio.to_thread.run_sync(read)

        hours = await due(("open", "failed"))
        if not hours:  # the usual round: no core client opened for nothing
            return []
        done: list[CapturedHour] = []
        limit = anyio.Semaphore(CAPTURE_CONCURRENCY)

        async def one(core: AsyncEvidenceClient, hour: HourToCapture) -> None:
            async with limit:
                done.append(await capture_hour(self.engine, core, hour, self.factors))

        async with self.core_client(token) as core:
            while hours:
                async with anyio.create_task_group() as tasks:
                    for hour in hours:
                        tasks.start_soon(one, core, hour)
                if (
                    not flush
                    or len(hours) < ROUND_HOURS
                    or anyio.current_time() - started >= FLUSH_SECONDS
                ):
                    break
                hours = await due(("open",))  # failed hours: once per flush
        done.sort(key=lambda d: (d.hour_start, d.mn))
        failed = [d for d in done if d.error]
        if failed:
            log.warning(
                "%d of %d hours not captured; first: %s", len(failed), len(done), failed[0].error
            )
        return done

    async def post_signals(self) -> int:
        """Post the alarms not yet signalled to joint inspection (``problems.py``); returns how
        many it took. A refusal (4xx) is not retried — logged, and the alarms marked (0 taken);
        an unreachable core is retried next round."""
        token = self.config.service_token
        if not token:
            return 0
        pending = await anyio.to_thread.run_sync(
            problems.unsignalled, self.engine, datetime.now(UTC)
        )
        if not pending:
            return 0
        try:
            async with self.core_client(token) as core:
                await core.post_inspection_signals([p["signal"] for p in pending], unknown="skip")
        except ApiError as exc:
            if exc.status >= 500:
                log.warning("catering: posting alarm signals failed (%s); retrying", exc)
                return 0
            log.warning(
                "catering: joint inspection refused %d alarm signals: %s", len(pending), exc
            )
            taken = 0
        except httpx.HTTPError as exc:
            log.warning("catering: posting alarm signals failed (%s); retrying", exc)
            return 0
        else:
            taken = len(pending)
        ids = [p["alarm_id"] for p in pending]
        await anyio.to_thread.run_sync(problems.mark_signalled, self.engine, ids)
        return taken

    def prune(self, now: datetime) -> int:
        """Delete readings older than the keeping period (their hours stay as evidence)."""
        cutoff = now - timedelta(days=self.config.readings_keep_days)
        with write_transaction(self.engine) as conn:
            result = conn.execute(delete(m.reading).where(m.reading.c.data_time < cutoff))
        return int(result.rowcount or 0)


@dataclass(frozen=True)
class RoundReport:
    alarm_changes: int
    hours: list[CapturedHour]
    queued: int = 0  # problems queued for a reviewer
    signalled: int = 0  # alarms posted to joint inspection
