"""Secrets from files (EVIDENCE_<NAME>_FILE), and the start-up refusal of a process on a shared
database that would generate its own key passphrase or PII secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic_settings import SettingsError

from evidence_service.core.config import FILE_SECRETS, Settings
from evidence_service.core.secrets import DataDirSecret, check_shared_secrets


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EVIDENCE_"):
            monkeypatch.delenv(name)


def secret_file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("name", FILE_SECRETS)
def test_each_secret_is_read_from_its_file(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = "0x" + "ab" * 32 if name == "chain_key" else f"{name}-value"
    # The trailing newline an editor or `echo` leaves is not part of the secret.
    monkeypatch.setenv(f"EVIDENCE_{name.upper()}_FILE", secret_file(tmp_path, name, value + "\n"))
    if name == "chain_key":
        monkeypatch.setenv("EVIDENCE_CHAIN_URL", "http://127.0.0.1:8545")
    secret = getattr(Settings(), name)
    assert secret is not None and secret.get_secret_value() == value
    assert value not in repr(Settings())


def test_a_keyword_argument_still_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_PII_SECRET_FILE", secret_file(tmp_path, "pii", "from-file"))
    settings = Settings(pii_secret="given")
    assert settings.pii_secret is not None and settings.pii_secret.get_secret_value() == "given"


def test_variable_and_file_together_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIDENCE_KEY_PASSPHRASE", "in-the-environment")
    monkeypatch.setenv("EVIDENCE_KEY_PASSPHRASE_FILE", secret_file(tmp_path, "k", "in-a-file"))
    with pytest.raises(SettingsError, match="set EVIDENCE_KEY_PASSPHRASE or EVIDENCE_KEY_PASS"):
        Settings()


def test_a_missing_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere" / "pii_secret"
    monkeypatch.setenv("EVIDENCE_PII_SECRET_FILE", str(missing))
    with pytest.raises(SettingsError, match=f"EVIDENCE_PII_SECRET_FILE={missing} cannot be read"):
        Settings()


def test_an_empty_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_MINIO_SECRET_KEY_FILE", secret_file(tmp_path, "m", " \n"))
    with pytest.raises(SettingsError, match="EVIDENCE_MINIO_SECRET_KEY_FILE=.* is empty"):
        Settings()


def test_shared_database_needs_shared_secrets(tmp_path: Path) -> None:
    generated = tmp_path / "keys.passphrase"
    candidates = [
        DataDirSecret("EVIDENCE_KEY_PASSPHRASE", False, generated),
        DataDirSecret("EVIDENCE_PII_SECRET", True, tmp_path / "pii.secret"),
    ]
    check = check_shared_secrets(candidates)
    assert len(check.refusals) == 1 and not check.warnings
    assert "EVIDENCE_KEY_PASSPHRASE_FILE" in check.refusals[0]
    generated.write_text("00" * 32)  # one this data dir already has: used, with a warning
    check = check_shared_secrets(candidates)
    assert not check.refusals and len(check.warnings) == 1
    assert str(generated) in check.warnings[0]


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENCE_")}
    return subprocess.run(
        [sys.executable, "-m", "evidence_service.cli", *args],
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serve_and_worker_refuse_to_generate_secrets_on_a_shared_database(
    tmp_path: Path,
) -> None:
    # A database URL nothing answers at: the refusal comes before any connection.
    env = {
        "EVIDENCE_DATA_DIR": str(tmp_path / "data"),
        "EVIDENCE_DB_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
    }
    for command in ("serve", "worker"):
        refused = run_cli(env, command)
        assert refused.returncode == 2, refused.stderr
        assert "EVIDENCE_KEY_PASSPHRASE is not set" in refused.stderr
        assert "EVIDENCE_PII_SECRET is not set" in refused.stderr
    assert not (tmp_path / "data" / "keys.passphrase").exists()
    assert not (tmp_path / "data" / "pii.secret").exists()


def test_a_missing_secret_file_stops_start_up(tmp_path: Path) -> None:
    env = {
        "EVIDENCE_DATA_DIR": str(tmp_path / "data"),
        "EVIDENCE_KEY_PASSPHRASE_FILE": str(tmp_path / "absent"),
    }
    stopped = run_cli(env, "worker")
    assert stopped.returncode == 2
    expected = f"EVIDENCE_KEY_PASSPHRASE_FILE={tmp_path / 'absent'} cannot be read"
    assert expected in stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert not (tmp_path / "data").exists()
