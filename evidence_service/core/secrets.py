"""Secrets generated once into the data dir for the embedded defaults (production sets them),
and the start-up check that replicas on a shared database do not each generate their own."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


def generated_secret(path: Path) -> str:
    """The hex secret in ``path``, created (32 random bytes, mode 0600, fsynced) if missing.

    Racing processes agree: the first link into place wins and everyone reads the winner's."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(f"{path}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


@dataclass(frozen=True)
class DataDirSecret:
    """A secret that defaults to a file generated into the data dir (``generated_secret``)."""

    variable: str  # e.g. EVIDENCE_KEY_PASSPHRASE
    configured: bool  # set through the variable or its _FILE
    path: Path  # the generated file it falls back to


@dataclass(frozen=True)
class SharedSecretCheck:
    refusals: list[str]
    warnings: list[str]


def check_shared_secrets(candidates: list[DataDirSecret]) -> SharedSecretCheck:
    """On a shared database (``EVIDENCE_DB_URL``) every replica must use the same secrets.

    A process that would *generate* one refuses to start: a replica with its own data dir would
    encrypt keys or hash identifiers with a secret no other replica knows. One already in the
    data dir is used, with a warning (it is shared only if every replica sees this data dir)."""
    refusals: list[str] = []
    warnings: list[str] = []
    for secret in candidates:
        if secret.configured:
            continue
        if secret.path.exists():
            warnings.append(
                f"{secret.variable} is not set: using {secret.path}; every replica must "
                f"read the same value (set {secret.variable} or {secret.variable}_FILE)"
            )
        else:
            refusals.append(
                f"{secret.variable} is not set and {secret.path} does not exist: on a shared "
                f"database each replica would generate its own; set {secret.variable} or "
                f"{secret.variable}_FILE to the same value on every replica"
            )
    return SharedSecretCheck(refusals, warnings)
