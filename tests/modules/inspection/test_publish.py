"""A draw run end to end through the core, on the embedded chain and on PostgreSQL + S3 +
Hardhat: the target block named from the chain's height, the commitment anchored through
``POST /api/v1/anchors`` before it, the chain advanced to the target by heartbeat anchors, and
the published ``DRAW.json`` verified against the same chain by ``verify_draw``, by
``evidence inspection verify-draw`` and by the independent straight-line implementation. A
target too close to commit before is published void (``anchored-too-late``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner
from web3 import HTTPProvider, Web3

from evidence_service.cli import app as cli_app
from evidence_service.client import AsyncEvidenceClient
from evidence_service.core.ids import new_id
from evidence_service.modules.inspection.draw_document import DrawDocument
from evidence_service.modules.inspection.draw_verify import DrawPins, RpcDrawChain, verify_draw
from evidence_service.modules.inspection.plan import DrawTarget, plan_draw
from evidence_service.modules.inspection.publish import (
    chain_of,
    choose_target,
    commit,
    draw_document,
    reach,
)
from tests.fixtures.service import Api
from tests.modules.inspection.straight_draw import straight_result
from tests.modules.inspection.test_plan import ENTERPRISES, INSPECTORS
from tests.service.anchoring_helpers import chain_rpc_url

DEPARTMENTS = ["D-SJ", "D-XF"]


def run_draw(api: Api, lead: int) -> dict[str, Any]:
    """Plan, commit, reach the target and publish, as the office's service identity would."""
    token = api.auth_as("HZ-SCJG", "officer")["Authorization"].removeprefix("Bearer ")
    transport = httpx.ASGITransport(app=api.client.app)

    async def go() -> dict[str, Any]:
        async with AsyncEvidenceClient("http://core", token, transport=transport) as core:
            chain_id, registry = await chain_of(core, timeout=120, poll=0.2)
            target = DrawTarget(
                draw_id=new_id(),
                task="嘉兴市 2026 年度餐饮联合抽查",
                chain_id=chain_id,
                registry=registry,
                target_block=await choose_target(core, lead=lead),
            )
            plan = plan_draw(target, ENTERPRISES, INSPECTORS, DEPARTMENTS)
            mined = await commit(core, plan.commitment, timeout=120, poll=0.2)
            block_hash = await reach(
                core, target.target_block, draw_id=target.draw_id, timeout=120, poll=0.2
            )
            return draw_document(plan.commitment, mined["merkle"], mined["anchor"], block_hash)

    return asyncio.run(go())


def test_a_draw_through_the_core_verifies_against_its_chain(anchored: Api, tmp_path: Path) -> None:
    published = run_draw(anchored, lead=3)
    commitment, anchor, result = published["commitment"], published["anchor"], published["result"]
    assert result is not None and anchor["block_number"] < commitment["target_block"]
    assert len(result["selected"]) == sum(s["k"] for s in commitment["strata"]) == 8
    # an independent implementation of the page gives the same result from the same block
    block_hash = bytes.fromhex(result["block_hash"].removeprefix("0x"))
    assert straight_result(commitment, block_hash) == result

    trust = anchored.client.get("/api/v1/trust").json()
    pins = DrawPins(trust["chain_id"], frozenset({trust["contract"].lower()}))
    raw = json.dumps(published, ensure_ascii=False).encode()
    with chain_rpc_url(anchored) as url:
        verdict = verify_draw(
            DrawDocument.from_json(raw), RpcDrawChain(Web3(HTTPProvider(url))), pins
        )
        assert verdict.valid, [(s.name, s.status, s.detail) for s in verdict.steps]
        path = tmp_path / "DRAW.json"
        path.write_bytes(raw)
        cli = CliRunner().invoke(cli_app, ["inspection", "verify-draw", str(path), "--rpc", url])
        assert cli.exit_code == 0, cli.output
        # a result changed after the fact is caught by the same command
        forged = json.loads(raw)
        forged["result"]["selected"][0]["enterprise"] = forged["commitment"]["strata"][4][
            "population"
        ][-1]
        path.write_text(json.dumps(forged), encoding="utf-8")
        cli = CliRunner().invoke(cli_app, ["inspection", "verify-draw", str(path), "--rpc", url])
        assert cli.exit_code == 1 and "result-mismatch" in cli.output


def test_a_target_too_close_is_published_void(anchored: Api) -> None:
    published = run_draw(anchored, lead=0)  # the anchor cannot come before the target
    assert published["result"] is None and published["void"] == "anchored-too-late"
    assert published["anchor"]["block_number"] >= published["commitment"]["target_block"]
    with chain_rpc_url(anchored) as url:
        verdict = verify_draw(
            DrawDocument.from_json(json.dumps(published).encode()),
            RpcDrawChain(Web3(HTTPProvider(url))),
        )
    assert not verdict.valid and verdict.failure == "anchored-too-late"
