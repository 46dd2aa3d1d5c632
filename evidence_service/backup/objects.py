"""The object part of a backup, through the store protocol: the same code for disk and S3.

Every object is listed (``list_keys("")``), its lock state read (``stat``) and its bytes
streamed into ``objects/<key>``, hashed as they are written. Restoring ``put``s each object
back, then puts back its COMPLIANCE retention (when it has not run out) and its legal hold.
An object that vanishes between listing and reading (a temporary object promoted or discarded
meanwhile) is skipped: evidence objects are never removed while retained.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

from evidence_service.backup.errors import BackupError, RestoreRefusedError
from evidence_service.backup.files import FILE_MODE, read_chunks, write_file
from evidence_service.backup.manifest import OBJECTS_DIR, BackupFile
from storage.base import ObjectStore
from storage.errors import ObjectNotFoundError


def copy_objects_out(store: ObjectStore, root: Path) -> tuple[list[BackupFile], int]:
    """Every object of ``store`` into ``root/objects``; returns the files and how many vanished."""
    files: list[BackupFile] = []
    vanished = 0
    for key, _modified in store.list_keys(""):
        try:
            info = store.stat(key)
            written = write_file(root, f"{OBJECTS_DIR}/{key}", store.get(key), mode=FILE_MODE)
        except ObjectNotFoundError:
            (root / OBJECTS_DIR / key).unlink(missing_ok=True)
            vanished += 1
            continue
        files.append(replace(written, retain_until=info.retain_until, legal_hold=info.legal_hold))
    return files, vanished


def refuse_unless_empty(store: ObjectStore, where: str) -> None:
    for key, _modified in store.list_keys(""):
        raise RestoreRefusedError(f"the object store {where} is not empty (it holds {key})")


def copy_objects_in(
    store: ObjectStore, root: Path, entries: tuple[BackupFile, ...], *, now: datetime
) -> int:
    """Put every backed-up object back with its lock state; returns the retentions that had run
    out (their objects are restored without retention, as the store would have them)."""
    expired = 0
    for entry in entries:
        key = entry.object_key
        assert key is not None
        put = store.put(key, read_chunks(root / entry.path))
        if (put.size, put.sha256) != (entry.size, entry.sha256):
            raise BackupError(f"{key}: the store kept other bytes than the backup's")
        if entry.retain_until is not None:
            if entry.retain_until > now:
                store.set_retention(key, entry.retain_until)
            else:
                expired += 1
        if entry.legal_hold:
            store.set_legal_hold(key, True)
    return expired
