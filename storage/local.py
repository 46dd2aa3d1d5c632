"""``ObjectStore`` on a local POSIX filesystem (single host; development, tests, small sites).

Layout under ``root`` (names starting with ``.`` are never keys, see ``storage.keys``)::

    <key>                       the bytes, mode 0o444, written once via temp file + fsync + link
    .meta/<key>.json            lock sidecar (retention date, legal hold), replaced atomically
    .meta/.uploads/<id>/        multipart staging (see ``storage._local_uploads``)
    .meta/.writers/<id>.lock    liveness of each open store, to sweep crash debris exactly
    .meta/.lock                 flock serialising lock-state changes against discard/promote

Opening a store sweeps the temp files of writers that died (``storage._local_debris``), so a
crash mid-``put`` leaves nothing once the service restarts. ``close()`` ends this writer.

Retention and legal hold are enforced here, by this code: the filesystem cannot. Anyone with
shell access to ``root`` can still delete files; the guarantee is against the service itself.
A key that is a prefix "directory" of another key (``a`` vs ``a/b``) cannot exist on a
filesystem; writing it raises ``ObjectExistsError``.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from storage._fs import (
    DirSyncer,
    exclusive_lock,
    make_dirs,
    open_exclusive,
    remove_quietly,
    stream_to_fd,
    temp_path_for,
    write_atomic,
    write_atomic_unsynced,
)
from storage._local_debris import WriterRegistry
from storage._local_meta import LockRecord
from storage._local_uploads import UploadArea
from storage._streams import ClosingIterator, shield_caller_errors, unwrap_caller_errors
from storage._time import retention_date, utc_now
from storage.base import ObjectInfo, PartResult, PutResult
from storage.digest import Digester
from storage.errors import (
    InvalidKeyError,
    ObjectExistsError,
    ObjectLockedError,
    ObjectNotFoundError,
    RetentionError,
    StorageError,
    StoreUnavailableError,
)
from storage.keys import validate_key, validate_prefix
from storage.limits import READ_CHUNK_BYTES
from storage.ranges import check_range, clamp_range

_READ_ONLY = 0o444


@contextlib.contextmanager
def _disk_errors(action: str) -> Iterator[None]:
    """Any ``OSError`` not handled closer to its cause means the disk is in trouble."""
    try:
        yield
    except OSError as exc:
        raise StoreUnavailableError(f"{action}: {exc.strerror or exc}") from exc


class LocalStore:
    """Objects as read-only files under ``root``; see the module docstring for the layout."""

    min_part_size = 1

    def __init__(self, root: Path, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._root = Path(root).resolve()
        self._meta = self._root / ".meta"
        self._uploads_dir = self._meta / ".uploads"
        self._writers_dir = self._meta / ".writers"
        self._lock_file = self._meta / ".lock"
        self._now = clock
        #: Directory fsyncs shared by concurrent writers (each still returns only once its
        #: own entry is durable).
        self._sync_dir = DirSyncer().sync
        with _disk_errors(f"cannot open the local store at {self._root}"):
            for directory in (self._uploads_dir, self._writers_dir):
                make_dirs(directory)
            self._writer = WriterRegistry(self._writers_dir)
        self._uploads = UploadArea(self._uploads_dir, self._writer.writer_id)
        self.sweep_debris()

    def close(self) -> None:
        """End this store's writer registration; its unfinished temp files become debris."""
        self._writer.close()

    def __del__(self) -> None:
        writer = getattr(self, "_writer", None)
        if writer is not None:
            with contextlib.suppress(Exception):  # may run at interpreter shutdown
                writer.close()

    def sweep_debris(self) -> int:
        """Remove temp files left by crashed writers (never a live writer's); returns the count."""
        with _disk_errors(f"cannot sweep {self._root}"):
            return self._writer.sweep(self._root)

    # -- writing -------------------------------------------------------------------------------

    def put(self, key: str, chunks: Iterable[bytes], *, max_size: int | None = None) -> PutResult:
        final = self._object_path(key)
        guarded = shield_caller_errors(chunks)
        return unwrap_caller_errors(lambda: self._put(key, final, guarded, max_size))

    def _put(
        self, key: str, final: Path, chunks: Iterable[bytes], max_size: int | None
    ) -> PutResult:
        with _disk_errors(f"cannot write {key}"):
            if final.exists():
                raise ObjectExistsError(f"{key} already exists")
            self._make_parent(key, final)
            temp = temp_path_for(final, self._writer.writer_id)
            fd = open_exclusive(temp)
            try:
                with Digester() as digester:
                    try:
                        stream_to_fd(fd, chunks, digester.update, max_size)
                        os.fsync(fd)
                        os.fchmod(fd, _READ_ONLY)
                    finally:
                        os.close(fd)
                    digests = digester.result()
                self._link_new(key, temp, final)
            finally:
                remove_quietly(temp)
            self._sync_dir(final.parent)
        return PutResult(key=key, size=digests.size, sha256=digests.sha256, sm3=digests.sm3)

    def promote(self, src_key: str, dst_key: str) -> ObjectInfo:
        validate_key(dst_key)
        src, dst = self._object_path(src_key), self._object_path(dst_key)
        with self._state_lock(f"cannot promote {src_key} to {dst_key}"):
            src_info, dst_info = self._stat_or_none(src_key), self._stat_or_none(dst_key)
            if dst_info is not None:  # a retry, or recovery from a crash after the link
                if src_info is None:
                    return dst_info
                if src_info.size != dst_info.size:
                    raise ObjectExistsError(f"{dst_key} already exists with different content")
                self._remove(src_key, src, src_info)
                return dst_info
            if src_info is None:
                raise ObjectNotFoundError(src_key)
            self._refuse_if_locked(src_info)
            self._make_parent(dst_key, dst)
            self._link_new(dst_key, src, dst)
            self._sync_dir(dst.parent)
            self._remove(src_key, src, src_info)
            return self._stat(dst_key, dst)

    def discard(self, key: str) -> None:
        path = self._object_path(key)
        with self._state_lock(f"cannot discard {key}"):
            info = self._stat_or_none(key)
            if info is not None:
                self._remove(key, path, info)

    # -- lock state ----------------------------------------------------------------------------

    def set_retention(self, key: str, until: datetime) -> None:
        (refused,) = self.set_retentions([(key, until)])
        if refused is not None:
            raise refused

    def set_retentions(self, items: Sequence[tuple[str, datetime]]) -> list[StorageError | None]:
        """:meth:`set_retention` for many keys under one lock, with the sidecars' directory
        entries made durable by one fsync per directory rather than one per key: the batch
        a group of concurrent captures finalizes together.

        Returns, for each item in order, None once its retention is durable or the
        ``StorageError`` that refused it (the others are unaffected)."""
        outcomes: list[StorageError | None] = [None] * len(items)
        written: list[int] = []
        with self._state_lock("cannot set retention"):
            for index, (key, until) in enumerate(items):
                try:
                    with _disk_errors(f"cannot set retention on {key}"):
                        self._write_retention_unsynced(key, until)
                    written.append(index)
                except StorageError as exc:
                    outcomes[index] = exc
            for directory in sorted({self._meta_path(items[i][0]).parent for i in written}):
                try:
                    with _disk_errors(f"cannot make retention durable in {directory}"):
                        self._sync_dir(directory)
                except StorageError as exc:
                    for i in written:
                        if self._meta_path(items[i][0]).parent == directory:
                            outcomes[i] = exc
        return outcomes

    def _write_retention_unsynced(self, key: str, until: datetime) -> None:
        """Check and write one key's new retention (under the state lock); its directory entry
        is durable once the caller has synced the sidecar's directory."""
        path = self._object_path(key)
        until = retention_date(until, self._now())
        self._require_object(key, path)
        record = self._read_lock(key)
        if record.retain_until is not None and until < record.retain_until:
            raise RetentionError(
                f"{key} is retained until {record.retain_until.isoformat()}; "
                f"retention cannot be shortened to {until.isoformat()}"
            )
        meta = self._meta_path(key)
        make_dirs(meta.parent)
        sidecar = LockRecord(until, record.legal_hold).to_json()
        write_atomic_unsynced(meta, sidecar, self._writer.writer_id)

    def set_legal_hold(self, key: str, on: bool) -> None:
        path = self._object_path(key)
        with self._state_lock(f"cannot set legal hold on {key}"):
            self._stat(key, path)
            record = self._read_lock(key)
            self._write_lock(key, LockRecord(record.retain_until, on))

    # -- reading -------------------------------------------------------------------------------

    def get(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        path = self._object_path(key)
        check_range(start, end)
        with _disk_errors(f"cannot read {key}"):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except (FileNotFoundError, NotADirectoryError) as exc:
                raise ObjectNotFoundError(key) from exc
            try:
                status = os.fstat(fd)
                if not stat.S_ISREG(status.st_mode):
                    raise ObjectNotFoundError(key)
                offset, length = clamp_range(start, end, status.st_size)
            except BaseException:
                os.close(fd)
                raise
        return ClosingIterator(_read_range(key, fd, offset, length), lambda: os.close(fd))

    def stat(self, key: str) -> ObjectInfo:
        return self._stat(key, self._object_path(key))

    def exists(self, key: str) -> bool:
        return self._stat_or_none(key) is not None

    def list_keys(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        validate_prefix(prefix)
        directory = prefix.rpartition("/")[0]
        return self._walk(self._root / directory, prefix)

    def presigned_get_url(self, key: str, expires_seconds: int = 900) -> str | None:
        validate_key(key)
        return None

    def ping(self) -> None:
        for directory in (self._root, self._meta, self._uploads_dir):
            if not directory.is_dir() or not os.access(directory, os.W_OK | os.X_OK):
                raise StoreUnavailableError(f"{directory} is not a writable directory")

    # -- multipart -----------------------------------------------------------------------------

    def create_multipart(self, key: str) -> str:
        path = self._object_path(key)
        with _disk_errors(f"cannot start an upload for {key}"):
            if path.exists():
                raise ObjectExistsError(f"{key} already exists")
            return self._uploads.create(key)

    def put_part(
        self, key: str, upload_id: str, part_number: int, chunks: Iterable[bytes]
    ) -> PartResult:
        validate_key(key)
        guarded = shield_caller_errors(chunks)

        def append() -> PartResult:
            with _disk_errors(f"cannot write part {part_number} of {key}"):
                return self._uploads.append_part(key, upload_id, part_number, guarded)

        return unwrap_caller_errors(append)

    def complete_multipart(self, key: str, upload_id: str, parts: list[PartResult]) -> ObjectInfo:
        final = self._object_path(key)
        with _disk_errors(f"cannot complete the upload of {key}"):
            data = self._uploads.staged_data(key, upload_id, parts, self.min_part_size)
            if final.exists():
                if final.is_file() and os.path.samefile(data, final):  # crashed after the link
                    self._uploads.remove(key, upload_id)
                    return self._stat(key, final)
                raise ObjectExistsError(f"{key} already exists")
            os.chmod(data, _READ_ONLY)
            self._make_parent(key, final)
            self._link_new(key, data, final)
            self._sync_dir(final.parent)
            self._uploads.remove(key, upload_id)
            return self._stat(key, final)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        validate_key(key)
        with _disk_errors(f"cannot abort the upload of {key}"):
            self._uploads.remove(key, upload_id)

    # -- internals -----------------------------------------------------------------------------

    def _object_path(self, key: str) -> Path:
        """The file for ``key``, guaranteed inside ``root`` even through symlinks."""
        validate_key(key)
        path = self._root / key
        if not self._symlink_below_root(key):
            # A valid key has no "..", "." or hidden segment, and the root is resolved: with
            # no symlink among the key's own components the path is inside the root and
            # outside ".meta" as it stands, without resolving every component of the root.
            return path
        path = path.resolve()
        if not path.is_relative_to(self._root) or path.is_relative_to(self._meta):
            raise InvalidKeyError(f"key {key!r} resolves outside the store")
        return path

    def _symlink_below_root(self, key: str) -> bool:
        """Whether a component of ``key`` that exists under the root is a symlink."""
        current = str(self._root)
        for segment in key.split("/"):
            current = f"{current}/{segment}"
            try:
                if stat.S_ISLNK(os.lstat(current).st_mode):
                    return True
            except (FileNotFoundError, NotADirectoryError):
                return False  # nothing below a missing component, so no symlink either
        return False

    def _meta_path(self, key: str) -> Path:
        return self._meta / f"{key}.json"

    def _stat(self, key: str, path: Path) -> ObjectInfo:
        with _disk_errors(f"cannot stat {key}"):
            try:
                status = path.stat()
            except (FileNotFoundError, NotADirectoryError) as exc:
                raise ObjectNotFoundError(key) from exc
            if not stat.S_ISREG(status.st_mode):
                raise ObjectNotFoundError(key)
            record = self._read_lock(key)
        return ObjectInfo(key, status.st_size, record.retain_until, record.legal_hold)

    def _require_object(self, key: str, path: Path) -> None:
        """Raise ``ObjectNotFoundError`` unless ``path`` is a regular file (no sidecar read)."""
        try:
            status = path.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectNotFoundError(key) from exc
        if not stat.S_ISREG(status.st_mode):
            raise ObjectNotFoundError(key)

    def _stat_or_none(self, key: str) -> ObjectInfo | None:
        try:
            return self._stat(key, self._object_path(key))
        except ObjectNotFoundError:
            return None

    def _read_lock(self, key: str) -> LockRecord:
        try:
            return LockRecord.from_json(self._meta_path(key).read_bytes())
        except FileNotFoundError:
            return LockRecord()

    def _write_lock(self, key: str, record: LockRecord) -> None:
        meta = self._meta_path(key)
        make_dirs(meta.parent)
        write_atomic(meta, record.to_json(), self._writer.writer_id, self._sync_dir)

    def _refuse_if_locked(self, info: ObjectInfo) -> None:
        record = LockRecord(info.retain_until, info.legal_hold)
        if record.is_locked(self._now()):
            raise ObjectLockedError(f"{info.key} is under retention or legal hold")

    def _remove(self, key: str, path: Path, info: ObjectInfo) -> None:
        """Delete an unlocked object: sidecar first, so a crash never leaves a locked orphan."""
        self._refuse_if_locked(info)
        self._meta_path(key).unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        self._sync_dir(path.parent)

    def _make_parent(self, key: str, final: Path) -> None:
        try:
            make_dirs(final.parent)
        except (FileExistsError, NotADirectoryError) as exc:
            raise ObjectExistsError(f"{key}: a prefix of it is already an object") from exc

    def _link_new(self, key: str, src: Path, final: Path) -> None:
        try:
            os.link(src, final)
        except FileExistsError as exc:
            raise ObjectExistsError(f"{key} already exists") from exc

    @contextlib.contextmanager
    def _state_lock(self, action: str) -> Iterator[None]:
        with _disk_errors(action), exclusive_lock(self._lock_file):
            yield

    def _walk(self, base: Path, prefix: str) -> Iterator[tuple[str, datetime]]:
        for directory, subdirs, files in os.walk(base):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))  # .meta, never keys
            for name in sorted(files):
                if name.startswith("."):  # temp files
                    continue
                path = Path(directory) / name
                key = path.relative_to(self._root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    mtime = path.stat().st_mtime
                except OSError:
                    continue  # discarded while we walked
                yield key, datetime.fromtimestamp(mtime, UTC)


def _read_range(key: str, fd: int, offset: int, length: int) -> Iterator[bytes]:
    remaining = length
    while remaining > 0:
        try:
            data = os.pread(fd, min(READ_CHUNK_BYTES, remaining), offset)
        except OSError as exc:
            raise StoreUnavailableError(f"cannot read {key}: {exc.strerror}") from exc
        if not data:
            raise StorageError(f"{key} is shorter than when it was opened")
        offset += len(data)
        remaining -= len(data)
        yield data
