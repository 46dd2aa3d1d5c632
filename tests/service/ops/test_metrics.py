"""GET /metrics: access, route-template labels, and values that move with what happens."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, col, select

from evidence_service.anchoring.models import AnchorBatch
from tests import samples
from tests.fixtures.live_server import free_port, make_live_server
from tests.fixtures.service import Api
from tests.service.anchoring_helpers import proof_of, wait_anchored
from tests.service.helpers import assert_problem, upload

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
ITEM = "/api/v1/evidence/{evidence_id}"


def parse(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def scrape(client: Any, headers: dict[str, str]) -> tuple[Samples, str]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text), response.text


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_are_for_the_scraper_admins_and_auditors(api: Api) -> None:
    assert_problem(api.client.get("/metrics"), 401, "missing-token")
    refused = assert_problem(api.client.get("/metrics", headers=api.auth()), 403, "forbidden")
    assert "officer" in refused["detail"]
    for role in ("auditor", "admin"):
        assert api.client.get("/metrics", headers=api.auth(role)).status_code == 200


def test_the_scraper_token_and_the_public_setting(make_api: Any) -> None:
    token = secrets.token_urlsafe(24)
    api = make_api(metrics_token=token)
    scrape(api.client, {"Authorization": f"Bearer {token}"})
    wrong = api.client.get("/metrics", headers={"Authorization": f"Bearer {token}x"})
    assert_problem(wrong, 401, "invalid-token")
    assert api.client.get("/metrics").status_code == 401
    public = make_api(metrics_public=True)
    scrape(public.client, {})


def test_counters_move_with_captures_reads_verifications_and_unknown_paths(api: Api) -> None:
    api.client.app.state.ops_probe.cache_seconds = 0  # type: ignore[attr-defined]
    auditor = api.auth("auditor")
    before, _ = scrape(api.client, auditor)
    data = b"sensor batch " * 100
    created = upload(api, "electronic", data)
    assert created.status_code == 201
    item = created.json()["id"]
    assert api.client.get(f"/api/v1/evidence/{item}", headers=api.auth()).status_code == 200
    stray = f"/no/such/{secrets.token_hex(8)}"
    assert api.client.get(stray).status_code == 404
    proof = proof_of(api, item)
    verdict = api.client.post(
        "/api/v1/verify",
        json={"proof": proof, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)},
    ).json()
    custody = api.client.get("/api/v1/custody/verify", headers=auditor).json()
    after, text = scrape(api.client, auditor)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("evidence_captures_total", port="electronic") == 1
    assert moved("evidence_ingested_bytes_total", port="electronic") == len(data)
    assert moved("evidence_http_requests_total", route=ITEM, method="GET", status="2xx") == 1
    assert moved("evidence_http_request_duration_seconds_count", route=ITEM, method="GET") == 1
    post = {"route": "/api/v1/evidence", "method": "POST"}
    assert moved("evidence_http_requests_total", **post, status="2xx") == 1
    assert moved("evidence_http_requests_total", route="unmatched", method="GET", status="4xx") == 1
    proof_verdict = "valid" if verdict["valid"] else "invalid"
    assert moved("evidence_verifications_total", kind="proof", verdict=proof_verdict) == 1
    custody_verdict = "valid" if custody["valid"] else "invalid"
    assert moved("evidence_verifications_total", kind="custody", verdict=custody_verdict) == 1
    # Labels are templates: no raw id or path reaches the exposition.
    assert item not in text and stray not in text
    # Read from the database at scrape time: the capture's leaf waits, no worker runs here.
    assert value(after, "evidence_anchor_pending_leaves") == 1
    assert value(after, "evidence_anchor_lag_seconds") > 0
    assert value(after, "evidence_database_up") == 1


def test_refusals_before_routing_are_counted_under_their_route(make_api: Any) -> None:
    api = make_api(rate_limit_public="2/minute")
    auditor = api.auth("auditor")
    before, _ = scrape(api.client, auditor)
    answers = [api.client.get("/api/v1/ports").status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    after, _ = scrape(api.client, auditor)
    ports = {"route": "/api/v1/ports", "method": "GET"}
    assert (
        value(after, "evidence_rate_limit_refusals_total", route_class="public")
        - value(before, "evidence_rate_limit_refusals_total", route_class="public")
        == 1
    )
    assert (
        value(after, "evidence_http_requests_total", **ports, status="4xx")
        - value(before, "evidence_http_requests_total", **ports, status="4xx")
        == 1
    )


def test_anchoring_gauges_follow_the_batches(anchored: Api) -> None:
    anchored.client.app.state.ops_probe.cache_seconds = 0  # type: ignore[attr-defined]
    auditor = anchored.auth("auditor")
    before, _ = scrape(anchored.client, auditor)
    items = [upload(anchored, "documentary", samples.pdf()).json()["id"] for _ in range(3)]
    for item in items:
        wait_anchored(anchored, item)
    after, _ = scrape(anchored.client, auditor)
    with Session(anchored.services.engine) as session:
        last = session.exec(select(AnchorBatch).order_by(col(AnchorBatch.id).desc())).first()
    assert last is not None
    assert value(after, "evidence_anchor_last_batch_leaves") == last.tree_size
    assert value(after, "evidence_anchor_pending_leaves") == 0
    assert value(after, "evidence_anchor_lag_seconds") == 0
    assert value(after, "evidence_anchor_unanchored_batches") == 0
    assert value(after, "evidence_chain_up") == 1
    assert value(after, "evidence_chain_balance_wei") > 0
    assert value(after, "evidence_chain_balance_warn_wei") > 0
    closed = value(after, "evidence_anchor_batch_leaves_count") - value(
        before, "evidence_anchor_batch_leaves_count"
    )
    assert closed >= 1


def test_chain_errors_are_counted_by_kind(make_api: Any) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    api = make_api(
        chain_url=dead,
        chain_key="0x" + secrets.token_hex(32),
        anchor_worker=True,
        anchor_interval=0.2,
    )
    auditor = api.auth("auditor")
    kind = {"kind": "ChainUnavailableError"}
    deadline = time.monotonic() + 20
    while True:  # the worker's first try to open the chain fails at once
        samples_now, _ = scrape(api.client, auditor)
        if value(samples_now, "evidence_chain_errors_total", **kind) >= 1:
            break
        assert time.monotonic() < deadline, "no chain error counted"
        time.sleep(0.2)
    assert value(samples_now, "evidence_chain_up") == 0


def test_worker_processes_add_up(tmp_path: Any, request: Any) -> None:
    """``evidence serve`` with two worker processes: whichever answers the scrape reports the
    requests both served (prometheus-client's multiprocess mode)."""
    token = secrets.token_urlsafe(24)
    server = make_live_server(
        tmp_path, request, "sqlite-local", workers=2, metrics_token=token, rate_limits=False
    )
    server.start()
    try:
        headers = {"Authorization": f"Bearer {token}"}
        ports = {"route": "/api/v1/ports", "method": "GET", "status": "2xx"}
        before = value(
            parse(httpx.get(server.url + "/metrics", headers=headers).text),
            "evidence_http_requests_total",
            **ports,
        )
        # New connections until both processes have counted something: the kernel hands each
        # to whichever process accepts first, and on a busy machine one can take forty in a row.
        sent, deadline = 0, time.monotonic() + 60
        while sent < 40 or len(list(tmp_path.glob("data/metrics-multiproc/counter_*.db"))) < 2:
            assert time.monotonic() < deadline, f"one process took all {sent} connections"
            assert httpx.get(server.url + "/api/v1/ports").status_code == 200
            sent += 1
        for _ in range(6):  # every process's answer counts every request
            text = httpx.get(server.url + "/metrics", headers=headers).text
            assert value(parse(text), "evidence_http_requests_total", **ports) - before == sent
    finally:
        server.stop()
