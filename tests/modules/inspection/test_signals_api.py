"""Signals and warnings over HTTP: a post is stored once per (source, ref), scores its
enterprises again and opens a warning naming the signals behind it when the threshold is
reached; refusals write nothing; the office dismisses a warning with a note; the published rules
and the scenario library are public."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from evidence_service.cli import app as cli
from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection import signals
from evidence_service.modules.inspection.directory import Enterprise
from evidence_service.modules.kit.db import make_engine, write_transaction
from tests.fixtures.service import Api
from tests.modules.inspection.helpers import (
    API,
    MARKET,
    OFFICE,
    an_enterprise,
    counts,
    map_departments,
    module_engine,
    write_directory,
)
from tests.modules.supervision.helpers import DEPT_A, ORG_ID, RECORDS, a_record
from tests.modules.supervision.helpers import department_id as supervision_department


def a_signal(n: int, ref: str, **over: Any) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    base = {
        "credit_code": an_enterprise(n).credit_code,
        "kind": "hotline",
        "severity": 3,
        "at": at,
        "source": "12345",
        "ref": ref,
        "note": "油烟扰民",
    }
    return {**base, **over}


def test_signals_open_a_warning_with_the_signals_that_caused_it(api: Api) -> None:
    map_departments(api)
    write_directory(api, [an_enterprise(1, "high"), an_enterprise(2, "low")])
    market = api.auth_as(MARKET, "officer")
    # high base 30 + 2 hotline × severity 3 (≈ 6 each after a day) ≈ 41.9: not yet
    first = api.client.post(
        f"{API}/signals",
        json={"signals": [a_signal(1, "A-1"), a_signal(1, "A-2"), a_signal(2, "B-1")]},
        headers=market,
    )
    assert first.status_code == 201, first.text
    assert len(first.json()["created"]) == 3 and first.json()["warnings_opened"] == []

    penalty = a_signal(1, "P-1", kind="penalty", source="penalty-system", severity=2)
    second = api.client.post(
        f"{API}/signals", json={"signals": [penalty, a_signal(1, "A-1")]}, headers=market
    )
    assert second.status_code == 201, second.text
    body = second.json()
    assert body["repeated"] == [first.json()["created"][0]]  # stored once per (source, ref)
    (warning_id,) = body["warnings_opened"]
    assert counts(api)["inspection_signal"] == 4

    warning = api.client.get(f"{API}/warnings/{warning_id}", headers=market).json()
    assert warning["state"] == "open" and warning["credit_code"] == an_enterprise(1).credit_code
    assert warning["enterprise_name"] == "企业1"
    assert 50 <= warning["score"] < 55 and warning["threshold"] == 50
    assert [c["kind"] for c in warning["contributions"]] == ["penalty", "hotline", "hotline"]
    assert warning["contributions"][0]["signal_id"] == body["created"][0]

    # a standing warning is updated, not doubled
    third = api.client.post(
        f"{API}/signals", json={"signals": [a_signal(1, "A-3")]}, headers=market
    )
    assert third.json()["warnings_opened"] == []
    listed = api.client.get(f"{API}/warnings", params={"state": "open"}, headers=market).json()
    assert [w["id"] for w in listed["items"]] == [warning_id]
    assert listed["items"][0]["score"] > warning["score"]

    detail = api.client.get(
        f"{API}/enterprises/{an_enterprise(1).credit_code}", headers=market
    ).json()
    assert [s["ref"] for s in detail["signals"]][:1] and len(detail["signals"]) == 4
    assert [w["id"] for w in detail["warnings"]] == [warning_id]
    assert detail["score"] >= 50


def test_bad_signals_write_nothing(api: Api) -> None:
    map_departments(api)
    write_directory(api, [an_enterprise(1)])
    market = api.auth_as(MARKET, "officer")
    unknown = api.client.post(
        f"{API}/signals",
        json={"signals": [a_signal(1, "X-1"), a_signal(7, "X-2")]},
        headers=market,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["msg"] == f"{an_enterprise(7).credit_code} is unknown"
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    late = api.client.post(
        f"{API}/signals", json={"signals": [a_signal(1, "X-3", at=future)]}, headers=market
    )
    assert late.status_code == 422 and late.json()["errors"][0]["field"] == "at"
    for bad in (
        {"kind": "rumour"},
        {"severity": 4},
        {"at": "2026-01-01T00:00:00"},  # no zone
        {"source": "12345/../x"},
        {"note": "长" * 501},
        {"extra": 1},
    ):
        refused = api.client.post(
            f"{API}/signals", json={"signals": [a_signal(1, "X-4", **bad)]}, headers=market
        )
        assert refused.status_code == 422, bad
    empty = api.client.post(f"{API}/signals", json={"signals": []}, headers=market)
    assert empty.status_code == 422
    assert api.client.post(f"{API}/signals", json={"signals": []}).status_code == 401
    court = api.client.post(
        f"{API}/signals", json={"signals": [a_signal(1, "X-5")]}, headers=api.auth("court")
    )
    assert court.status_code == 403
    assert counts(api)["inspection_signal"] == 0


def test_the_office_dismisses_a_warning_and_a_refresh_rescores_everyone(api: Api) -> None:
    map_departments(api)
    write_directory(api, [an_enterprise(1, "high"), an_enterprise(2, "medium")])
    office = api.auth_as(OFFICE, "officer")
    opened = api.client.post(
        f"{API}/signals",
        json={"signals": [a_signal(1, f"D-{i}", kind="penalty") for i in range(2)]},
        headers=office,
    ).json()["warnings_opened"]
    (warning_id,) = opened
    market = api.client.post(
        f"{API}/warnings/{warning_id}/dismiss",
        json={"note": "已现场核实"},
        headers=api.auth_as(MARKET, "officer"),
    )
    assert market.status_code == 403
    done = api.client.post(
        f"{API}/warnings/{warning_id}/dismiss", json={"note": "已现场核实"}, headers=office
    )
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["closed_note"]) == ("dismissed", "已现场核实")
    twice = api.client.post(
        f"{API}/warnings/{warning_id}/dismiss", json={"note": "again"}, headers=office
    )
    assert twice.status_code == 409

    # a lower threshold, then a refresh: both enterprises are warned (the dismissed one anew)
    state = api.client.app.state.inspection  # type: ignore[attr-defined]
    state.config = dataclasses.replace(
        state.config, risk=dataclasses.replace(state.config.risk, threshold=10.0)
    )
    with write_transaction(state.engine) as conn:
        opened = signals.refresh_all(conn, now=datetime.now(UTC), settings=state.config.risk)
    assert len(opened) == 2
    with module_engine(api).connect() as conn:
        states = sorted(conn.execute(select(m.warning.c.state)).scalars())
    assert states == ["dismissed", "open", "open"]
    with write_transaction(state.engine) as conn:
        again = signals.refresh_all(conn, now=datetime.now(UTC), settings=state.config.risk)
    assert again == []


def test_the_rules_and_the_scenario_library_are_public(api: Api) -> None:
    rules = api.client.get(f"{API}/rules")
    assert rules.status_code == 200
    assert rules.json()["annual_cap"] == 2 and rules.json()["ratios"]["high"] == "1"
    assert rules.json()["risk"]["threshold"] == 50
    listed = api.client.get(f"{API}/scenarios").json()
    assert len(listed) >= 30
    restaurant = next(s for s in listed if s["code"] == "restaurant")
    assert len(restaurant["department_kinds"]) >= 2
    fire = api.client.get(f"{API}/scenarios", params={"department_kind": "fire"}).json()
    assert fire and all("fire" in s["department_kinds"] for s in fire)
    one = api.client.get(f"{API}/scenarios/restaurant").json()
    assert one["items"][0]["basis"]["text"].startswith("《")
    assert api.client.get(f"{API}/scenarios/nope").status_code == 404
    assert api.client.get(f"{API}/scenarios", params={"department_kind": "navy"}).status_code == 422


def test_the_cli_refreshes_every_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``evidence inspection refresh-warnings`` on the data dir's database."""
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EVIDENCE_DB_URL", raising=False)
    monkeypatch.setenv("EVIDENCE_ANCHOR_WORKER", "false")
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'evidence.db'}")
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        conn.execute(
            m.enterprise.insert().values(
                credit_code=an_enterprise(1).credit_code,
                name="企业1",
                address="嘉兴",
                industry="餐饮",
                scale="small",
                risk_class="high",
                region="330400",
                imported_at=now,
            )
        )
        for n, kind in enumerate(("penalty", "hotline")):  # 30 + 18 + 6 ≥ 50
            conn.execute(
                m.signal.insert().values(
                    id=f"01JSIGNAL0000000000000000{n}",
                    credit_code=an_enterprise(1).credit_code,
                    kind=kind,
                    severity=3,
                    at=now,
                    source="test",
                    ref=str(n),
                    posted_by="test",
                    received_at=now,
                )
            )
    done = runner.invoke(cli, ["inspection", "refresh-warnings"])
    assert done.exit_code == 0, done.output
    (opened,) = json.loads(done.stdout)["warnings_opened"]
    with engine.connect() as conn:
        assert conn.execute(select(m.warning.c.id)).scalars().all() == [opened]
    engine.dispose()


