"""Journey 4: anyone, signed in or not, checks an evidence file against its proof on /verify. The
page runs the steps of PROOF_FORMAT.md in the browser (the file is hashed there and never sent),
shows the anchor's block, and names the step a tampered proof fails."""

from __future__ import annotations

import base64
import json
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.live_server import LiveServer
from tests.fixtures.service import running_api
from tests.web.conftest import check_accessibility, screenshot

STEPS = ["content", "leaf", "inclusion", "signature", "anchor"]
FILE_BYTES = 200 * 1024
#: Windows of the file searched for in every request body, raw and in the encodings a leak
#: would most likely use.
PROBE_BYTES = 64


def capture_and_wait_for_anchor(server: LiveServer, data: bytes) -> dict[str, Any]:
    """Capture `data` through the API as the demo officer; the proof once it names its block."""
    with httpx.Client(base_url=server.url, headers=server.auth(), timeout=30) as client:
        created = client.post(
            "/api/v1/evidence",
            data={"port": "electronic", "metadata": json.dumps({"title": "核验样本"})},
            files={"file": ("sample.bin", data, "application/octet-stream")},
        )
        assert created.status_code in (200, 201), created.text
        evidence_id = created.json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            proof: dict[str, Any] = client.get(f"/api/v1/evidence/{evidence_id}/proof").json()
            if proof["anchor"] is not None:
                return proof
            time.sleep(0.5)
    raise AssertionError(f"evidence {evidence_id} was not anchored within 60 s")


def flip_hex(value: str) -> str:
    """The same hex string with its first digit changed."""
    return ("1" if value[0] == "0" else "0") + value[1:]


def probes(data: bytes) -> list[bytes]:
    windows = [data[at : at + PROBE_BYTES] for at in range(0, len(data), len(data) // 8)]
    hexed = [w.hex().encode() for w in windows]
    # Base64 of the window from each of the three byte alignments it may have in a body.
    based = [base64.b64encode(w[shift:])[4:-4] for w in windows for shift in range(3)]
    return windows + hexed + based


def verify_in_page(page: Any, proof_path: Path, expected_state: str) -> Any:
    page.get_by_test_id("verify-proof").set_input_files(str(proof_path))
    page.get_by_test_id("verify-submit").click()
    verdict = page.get_by_test_id("verdict")
    page.locator(f"[data-testid=verdict][data-state={expected_state}]").wait_for(timeout=60_000)
    return verdict


def states(page: Any) -> dict[str, str]:
    return {s: page.get_by_test_id(f"step-{s}").get_attribute("data-state") for s in STEPS}


def test_anyone_verifies_a_file_and_its_proof_in_the_browser(
    page: Any, web_server: LiveServer, tmp_path: Path
) -> None:
    data = random.Random(4).randbytes(FILE_BYTES)
    proof = capture_and_wait_for_anchor(web_server, data)
    file_path = tmp_path / "evidence.bin"
    file_path.write_bytes(data)
    proof_path = tmp_path / "proof.json"
    proof_path.write_text(json.dumps(proof, ensure_ascii=False), "utf-8")
    bodies: list[tuple[str, bytes]] = []
    page.on("request", lambda r: bodies.append((r.url, r.post_data_buffer or b"")))

    page.goto("/verify")
    assert page.get_by_test_id("sign-out").count() == 0  # an anonymous visitor
    step_order = page.locator("[data-step]").evaluate_all("nodes => nodes.map(n => n.dataset.step)")
    assert step_order == STEPS
    command = page.get_by_test_id("verify-command").inner_text()
    assert f"--rpc {web_server.url}/api/v1/chain/rpc --trust trust.json" in command
    assert check_accessibility(page) == []

    page.get_by_test_id("verify-file").set_input_files(str(file_path))
    verdict = verify_in_page(page, proof_path, "pass")

    assert states(page) == {s: "pass" for s in STEPS}
    anchor = proof["anchor"]
    assert page.get_by_test_id("anchor-block").inner_text() == str(anchor["block_number"])
    shanghai = datetime.fromtimestamp(anchor["block_timestamp"], UTC) + timedelta(hours=8)
    assert shanghai.strftime("%Y-%m-%d %H:%M:%S") in page.get_by_test_id("anchor-time").inner_text()
    assert verdict.inner_text().startswith("核验通过")
    # The page's steps are the service's, in the service's order.
    answer = httpx.post(
        f"{web_server.url}/api/v1/verify",
        json={"proof": proof, "sha256": proof["statement"]["sha256"], "size": len(data)},
    ).json()
    assert [s["name"] for s in answer["steps"]] == STEPS and answer["valid"]
    assert check_accessibility(page) == []
    screenshot(page, "verify-valid")

    # Tampered: one hex digit of an audit-path node (of the root, for a one-leaf batch).
    tampered = json.loads(json.dumps(proof))
    if tampered["merkle"]["path"]:
        tampered["merkle"]["path"][0] = flip_hex(tampered["merkle"]["path"][0])
    else:
        tampered["merkle"]["root"] = flip_hex(tampered["merkle"]["root"])
    tampered_path = tmp_path / "proof-tampered.json"
    tampered_path.write_text(json.dumps(tampered), "utf-8")
    verdict = verify_in_page(page, tampered_path, "fail")

    assert verdict.get_attribute("data-failure") == "inclusion-failed"
    assert "inclusion" in verdict.inner_text() and "核验未通过" in verdict.inner_text()
    assert states(page)["inclusion"] == "fail"
    assert {states(page)[s] for s in ("content", "leaf", "signature")} == {"pass"}
    assert check_accessibility(page) == []
    screenshot(page, "verify-tampered-path")

    # Tampered: one hex digit of the statement's sha256 fails the first step by its name.
    tampered = json.loads(json.dumps(proof))
    tampered["statement"]["sha256"] = flip_hex(tampered["statement"]["sha256"])
    tampered_path.write_text(json.dumps(tampered), "utf-8")
    verdict = verify_in_page(page, tampered_path, "fail")

    assert verdict.get_attribute("data-failure") == "content-mismatch"
    assert "content" in verdict.inner_text()
    assert states(page)["content"] == "fail" and states(page)["leaf"] == "fail"

    # The file's bytes never left the browser: the page sent proofs, digests and RPC calls only.
    posted = [(url, body) for url, body in bodies if body]
    assert any(url.endswith("/api/v1/verify") for url, _ in posted)
    assert any(url.endswith("/api/v1/chain/rpc") for url, _ in posted)
    for url, body in posted:
        assert len(body) < FILE_BYTES // 4, url
        assert not any(probe in body for probe in probes(data)), url


@pytest.fixture
def backend() -> str:
    return "sqlite-local"


def test_the_verify_page_needs_no_sign_in_and_knows_a_signed_in_officer(services: Any) -> None:
    with running_api(services, "sqlite-local") as api:
        api.client.follow_redirects = False
        anonymous = api.client.get("/verify")
        assert anonymous.status_code == 200
        assert "script-src 'self'" in anonymous.headers["content-security-policy"]
        assert 'data-testid="nav-verify"' in anonymous.text
        assert 'data-testid="sign-out"' not in anonymous.text
        assert all(f'data-testid="step-{step}"' in anonymous.text for step in STEPS)

        signed_in = api.client.post("/login", data={"token": api.users["officer"]["token"]})
        assert signed_in.status_code == 303
        page = api.client.get("/verify?lang=en")
        assert page.status_code == 200
        assert 'data-testid="sign-out"' in page.text and 'data-testid="nav-capture"' in page.text
        assert "Verify evidence" in page.text
