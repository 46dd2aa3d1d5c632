"""File I/O of backups: write while hashing, fsync, check a backup against its manifest."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from evidence_service.backup.errors import BackupCorruptError
from evidence_service.backup.manifest import MANIFEST_NAME, BackupFile, BackupManifest

READ_CHUNK = 1024 * 1024
SECRET_MODE = 0o600
FILE_MODE = 0o640


def write_file(root: Path, relative: str, chunks: Iterable[bytes], *, mode: int) -> BackupFile:
    """Write ``chunks`` to ``root/relative`` (new file, ``mode``), hashing as it goes; fsynced."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            digest.update(chunk)
            size += len(chunk)
        os.fsync(fd)
    finally:
        os.close(fd)
    return BackupFile(relative, size, digest.hexdigest())


def read_chunks(path: Path) -> Iterable[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(READ_CHUNK):
            yield chunk


def describe(root: Path, relative: str) -> BackupFile:
    """Size and SHA-256 of a file already written under ``root`` (and fsync it)."""
    path = root / relative
    size, sha256 = file_digest(path)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return BackupFile(relative, size, sha256)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dirs(root: Path) -> None:
    """fsync every directory under ``root`` (and ``root``), so new entries survive a crash."""
    for directory, _subdirs, _files in os.walk(root, topdown=False):
        fsync_dir(Path(directory))


def read_manifest(root: Path) -> BackupManifest:
    path = root / MANIFEST_NAME
    if not root.is_dir():
        raise BackupCorruptError(f"{root} is not a directory")
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise BackupCorruptError(
            f"{root} has no {MANIFEST_NAME}: not a backup, or one that never finished"
        ) from exc
    return BackupManifest.from_json(raw)


def verify_backup_files(root: Path, manifest: BackupManifest) -> None:
    """Every listed file is present with its size and SHA-256, and nothing else is there.

    Raises ``BackupCorruptError`` naming the first file that differs."""
    listed = {f.path for f in manifest.files} | {MANIFEST_NAME}
    for directory, _subdirs, names in os.walk(root):
        for name in names:
            relative = (Path(directory) / name).relative_to(root).as_posix()
            if relative not in listed:
                raise BackupCorruptError(f"{relative}: not listed in {MANIFEST_NAME}")
    for entry in manifest.files:
        path = root / entry.path
        if not path.is_file() or path.is_symlink():
            raise BackupCorruptError(f"{entry.path}: missing")
        found = file_digest(path)
        if found != (entry.size, entry.sha256):
            raise BackupCorruptError(
                f"{entry.path}: {found[0]} bytes with SHA-256 {found[1]}, but the manifest "
                f"says {entry.size} bytes with SHA-256 {entry.sha256}"
            )


def file_digest(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of the file at ``path``."""
    digest, size = hashlib.sha256(), 0
    for chunk in read_chunks(path):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()