def test_python_dash_m_knows_every_command() -> None:
    """``python -m evidence_service.cli`` runs the app after the last command is defined."""
    shown = subprocess.run(
        [sys.executable, "-m", "evidence_service.cli", "inspection", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for command in ("verify-draw", "refresh-warnings", "demo"):
        assert command in shown


def test_the_case_centres_penalties_become_signals(api: Api) -> None:
    """A penalty decision on an organisation ingested by the supervision module is told to
    joint inspection as a signal (through the API, after the batch's answer); a penalty on an
    enterprise outside the directory, on a person, or without a decision is not."""
    map_departments(api)
    write_directory(
        api, [Enterprise(ORG_ID, "杭州某餐饮有限公司", "杭州市西湖区", "餐饮", "small", "high")]
    )
    dept = supervision_department(api, DEPT_A)
    organisation = {"kind": "organisation", "identifier": ORG_ID}
    big = a_record(dept, "杭市监罚〔2026〕9号", party=organisation, decided_amount="200000")
    person = a_record(dept, "杭市监罚〔2026〕10号")  # a person's penalty
    undecided = a_record(
        dept, "杭市监罚〔2026〕11号", party=organisation, stages={"立案": "2026-01-05"}
    )
    outside = a_record(
        dept,
        "杭市监罚〔2026〕12号",
        party={"kind": "organisation", "identifier": an_enterprise(5).credit_code},
    )
    sent = api.client.post(
        RECORDS, json=[big, person, undecided, outside], headers=api.auth_as(DEPT_A, "officer")
    )
    assert sent.status_code == 201, sent.text
    record_id = sent.json()["ids"][0]
    detail = api.client.get(
        f"{API}/enterprises/{ORG_ID}", headers=api.auth_as(MARKET, "officer")
    ).json()
    assert [(s["kind"], s["severity"], s["source"], s["ref"]) for s in detail["signals"]] == [
        ("penalty", 3, "supervision", record_id)
    ]
    assert detail["signals"][0]["at"].startswith("2026-03-01T01:00:00")  # 09:00 in Shanghai
    assert counts(api)["inspection_signal"] == 1
    again = api.client.post(RECORDS, json=[big], headers=api.auth_as(DEPT_A, "officer"))
    assert again.status_code == 200
    assert counts(api)["inspection_signal"] == 1  # stored once per record
