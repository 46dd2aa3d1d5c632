"""The module's own Alembic chain: ``evidence db upgrade`` / ``db current`` run it beside the
core's, and an outdated module schema stops the app and ``evidence serve`` naming ``evidence db
upgrade`` (that each chain builds exactly its models is tests/modules/test_schemas.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from evidence_service.app import MODULE_SCHEMAS, create_app
from evidence_service.cli import app as cli
from evidence_service.core.config import Settings
from evidence_service.modules.kit.db import make_engine
from evidence_service.modules.supervision import schema
from evidence_service.modules.supervision.models import metadata
from evidence_service.services import build_services

HEAD = schema.head_revision()
INSPECTION = next(s for s in MODULE_SCHEMAS if s.name == "inspection")


def test_an_outdated_module_schema_stops_the_app_and_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "data", anchor_worker=False)
    services = build_services(settings)
    try:
        create_app(services=services)  # an empty module schema is made at head
        engine = make_engine(settings.resolved_db_url)
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE {schema.VERSION_TABLE} SET version_num = 's0000_older'"))
        with pytest.raises(schema.SupervisionSchemaError, match="run `evidence db upgrade`"):
            create_app(services=services)
        monkeypatch.setenv("EVIDENCE_DATA_DIR", str(settings.data_dir))
        monkeypatch.delenv("EVIDENCE_DB_URL", raising=False)
        started: list[Any] = []
        monkeypatch.setattr("uvicorn.run", lambda *a, **kw: started.append(a))
        served = CliRunner().invoke(cli, ["serve", "--port", "8999"])
        assert served.exit_code == 2 and started == []
        assert "evidence db upgrade" in " ".join(served.stderr.split())
        with engine.begin() as conn:  # tables without a revision: refused too, untouched
            conn.execute(text(f"DROP TABLE {schema.VERSION_TABLE}"))
        with pytest.raises(schema.SupervisionSchemaError, match="evidence db upgrade"):
            create_app(services=services)
        with pytest.raises(schema.SupervisionSchemaError, match="left untouched"):
            schema.upgrade_schema(engine)
        engine.dispose()
    finally:
        services.close()


def test_db_upgrade_and_current_run_the_modules_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EVIDENCE_DB_URL", raising=False)
    runner = CliRunner()
    before = runner.invoke(cli, ["db", "current"])
    assert before.exit_code == 1
    assert before.stdout.startswith(
        f"supervision module: none (not head: run `evidence db upgrade` to {HEAD})\n"
    )
    upgraded = runner.invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"supervision module: no revision -> {HEAD}\n" in upgraded.stdout
    assert f"inspection module: no revision -> {INSPECTION.head()}\n" in upgraded.stdout
    after = runner.invoke(cli, ["db", "current"])
    assert after.exit_code == 0 and after.stdout.startswith(f"supervision module: {HEAD} (head)\n")
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'evidence.db'}")
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {t.name for t in metadata.sorted_tables} <= tables
    again = runner.invoke(cli, ["db", "upgrade"])
    assert f"supervision module: {HEAD} -> {HEAD}\n" in again.stdout
