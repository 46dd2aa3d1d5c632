"""docker-compose.yml (no Docker engine here) must agree with Settings; README with CI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidence_service.core.config import FILE_SECRETS, Settings

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def compose_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings as a container would build them: the compose environment, with each
    /run/secrets/<name> read from the compose secret's file."""
    secrets = compose()["secrets"]
    for name in list(os.environ):
        if name.startswith("EVIDENCE_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.endswith("_FILE") and value.startswith("/run/secrets/"):
            value = str(ROOT / secrets[value.removeprefix("/run/secrets/")]["file"])
        monkeypatch.setenv(name, value)
    return Settings()


def test_compose_services_ports_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    services = compose()["services"]
    assert {"postgres", "minio", "api-1", "api-2"} <= set(services)
    assert "5432:5432" in services["postgres"]["ports"]
    assert "9000:9000" in services["minio"]["ports"]
    assert services["api-1"]["ports"] == ["8001:8000"]
    assert services["api-2"]["ports"] == ["8002:8000"]
    env = services["api-1"]["environment"]
    fields = {f"EVIDENCE_{name.upper()}" for name in Settings.model_fields}
    files = {f"EVIDENCE_{name.upper()}_FILE" for name in FILE_SECRETS}
    unknown = set(env) - fields - files
    assert not unknown, f"compose sets variables Settings does not know: {unknown}"
    assert env["EVIDENCE_OBJECT_STORE"] == "minio"
    assert env["EVIDENCE_DB_URL"].startswith("postgresql+psycopg://")
    assert env["EVIDENCE_MINIO_ENDPOINT"].split(":")[0] == "minio"
    settings = compose_settings(env, monkeypatch)
    assert settings.object_store == "minio" and settings.minio_secure is False
    minio = services["minio"]
    assert minio["secrets"] == [minio["environment"]["MINIO_ROOT_PASSWORD_FILE"]]
    minio_password = (ROOT / compose()["secrets"]["minio_secret_key"]["file"]).read_text()
    assert settings.minio_secret_key.get_secret_value() == minio_password.strip()
    assert settings.minio_access_key == minio["environment"]["MINIO_ROOT_USER"]
    assert settings.rate_limit_storage.startswith("redis://redis:")  # shared by the replicas


def test_compose_runs_two_replicas_and_two_workers_on_file_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = compose()
    services = document["services"]
    replicas = [services["api-1"], services["api-2"]]
    workers = [services["worker-1"], services["worker-2"]]
    for replica in replicas:
        assert replica["command"][:2] == ["evidence", "serve"]
    for worker in workers:
        assert worker["command"] == ["evidence", "worker"]
    for service in (*replicas, *workers, services["chain-deploy"]):
        env = service["environment"]
        assert env["EVIDENCE_ANCHOR_WORKER"] == "false"  # anchoring only in the workers
        assert "volumes" not in service  # nothing shared through a data volume
        for name in FILE_SECRETS:  # each secret a file, none in the environment
            variable = f"EVIDENCE_{name.upper()}"
            assert variable not in env
            assert env[f"{variable}_FILE"] == f"/run/secrets/{name}"
            assert name in service["secrets"]
    for name in FILE_SECRETS:
        path = ROOT / document["secrets"][name]["file"]
        assert path.read_text().strip(), f"{path} is empty"
    settings = compose_settings(services["api-2"]["environment"], monkeypatch)
    assert settings.key_passphrase is not None and settings.pii_secret is not None
    assert len(bytes.fromhex(settings.pii_secret.get_secret_value())) == 32


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


def test_compose_runs_a_persistent_chain_and_a_deployment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from eth_account import Account

    document = compose()
    services = document["services"]
    geth = services["geth"]
    assert "--dev" in geth["command"] and "--datadir=/data" in geth["command"]
    assert "gethdata:/data" in geth["volumes"] and "gethdata" in document["volumes"]
    assert services["chain-deploy"]["command"] == ["evidence", "chain", "deploy"]
    envs = [services[name]["environment"] for name in ("api-1", "api-2", "worker-1", "worker-2")]
    assert all(env == services["chain-deploy"]["environment"] for env in envs)
    settings = compose_settings(envs[0], monkeypatch)
    assert settings.chain_url == "http://geth:8545" and settings.anchor_worker is False
    assert settings.chain_key is not None
    address = Account.from_key(settings.chain_key.get_secret_value()).address
    assert address in services["chain-fund"]["command"][0]  # the key compose funds is ours
    for worker in ("worker-1", "worker-2"):
        deps = services[worker]["depends_on"]
        assert deps["chain-deploy"]["condition"] == "service_completed_successfully"


def test_compose_upgrades_the_schema_before_anything_else_starts() -> None:
    services = compose()["services"]
    upgrade = services["db-upgrade"]
    assert upgrade["command"] == ["evidence", "db", "upgrade"]
    assert upgrade["environment"] == services["api-1"]["environment"]
    assert upgrade["depends_on"]["postgres"]["condition"] == "service_healthy"
    deploy = services["chain-deploy"]["depends_on"]
    assert deploy["db-upgrade"]["condition"] == "service_completed_successfully"
    for name in ("api-1", "api-2", "worker-1", "worker-2"):  # all wait for the deployment
        deps = services[name]["depends_on"]
        assert deps["chain-deploy"]["condition"] == "service_completed_successfully"
    probe = services["api-2"]["healthcheck"]["test"]
    assert any("/healthz" in part for part in probe)
