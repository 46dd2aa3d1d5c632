"""Schema migrations: a database made by commit 1a5f9fb upgrades to head with every row, custody
chain, proof, evidence list and transfer intact (SQLite and PostgreSQL, from the committed
fixture); an empty database is created at head; the models and the migrations agree; a database
not at head is refused, naming ``evidence db upgrade``."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, text
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

from evidence_service.access.models import ApiToken, Department
from evidence_service.cli import app as cli
from evidence_service.core.config import Settings
from evidence_service.core.db import SchemaOutdatedError, create_schema, make_engine
from evidence_service.migrations import MIGRATIONS_DIR, head_revision
from evidence_service.migrations import commands as migration_commands
from evidence_service.migrations.commands import (
    revision_fingerprints,
    schema_state,
    upgrade_database,
)
from evidence_service.services import build_services
from evidence_service.verify.audit import chain_reader, load_pins
from evidence_service.verify.list_steps import ListDocument, list_verdict
from evidence_service.verify.proof import ProofDocument
from evidence_service.verify.proof_steps import Content, proof_verdict
from tests.fixtures.service import Api, running_api
from tests.service.anchoring_helpers import wait_anchored

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "legacy_1a5f9fb"
MANIFEST: dict[str, Any] = json.loads((FIXTURE / "manifest.json").read_text())
TTL_DAYS_AT_0003 = 30


def copy_data_dir(name: str, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE / name, data, ignore=shutil.ignore_patterns("postgres.sql"))
    return data


def restore_dump(postgres_url: str) -> None:
    """Load the fixture's plain pg_dump with psql (it uses psql's meta-commands)."""
    psql = shutil.which("psql") or sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))[-1]
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    dump = FIXTURE / "postgres" / "postgres.sql"
    subprocess.run(
        [str(psql), "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", str(dump)],
        check=True,
        capture_output=True,
    )


def row_counts(engine: Engine, tables: list[str]) -> dict[str, int]:
    tables_by_name = SQLModel.metadata.tables
    with Session(engine) as session:
        return {
            name: session.exec(select(func.count()).select_from(tables_by_name[name])).one()
            for name in tables
        }


def assert_upgraded_keeps_everything(engine: Engine, expected: dict[str, Any]) -> None:
    """Refused before; recognised as the baseline and brought to head; every row still there;
    old rows given the documented values for the new columns."""
    with pytest.raises(SchemaOutdatedError, match="run `evidence db upgrade`"):
        create_schema(engine)
    result = upgrade_database(engine)
    assert (result.from_revision, result.recognised, result.to_revision) == (
        None,
        "0001_baseline",
        head_revision(),
    )
    assert schema_state(engine).at_head
    create_schema(engine)  # now it opens
    counts = expected["row_counts"]
    assert row_counts(engine, sorted(counts)) == counts
    with Session(engine) as session:
        tokens = session.exec(select(ApiToken)).all()
        assert len(tokens) == counts["apitoken"]
        for token in tokens:
            assert token.issued_by is None
            if token.kind == "person":
                assert token.expires_at == token.created_at + timedelta(days=TTL_DAYS_AT_0003)
            else:
                assert token.expires_at is None
        departments = session.exec(select(Department)).all()
        assert [d.require_signed_captures for d in departments] == [True] * counts["department"]


def assert_service_reads_everything(api: Api, expected: dict[str, Any]) -> Path:
    """The current service on the upgraded data (its worker holding the fixture's chain):
    custody verifies to the old head, contents and proofs are as the old API gave them, the
    evidence list and each transfer read and verify, and a new capture is anchored on the
    same chain. Returns the service's trust bundle, saved as an auditor would."""
    auditor = api.auth("auditor")
    custody = api.client.get("/api/v1/custody/verify", params={"full": True}, headers=auditor)
    assert custody.status_code == 200, custody.text
    assert custody.json()["valid"] is True, custody.json()
    assert custody.json()["head"] == expected["custody_verify"]["head"]

    codes = {department_id: code for code, department_id in expected["departments"].items()}
    for evidence_id, old in expected["evidence"].items():
        capturer = api.auth_as(codes[old["proof"]["statement"]["department_id"]], "officer")
        content = api.client.get(f"/api/v1/evidence/{evidence_id}/content", headers=capturer)
        assert content.status_code == 200, content.text
        assert hashlib.sha256(content.content).hexdigest() == old["sha256"]
        now = api.client.get(f"/api/v1/evidence/{evidence_id}/proof", headers=auditor).json()
        for part in ("statement", "merkle", "anchor"):
            assert now[part] == old["proof"][part], (evidence_id, part)

    issued = expected["evidence_list"]
    served = api.client.get(f"/api/v1/evidence-lists/{issued['id']}", headers=auditor).json()
    assert (served["digest"], served["body"], served["anchor"]) == (
        issued["digest"],
        issued["body"],
        issued["anchor"],
    )
    for outcome, old in expected["transfers"].items():
        now = api.client.get(f"/api/v1/transfers/{old['id']}", headers=api.auth("reviewer")).json()
        assert (now["status"], now["manifest_digest"]) == (outcome, old["manifest_digest"])
        check = api.client.get(f"/api/v1/transfers/verify/{old['manifest_digest']}")
        assert check.status_code == 200, check.text
        assert check.json()["verdict"]["valid"] is True, check.json()["verdict"]
        assert check.json()["manifest_anchor"] == old["manifest_anchor"]
        if outcome == "accepted":
            assert check.json()["receipt"]["digest"] == old["receipt_digest"]
            assert check.json()["receipt"]["anchor"] == old["receipt"]["anchor"]

    new = api.client.post(
        "/api/v1/evidence",
        data={"port": "electronic", "metadata": json.dumps({"title": "升级后"})},
        files={"file": ("after.csv", b"time,celsius\n1,-18\n", "text/csv")},
        headers=api.auth(),
    )
    assert new.status_code == 201, new.text
    proof = wait_anchored(api, new.json()["id"])
    assert proof["anchor"]["contract"] == old_contract(expected)
    assert proof["anchor"]["batch_id"] > max(
        old["proof"]["anchor"]["batch_id"] for old in expected["evidence"].values()
    )
    custody = api.client.get("/api/v1/custody/verify", params={"full": True}, headers=auditor)
    assert custody.json()["valid"] is True, custody.json()
    assert custody.json()["events"] > expected["custody_verify"]["events"]

    trust = api.client.get("/api/v1/trust")
    assert trust.status_code == 200, trust.text
    path = api.services.settings.data_dir.parent / "trust.json"
    path.write_bytes(trust.content)
    return path


def old_contract(expected: dict[str, Any]) -> str:
    (contract,) = {old["proof"]["anchor"]["contract"] for old in expected["evidence"].values()}
    return contract


def assert_old_exports_verify(data_dir: Path, trust: Path, expected: dict[str, Any]) -> None:
    """Every proof and the evidence list the old API exported verify with today's verifier,
    offline, against the fixture's own chain directory (the service stopped)."""
    pins = load_pins(trust, None, None)
    assert pins.contracts == {old_contract(expected)}
    with chain_reader(None, data_dir, 10.0) as w3:
        for evidence_id, old in expected["evidence"].items():
            verdict = proof_verdict(
                ProofDocument.from_json(json.dumps(old["proof"]).encode()),
                Content(old["sha256"]),
                w3=w3,
                pins=pins,
            )
            assert verdict.valid, (evidence_id, verdict.failure)
        document = ListDocument.from_json(json.dumps(expected["evidence_list"]).encode())
        verdict = list_verdict(document, w3=w3, pins=pins)
        assert verdict.valid, verdict.failure


@pytest.fixture
def sqlite_upgraded(tmp_path: Path) -> Iterator[tuple[Path, Engine]]:
    data = copy_data_dir("sqlite", tmp_path)
    engine = make_engine(f"sqlite:///{data / 'evidence.db'}")
    yield data, engine
    engine.dispose()


def test_a_1a5f9fb_sqlite_database_upgrades_and_everything_verifies(
    sqlite_upgraded: tuple[Path, Engine],
) -> None:
    data, engine = sqlite_upgraded
    expected = MANIFEST["sqlite"]
    assert_upgraded_keeps_everything(engine, expected)
    services = build_services(Settings(data_dir=data, anchor_interval=0.3))
    try:
        with running_api(services, "sqlite-local") as api:
            trust = assert_service_reads_everything(api, expected)
    finally:
        services.close()
    assert_old_exports_verify(data, trust, expected)


def test_a_1a5f9fb_pg_dump_upgrades_and_everything_verifies(
    tmp_path: Path, postgres_url: str
) -> None:
    restore_dump(postgres_url)
    data = copy_data_dir("postgres", tmp_path)
    engine = make_engine(postgres_url)
    expected = MANIFEST["postgres"]
    try:
        assert_upgraded_keeps_everything(engine, expected)
    finally:
        engine.dispose()
    services = build_services(Settings(data_dir=data, db_url=postgres_url, anchor_interval=0.3))
    try:
        with running_api(services, "postgres-local") as api:
            trust = assert_service_reads_everything(api, expected)
    finally:
        services.close()
    assert_old_exports_verify(data, trust, expected)


def _pending_diff(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_migrations_build_exactly_the_models(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Upgraded from empty by the migrations: autogenerate finds nothing left to write; and
    create_schema's shortcut (create_all, stamp head) finds the same."""
    urls = (
        [f"sqlite:///{tmp_path / 'migrated.db'}", f"sqlite:///{tmp_path / 'created.db'}"]
        if dialect == "sqlite"
        else [request.getfixturevalue("postgres_url") for _ in range(2)]
    )
    if dialect == "postgresql":  # the fixture gives one database per test: make a second
        base, name = urls[0].rsplit("/", 1)
        admin = make_engine(f"{base}/postgres").execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}_created"'))
        urls[1] = f"{base}/{name}_created"
    migrated, created = make_engine(urls[0]), make_engine(urls[1])
    try:
        result = upgrade_database(migrated)
        assert result.empty and result.to_revision == head_revision()
        assert _pending_diff(migrated) == []
        create_schema(created)
        assert schema_state(created).at_head
        assert _pending_diff(created) == []
    finally:
        migrated.dispose()
        created.dispose()
        if dialect == "postgresql":
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_created" WITH (FORCE)'))
            admin.dispose()


def test_an_empty_database_is_created_at_head_and_opens_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        create_schema(engine)
        with engine.connect() as conn:
            stamped = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert stamped == [head_revision()]
        create_schema(engine)  # at head: opens again and again
    finally:
        engine.dispose()


def test_a_database_behind_head_is_refused_naming_the_command(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'behind.db'}")
    try:
        create_schema(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0002_house'"))
        with pytest.raises(
            SchemaOutdatedError, match=r"revision 0002_house .* run `evidence db upgrade`"
        ):
            create_schema(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        with pytest.raises(SchemaOutdatedError, match="9999_future, which this version"):
            create_schema(engine)
        with pytest.raises(SchemaOutdatedError, match="9999_future"):
            upgrade_database(engine)
    finally:
        engine.dispose()


def test_tables_matching_no_revision_are_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    shutil.copy(FIXTURE / "sqlite" / "evidence.db", path)
    engine = make_engine(f"sqlite:///{path}")
    schema = text("SELECT type, name, sql FROM sqlite_master ORDER BY name")
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE evidence DROP COLUMN disposed_at"))
            before = conn.execute(schema).all()
        with pytest.raises(SchemaOutdatedError, match=r"lacks evidence\.disposed_at"):
            upgrade_database(engine)
        with engine.connect() as conn:
            assert conn.execute(schema).all() == before  # no table made, none changed
    finally:
        engine.dispose()


def test_each_revision_leaves_a_distinct_schema_but_the_house_move() -> None:
    """The fingerprints the upgrade recognises an unversioned database by."""
    fingerprints = dict(revision_fingerprints())
    assert list(fingerprints)[:3] == ["0001_baseline", "0002_house", "0003_hardening"]
    assert fingerprints["0001_baseline"] == fingerprints["0002_house"]
    assert set(fingerprints["0003_hardening"]) - set(fingerprints["0002_house"]) == {
        "enrolmentcode",
        "cosignaturerequest",
        "cosignatureanswer",
        "retireddepartmentca",
    }


def test_the_db_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = copy_data_dir("sqlite", tmp_path)
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(data))
    monkeypatch.delenv("EVIDENCE_DB_URL", raising=False)
    runner = CliRunner()
    current = runner.invoke(cli, ["db", "current"])
    assert current.exit_code == 1
    assert current.stdout.endswith(  # after the supervision module's own chain's line
        f"none (not head: run `evidence db upgrade` to {head_revision()})\n"
    )
    upgraded = runner.invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout.endswith(
        f"no revision, recognised as 0001_baseline -> {head_revision()}\n"
    )
    current = runner.invoke(cli, ["db", "current"])
    assert current.exit_code == 0
    assert current.stdout.endswith(f"\n{head_revision()} (head)\n")
    again = runner.invoke(cli, ["db", "upgrade"])
    assert again.stdout.endswith(f"{head_revision()} -> {head_revision()}\n")


def test_serve_refuses_an_old_database_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = copy_data_dir("sqlite", tmp_path)
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(data))
    monkeypatch.delenv("EVIDENCE_DB_URL", raising=False)
    started: list[Any] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **kw: started.append(a))
    result = CliRunner().invoke(cli, ["serve", "--port", "8999"])
    assert result.exit_code == 2
    assert "evidence db upgrade" in " ".join(result.stderr.split())
    assert started == []


def test_db_revision_writes_what_the_models_add(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into a copy of the migrations (the real versions/ stays as it is): refused on a database
    not at head; at head with the models unchanged, an empty revision chained on head."""
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migration_commands, "MIGRATIONS_DIR", copy)
    monkeypatch.setenv("EVIDENCE_DATA_DIR", str(tmp_path / "scratch"))
    monkeypatch.delenv("EVIDENCE_DB_URL", raising=False)
    runner = CliRunner()
    refused = runner.invoke(cli, ["db", "revision", "add a column", "--rev-id", "0099_probe"])
    assert refused.exit_code == 2
    assert "run `evidence db upgrade` on it first" in " ".join(refused.stderr.split())
    assert not (copy / "versions" / "0099_probe.py").exists()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    written = runner.invoke(cli, ["db", "revision", "add a column", "--rev-id", "0099_probe"])
    assert written.exit_code == 0, written.output
    script = (copy / "versions" / "0099_probe.py").read_text()
    assert f"down_revision: str | None = '{head_revision()}'" in script
    assert "def upgrade() -> None:\n    # ### commands auto generated by Alembic" in script
    assert "op." not in script.split("def upgrade")[1]  # the models add nothing today
