"""Secrets generated once into the data dir for the embedded defaults (production sets them)."""

from __future__ import annotations

import os
import secrets
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
