"""``evidence backup DIR``: a consistent copy of a running service's state, online.

Order, and why the parts agree with each other without stopping anything:
1. the database, one snapshot (sqlite3 backup API, or ``pg_dump``'s transaction);
2. the embedded chain's store, one snapshot taken *after* the database's: every anchor the
   database records was mined before it was recorded, so it is in the chain copy. The chain may
   hold a few anchors more (mined after the database snapshot); after a restore the worker finds
   such a root on the chain and records it instead of anchoring it again (``anchor_batch``);
3. the objects, listed after the database snapshot: an object is stored before its row is
   written, so every row of the snapshot has its object (a few newer objects ride along);
4. the secrets (unless ``include_secrets`` is false), then ``manifest.json`` listing every
   file with its size and SHA-256.

Everything is written into a hidden sibling directory, fsynced, and renamed to ``DIR`` only when
complete: a directory named ``DIR`` with a ``manifest.json`` is a finished backup.
"""

from __future__ import annotations

import os
import secrets as random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from chain.embedded import CHAIN_ID, DB_FILE
from evidence_service.anchoring.chain_link import current_deployment
from evidence_service.backup import database
from evidence_service.backup.errors import BackupError
from evidence_service.backup.files import (
    SECRET_MODE,
    describe,
    fsync_dir,
    fsync_dirs,
    write_file,
)
from evidence_service.backup.manifest import (
    CHAIN_FILE,
    MANIFEST_NAME,
    PGDUMP_FILE,
    SECRETS_DIR,
    SQLITE_FILE,
    BackupFile,
    BackupManifest,
    ChainPart,
    DatabasePart,
)
from evidence_service.backup.objects import copy_objects_out
from evidence_service.backup.secrets import secret_files
from evidence_service.core.clock import Clock, utcnow
from evidence_service.core.config import Settings
from evidence_service.core.db import make_engine
from storage.base import ObjectStore


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: BackupManifest
    vanished_objects: int  # temporary objects gone between listing and reading


def make_backup(
    settings: Settings,
    target: Path,
    *,
    store: ObjectStore,
    include_secrets: bool = True,
    clock: Clock = utcnow,
    service_version: str = "unknown",
) -> BackupResult:
    """Back up the service at ``settings`` into the new directory ``target``."""
    target = target.absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} already exists and is not an empty directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{random.token_hex(4)}"
    staging.mkdir(mode=0o700)
    try:
        db_part, chain_part, files = _database_and_chain(settings, staging)
        objects, vanished = copy_objects_out(store, staging)
        files += objects
        found = secret_files(settings)
        if include_secrets:
            files += [
                write_file(staging, f"{SECRETS_DIR}/{s.name}", [s.value], mode=SECRET_MODE)
                for s in found
                if s.value is not None
            ]
        manifest = BackupManifest(
            created_at=clock(),
            service_version=service_version,
            source=settings_summary(settings, {s.name: s.origin for s in found}),
            database=db_part,
            chain=chain_part,
            secrets_included=include_secrets,
            files=tuple(files),
        )
        write_file(staging, MANIFEST_NAME, [manifest.to_json()], mode=0o600)
        fsync_dirs(staging)
        os.rename(staging, target)  # onto nothing, or onto an empty directory
        fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BackupResult(target, manifest, vanished)


def _database_and_chain(
    settings: Settings, staging: Path
) -> tuple[DatabasePart, ChainPart, list[BackupFile]]:
    url = settings.resolved_db_url
    files: list[BackupFile] = []
    if make_url(url).get_backend_name() == "sqlite":
        database.snapshot_sqlite(database.sqlite_file(url), staging / SQLITE_FILE)
        files.append(describe(staging, SQLITE_FILE))
        # Read the facts from the snapshot itself, read-only, so they match it exactly.
        engine = create_engine(f"sqlite:///file:{staging / SQLITE_FILE}?mode=ro&uri=true")
        db_part = DatabasePart("sqlite", SQLITE_FILE)
    else:
        engine = make_engine(url)
        version = database.dump_postgres(url, engine, staging / PGDUMP_FILE)
        files.append(describe(staging, PGDUMP_FILE))
        db_part = DatabasePart("postgresql", PGDUMP_FILE, pg_dump_version=version)
    try:
        revision = database.alembic_revision(engine)
        with Session(engine) as session:
            deployment = current_deployment(session, settings)
    finally:
        engine.dispose()
    db_part = DatabasePart(db_part.dialect, db_part.file, revision, db_part.pg_dump_version)
    contract = deployment.contract if deployment else settings.chain_contract
    if settings.chain_url:
        chain_part = ChainPart(
            "json-rpc",
            chain_id=deployment.chain_id if deployment else None,
            contract=contract,
            node_url=redacted_url(settings.chain_url),
        )
        return db_part, chain_part, files
    chain_store = settings.chain_dir / DB_FILE
    if not chain_store.is_file():  # never opened: nothing anchored yet
        return db_part, ChainPart("embedded", chain_id=CHAIN_ID, contract=contract), files
    database.snapshot_sqlite(chain_store, staging / CHAIN_FILE)
    files.append(describe(staging, CHAIN_FILE))
    return db_part, ChainPart("embedded", CHAIN_FILE, CHAIN_ID, contract), files


def settings_summary(settings: Settings, secret_origins: dict[str, str]) -> dict[str, Any]:
    """What the backed-up service was configured with: never a secret, never a password."""
    summary: dict[str, Any] = {
        "data_dir": str(settings.data_dir.absolute()),
        "db_url": make_url(settings.resolved_db_url).render_as_string(hide_password=True),
        "object_store": settings.object_store,
        "chain": redacted_url(settings.chain_url) if settings.chain_url else "embedded",
        "chain_contract": settings.chain_contract,
        "retention_years": settings.retention_years,
        "secrets": secret_origins,
    }
    if settings.object_store == "minio":
        summary["minio"] = {
            "endpoint": settings.minio_endpoint,
            "bucket": settings.minio_bucket,
            "region": settings.minio_region,
            "secure": settings.minio_secure,
        }
    return summary


def redacted_url(url: str) -> str:
    """Scheme, host and port of ``url``: no user info, path or query (node API keys hide there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, "", "", ""))
