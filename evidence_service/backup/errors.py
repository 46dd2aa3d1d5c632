"""What a backup or a restore refuses, each with a reason an operator can act on."""

from __future__ import annotations


class BackupError(Exception):
    """Root: the backup or restore did not happen (nothing usable was written)."""


class BackupCorruptError(BackupError):
    """The backup directory is not what its manifest says (a file missing, changed or extra)."""


class RestoreRefusedError(BackupError):
    """The target is not fit to restore into (not empty, another database dialect or chain)."""


class ToolMissingError(BackupError):
    """An external tool (``pg_dump``, ``pg_restore``) is missing or too old for the server."""
