"""Draws through the API (双随机、一公开): the office starts one, the service commits and anchors
it before its target block, a background job publishes DRAW.json and the tasks of the selected
enterprises with their drawn inspectors — on the embedded chain and on PostgreSQL + S3 +
Hardhat. The published draw verifies (``verify_draw``, the CLI, the straight-line
implementation); the list is public and hides who made a draw; a target too close is published
void with no task; a commitment the core refuses fails the draw, one it does not answer for
leaves the draw planned; a job that times out leaves the draw committed; an advance resumes
either; refusals write nothing."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner
from web3 import HTTPProvider, Web3

from evidence_service.cli import app as cli_app
from evidence_service.client import ApiError
from evidence_service.modules.inspection import draws_api, tasks
from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection.common import utcnow
from evidence_service.modules.inspection.directory import Inspector
from evidence_service.modules.inspection.draw import commitment_digest
from evidence_service.modules.inspection.draw_document import DrawDocument
from evidence_service.modules.inspection.draw_verify import DrawPins, RpcDrawChain, verify_draw
from evidence_service.modules.inspection.state import InspectionState
from evidence_service.modules.kit.db import write_transaction
from tests.fixtures.service import Api
from tests.modules.inspection.helpers import (
    API,
    MARKET,
    OFFICE,
    an_enterprise,
    counts,
    department_id,
    map_departments,
    module_engine,
    write_directory,
)
from tests.modules.inspection.straight_draw import straight_result
from tests.modules.inspection.test_plan import code
from tests.service.anchoring_helpers import chain_rpc_url

DRAWS = f"{API}/draws"
LABEL = "嘉兴市 2026 年度餐饮联合抽查"
#: 40 enterprises: 3 high, 10 medium-high, 12 medium, 5 medium-low, 10 low.
CLASSES = ["high"] * 3 + ["medium_high"] * 10 + ["medium"] * 12 + ["medium_low"] * 5 + ["low"] * 10
AT_CAP = 2  # a high-risk enterprise inspected twice this year already


def module(api: Api) -> InspectionState:
    return api.client.app.state.inspection  # type: ignore[attr-defined,no-any-return]


def configure(api: Api, **changes: Any) -> None:
    state = module(api)
    state.config = dataclasses.replace(state.config, **changes)


def directory(api: Api) -> None:
    market, office = department_id(api, MARKET), department_id(api, OFFICE)
    enterprises = [an_enterprise(n, rc) for n, rc in enumerate(CLASSES, start=1)]
    inspectors = [
        Inspector("SJ-1", market, "33040001", conflicts=(code(1),)),
        Inspector("SJ-2", market, "33040002"),
        Inspector("SJ-3", market, "33040003"),
        Inspector("ZF-1", office, "33040101"),
        Inspector("ZF-2", office, "33040102"),
    ]
    write_directory(api, enterprises, inspectors)


def body(api: Api, **changes: Any) -> dict[str, Any]:
    return {
        "task": LABEL,
        "scenario": "restaurant",
        "departments": [department_id(api, MARKET), department_id(api, OFFICE)],
        **changes,
    }


def wait_for(check: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.2)


def state_of_draw(api: Api, draw_id: str) -> str:
    items = api.client.get(DRAWS, params={"limit": 500}).json()["items"]
    return str(next(i["state"] for i in items if i["draw_id"] == draw_id))


def settled(api: Api, draw_id: str) -> dict[str, Any]:
    """The published (or void) DRAW.json once the job has written it."""
    wait_for(lambda: state_of_draw(api, draw_id) in ("published", "void"), f"draw {draw_id}")
    answer = api.client.get(f"{DRAWS}/{draw_id}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = answer.json()
    return document


def job_done(api: Api, draw_id: str) -> None:
    wait_for(lambda: draw_id not in module(api).running, f"the job of {draw_id}", 60)


def start(api: Api, **changes: Any) -> dict[str, Any]:
    answer = api.client.post(
        DRAWS, json=body(api, **changes), headers=api.auth_as(OFFICE, "officer")
    )
    assert answer.status_code == 202, answer.text
    started: dict[str, Any] = answer.json()
    assert answer.headers["location"] == f"{DRAWS}/{started['draw_id']}"
    return started


def year_now() -> int:
    return datetime.now(ZoneInfo("Asia/Shanghai")).year


def cap_reached(api: Api) -> None:
    """Two tasks this year for enterprise AT_CAP: the annual cap (2) is reached."""
    office = department_id(api, OFFICE)
    with write_transaction(module_engine(api)) as conn:  # the anchoring worker writes too
        for _ in range(2):
            tasks.insert_task(
                conn,
                credit_code=code(AT_CAP),
                scenario="restaurant",
                title="earlier visit",
                origin="plan",
                lead_department=office,
                departments=[department_id(api, MARKET)],
                created_by="01JOFFICER0000000000000000",
                year=year_now(),
                now=utcnow(),
            )


def drawn_tasks(api: Api, draw_id: str) -> dict[str, dict[str, Any]]:
    with module_engine(api).connect() as conn:
        rows = conn.execute(select(m.task).where(m.task.c.draw_id == draw_id)).mappings().all()
        found = {}
        for row in rows:
            people = conn.execute(
                select(m.task_inspector).where(m.task_inspector.c.task_id == row["id"])
            ).mappings()
            found[row["credit_code"]] = {
                **row,
                "inspectors": {(p["officer_id"], p["department_id"], p["drawn"]) for p in people},
            }
        return found


def test_a_draw_is_committed_published_tasked_and_verifies(anchored: Api, tmp_path: Path) -> None:
    api = anchored
    map_departments(api)
    directory(api)
    cap_reached(api)
    market, office = department_id(api, MARKET), department_id(api, OFFICE)

    started = start(api, ratios={"low": "0"})
    assert started["state"] == "committed" and started["task"] == LABEL
    assert started["left_out"] == [{"credit_code": code(AT_CAP), "reason": "at-cap"}]
    draw_id = started["draw_id"]
    published = settled(api, draw_id)

    commitment, result = published["commitment"], published["result"]
    assert commitment["draw_id"] == draw_id and commitment["departments"] == [market, office]
    assert published["anchor"]["block_number"] < commitment["target_block"]
    assert started["target_block"] == commitment["target_block"]
    assert started["inputs_digest"] == commitment_digest(commitment).hex()
    assert result["commitment_digest"] == started["inputs_digest"]
    strata = {s["name"]: s for s in commitment["strata"]}
    assert strata["high"]["population"] == [code(1), code(3)] and strata["high"]["k"] == 2
    assert [strata[c]["k"] for c in ("medium_high", "medium", "medium_low", "low")] == [2, 1, 1, 0]
    assert all(code(AT_CAP) not in s["population"] for s in commitment["strata"])
    assert commitment["pools"] == {market: ["SJ-1", "SJ-2", "SJ-3"], office: ["ZF-1", "ZF-2"]}
    assert commitment["conflicts"] == [[code(1), "SJ-1"]]

    # an independent implementation of the page gives the same result from the same block
    block_hash = bytes.fromhex(result["block_hash"].removeprefix("0x"))
    assert straight_result(commitment, block_hash) == result
    raw = api.client.get(f"{DRAWS}/{draw_id}").content  # as a citizen downloads it
    trust = api.client.get("/api/v1/trust").json()
    pins = DrawPins(trust["chain_id"], frozenset({trust["contract"].lower()}))
    with chain_rpc_url(api) as url:
        verdict = verify_draw(
            DrawDocument.from_json(raw), RpcDrawChain(Web3(HTTPProvider(url))), pins
        )
        assert verdict.valid, [(s.name, s.status, s.detail) for s in verdict.steps]
        path = tmp_path / "DRAW.json"
        path.write_bytes(raw)
        cli = CliRunner().invoke(cli_app, ["inspection", "verify-draw", str(path), "--rpc", url])
        assert cli.exit_code == 0, cli.output

    # one task per selected enterprise, with the drawn inspectors, led by the office
    selected = [s["enterprise"] for s in result["selected"]]
    assert len(selected) == 6 and code(1) in selected and code(3) in selected
    made = drawn_tasks(api, draw_id)
    assert set(made) == set(selected)
    for enterprise, task in made.items():
        n = next(n for n in range(1, 41) if code(n) == enterprise)
        assert task["title"] == f"{LABEL}: 企业{n}"
        assert (task["origin"], task["scenario"], task["state"]) == (
            "draw",
            "restaurant",
            "consulting",
        )
        assert task["lead_department"] == office and task["year"] == year_now()
        wanted = {
            (officer, a["department"], True)
            for a in result["assignments"]
            if a["enterprise"] == enterprise
            for officer in a["inspectors"]
        }
        assert task["inspectors"] == wanted and len(wanted) == 2
    assert ("SJ-1", market, True) not in made[code(1)]["inspectors"]  # the conflict of interest

    # the public list: no token, the draw's digest, block and outcome, never its creator
    listed = api.client.get(DRAWS)
    assert listed.status_code == 200, listed.text
    item = next(i for i in listed.json()["items"] if i["draw_id"] == draw_id)
    assert item == {
        **{
            k: started[k]
            for k in ("draw_id", "task", "target_block", "inputs_digest", "created_at")
        },
        "state": "published",
        "published_at": item["published_at"],
        "void": None,
        "selected": 6,
    }
    creator = api.person(OFFICE, "officer")["id"]
    assert creator not in listed.text and "created_by" not in listed.text
    assert api.client.get(DRAWS, params={"state": "void"}).json()["items"] == []

    # a published draw does not advance again
    again = api.client.post(f"{DRAWS}/{draw_id}/advance", headers=api.auth_as(OFFICE, "officer"))
    assert again.status_code == 409 and again.json()["state"] == "published"


def test_a_target_too_close_is_published_void_without_tasks(anchored: Api) -> None:
    api = anchored
    map_departments(api)
    directory(api)
    configure(api, draw_lead_blocks=0)  # the anchor cannot come before the target
    draw_id = start(api)["draw_id"]
    published = settled(api, draw_id)
    assert published["result"] is None and published["void"] == "anchored-too-late"
    assert published["anchor"]["block_number"] >= published["commitment"]["target_block"]
    with chain_rpc_url(api) as url:
        verdict = verify_draw(
            DrawDocument.from_json(json.dumps(published).encode()),
            RpcDrawChain(Web3(HTTPProvider(url))),
        )
    assert not verdict.valid and verdict.failure == "anchored-too-late"
    assert drawn_tasks(api, draw_id) == {} and counts(api)["inspection_task"] == 0
    item = api.client.get(DRAWS, params={"state": "void"}).json()["items"][0]
    assert (item["draw_id"], item["void"], item["selected"]) == (draw_id, "anchored-too-late", None)


def test_failed_and_stalled_draws(anchored: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api = anchored
    map_departments(api)
    office = api.auth_as(OFFICE, "officer")
    # an empty directory: nothing to draw, refused before anything is stored
    empty = api.client.post(DRAWS, json=body(api), headers=office)
    assert empty.status_code == 422 and "nothing to draw" in empty.json()["detail"]
    assert counts(api)["inspection_draw"] == 0

    directory(api)

    # the core refuses the commitment: the draw failed, was never anchored, nothing to void
    def refuse(*_args: Any) -> str:
        raise ApiError(503, {"detail": "anchoring is paused"})

    monkeypatch.setattr(draws_api, "post_commitment", refuse)
    failed = api.client.post(DRAWS, json=body(api), headers=office)
    assert failed.status_code == 502, failed.text
    assert failed.json()["state"] == "failed" and "anchoring is paused" in failed.json()["detail"]
    failed_id = failed.json()["draw_id"]
    assert state_of_draw(api, failed_id) == "failed" and failed_id not in module(api).running
    assert api.client.get(f"{DRAWS}/{failed_id}").json()["state"] == "failed"
    not_again = api.client.post(f"{DRAWS}/{failed_id}/advance", headers=office)
    assert not_again.status_code == 409 and not_again.json()["state"] == "failed"

    # no answer at all: the core may have the commitment, so the draw stays planned, and an
    # advance posts it again (the same document is the same anchor) and runs it to the end
    def silent(*_args: Any) -> str:
        raise httpx.ConnectError("connection reset")

    monkeypatch.setattr(draws_api, "post_commitment", silent)
    unanswered = api.client.post(DRAWS, json=body(api), headers=office)
    assert unanswered.status_code == 502 and unanswered.json()["state"] == "planned"
    planned_id = unanswered.json()["draw_id"]
    assert state_of_draw(api, planned_id) == "planned"
    monkeypatch.undo()
    posted = api.client.post(f"{DRAWS}/{planned_id}/advance", headers=office)
    assert posted.status_code == 202 and posted.json()["state"] == "committed", posted.text
    assert settled(api, planned_id)["commitment"]["draw_id"] == planned_id

    configure(api, draw_lead_blocks=100_000, draw_timeout_s=1.0)  # a block it never reaches
    started = start(api)
    draw_id = started["draw_id"]
    job_done(api, draw_id)
    assert state_of_draw(api, draw_id) == "committed"
    waiting = api.client.get(f"{DRAWS}/{draw_id}")
    assert waiting.status_code == 409, waiting.text
    assert waiting.headers["content-type"].startswith("application/problem+json")
    problem = waiting.json()
    assert problem["type"].endswith("/draw-not-published")
    assert (problem["state"], problem["target_block"]) == ("committed", started["target_block"])

    market = api.auth_as(MARKET, "officer")
    refused = api.client.post(f"{DRAWS}/{draw_id}/advance", headers=market)
    assert refused.status_code == 403, refused.text
    resumed = api.client.post(f"{DRAWS}/{draw_id}/advance", headers=office)
    assert resumed.status_code == 202 and resumed.json()["state"] == "committed", resumed.text
    twice = api.client.post(f"{DRAWS}/{draw_id}/advance", headers=office)
    assert twice.status_code == 409, twice.text
    job_done(api, draw_id)
    assert state_of_draw(api, draw_id) == "committed"


def test_refusals_write_nothing(api: Api) -> None:
    map_departments(api)
    directory(api)
    office = api.auth_as(OFFICE, "officer")
    before = counts(api)

    def refused(status: int, payload: Any, headers: dict[str, str] = office) -> dict[str, Any]:
        answer = api.client.post(DRAWS, json=payload, headers=headers)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem: dict[str, Any] = answer.json()
        return problem

    refused(403, body(api), api.auth_as(MARKET, "officer"))  # not the coordinating office
    refused(403, body(api), api.auth_as("ZJ-SFT", "auditor"))
    refused(401, body(api), {})
    market = department_id(api, MARKET)
    unknown = refused(422, body(api, departments=[market, "NO-SUCH-DEPT"]))
    assert "NO-SUCH-DEPT" in unknown["detail"]
    penalty = department_id(api, "HZ-CFK")  # known to the core, not mapped onto a kind
    assert penalty in refused(422, body(api, departments=[market, penalty]))["detail"]
    refused(422, body(api, departments=[market]))  # too few departments
    refused(422, body(api, departments=[market, market]))
    refused(422, body(api, departments=[f"D{n}" for n in range(21)]))
    assert "scenario" in refused(422, body(api, scenario="spaceport"))["detail"]
    refused(422, body(api, per_department=6))
    refused(422, body(api, per_department=0))
    refused(422, body(api, ratios={"extreme": "1"}))
    refused(422, body(api, ratios={"low": "2"}))
    refused(422, body(api, ratios={"low": "1.5"}))
    refused(422, body(api, task=""))
    refused(422, body(api, task="x" * 201))
    refused(422, body(api, task="line\nbreak"))
    refused(422, {**body(api), "created_by": "someone"})
    assert counts(api) == before

    # reading: public, bounded
    assert api.client.get(DRAWS).json() == {"items": [], "next_cursor": None}
    assert api.client.get(f"{DRAWS}/01JNOSUCHDRAW0000000000000").status_code == 404
    assert api.client.get(f"{DRAWS}/{'A' * 65}").status_code == 422
    assert api.client.get(DRAWS, params={"limit": 0}).status_code == 422
    assert api.client.get(DRAWS, params={"limit": 501}).status_code == 422
    assert api.client.get(DRAWS, params={"state": "done"}).status_code == 422
    assert api.client.get(DRAWS, params={"cursor": "!!"}).status_code == 422
    advance = api.client.post(f"{DRAWS}/01JNOSUCHDRAW0000000000000/advance", headers=office)
    assert advance.status_code == 404, advance.text


def test_the_list_pages_newest_first(api: Api) -> None:
    """Rows as the service leaves them (the chain is not needed to page a list)."""
    now = utcnow()
    ids = [f"01JDRAW00000000000000000{n:02d}" for n in range(5)]
    commitment = {"format": "draw-commitment/1", "draw_id": "x"}
    with module_engine(api).begin() as conn:
        for n, draw_id in enumerate(ids):
            conn.execute(
                m.draw.insert().values(
                    id=draw_id,
                    task=f"draw {n}",
                    state="failed" if n % 2 else "committed",
                    commitment={**commitment, "draw_id": draw_id},
                    left_out=[],
                    target_block=10 + n,
                    inputs_digest=f"{n:064x}",
                    scenario="restaurant",
                    lead_department="HZ-ZHZF",
                    created_by="01JOFFICER0000000000000000",
                    created_at=now,
                    error="the core did not answer",
                )  # fmt: skip
            )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get(DRAWS, params=params).json()
        seen += [i["draw_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    failed = api.client.get(DRAWS, params={"state": "failed"}).json()["items"]
    assert [i["draw_id"] for i in failed] == [ids[3], ids[1]]
    assert "the core did not answer" not in api.client.get(DRAWS).text
    assert api.client.get(f"{DRAWS}/{ids[1]}").json()["state"] == "failed"
