"""Scrape-time gauges: the anchoring backlog and the chain account, read when Prometheus asks.

They come from the database and the chain, not from this process's memory, so every replica
reports the same values and a restart loses nothing. :class:`OpsProbe` remembers its answer for
a few seconds: scrapes from several Prometheus servers cost one look between them.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from evidence_service.anchoring.health import OpsProbe


class AnchoringGauges:
    """A prometheus-client collector over an :class:`OpsProbe`."""

    def __init__(self, probe: OpsProbe) -> None:
        self.probe = probe

    def collect(self) -> Iterator[Metric]:
        state = self.probe.state()
        yield _gauge(
            "evidence_database_up", "1 when the database answered the last look", state.database
        )
        yield _gauge(
            "evidence_object_store_up",
            "1 when the object store answered the last look",
            state.object_store,
        )
        backlog = state.anchoring
        if backlog is not None:
            yield GaugeMetricFamily(
                "evidence_anchor_pending_leaves",
                "Leaves waiting for a batch",
                value=backlog.pending_leaves,
            )
            yield GaugeMetricFamily(
                "evidence_anchor_lag_seconds",
                "Age of the oldest leaf not yet anchored (pending or in an unanchored batch)",
                value=backlog.lag_seconds(state.at),
            )
            yield GaugeMetricFamily(
                "evidence_anchor_unanchored_batches",
                "Closed batches waiting for (or retrying) their anchor",
                value=backlog.unanchored_batches,
            )
            if backlog.last_batch_size is not None:
                yield GaugeMetricFamily(
                    "evidence_anchor_last_batch_leaves",
                    "Leaves of the newest closed batch (custody head included)",
                    value=backlog.last_batch_size,
                )
        chain = state.chain
        if chain.reachable is not None:
            yield GaugeMetricFamily(
                "evidence_chain_up",
                "1 when the chain node answered the last look",
                value=1 if chain.reachable else 0,
            )
        if chain.balance_wei is not None:
            yield GaugeMetricFamily(
                "evidence_chain_balance_wei",
                "Balance of the anchoring account, in wei",
                value=chain.balance_wei,
            )
        if chain.warn_below_wei is not None:
            yield GaugeMetricFamily(
                "evidence_chain_balance_warn_wei",
                "/readyz warns below this balance (EVIDENCE_CHAIN_BALANCE_WARN_WEI or the gas of "
                "100 anchors at the current gas price)",
                value=chain.warn_below_wei,
            )


def _gauge(name: str, documentation: str, check: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=1 if check == "ok" else 0)
