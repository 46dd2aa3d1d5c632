"""The joint-inspection demo (``evidence inspection demo``, ``evidence serve --demo``): a valid,
realistic directory the same for a seed; signals that open five warnings; tasks in
consultation and one scheduled; one draw anchored, published with its tasks and verifying —
and a second run adds nothing."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner
from web3 import HTTPProvider, Web3

from evidence_service.cli import app as cli
from evidence_service.modules.inspection import demo, scenarios
from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection.directory import (
    enterprises_from_json,
    inspectors_from_json,
)
from evidence_service.modules.inspection.draw_document import DrawDocument
from evidence_service.modules.inspection.draw_verify import DrawPins, RpcDrawChain, verify_draw
from evidence_service.modules.inspection.state import InspectionState
from evidence_service.modules.kit.credit_code import is_valid
from evidence_service.modules.kit.db import make_engine
from tests.fixtures.service import Api
from tests.modules.inspection.helpers import API, counts, module_engine
from tests.modules.inspection.straight_draw import straight_result
from tests.service.anchoring_helpers import chain_rpc_url


def people(api: Api) -> demo.DemoPeople:
    return demo.DemoPeople.from_seed({"departments": api.departments, "users": api.people})


def module(api: Api) -> InspectionState:
    return api.client.app.state.inspection  # type: ignore[attr-defined,no-any-return]


def test_the_directory_is_valid_realistic_and_the_same_for_a_seed() -> None:
    made = demo.generate(60)
    assert made == demo.generate(60) and made != demo.generate(60, seed=2)
    assert demo.generate(200).enterprises[:60] == made.enterprises  # a larger one extends it
    rows = [e.__dict__ for e in made.enterprises]
    assert enterprises_from_json(rows) == made.enterprises  # a valid upload
    assert all(is_valid(e.credit_code) for e in made.enterprises)
    assert len({e.credit_code for e in made.enterprises}) == len({e.name for e in made.enterprises})
    assert {e.credit_code[:2] for e in made.enterprises} >= {"91", "92", "12"}
    assert {e.address[3:6] for e in made.enterprises} == {"杭州市", "嘉兴市"}
    assert all(e.longitude and e.latitude for e in made.enterprises)
    library = scenarios.library().scenarios
    assert all(demo._INDUSTRY_SCENARIO[e.industry] in library for e in made.enterprises)
    assert set(Counter(e.risk_class for e in made.enterprises)) == {
        "high",
        "medium_high",
        "medium",
        "medium_low",
        "low",
    }
    everyone = demo.DemoPeople("D-SJ", "D-ZF", "O1", "O2", "O3", frozenset({"D-SJ", "D-ZF"}))
    roster = demo.roster(everyone, made)
    as_rows = [
        {**i.__dict__, "specialities": list(i.specialities), "conflicts": list(i.conflicts)}
        for i in roster
    ]
    assert inspectors_from_json(as_rows) == tuple(roster)
    assert Counter(i.department_id for i in roster) == {"D-SJ": 8, "D-ZF": 8}
    assert roster[0].officer_id == "SJ-001" and sum(1 for i in roster if i.conflicts) == 2
    assert len(demo.generate(5000).enterprises) == 5000  # benchmark size


def test_the_demo_opens_warnings_drafts_tasks_and_adds_nothing_again(api: Api) -> None:
    who, state = people(api), module(api)
    loaded = demo.load(module_engine(api), who, state.config)
    assert loaded.as_json() == {
        "departments_mapped": 2,
        "enterprises": {"created": 60, "updated": 0},
        "inspectors": {"created": 16, "updated": 0},
        "signals": {"created": 48, "repeated": 0},
        "warnings_opened": 5,
        "tasks_created": 3,
    }
    office = api.auth_as("HZ-ZHZF", "officer")
    warnings = api.client.get(f"{API}/warnings", params={"limit": 50}, headers=office)
    assert warnings.status_code == 200, warnings.text
    warned = {w["credit_code"]: w for w in warnings.json()["items"]}
    assert set(warned) == {loaded.story[k] for k in demo.STORIES_WARNED}
    assert Counter(w["state"] for w in warned.values()) == {"open": 3, "tasked": 2}
    assert all(w["score"] >= 52 for w in warned.values())  # a margin over the threshold (50)

    listed = api.client.get(f"{API}/tasks", params={"limit": 50}, headers=office)
    assert listed.status_code == 200, listed.text
    tasks = {t["enterprise"]["credit_code"]: t for t in listed.json()["items"]}
    assert {code: (t["origin"], t["state"]) for code, t in tasks.items()} == {
        loaded.story["w_canteen"]: ("warning", "consulting"),
        loaded.story["plan_gas"]: ("plan", "consulting"),
        loaded.story["w_restaurant"]: ("warning", "scheduled"),
    }
    mapped = api.client.get(f"{API}/departments", headers=office).json()
    assert {(d["department_id"], d["kind"], d["coordinator"]) for d in mapped} == {
        (who.market, "market_regulation", False),
        (who.office, "ecology", True),
    }

    before = counts(api)
    again = demo.load(module_engine(api), who, state.config)
    assert (again.departments_mapped, again.enterprises.created, again.inspectors.created) == (
        0,
        0,
        0,
    )
    assert (again.signals_created, again.warnings_opened, again.tasks_created) == (0, 0, [])
    assert counts(api) == before


def test_the_demo_draw_is_published_with_its_tasks_and_verifies(anchored: Api) -> None:
    api, who = anchored, people(anchored)
    state = module(api)
    demo.load(module_engine(api), who, state.config)
    token = api.person("HZ-ZHZF", "officer")["token"]
    lines: list[str] = []
    outcome = asyncio.run(demo.publish_draw(state, who, token, progress=lines.append))
    assert outcome["state"] == "published" and outcome["created"] and lines
    assert outcome["anchor_block"] < outcome["target_block"]
    raw = api.client.get(outcome["url"]).content
    published = json.loads(raw)
    commitment, result = published["commitment"], published["result"]
    assert commitment["departments"] == [who.market, who.office]
    population = {c for s in commitment["strata"] for c in s["population"]}
    with module_engine(api).connect() as conn:
        catering = set(
            conn.execute(
                select(m.enterprise.c.credit_code).where(m.enterprise.c.industry == demo.CATERING)
            ).scalars()
        )
        drawn = conn.execute(
            select(func.count()).select_from(m.task).where(m.task.c.draw_id == outcome["draw_id"])
        ).scalar_one()
    assert population == catering and len(commitment["conflicts"]) >= 2
    assert drawn == len(result["selected"]) == outcome["selected"] >= 5

    block_hash = bytes.fromhex(result["block_hash"].removeprefix("0x"))
    assert straight_result(commitment, block_hash) == result
    trust = api.client.get("/api/v1/trust").json()
    pins = DrawPins(trust["chain_id"], frozenset({trust["contract"].lower()}))
    with chain_rpc_url(api) as url:
        verdict = verify_draw(
            DrawDocument.from_json(raw), RpcDrawChain(Web3(HTTPProvider(url))), pins
        )
    assert verdict.valid, verdict.failure

    before = counts(api)
    again = asyncio.run(demo.publish_draw(state, who, token))
    assert again["draw_id"] == outcome["draw_id"] and not again["created"]
    assert counts(api) == before


def test_the_cli_command_loads_the_demo_and_its_draw_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(data))
    monkeypatch.delenv("EVIDENCE_DB_URL", raising=False)
    runner = CliRunner()
    first = runner.invoke(cli, ["inspection", "demo"])
    assert first.exit_code == 0, first.output
    made = json.loads(first.stdout)
    assert (made["enterprises"]["created"], made["warnings_opened"], made["tasks_created"]) == (
        60,
        5,
        3,
    )
    draw = made["draw"]
    assert draw["state"] == "published" and draw["created"] and made["draw_error"] is None

    second = runner.invoke(cli, ["inspection", "demo"])
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert (again["enterprises"]["created"], again["signals"]["created"]) == (0, 0)
    assert (again["warnings_opened"], again["tasks_created"]) == (0, 0)
    assert again["draw"]["draw_id"] == draw["draw_id"] and not again["draw"]["created"]

    engine = make_engine(f"sqlite:///{data / 'evidence.db'}")
    try:
        with engine.connect() as conn:
            document = conn.execute(
                select(m.draw.c.document).where(m.draw.c.id == draw["draw_id"])
            ).scalar_one()
            draws = conn.execute(select(func.count()).select_from(m.draw)).scalar_one()
    finally:
        engine.dispose()
    assert draws == 1
    path = tmp_path / "DRAW.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    verified = runner.invoke(
        cli, ["inspection", "verify-draw", str(path), "--data-dir", str(data), "--json"]
    )
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["valid"] is True


def test_serve_demo_loads_the_inspection_demo_before_it_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve --demo`` runs the draw before uvicorn starts, then hands the chain to the
    served app's own worker."""
    import uvicorn

    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EVIDENCE_DB_URL", raising=False)
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_options: served.append(app))
    result = CliRunner().invoke(cli, ["serve", "--demo"])
    assert result.exit_code == 0, result.output
    assert "Inspection demo" in result.output and "published" in result.output
    assert len(served) == 1
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'evidence.db'}")
    try:
        with engine.connect() as conn:
            states = conn.execute(select(m.draw.c.state)).scalars().all()
    finally:
        engine.dispose()
    assert states == ["published"]
