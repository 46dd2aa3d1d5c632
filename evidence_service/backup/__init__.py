"""Backup and restore of a whole service: database, objects, embedded chain, secrets.

``make_backup`` writes a directory described by ``manifest.json`` (``manifest.py``);
``restore_backup`` checks every file against it and restores into an empty data dir, an empty
database and an empty object store. The ``evidence backup`` / ``evidence restore`` commands
are thin wrappers; docs/operations.md has the procedures.
"""

from evidence_service.backup.errors import (
    BackupCorruptError,
    BackupError,
    RestoreRefusedError,
    ToolMissingError,
)
from evidence_service.backup.making import BackupResult, make_backup
from evidence_service.backup.manifest import BackupFile, BackupManifest
from evidence_service.backup.restoring import RestoreResult, check_backup, restore_backup

__all__ = [
    "BackupCorruptError",
    "BackupError",
    "BackupFile",
    "BackupManifest",
    "BackupResult",
    "RestoreRefusedError",
    "RestoreResult",
    "ToolMissingError",
    "check_backup",
    "make_backup",
    "restore_backup",
]
