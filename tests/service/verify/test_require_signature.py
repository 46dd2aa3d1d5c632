"""An unsigned statement, as the offline verifiers show it: step 4 says "unsigned statement"
(skipped), and ``--require-signature`` on ``evidence verify`` and ``evidence verify-package``
makes it a failure — ``bad-signature``, reason ``unsigned``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evidence_service.cli import app as cli_app
from signing.keys import generate_private_key, public_key_pem
from tests import samples
from tests.fixtures.service import Api, running_api
from tests.service.anchoring_helpers import anchored_services, chain_rpc_url, wait_anchored
from tests.service.helpers import upload


def unsigned_capture(api: Api) -> tuple[str, bytes]:
    """A capture the service does not sign: the officer holds their own key, and their
    department lets unsigned statements in."""
    officer = api.users["officer"]
    allowed = api.client.patch(
        f"/api/v1/departments/{officer['department_id']}",
        json={"require_signed_captures": False},
        headers=api.auth("admin"),
    )
    assert allowed.status_code == 200, allowed.text
    key = generate_private_key("Ed25519")
    issued = api.client.post(
        f"/api/v1/officers/{officer['id']}/certificates",
        json={"public_key_pem": public_key_pem(key.public_key()).decode()},
        headers=api.auth("admin"),
    )
    assert issued.status_code == 201, issued.text
    data = samples.pdf()
    response = upload(api, "documentary", data)
    assert response.status_code == 201, response.text
    return response.json()["id"], data


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, list(args))
    return result.exit_code, result.stdout


def run_text(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def bad_signatures(verdict: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (p["subject"], p["detail"]) for p in verdict["problems"] if p["failure"] == "bad-signature"
    ]


def test_the_verifiers_say_unsigned_and_can_require_a_signature(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    services = anchored_services(tmp_path, request, "sqlite-local-embedded")
    try:
        with running_api(services, "sqlite-local") as api:
            evidence_id, data = unsigned_capture(api)
            proof = wait_anchored(api, evidence_id)
            assert proof["signature"] is None
            court = next(d["id"] for d in api.departments if d["code"] == "HZ-XHFY")
            sent = api.client.post(
                "/api/v1/transfers",
                json={"to_department_id": court, "evidence_ids": [evidence_id]},
                headers=api.auth("reviewer"),
            )
            assert sent.status_code == 201, sent.text
            package = api.client.get(
                f"/api/v1/transfers/{sent.json()['id']}/package.zip", headers=api.auth("reviewer")
            )
            assert package.status_code == 200, package.text
            files = {
                "proof.json": json.dumps(proof).encode(),
                "trust.json": api.client.get("/api/v1/trust").content,
                "package.zip": package.content,
            }
            for name, content in files.items():
                (tmp_path / name).write_bytes(content)
            digest = hashlib.sha256(data).hexdigest()

            with chain_rpc_url(api) as rpc:
                pinned = ["--rpc", rpc, "--trust", str(tmp_path / "trust.json")]
                proof_args = ["verify", "--sha256", digest, str(tmp_path / "proof.json"), *pinned]

                code, out = run(*proof_args, "--json")
                verdict = json.loads(out)
                assert code == 0 and verdict["valid"] is True, out
                step = verdict["steps"][3]
                assert (step["status"], step["failure"]) == ("skipped", None)
                assert step["detail"].startswith("unsigned statement")
                code, out, note = run_text(*proof_args)
                assert code == 0 and "unsigned statement" in out, out
                assert "unsigned" in note and "--require-signature" in note, note

                code, out = run(*proof_args, "--json", "--require-signature")
                verdict = json.loads(out)
                assert code == 1 and verdict["failure"] == "bad-signature", out
                step = verdict["steps"][3]
                assert (step["status"], step["failure"]) == ("fail", "bad-signature")
                assert step["detail"].startswith("unsigned: unsigned statement")

                package_args = ["verify-package", str(tmp_path / "package.zip"), *pinned, "--json"]
                code, out = run(*package_args)
                assert bad_signatures(json.loads(out)) == [], out
                code, out = run(*package_args, "--require-signature")
                verdict = json.loads(out)
                assert code == 1 and verdict["valid"] is False, out
                [(subject, detail)] = bad_signatures(verdict)
                assert evidence_id in subject and detail.startswith("unsigned"), verdict
    finally:
        services.close()
