"""``evidence restore DIR``: a backup back into an empty data dir, database and object store.

Before anything is written: the manifest is parsed, every file's size and SHA-256 is checked
(a corrupted backup is refused naming the file), and the target is checked: the data dir empty
or absent, the database of the backup's dialect and empty (a SQLite file that does not exist,
a PostgreSQL database without tables), the object store empty, the chain of the same kind.

Then the data dir is built in a hidden sibling directory (secrets, embedded chain, SQLite file,
local objects), the external parts are filled (``pg_restore`` in one transaction, S3 objects),
and the staged directory is renamed to the data dir: a data dir that exists after a restore is
complete. If an external part fails, the staging directory is removed; a PostgreSQL restore
left nothing (single transaction), a bucket may hold some objects and must be emptied.
"""

from __future__ import annotations

import os
import secrets as random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from chain.embedded import DB_FILE
from evidence_service.backup import database
from evidence_service.backup.errors import BackupError, RestoreRefusedError
from evidence_service.backup.files import (
    SECRET_MODE,
    fsync_dir,
    fsync_dirs,
    read_chunks,
    read_manifest,
    verify_backup_files,
    write_file,
)
from evidence_service.backup.manifest import BackupManifest
from evidence_service.backup.objects import copy_objects_in, refuse_unless_empty
from evidence_service.backup.secrets import data_dir_path, provided_by_settings
from evidence_service.core.clock import Clock, utcnow
from evidence_service.core.config import Settings
from evidence_service.core.db import make_engine
from storage.base import ObjectStore
from storage.local import LocalStore

#: Builds the configured object store (``services.build_store``); only called for S3.
StoreFactory = Callable[[Settings], ObjectStore]


@dataclass(frozen=True)
class RestoreResult:
    data_dir: Path
    manifest: BackupManifest
    objects: int
    warnings: list[str] = field(default_factory=list)


def check_backup(source: Path) -> BackupManifest:
    """The manifest of the backup at ``source``, once every file matches it."""
    manifest = read_manifest(source)
    verify_backup_files(source, manifest)
    return manifest


def restore_backup(
    settings: Settings, source: Path, *, build_store: StoreFactory, clock: Clock = utcnow
) -> RestoreResult:
    """Restore the backup at ``source`` into the (empty) places ``settings`` name."""
    manifest = check_backup(source)
    data_dir = settings.data_dir.absolute()
    _refuse_non_empty_dir(data_dir)
    _refuse_other_kinds(settings, manifest)
    url = settings.resolved_db_url
    sqlite_target: Path | None = None
    pg_restore: str | None = None
    if manifest.database.dialect == "sqlite":
        sqlite_target = database.sqlite_file(url).absolute()
        if sqlite_target.exists():
            raise RestoreRefusedError(f"a database file already exists at {sqlite_target}")
    else:
        pg_restore = database.check_pg_restore(manifest.database.pg_dump_version)
        _refuse_non_empty_postgres(url)
    remote_store = build_store(settings) if settings.object_store == "minio" else None
    if remote_store is not None:
        refuse_unless_empty(remote_store, f"bucket {settings.minio_bucket}")

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = data_dir.parent / f".{data_dir.name}.restoring-{random.token_hex(4)}"
    staging.mkdir(mode=0o700)
    staged = settings.model_copy(update={"data_dir": staging})
    outside: Path | None = None  # a SQLite file placed outside the data dir
    external = "nothing"  # what outside the data dir holds a partial restore if we fail
    try:
        warnings = _stage_secrets(settings, staged, source, manifest)
        if manifest.chain.file is not None:
            database.place_sqlite(source / manifest.chain.file, staged.chain_dir / DB_FILE)
        if sqlite_target is not None:
            inside = sqlite_target.is_relative_to(data_dir)
            place = staging / sqlite_target.relative_to(data_dir) if inside else sqlite_target
            database.place_sqlite(source / manifest.database.file, place)
            outside = None if inside else place
        now, expired = clock(), 0
        if remote_store is None:
            local = LocalStore(staged.objects_dir)
            try:
                expired = copy_objects_in(local, source, manifest.objects, now=now)
            finally:
                local.close()
        if pg_restore is not None:
            database.restore_postgres(pg_restore, url, source / manifest.database.file)
            external = "the database"
        if remote_store is not None:
            external = f"{external} and the bucket {settings.minio_bucket}"
            expired = copy_objects_in(remote_store, source, manifest.objects, now=now)
        fsync_dirs(staging)
        os.rename(staging, data_dir)  # onto nothing, or onto an empty directory
        fsync_dir(data_dir.parent)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if outside is not None:
            outside.unlink(missing_ok=True)
        if external != "nothing" and isinstance(exc, Exception):
            raise BackupError(
                f"{exc}; {external.removeprefix('nothing and ')} may hold a "
                "partial restore: empty it before trying again"
            ) from exc
        raise
    if expired:
        warnings.append(f"{expired} objects' retention had run out; restored without retention")
    return RestoreResult(data_dir, manifest, len(manifest.objects), warnings)


def _refuse_non_empty_dir(data_dir: Path) -> None:
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise RestoreRefusedError(
            f"the data dir {data_dir} is not empty: restore only into an empty or new directory"
        )


def _refuse_other_kinds(settings: Settings, manifest: BackupManifest) -> None:
    dialect = make_url(settings.resolved_db_url).get_backend_name()
    if dialect != manifest.database.dialect:
        raise RestoreRefusedError(
            f"the backup holds a {manifest.database.dialect} database but EVIDENCE_DB_URL "
            f"names {dialect}: restore into a database of the same kind"
        )
    chain = "json-rpc" if settings.chain_url else "embedded"
    if chain != manifest.chain.mode:
        raise RestoreRefusedError(
            f"the backup's proofs are anchored on the {manifest.chain.mode} chain but the "
            f"settings name the {chain} chain: configure the chain the backup was made with"
        )
    contract = settings.chain_contract
    if contract and manifest.chain.contract and contract.lower() != manifest.chain.contract.lower():
        raise RestoreRefusedError(
            f"EVIDENCE_CHAIN_CONTRACT is {contract} but the backup's registry is "
            f"{manifest.chain.contract}"
        )


def _refuse_non_empty_postgres(url: str) -> None:
    engine = make_engine(url)
    try:
        tables = database.table_names(engine)
    finally:
        engine.dispose()
    if tables:
        raise RestoreRefusedError(
            f"the database {make_url(url).render_as_string(hide_password=True)} already has "
            f"tables ({', '.join(tables[:5])}{', …' if len(tables) > 5 else ''}): restore only "
            "into an empty database"
        )


def _stage_secrets(
    settings: Settings, staged: Settings, source: Path, manifest: BackupManifest
) -> list[str]:
    """Write the backup's secrets the settings do not provide; warn about missing ones."""
    warnings: list[str] = []
    provided = provided_by_settings(settings)
    present = set()
    for entry in manifest.secret_files:
        name = entry.path.split("/", 1)[1]
        present.add(name)
        if name in provided:
            continue  # the environment provides it; no copy on disk
        path = data_dir_path(staged, name)
        relative = path.relative_to(staged.data_dir).as_posix()
        write_file(staged.data_dir, relative, read_chunks(source / entry.path), mode=SECRET_MODE)
    origins = manifest.source.get("secrets", {})
    for name, origin in origins.items():
        if origin == "absent" or name in present or name in provided:
            continue
        warnings.append(
            f"the backup holds no {name} (it came from the {origin} in the source): put it "
            f"back as {data_dir_path(settings, name)} (mode 0600) or set its EVIDENCE_ "
            "setting before starting the service"
        )
    return warnings
