"""docker-compose.yml (no Docker engine here) must agree with Settings; README with CI."""

from __future__ import annotations

from pathlib import Path

import yaml

from evidence_service.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_compose_services_ports_and_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "minio", "api"} <= set(services)
    assert "5432:5432" in services["postgres"]["ports"]
    assert "9000:9000" in services["minio"]["ports"]
    assert "8000:8000" in services["api"]["ports"]
    env = services["api"]["environment"]
    fields = {f"EVIDENCE_{name.upper()}" for name in Settings.model_fields}
    unknown = set(env) - fields
    assert not unknown, f"compose sets variables Settings does not know: {unknown}"
    assert env["EVIDENCE_OBJECT_STORE"] == "minio"
    assert env["EVIDENCE_DB_URL"].startswith("postgresql+psycopg://")
    assert env["EVIDENCE_MINIO_ENDPOINT"].split(":")[0] == "minio"
    settings = Settings(**{k.removeprefix("EVIDENCE_").lower(): v for k, v in env.items()})
    assert settings.object_store == "minio" and settings.minio_secure is False
    assert (
        settings.minio_secret_key.get_secret_value()
        == services["minio"]["environment"]["MINIO_ROOT_PASSWORD"]
    )
    assert settings.minio_access_key == services["minio"]["environment"]["MINIO_ROOT_USER"]


def test_settings_defaults_are_embedded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"EVIDENCE_{name.upper()}", raising=False)
    settings = Settings()
    assert settings.data_dir == Path("evidence-data")
    assert settings.object_store == "local"
    assert settings.resolved_db_url.startswith("sqlite:///")
    assert settings.resolved_db_url.endswith("evidence-data/evidence.db")


def test_settings_read_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EVIDENCE_DB_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("EVIDENCE_MAX_UPLOAD_BYTES", "1234")
    settings = Settings()
    assert settings.resolved_db_url == "postgresql+psycopg://u@h/db"
    assert settings.max_upload_bytes == 1234


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/test" in readme and "exec ./scripts/test" in ci


def test_settings_survive_the_round_trip_through_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    original = Settings(
        db_url="postgresql+psycopg://u@h/db",
        object_store="minio",
        minio_secret_key="s3cret",
        minio_secure=True,
        max_upload_bytes=1234,
        workers=3,
    )
    for name, value in original.as_env().items():
        monkeypatch.setenv(name, value)
    again = Settings()
    assert again.model_dump() == original.model_dump()
    assert again.minio_secret_key.get_secret_value() == "s3cret"


def test_compose_runs_a_persistent_chain_a_deployment_and_one_worker() -> None:
    from eth_account import Account

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    geth = services["geth"]
    assert "--dev" in geth["command"] and "--datadir=/data" in geth["command"]
    assert "gethdata:/data" in geth["volumes"] and "gethdata" in compose["volumes"]
    assert services["chain-deploy"]["command"] == ["evidence", "chain", "deploy"]
    assert services["anchor-worker"]["command"] == ["evidence", "worker"]
    api_env, worker_env = services["api"]["environment"], services["anchor-worker"]["environment"]
    assert api_env == worker_env == services["chain-deploy"]["environment"]
    settings = Settings(**{k.removeprefix("EVIDENCE_").lower(): v for k, v in api_env.items()})
    assert settings.chain_url == "http://geth:8545" and settings.anchor_worker is False
    assert settings.chain_key is not None
    address = Account.from_key(settings.chain_key.get_secret_value()).address
    assert address in services["chain-fund"]["command"][0]  # the key compose funds is ours
    deps = services["anchor-worker"]["depends_on"]
    assert deps["chain-deploy"]["condition"] == "service_completed_successfully"
