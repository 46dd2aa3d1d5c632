"""Durable filesystem primitives for the local store (POSIX).

Every change that must survive a crash goes: write a temp file in the target's directory, fsync
it, link/rename it into place, fsync the directory. Temp files are named
``.<name>.<writer><random>.tmp``: hidden (no key segment starts with ``.``, so a temp file can
never collide with or be listed as an object) and tagged with the id of the writing store, so a
later sweep can tell a dead writer's debris from a live writer's work (``storage._local_debris``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from storage.errors import SizeLimitError

WRITER_ID_HEX = 16
_TEMP_NAME = re.compile(rf"\..*\.(?P<writer>[0-9a-f]{{{WRITER_ID_HEX}}})[0-9a-f]{{8}}\.tmp\Z")


def temp_path_for(final: Path, writer_id: str) -> Path:
    """A fresh temp path next to ``final`` (same directory, so the same filesystem)."""
    return final.with_name(f".{final.name}.{writer_id}{secrets.token_hex(4)}.tmp")


def temp_file_writer(name: str) -> str | None:
    """The writer id in a temp file's name, or None if ``name`` is not a temp file."""
    match = _TEMP_NAME.match(name)
    return match.group("writer") if match else None


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _DirState:
    __slots__ = ("callers", "running", "synced", "tickets")

    def __init__(self) -> None:
        self.tickets = 0  # last ticket handed out
        self.synced = 0  # every ticket up to this one is durable
        self.running = False
        self.callers = 0  # callers inside sync() for this directory


class DirSyncer:
    """``fsync_dir`` shared by concurrent callers: one fsync covers every caller whose change
    to the directory was made before that fsync began.

    A caller takes a ticket after its change (link, rename, unlink) and returns once a sync
    that started after the ticket was taken has completed. The first caller that finds no sync
    running for the directory performs it for everyone holding a ticket by then; callers that
    arrive during a sync wait for the next one. So N concurrent writers into one directory pay
    about two directory fsyncs, not N, and none returns before its own entry is durable. A
    failed fsync raises in the caller that ran it; the others then try one of their own.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._dirs: dict[Path, _DirState] = {}

    def sync(self, directory: Path) -> None:
        with self._changed:
            state = self._dirs.setdefault(directory, _DirState())
            state.callers += 1
            state.tickets += 1
            ticket = state.tickets
            try:
                while state.synced < ticket:
                    if state.running:
                        self._changed.wait()
                        continue
                    covered = state.tickets  # every change made before this sync begins
                    state.running = True
                    self._changed.release()
                    try:
                        fsync_dir(directory)
                    finally:
                        self._changed.acquire()
                        state.running = False
                        self._changed.notify_all()
                    state.synced = covered  # reached only when the fsync succeeded
            finally:
                state.callers -= 1
                if state.callers == 0:
                    del self._dirs[directory]  # nobody waits on it: nothing to remember


def make_dirs(directory: Path) -> None:
    """``mkdir -p`` that fsyncs the parent of every directory it creates."""
    missing: list[Path] = []
    current = directory
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # a concurrent writer made it first
            path.mkdir(mode=0o755)
            fsync_dir(path.parent)
    if missing and not directory.is_dir():
        raise NotADirectoryError(directory)


def open_exclusive(path: Path, mode: int = 0o600) -> int:
    """Create ``path`` for writing; fails if anything already exists there."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)


def write_fully(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_atomic(
    path: Path,
    data: bytes,
    writer_id: str,
    sync_dir: Callable[[Path], None] = fsync_dir,
) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old or the new content, never a mix."""
    write_atomic_unsynced(path, data, writer_id)
    sync_dir(path.parent)


def write_atomic_unsynced(path: Path, data: bytes, writer_id: str) -> None:
    """:func:`write_atomic` up to the rename: the content is durable, the new directory entry
    only once the caller has fsynced ``path.parent``."""
    temp = temp_path_for(path, writer_id)
    fd = open_exclusive(temp, 0o644)
    try:
        try:
            write_fully(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        remove_quietly(temp)
        raise


def remove_quietly(path: Path) -> None:
    """Unlink ``path`` if it exists; used on cleanup paths, so it never raises ``OSError``."""
    with contextlib.suppress(OSError):
        path.unlink()


@contextlib.contextmanager
def exclusive_lock(lock_file: Path) -> Iterator[None]:
    """An advisory ``flock`` held for the ``with`` block, across threads and processes."""
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def stream_to_fd(
    fd: int,
    chunks: Iterable[bytes],
    feed: Callable[[bytes], object],
    max_size: int | None,
) -> int:
    """Write every chunk to ``fd`` after passing it to ``feed``; returns the byte count.

    Raises ``SizeLimitError`` as soon as more than ``max_size`` bytes have arrived (before the
    offending chunk is written).
    """
    size = 0
    for chunk in chunks:
        if not chunk:
            continue
        size += len(chunk)
        if max_size is not None and size > max_size:
            raise SizeLimitError(max_size)
        feed(chunk)
        write_fully(fd, chunk)
    return size
