"""What operators watch: how far anchoring lags, and whether the chain and its account can go on.

:func:`anchoring_state` reads the backlog in one round trip (pending leaves, the oldest leaf not
yet anchored, closed batches waiting for their anchor, the last batch's size). The lag is the
age of the oldest leaf that is not anchored yet — pending, or in a closed batch whose anchor is
still being retried — so a chain outage shows as a growing lag even though batches stop closing.

:class:`ChainProbe` asks the chain this process can reach: the anchoring worker's (embedded or
JSON-RPC), else a JSON-RPC node of its own opening. An embedded chain held by another process
(``evidence worker``) cannot be asked from here: the probe says so rather than guess.

:class:`OpsProbe` puts both together with the database and object store pings, remembers the
answer for a few seconds (so a scrape or a readiness probe costs one query at most that often)
and is what ``/readyz`` and the scrape-time gauges (``anchoring/gauges.py``) read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from chain.base import AnchorChain
from chain.errors import ChainError
from evidence_service.anchoring.chain_link import ChainHolder, open_anchor_chain
from evidence_service.anchoring.models import AnchorBatch, AnchorLeaf, BatchStatus
from evidence_service.core.clock import Clock, utcnow
from evidence_service.core.config import Settings
from storage.base import ObjectStore
from storage.errors import StorageError

log = logging.getLogger(__name__)

#: Without EVIDENCE_CHAIN_BALANCE_WARN_WEI: warn when fewer anchors than this are paid for.
WARN_ANCHORS = 100
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class AnchoringState:
    pending_leaves: int
    oldest_unanchored_at: datetime | None
    unanchored_batches: int  # closed, waiting for (or retrying) their anchor
    last_batch_size: int | None  # leaves of the newest closed batch

    def lag_seconds(self, now: datetime) -> float:
        """Age of the oldest leaf not anchored yet; 0 when everything is anchored."""
        if self.oldest_unanchored_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_unanchored_at).total_seconds())


def anchoring_state(engine: Engine) -> AnchoringState:
    """The anchoring backlog, read in one statement of indexed lookups."""
    pending = col(AnchorLeaf.batch_id).is_(None)
    closed = col(AnchorBatch.status) == BatchStatus.closed
    first_closed = select(func.min(AnchorBatch.id)).where(closed).scalar_subquery()
    query = select(
        select(func.count()).select_from(AnchorLeaf).where(pending).scalar_subquery(),
        select(col(AnchorLeaf.created_at))
        .where(pending)
        .order_by(col(AnchorLeaf.seq))
        .limit(1)
        .scalar_subquery(),
        select(col(AnchorLeaf.created_at))
        .where(col(AnchorLeaf.batch_id) == first_closed)
        .order_by(col(AnchorLeaf.seq))
        .limit(1)
        .scalar_subquery(),
        select(func.count()).select_from(AnchorBatch).where(closed).scalar_subquery(),
        select(col(AnchorBatch.tree_size))
        .order_by(col(AnchorBatch.id).desc())
        .limit(1)
        .scalar_subquery(),
    )
    with Session(engine) as session:
        count, oldest_pending, oldest_closed, waiting, last_size = session.execute(query).one()
    oldest = [at for at in (oldest_pending, oldest_closed) if at is not None]
    return AnchoringState(
        pending_leaves=int(count),
        oldest_unanchored_at=min(oldest) if oldest else None,
        unanchored_batches=int(waiting),
        last_batch_size=int(last_size) if last_size is not None else None,
    )


@dataclass(frozen=True)
class ChainState:
    """``reachable`` is None when this process cannot ask (embedded chain held elsewhere)."""

    reachable: bool | None
    detail: str
    block_number: int | None = None
    balance_wei: int | None = None
    warn_below_wei: int | None = None

    @property
    def balance_low(self) -> bool:
        return (
            self.balance_wei is not None
            and self.warn_below_wei is not None
            and self.balance_wei < self.warn_below_wei
        )


class ChainProbe:
    """Reads the chain's head and the anchoring account's balance from this process."""

    def __init__(
        self,
        settings: Settings,
        holder: ChainHolder,
        *,
        open_chain: Callable[[], AnchorChain] | None = None,
    ) -> None:
        self.settings = settings
        self.holder = holder
        self.open_chain = open_chain or (lambda: open_anchor_chain(settings))
        self._own: AnchorChain | None = None
        self._lock = threading.Lock()

    def probe(self) -> ChainState:
        with self._lock:
            chain = self.holder.get()
            own = chain is None and self.settings.chain_url is not None
            try:
                if own:
                    if self._own is None:
                        self._own = self.open_chain()
                    chain = self._own
                if chain is None:
                    return ChainState(None, "the embedded chain is open in another process")
                block = chain.block_number()
                balance = chain.balance()
                warn_below = self.settings.chain_balance_warn_wei
                if warn_below is None:
                    warn_below = WARN_ANCHORS * chain.gas_limit * chain.gas_price()
            except ChainError as exc:
                if own:
                    self._drop_own()
                return ChainState(False, f"error: {type(exc).__name__}: {exc}"[:300])
        return ChainState(True, "ok", block, balance, warn_below)

    def _drop_own(self) -> None:
        chain, self._own = self._own, None
        if chain is not None:
            try:
                chain.close()
            except ChainError:
                log.warning("closing the probe's chain client failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            self._drop_own()


@dataclass(frozen=True)
class OpsState:
    """One look at everything ``/readyz`` and the gauges report."""

    database: str  # "ok" or "error: …"
    object_store: str
    anchoring: AnchoringState | None  # None when the database did not answer
    chain: ChainState
    at: datetime


class OpsProbe:
    """Database, object store, anchoring backlog and chain, remembered ``cache_seconds``."""

    def __init__(
        self,
        *,
        engine: Engine,
        store: ObjectStore,
        chain: ChainProbe,
        clock: Clock = utcnow,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self.engine = engine
        self.store = store
        self.chain = chain
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._last: tuple[float, OpsState] | None = None

    def state(self) -> OpsState:
        with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < self.cache_seconds:
                return self._last[1]
            state = self._look()
            self._last = (time.monotonic(), state)
            return state

    def _look(self) -> OpsState:
        anchoring: AnchoringState | None = None
        try:
            anchoring = anchoring_state(self.engine)  # answers only if the database does
            database = "ok"
        except SQLAlchemyError as exc:
            database = f"error: {type(exc).__name__}"
        try:
            self.store.ping()
            object_store = "ok"
        except StorageError as exc:
            object_store = f"error: {exc}"[:300]
        return OpsState(database, object_store, anchoring, self.chain.probe(), self.clock())

    def close(self) -> None:
        self.chain.close()


def readiness_report(state: OpsState, *, max_lag_seconds: float) -> dict[str, Any]:
    """``/readyz``'s answer: each check ``ok``, ``skipped: …``, ``warn: …`` or ``error: …``;
    ``failing`` names the errors (then not ready), ``warnings`` what to see to soon."""
    checks = {"database": state.database, "object_store": state.object_store}
    chain = state.chain
    if chain.reachable is None:
        checks["chain"] = f"skipped: {chain.detail}"
    else:
        checks["chain"] = "ok" if chain.reachable else chain.detail
    lag = state.anchoring.lag_seconds(state.at) if state.anchoring else None
    limit = max_lag_seconds
    if lag is None:
        checks["anchor_lag"] = "error: unknown (the database did not answer)"
    elif lag > limit:
        checks["anchor_lag"] = (
            f"error: the oldest leaf not anchored is {lag:.0f} s old (> {limit:g} s)"
        )
    else:
        checks["anchor_lag"] = "ok"
    warnings = []
    if chain.balance_low:
        checks["chain_balance"] = (
            f"warn: {chain.balance_wei} wei left, below {chain.warn_below_wei} wei"
        )
        warnings.append("chain_balance")
    elif chain.balance_wei is not None:
        checks["chain_balance"] = "ok"
    failing = sorted(name for name, value in checks.items() if value.startswith("error"))
    return {
        "status": "not_ready" if failing else "warn" if warnings else "ok",
        "checks": checks,
        "failing": failing,
        "warnings": warnings,
        "anchor_lag_seconds": round(lag, 3) if lag is not None else None,
        "pending_leaves": state.anchoring.pending_leaves if state.anchoring else None,
        "chain_balance_wei": str(chain.balance_wei) if chain.balance_wei is not None else None,
    }
