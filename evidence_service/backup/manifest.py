"""The backup manifest (``manifest.json``, format ``evidence-backup/1``): what a backup holds.

Pure: encode and parse, no I/O. Parsing checks shape and invariants (every path a safe relative
path, every digest 64 hex digits, no path twice), so a restore can trust what it read before it
touches a single file. The manifest is written last: a backup directory without one is not a
backup.

Layout of a backup directory (every path relative to it)::

    manifest.json                 this document
    database/evidence.sqlite3     SQLite: a consistent online copy (sqlite3 backup API)
    database/evidence.pgdump      PostgreSQL: pg_dump custom format
    chain/chain.sqlite3           the embedded chain's store (absent with a JSON-RPC chain)
    objects/<key>                 every stored object; its retention and legal hold are here
    secrets/<name>                key passphrase, PII secret, demo-token key, anchoring key (0600)
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from evidence_service.backup.errors import BackupCorruptError
from storage.errors import InvalidKeyError
from storage.keys import validate_key

FORMAT = "evidence-backup/1"
MANIFEST_NAME = "manifest.json"
OBJECTS_DIR = "objects"
SECRETS_DIR = "secrets"
SQLITE_FILE = "database/evidence.sqlite3"
PGDUMP_FILE = "database/evidence.pgdump"
CHAIN_FILE = "chain/chain.sqlite3"

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class BackupFile:
    """One file of the backup; objects also carry the lock state they had in the store."""

    path: str
    size: int
    sha256: str
    retain_until: datetime | None = None  # objects only: COMPLIANCE retention, aware UTC
    legal_hold: bool = False

    @property
    def object_key(self) -> str | None:
        """The store key this file restores to, or None if it is not an object."""
        prefix = OBJECTS_DIR + "/"
        return self.path.removeprefix(prefix) if self.path.startswith(prefix) else None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "size": self.size, "sha256": self.sha256}
        if self.object_key is not None:
            out["retain_until"] = (
                None if self.retain_until is None else self.retain_until.isoformat()
            )
            out["legal_hold"] = self.legal_hold
        return out


@dataclass(frozen=True)
class DatabasePart:
    dialect: Literal["sqlite", "postgresql"]
    file: str
    alembic_revision: str | None = None
    pg_dump_version: str | None = None  # "15.20"; pg_restore must be at least this major


@dataclass(frozen=True)
class ChainPart:
    """The embedded chain is in the backup; a JSON-RPC chain is only named (not ours to copy)."""

    mode: Literal["embedded", "json-rpc"]
    file: str | None = None  # the embedded store; None if the chain was never opened
    chain_id: int | None = None
    contract: str | None = None
    node_url: str | None = None  # without user info or query


@dataclass(frozen=True)
class BackupManifest:
    created_at: datetime
    service_version: str
    source: dict[str, Any]  # a summary of the settings, never a secret
    database: DatabasePart
    chain: ChainPart
    secrets_included: bool
    files: tuple[BackupFile, ...] = field(default_factory=tuple)

    @property
    def objects(self) -> tuple[BackupFile, ...]:
        return tuple(f for f in self.files if f.object_key is not None)

    @property
    def secret_files(self) -> tuple[BackupFile, ...]:
        return tuple(f for f in self.files if f.path.startswith(SECRETS_DIR + "/"))

    def to_json(self) -> bytes:
        document = {
            "format": FORMAT,
            "created_at": self.created_at.isoformat(),
            "service_version": self.service_version,
            "source": self.source,
            "database": asdict(self.database),
            "chain": asdict(self.chain),
            "secrets_included": self.secrets_included,
            "objects": {
                "count": len(self.objects),
                "bytes": sum(f.size for f in self.objects),
            },
            "files": [f.as_json() for f in self.files],
        }
        return json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> BackupManifest:
        """Parse, then check; anything unexpected is a ``BackupCorruptError`` naming it."""
        try:
            document = json.loads(raw)
            if not isinstance(document, dict):
                raise TypeError("not a JSON object")
            if document.get("format") != FORMAT:
                raise ValueError(f"format is {document.get('format')!r}, not {FORMAT!r}")
            database = DatabasePart(**document["database"])
            chain = ChainPart(**document["chain"])
            files = tuple(_parse_file(entry) for entry in document["files"])
            manifest = cls(
                created_at=_aware(document["created_at"]),
                service_version=str(document["service_version"]),
                source=dict(document["source"]),
                database=database,
                chain=chain,
                secrets_included=bool(document["secrets_included"]),
                files=files,
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise BackupCorruptError(f"{MANIFEST_NAME} is not a backup manifest: {exc}") from exc
        manifest._check()
        return manifest

    def _check(self) -> None:
        paths = [f.path for f in self.files]
        if len(set(paths)) != len(paths):
            raise BackupCorruptError(f"{MANIFEST_NAME} lists a file twice")
        if self.database.dialect not in ("sqlite", "postgresql"):
            raise BackupCorruptError(f"unknown database dialect {self.database.dialect!r}")
        if self.chain.mode not in ("embedded", "json-rpc"):
            raise BackupCorruptError(f"unknown chain mode {self.chain.mode!r}")
        for part in (self.database.file, self.chain.file):
            if part is not None and part not in paths:
                raise BackupCorruptError(f"{MANIFEST_NAME} names {part} but does not list it")


def _parse_file(entry: Any) -> BackupFile:
    path, size, sha256 = entry["path"], entry["size"], entry["sha256"]
    if not isinstance(path, str) or MANIFEST_NAME == path:
        raise ValueError(f"bad path {path!r}")
    try:
        validate_key(path)  # relative, no '..', no hidden segment: it stays inside the backup
    except InvalidKeyError as exc:
        raise ValueError(f"unsafe path {path!r}: {exc}") from exc
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError(f"{path}: bad size {size!r}")
    if not isinstance(sha256, str) or not _HEX64.match(sha256):
        raise ValueError(f"{path}: bad sha256 {sha256!r}")
    until = entry.get("retain_until")
    hold = entry.get("legal_hold", False)
    if not isinstance(hold, bool):
        raise ValueError(f"{path}: bad legal_hold {hold!r}")
    return BackupFile(path, size, sha256, None if until is None else _aware(until), hold)


def _aware(text: Any) -> datetime:
    moment = datetime.fromisoformat(str(text))
    if moment.tzinfo is None:
        raise ValueError(f"naive time {text!r}")
    return moment
