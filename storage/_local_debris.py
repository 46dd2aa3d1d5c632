"""Telling a crashed writer's temp files from a live writer's, exactly, without guessing by age.

Each open ``LocalStore`` registers as a writer: it holds an exclusive ``flock`` on
``<directory>/<writer_id>.lock`` for as long as it lives, and tags its temp files with that id.
The kernel drops the lock when the process dies, however it dies. A sweep may then delete a temp
file exactly when its writer's lock can be taken (or is gone): that writer will never link or
rename the file into place. Live writers, in this or another process on the host, are untouched.
``flock`` is per host: a store shared over NFS between hosts needs one writer host.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from pathlib import Path

from storage._fs import WRITER_ID_HEX, temp_file_writer

_LOCK_SUFFIX = ".lock"


class WriterRegistry:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self.writer_id = secrets.token_hex(WRITER_ID_HEX // 2)
        self._lock_path = directory / f"{self.writer_id}{_LOCK_SUFFIX}"
        # Lock under a name sweeps ignore, then rename: the lock file is never visible unlocked.
        pending = directory / f"{self.writer_id}.new"
        self._fd: int | None = os.open(
            pending, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600
        )
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(pending, self._lock_path)

    def close(self) -> None:
        """Stop being a writer (idempotent). Temp files left behind become sweepable."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                self._lock_path.unlink()
            os.close(fd)

    def sweep(self, root: Path) -> int:
        """Delete the temp files of dead writers anywhere under ``root``; returns how many."""
        verdicts: dict[str, bool] = {}
        removed = 0
        for directory, _, files in os.walk(root):
            for name in files:
                writer = temp_file_writer(name)
                if writer is None:
                    continue
                if writer not in verdicts:
                    verdicts[writer] = self._is_dead(writer)
                if verdicts[writer]:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(directory, name))
                        removed += 1
        self._forget_dead_writers()
        return removed

    def _is_dead(self, writer_id: str) -> bool:
        if writer_id == self.writer_id:
            return False
        try:
            fd = os.open(self._directory / f"{writer_id}{_LOCK_SUFFIX}", os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
        return True

    def _forget_dead_writers(self) -> None:
        for entry in os.scandir(self._directory):
            writer_id = entry.name.removesuffix(_LOCK_SUFFIX)
            if entry.name.endswith(_LOCK_SUFFIX) and self._is_dead(writer_id):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
