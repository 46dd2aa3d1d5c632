"""Fixtures and helpers for the anchoring tests: the service with its worker on a real chain."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from evidence_service.anchoring.models import AnchorBatch
from evidence_service.services import Services, build_services
from tests.fixtures.service import Api, make_settings

#: (database + object store, chain): the embedded column and the real-components column.
ANCHORED_BACKENDS = ["sqlite-local-embedded", "postgres-minio-hardhat"]
INTERVAL = 0.3


def chain_settings(
    request: pytest.FixtureRequest, chain: str, key_index: int = 1
) -> dict[str, Any]:
    if chain == "embedded":
        return {}
    node = request.getfixturevalue("hardhat_node")
    return {"chain_url": node.url, "chain_key": "0x" + node.private_keys[key_index].hex()}


def anchored_services(
    tmp_path: Path, request: pytest.FixtureRequest, param: str, **extra: Any
) -> Services:
    backend, chain = param.rsplit("-", 1)
    values: dict[str, Any] = {
        "anchor_worker": True,
        "anchor_interval": INTERVAL,
        **chain_settings(request, chain),
        **extra,
    }
    return build_services(make_settings(tmp_path, backend, request, **values))


def proof_of(api: Api, evidence_id: str) -> dict[str, Any]:
    response = api.client.get(f"/api/v1/evidence/{evidence_id}/proof", headers=api.auth())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_anchored(api: Api, evidence_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        proof = proof_of(api, evidence_id)
        if proof["anchor"] is not None:
            return proof
        if time.monotonic() > deadline:
            raise AssertionError(f"not anchored within {timeout}s: {proof}")
        time.sleep(0.1)


def batches(api: Api) -> list[AnchorBatch]:
    with Session(api.services.engine) as session:
        return list(session.exec(select(AnchorBatch).order_by(AnchorBatch.id)).all())  # type: ignore[arg-type]


@contextmanager
def chain_rpc_url(api: Api) -> Iterator[str]:
    """A JSON-RPC URL of the service's chain for the CLI: the Hardhat node, or the service's
    read-only /api/v1/chain/rpc served over real HTTP."""
    if api.services.settings.chain_url:
        yield api.services.settings.chain_url
        return
    client = api.client

    class Forward(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            answer = client.post(
                "/api/v1/chain/rpc", content=body, headers={"content-type": "application/json"}
            )
            self.send_response(answer.status_code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
