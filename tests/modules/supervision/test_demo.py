"""``evidence supervision demo``: realistic records, the same for the same seed, a share with
planted problems, written through the module's ingest (a second run updates, adds nothing)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from evidence_service.cli import app as cli
from evidence_service.modules.kit.db import make_engine
from evidence_service.modules.supervision import demo, schema
from evidence_service.modules.supervision.models import record
from evidence_service.modules.supervision.records import validate_rows
from tests.fixtures.service import Api


def test_the_same_seed_gives_the_same_records_and_clean_ones_are_lawful() -> None:
    rows, planted = demo.generate(3000, seed=11)
    again, planted_again = demo.generate(3000, seed=11)
    other, _ = demo.generate(3000, seed=12)
    assert (rows, planted) == (again, planted_again) and rows != other
    validate_rows(rows)  # every generated record is a valid upload
    codes = Counter(code for p in planted if p for code in p)
    assert set(codes) == set(demo.PLANTED) and 30 <= sum(codes.values()) <= 100
    assert len({r["city"] for r in rows}) == 11 and len({r["department_id"] for r in rows}) == 40
    for row, codes_of in zip(rows, planted, strict=True):
        if codes_of or row["kind"] != "penalty":
            continue
        stages = {k: date.fromisoformat(v) for k, v in row["stages"].items() if v}
        assert (stages["decision"] - stages["filing"]).days <= 90
        assert (stages["service"] - stages["decision"]).days <= 7
        assert "notice" in stages and stages["notice"] < stages["decision"]
        assert len(row["officers"]) >= 2
        assert row["decided_amount"] == row["notified_amount"]
        if float(row["decided_amount"]) >= demo.MAJOR_FEN / 100:
            assert "legal_review" in stages


def test_the_demo_command_loads_ten_thousand_records_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EVIDENCE_DB_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["demo"]).exit_code == 0  # the core's demo departments
    first = runner.invoke(cli, ["supervision", "demo", "--cases", "10000", "--seed", "5"])
    assert first.exit_code == 0, first.output
    made = json.loads(first.stdout)
    assert (made["created"], made["updated"], made["departments"]) == (10000, 0, 40)
    assert made["seconds"] > 0  # how long is the user's to read, not a test's to judge
    second = runner.invoke(cli, ["supervision", "demo", "--cases", "10000", "--seed", "5"])
    assert (
        json.loads(second.stdout)["updated"] == 10000 and json.loads(second.stdout)["created"] == 0
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'evidence.db'}")
    try:
        schema.ensure_schema(engine)
        with engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(record)).scalar_one()
            planted = conn.execute(
                select(func.count()).select_from(record).where(record.c.planted.is_not(None))
            ).scalar_one()
            cities = conn.execute(select(func.count(func.distinct(record.c.city)))).scalar_one()
    finally:
        engine.dispose()
    assert (total, planted, cities) == (10000, made["planted"], 11)


def test_serve_demo_gives_the_demo_auditor_clues_of_every_record_model(api: Api) -> None:
    """What ``evidence serve --demo`` loads: records for the core's own departments and
    synthetic ones, then a full run, so the demo auditor opens the clue centre to clues."""
    from evidence_service.cli import DEMO_SUPERVISION_CASES, load_supervision_demo
    from evidence_service.modules.supervision.clues import record_models

    services = api.services
    loaded, departments = load_supervision_demo(
        services.settings, services, cases=DEMO_SUPERVISION_CASES, planted=0.1, run_models=True
    )
    assert loaded.created == DEMO_SUPERVISION_CASES and departments == 40
    seen: set[str] = set()
    cursor = None
    while True:
        page = api.client.get(
            "/api/v1/supervision/clues",
            params={"limit": 200, **({"cursor": cursor} if cursor else {})},
            headers=api.auth("auditor"),
        )
        assert page.status_code == 200, page.text
        seen |= {c["model"] for c in page.json()["items"]}
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert {m.code for m in record_models.MODELS} <= seen
    again, _ = load_supervision_demo(
        services.settings, services, cases=DEMO_SUPERVISION_CASES, planted=0.1, run_models=True
    )
    assert (again.created, again.updated) == (0, DEMO_SUPERVISION_CASES)  # a restart adds nothing
