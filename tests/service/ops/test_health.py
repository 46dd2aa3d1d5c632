"""/healthz (the process answers) and /readyz (database, store, chain, anchoring lag, balance)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlmodel import Session, select

from evidence_service.anchoring.models import AnchorBatch
from evidence_service.core.db import make_engine
from tests import samples
from tests.fixtures.live_server import free_port
from tests.fixtures.service import Api
from tests.service.anchoring_helpers import wait_anchored
from tests.service.helpers import upload


def test_healthz_answers_while_the_database_is_unreachable(api: Api) -> None:
    probe = api.client.app.state.ops_probe  # type: ignore[attr-defined]
    probe.cache_seconds = 0
    probe.engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone")
    response = api.client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["failing"] == ["anchor_lag", "database"] and body["status"] == "not_ready"
    assert body["checks"]["database"] == "error: OperationalError"
    assert body["checks"]["object_store"] == "ok" and body["pending_leaves"] is None


def test_ready_when_everything_answers(api: Api) -> None:
    api.client.app.state.ops_probe.cache_seconds = 0  # type: ignore[attr-defined]
    response = api.client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == [] and body["warnings"] == []
    assert body["checks"]["database"] == "ok" and body["checks"]["object_store"] == "ok"
    assert body["checks"]["anchor_lag"] == "ok" and body["anchor_lag_seconds"] == 0
    # No worker here and no JSON-RPC node: the embedded chain is not this process's to ask.
    assert body["checks"]["chain"].startswith("skipped: ")
    assert upload(api, "electronic", b"pending leaf").status_code == 201
    assert api.client.get("/readyz").json()["pending_leaves"] == 1


def test_not_ready_while_the_chain_node_is_down(make_api: Any) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    api = make_api(chain_url=dead, chain_key="0x" + secrets.token_hex(32))
    response = api.client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready" and body["failing"] == ["chain"]
    assert body["checks"]["chain"].startswith("error: ChainUnavailableError")
    assert api.services.settings.chain_key is not None
    assert api.services.settings.chain_key.get_secret_value()[2:] not in response.text


def test_not_ready_when_anchoring_lags(make_api: Any) -> None:
    api = make_api(ready_max_anchor_lag_seconds=0.5)  # no worker: leaves stay pending
    assert api.client.get("/readyz").status_code == 200
    assert upload(api, "electronic", b"never anchored").status_code == 201
    time.sleep(0.7)
    response = api.client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["anchor_lag"] and body["anchor_lag_seconds"] >= 0.7
    assert body["checks"]["anchor_lag"].startswith("error: the oldest leaf not anchored is")


def test_a_low_balance_warns_and_stays_ready(make_api: Any, hardhat_node: Any) -> None:
    # A fresh account on a real node holds nothing: not enough for 100 anchors at its gas price.
    api = make_api(chain_url=hardhat_node.url, chain_key="0x" + secrets.token_hex(32))
    response = api.client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "warn" and body["warnings"] == ["chain_balance"]
    assert body["checks"]["chain"] == "ok" and body["chain_balance_wei"] == "0"
    assert body["checks"]["chain_balance"].startswith("warn: 0 wei left, below ")


def test_a_funded_account_is_ready_until_the_warning_level(
    make_api: Any, hardhat_node: Any
) -> None:
    key = "0x" + hardhat_node.private_keys[-1].hex()  # read, never spent
    api = make_api(chain_url=hardhat_node.url, chain_key=key)
    body = api.client.get("/readyz").json()
    assert body["status"] == "ok" and body["checks"]["chain_balance"] == "ok"
    balance = int(body["chain_balance_wei"])
    assert balance > 10**18
    api.services.settings.chain_balance_warn_wei = balance + 1
    body = api.client.get("/readyz").json()
    assert body["status"] == "warn" and body["warnings"] == ["chain_balance"]
    assert body["checks"]["chain_balance"] == f"warn: {balance} wei left, below {balance + 1} wei"


def test_ready_with_the_anchoring_worker_on_its_chain(anchored: Api) -> None:
    anchored.client.app.state.ops_probe.cache_seconds = 0  # type: ignore[attr-defined]
    item = upload(anchored, "documentary", samples.pdf()).json()["id"]
    wait_anchored(anchored, item)
    body = anchored.client.get("/readyz").json()
    assert body["status"] == "ok", body
    assert body["checks"]["chain"] == "ok" and int(body["chain_balance_wei"]) > 0
    assert body["pending_leaves"] == 0 and body["anchor_lag_seconds"] == 0
    with Session(anchored.services.engine) as session:
        assert session.exec(select(AnchorBatch)).first() is not None


def test_probes_refuse_a_bad_token_as_documented(api: Api) -> None:
    """A revoked or made-up bearer token is refused on the probes as on every route: 401
    problem+json, which the OpenAPI document lists (schemathesis holds answers to it)."""
    spec = api.client.get("/openapi.json").json()
    for path in ("/healthz", "/readyz"):
        refused = api.client.get(path, headers={"Authorization": "Bearer evd_not_a_token"})
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert "401" in spec["paths"][path]["get"]["responses"]
    assert api.client.get("/healthz").json() == {"status": "ok"}
