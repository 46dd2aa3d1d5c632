"""The readings behind an alarm verify like any evidence: a monitor's 30 minutes above the
limit raise the sustained alarm, the hour holding them is captured through the core, anchored
on the chain (the embedded chain; a Hardhat node with PostgreSQL and MinIO), and `evidence
verify` accepts the hour's document with its proof against the chain; the document's readings
are exactly the frames' numbers that raised the alarm."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import anyio
import pytest
from typer.testing import CliRunner

from evidence_service.cli import app as cli_app
from tests.fixtures.service import running_api
from tests.modules.catering.helpers import (
    API,
    DEPARTMENT,
    OIL_FUME,
    a_frame,
    minutes_ago,
    post_frame,
    register,
)
from tests.service.anchoring_helpers import (
    ANCHORED_BACKENDS,
    anchored_services,
    chain_rpc_url,
    wait_anchored,
)


@pytest.mark.parametrize("param", ANCHORED_BACKENDS)
def test_the_hour_behind_an_alarm_verifies_against_the_chain(
    tmp_path: Path, request: pytest.FixtureRequest, param: str
) -> None:
    services = anchored_services(tmp_path, request, param)
    try:
        with running_api(services, param.rsplit("-", 1)[0]) as api:
            register(api)
            state = api.client.app.state.catering  # type: ignore[attr-defined]
            token = api.auth_as(DEPARTMENT, "officer")["Authorization"].removeprefix("Bearer ")
            state.config = dataclasses.replace(state.config, service_token=token)
            start = (minutes_ago(0) - timedelta(hours=2)).replace(minute=0)
            for minute in range(30):
                sent = post_frame(api, a_frame(start + timedelta(minutes=minute), "1.35"))
                assert sent.status_code == 200, sent.text
            headers = api.auth_as(DEPARTMENT, "officer")
            [alarm] = [
                a
                for a in api.client.get(f"{API}/alarms", headers=headers).json()["items"]
                if a["kind"] == "sustained-exceedance"
            ]
            report = anyio.run(lambda: state.round())
            [hour] = report.hours
            assert hour.error is None and hour.evidence_id
            [problem] = [
                p
                for p in api.client.get(f"{API}/problems", headers=headers).json()["items"]
                if p["kind"] == "sustained-exceedance"
            ]
            detail = api.client.get(f"{API}/problems/{problem['id']}", headers=headers).json()
            assert detail["alarm_id"] == alarm["id"]
            assert detail["evidence_ids"] == [hour.evidence_id]

            proof = wait_anchored(api, hour.evidence_id)
            content = api.client.get(
                f"/api/v1/evidence/{hour.evidence_id}/content", headers=headers
            ).content
            document = json.loads(content)
            oil = [r for r in document["readings"] if r["metric"] == OIL_FUME]
            assert [r["value"] for r in oil] == [1.35] * 30
            assert document["device_id"] == alarm["mn"]
            (tmp_path / "hour.json").write_bytes(content)
            (tmp_path / "proof.json").write_text(json.dumps(proof))
            (tmp_path / "trust.json").write_bytes(api.client.get("/api/v1/trust").content)
            with chain_rpc_url(api) as rpc:
                result = CliRunner().invoke(
                    cli_app,
                    [
                        "verify",
                        str(tmp_path / "hour.json"),
                        str(tmp_path / "proof.json"),
                        "--rpc",
                        rpc,
                        "--trust",
                        str(tmp_path / "trust.json"),
                        "--json",
                    ],
                )
            verdict = json.loads(result.stdout)
            assert result.exit_code == 0 and verdict["valid"] is True, result.stdout
            assert [s["status"] for s in verdict["steps"]] == ["pass"] * 5
    finally:
        services.close()
