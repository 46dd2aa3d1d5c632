"""The secrets of a backup: what the data dir needs to use what the database holds.

- the key passphrase (CA, seal and custodial officer keys are encrypted with it),
- the PII secret (party identifiers are HMAC digests under it),
- the demo-token key (demo tokens are derived from it),
- the embedded chain's anchoring key (only it can anchor into the registry; a restored chain
  without it cannot anchor again).

Each comes from its setting (``EVIDENCE_KEY_PASSPHRASE``, ``EVIDENCE_PII_SECRET``) or from the
file the service generated in the data dir, and is backed up in that file's format, so a
restored data dir works with or without the settings. A restore writes a secret file (mode 0600)
only where the restoring settings do not already provide that secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from chain.embedded import KEY_FILE as ANCHOR_KEY_FILE
from evidence_service.access.pki import PASSPHRASE_FILE
from evidence_service.backup.errors import BackupError
from evidence_service.cases.pii import SECRET_FILE as PII_SECRET_FILE
from evidence_service.core.config import Settings

DEMO_TOKEN_FILE = "demo-token.key"

Origin = Literal["setting", "file", "absent"]


@dataclass(frozen=True)
class Secret:
    name: str  # the file name under secrets/ in the backup
    data_dir_path: str  # where it goes in the data dir, relative
    setting: str | None  # the EVIDENCE_ variable that can provide it instead
    origin: Origin
    value: bytes | None  # None when absent


def secret_files(settings: Settings) -> list[Secret]:
    """Every secret the service at ``settings`` uses, with where it came from."""
    passphrase = settings.key_passphrase
    if (
        passphrase is not None
        and passphrase.get_secret_value() != passphrase.get_secret_value().strip()
    ):
        raise BackupError(
            "EVIDENCE_KEY_PASSPHRASE has surrounding white space, which its file form cannot "
            "keep: back up with --without-secrets and keep the passphrase in your secret store"
        )
    pii = settings.pii_secret
    found = [
        _secret(settings, PASSPHRASE_FILE, PASSPHRASE_FILE, "EVIDENCE_KEY_PASSPHRASE",
                None if passphrase is None else passphrase.get_secret_value().encode()),
        _secret(settings, PII_SECRET_FILE, PII_SECRET_FILE, "EVIDENCE_PII_SECRET",
                None if pii is None else pii.get_secret_value().encode().hex().encode()),
        _secret(settings, DEMO_TOKEN_FILE, DEMO_TOKEN_FILE, None, None),
    ]  # fmt: skip
    if not settings.chain_url:
        chain_key = (
            f"{settings.chain_dir.relative_to(settings.data_dir).as_posix()}/{ANCHOR_KEY_FILE}"
        )
        found.append(_secret(settings, ANCHOR_KEY_FILE, chain_key, None, None))
    return found


def _secret(
    settings: Settings, name: str, relative: str, setting: str | None, configured: bytes | None
) -> Secret:
    if configured is not None:
        return Secret(name, relative, setting, "setting", configured)
    path = settings.data_dir / relative
    try:
        return Secret(name, relative, setting, "file", path.read_bytes())
    except FileNotFoundError:
        return Secret(name, relative, setting, "absent", None)


def provided_by_settings(settings: Settings) -> set[str]:
    """The secrets (by name) the restoring settings provide themselves."""
    provided = set()
    if settings.key_passphrase is not None:
        provided.add(PASSPHRASE_FILE)
    if settings.pii_secret is not None:
        provided.add(PII_SECRET_FILE)
    return provided


def data_dir_path(settings: Settings, name: str) -> Path:
    """Where the secret ``name`` of a backup goes in the data dir of ``settings``."""
    if name == ANCHOR_KEY_FILE:
        return settings.chain_dir / ANCHOR_KEY_FILE
    if name in (PASSPHRASE_FILE, PII_SECRET_FILE, DEMO_TOKEN_FILE):
        return settings.data_dir / name
    raise BackupError(f"unknown secret {name!r} in the backup")
