"""With real processes: `evidence serve` killed and restarted on its embedded chain, the
auditor's `evidence verify` run as a command, and a plain web3 client on /api/v1/chain/rpc."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from web3 import HTTPProvider, Web3

from chain.anchor_check import ANCHORED_AT_SELECTOR
from tests import samples
from tests.fixtures.live_server import LiveServer, make_live_server

pytestmark = pytest.mark.slow


def capture(server: LiveServer, data: bytes) -> str:
    response = httpx.post(
        server.url + "/api/v1/evidence",
        data={"port": "documentary", "metadata": json.dumps({"title": "live"})},
        files={"file": ("doc.pdf", data, "application/pdf")},
        headers=server.auth(),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    evidence_id: str = response.json()["id"]
    return evidence_id


def wait_anchored(server: LiveServer, evidence_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        proof: dict[str, Any] = httpx.get(
            f"{server.url}/api/v1/evidence/{evidence_id}/proof", headers=server.auth(), timeout=10
        ).json()
        if proof.get("anchor"):
            return proof
        assert time.monotonic() < deadline, f"not anchored: {proof}"
        time.sleep(0.1)


def evidence_verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evidence_service.cli", "verify", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def embedded_server(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    server = make_live_server(
        tmp_path, request, "sqlite-local", anchor_worker=True, anchor_interval=0.3
    )
    server.start()
    yield server
    server.stop()


def test_proof_verifies_after_kill_and_restart_of_the_embedded_chain(
    embedded_server: LiveServer, tmp_path: Path
) -> None:
    server = embedded_server
    officer_id = server.users["officer"]["id"]
    issued = httpx.post(
        f"{server.url}/api/v1/officers/{officer_id}/certificates",
        json={},
        headers=server.auth("admin"),
    )
    assert issued.status_code == 201, issued.text
    data = samples.pdf()
    first = capture(server, data)
    proof = wait_anchored(server, first)
    (tmp_path / "doc.pdf").write_bytes(data)
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    trust = httpx.get(server.url + "/api/v1/trust").json()
    (tmp_path / "trust.json").write_text(json.dumps(trust))

    # Through the service's read-only JSON-RPC, with a plain web3 client.
    rpc_url = server.url + "/api/v1/chain/rpc"
    w3 = Web3(HTTPProvider(rpc_url))
    assert w3.eth.chain_id == proof["anchor"]["chain_id"]
    receipt = w3.eth.get_transaction_receipt(proof["anchor"]["tx_hash"])
    assert receipt["status"] == 1 and receipt["blockNumber"] == proof["anchor"]["block_number"]
    ok = evidence_verify(
        str(tmp_path / "doc.pdf"),
        str(tmp_path / "proof.json"),
        "--rpc",
        rpc_url,
        "--trust",
        str(tmp_path / "trust.json"),
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VALID" in ok.stdout and "signature of officer" in ok.stdout

    # Writes are refused on that endpoint.
    refused = httpx.post(
        rpc_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": ["0x00"]},
    ).json()
    assert refused["error"]["code"] == -32601

    # kill -9 pending: a second item captured, the server killed before or after its anchor.
    second = capture(server, samples.pdf())
    server.kill()
    data_dir = Path(server.env["EVIDENCE_DATA_DIR"])
    offline = evidence_verify(
        str(tmp_path / "doc.pdf"),
        str(tmp_path / "proof.json"),
        "--data-dir",
        str(data_dir),
        "--json",
        "--trust",
        str(tmp_path / "trust.json"),
    )
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert json.loads(offline.stdout)["valid"] is True
    assert [s["status"] for s in json.loads(offline.stdout)["steps"]] == ["pass"] * 5
    # without a trust bundle the department CA is unknown: undecided, exit 3
    untrusted = evidence_verify(
        str(tmp_path / "doc.pdf"), str(tmp_path / "proof.json"), "--data-dir", str(data_dir)
    )
    assert untrusted.returncode == 3, untrusted.stdout + untrusted.stderr

    server.start()
    again = wait_anchored(server, second)
    assert again["anchor"]["block_number"] > proof["anchor"]["block_number"]
    # the first proof, fetched again after the restart, is the same proof
    fetched = httpx.get(f"{server.url}/api/v1/evidence/{first}/proof", headers=server.auth()).json()
    assert fetched == proof
    raw = w3.eth.call(
        {
            "to": proof["anchor"]["contract"],
            "data": "0x" + (ANCHORED_AT_SELECTOR + bytes.fromhex(proof["merkle"]["root"])).hex(),
        }
    )
    assert int.from_bytes(raw, "big") == proof["anchor"]["block_number"]

    tampered = copy.deepcopy(proof)
    tampered["anchor"]["block_timestamp"] += 1
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    bad = evidence_verify(
        str(tmp_path / "doc.pdf"),
        str(tmp_path / "tampered.json"),
        "--rpc",
        rpc_url,
        "--trust",
        str(tmp_path / "trust.json"),
    )
    assert bad.returncode == 1
    assert "not-anchored" in bad.stdout + bad.stderr

    forged = copy.deepcopy(proof)
    value = forged["signature"]["value"]
    forged["signature"]["value"] = ("B" if value[0] == "A" else "A") + value[1:]
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    rejected = evidence_verify(
        str(tmp_path / "doc.pdf"),
        str(tmp_path / "forged.json"),
        "--rpc",
        rpc_url,
        "--trust",
        str(tmp_path / "trust.json"),
    )
    assert rejected.returncode == 1
    assert "failure: bad-signature" in rejected.stderr


def test_evidence_verify_against_hardhat(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    node = request.getfixturevalue("hardhat_node")
    server = make_live_server(
        tmp_path,
        request,
        "postgres-minio",
        anchor_worker=True,
        anchor_interval=0.3,
        chain_url=node.url,
        chain_key="0x" + node.private_keys[2].hex(),
    )
    server.start()
    try:
        data = samples.pdf()
        proof = wait_anchored(server, capture(server, data))
        trust = httpx.get(server.url + "/api/v1/trust").json()  # the officer's CA, pinned
    finally:
        server.stop()
    (tmp_path / "doc.pdf").write_bytes(data)
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "trust.json").write_text(json.dumps(trust))
    elsewhere = {**trust, "contract": "0x" + "22" * 20}  # the officer's CA, another registry
    (tmp_path / "elsewhere.json").write_text(json.dumps(elsewhere))
    ok = evidence_verify(
        str(tmp_path / "doc.pdf"),
        str(tmp_path / "proof.json"),
        "--rpc",
        node.url,
        "--contract",
        proof["anchor"]["contract"],
        "--trust",
        str(tmp_path / "trust.json"),
        "--json",
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    verdict = json.loads(ok.stdout)
    assert [s["status"] for s in verdict["steps"]] == ["pass"] * 5  # signed by default
    digest = evidence_verify(
        "--sha256",
        hashlib.sha256(data).hexdigest(),
        str(tmp_path / "proof.json"),
        "--rpc",
        node.url,
        "--trust",
        str(tmp_path / "trust.json"),
    )
    assert digest.returncode == 0, digest.stdout + digest.stderr
    (tmp_path / "other.pdf").write_bytes(data + b" ")
    wrong = evidence_verify(
        str(tmp_path / "other.pdf"), str(tmp_path / "proof.json"), "--rpc", node.url
    )
    assert wrong.returncode == 1 and "content-mismatch" in wrong.stdout + wrong.stderr
    unpinned = evidence_verify(
        str(tmp_path / "doc.pdf"),
        str(tmp_path / "proof.json"),
        "--rpc",
        node.url,
        "--contract",
        "0x" + "22" * 20,
        "--trust",
        str(tmp_path / "elsewhere.json"),
    )
    assert unpinned.returncode == 1 and "not-anchored" in unpinned.stdout + unpinned.stderr
    usage = evidence_verify(str(tmp_path / "doc.pdf"), str(tmp_path / "proof.json"))
    assert usage.returncode == 2 and "--rpc" in usage.stderr
