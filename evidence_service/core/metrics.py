"""The service's Prometheus metrics: counters and histograms bumped where the event happens.

Every name starts with ``evidence_`` and every label takes a bounded set of values (route
templates, port ids, verdicts, exception class names, rate-limit classes) — never a raw path, an
id or a caller. The gauges read from the database (pending leaves, anchoring lag, the last
batch's size, the chain account's balance) are not here: ``anchoring/gauges.py`` computes them
at scrape time. ``docs/operations.md`` lists them all.

With several ``evidence serve`` worker processes, prometheus-client's multiprocess mode keeps
each process's values in files under ``PROMETHEUS_MULTIPROC_DIR`` (set by the CLI before the
workers start, see :func:`prepare_multiprocess_dir`) and a scrape of any process adds them up.

Reading ``/metrics`` is not public by default (:func:`may_scrape`, ``api/policy.py``).
"""

from __future__ import annotations

import hmac
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from evidence_service.core.config import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
#: Requests that matched no route share this label (bounded cardinality).
UNMATCHED_ROUTE = "unmatched"

HTTP_REQUESTS = Counter(
    "evidence_http_requests_total",
    "HTTP requests answered, by route template, method and status class",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "evidence_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by route template and method",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0),
)
CAPTURES = Counter(
    "evidence_captures_total", "Items captured (new evidence rows), by capture port", ["port"]
)
INGESTED_BYTES = Counter(
    "evidence_ingested_bytes_total", "Bytes of captured items, by capture port", ["port"]
)
VERIFICATIONS = Counter(
    "evidence_verifications_total",
    "Verifications answered, by kind (proof, package, evidence_list, custody) and verdict",
    ["kind", "verdict"],
)
RATE_LIMITED = Counter(
    "evidence_rate_limit_refusals_total",
    "Requests refused with 429, by rate-limit class",
    ["route_class"],
)
CHAIN_ERRORS = Counter(
    "evidence_chain_errors_total",
    "Failed chain operations of the anchoring worker, by error kind (chain.errors class)",
    ["kind"],
)
BATCH_SIZES = Histogram(
    "evidence_anchor_batch_leaves",
    "Leaves per closed Merkle batch (custody head included), in this process's worker",
    buckets=(2, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 4_000_000),
)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def count_capture(port: str, size: int) -> None:
    CAPTURES.labels(port=port).inc()
    INGESTED_BYTES.labels(port=port).inc(size)


def count_verification(kind: str, valid: bool) -> None:
    VERIFICATIONS.labels(kind=kind, verdict="valid" if valid else "invalid").inc()


# ------------------------------------------------------------------------------ access


def may_scrape(settings: Settings, authorization: str | None) -> bool:
    """Whether a request may read ``/metrics`` without a person's token: the endpoint is
    public (``EVIDENCE_METRICS_PUBLIC``), or it carries ``Bearer <EVIDENCE_METRICS_TOKEN>``.
    Otherwise the route's access rule decides (admin and auditor tokens may read it)."""
    if settings.metrics_public:
        return True
    if settings.metrics_token is None or not authorization:
        return False
    scheme, _, token = authorization.partition(" ")
    expected = settings.metrics_token.get_secret_value()
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode()
    )


# ------------------------------------------------------------------------------ exposition


def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """Empty ``<data_dir>/metrics-multiproc`` and point prometheus-client at it, before any
    worker process starts (each reads the variable when it imports the library). Values from
    an earlier run are dropped: counters restart at zero, as a restarted process's would."""
    directory = data_dir / "metrics-multiproc"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode, when the CLI enabled it (prometheus-client itself
    decides its mode from this variable at import)."""
    return os.environ.get(MULTIPROC_ENV) or None


class _Union:
    """Several collectors scraped as one registry."""

    def __init__(self, sources: Iterable[Collector]) -> None:
        self.sources = tuple(sources)

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def exposition(*extra: Collector) -> bytes:
    """The text exposition of this process's metrics (or every worker process's, in
    multiprocess mode) and of ``extra`` collectors (the scrape-time gauges)."""
    base: Collector = REGISTRY
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        base = registry
    return generate_latest(_Union((base, *extra)))  # type: ignore[arg-type]
