"""Staging area for multipart uploads on local disk.

Each upload is a directory ``<upload_id>/`` holding ``data`` (the parts appended in order) and
``manifest.json`` (the key and every committed part). A part is committed only once its bytes
are fsynced *and* the manifest naming it is atomically replaced, so after a crash ``data`` is
truncated back to the committed length and the client resends the part the manifest lacks.
Parts arrive in order; the last part may be sent again (a client that lost the response, or
whose part failed a check above us) and replaces the earlier copy, as in S3.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

from storage._fs import exclusive_lock, fsync_dir, open_exclusive, stream_to_fd, write_atomic
from storage.base import PartResult
from storage.errors import InvalidKeyError, ObjectNotFoundError, StorageError

_UPLOAD_ID = re.compile(r"[0-9a-f]{32}\Z")
_DATA, _MANIFEST, _LOCK = "data", "manifest.json", "lock"


@dataclass(frozen=True)
class _Manifest:
    key: str
    parts: tuple[PartResult, ...]

    def to_json(self) -> bytes:
        document = {"key": self.key, "parts": [asdict(part) for part in self.parts]}
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> _Manifest:
        try:
            document = json.loads(raw)
            parts = tuple(PartResult(**part) for part in document["parts"])
            return cls(str(document["key"]), parts)
        except (ValueError, TypeError, KeyError) as exc:
            raise StorageError(f"corrupt upload manifest: {exc}") from exc


class UploadArea:
    """Multipart uploads staged under one directory; the caller has validated ``key``."""

    def __init__(self, directory: Path, writer_id: str) -> None:
        self._directory = directory
        self._writer_id = writer_id

    def create(self, key: str) -> str:
        upload_id = secrets.token_hex(16)
        upload_dir = self._directory / upload_id
        upload_dir.mkdir(mode=0o700)
        os.close(open_exclusive(upload_dir / _DATA))
        write_atomic(upload_dir / _MANIFEST, _Manifest(key, ()).to_json(), self._writer_id)
        fsync_dir(self._directory)
        return upload_id

    def append_part(
        self, key: str, upload_id: str, part_number: int, chunks: Iterable[bytes]
    ) -> PartResult:
        """Append part ``n`` (the next one), or resend the last part, which replaces it."""
        with self._open(key, upload_id) as (upload_dir, manifest):
            count = len(manifest.parts)
            if part_number == count + 1:
                kept = manifest.parts
            elif part_number == count and count > 0:
                kept = manifest.parts[:-1]
                # Forget the old part before touching its bytes, so a crash in between can
                # never leave a manifest naming bytes that are gone.
                write_atomic(
                    upload_dir / _MANIFEST, _Manifest(key, kept).to_json(), self._writer_id
                )
            else:
                raise StorageError(
                    f"upload {upload_id}: got part {part_number}, expected part {count + 1}"
                    + (f" (or a resend of part {count})" if count else "")
                )
            committed = sum(part.size for part in kept)
            sha256 = hashlib.sha256()
            fd = os.open(upload_dir / _DATA, os.O_WRONLY | os.O_CLOEXEC)
            try:
                if os.fstat(fd).st_size < committed:
                    raise StorageError(f"upload {upload_id}: staged data is shorter than recorded")
                os.ftruncate(fd, committed)  # drop a torn or replaced tail
                os.lseek(fd, committed, os.SEEK_SET)
                size = stream_to_fd(fd, chunks, sha256.update, max_size=None)
                os.fsync(fd)
            except BaseException:
                with suppress(OSError):  # if this fails too, the next append truncates again
                    os.ftruncate(fd, committed)
                raise
            finally:
                os.close(fd)
            digest = sha256.hexdigest()
            part = PartResult(part_number=part_number, size=size, etag=digest, sha256=digest)
            new_manifest = _Manifest(key, (*kept, part))
            write_atomic(upload_dir / _MANIFEST, new_manifest.to_json(), self._writer_id)
            return part

    def staged_data(
        self, key: str, upload_id: str, parts: list[PartResult], min_part_size: int
    ) -> Path:
        """The ``data`` file, after checking ``parts`` is exactly the committed part list."""
        with self._open(key, upload_id) as (upload_dir, manifest):
            if not parts:
                raise StorageError(f"upload {upload_id}: cannot complete with no parts")
            claimed = [(p.part_number, p.etag, p.size) for p in parts]
            committed = [(p.part_number, p.etag, p.size) for p in manifest.parts]
            if claimed != committed:
                raise StorageError(f"upload {upload_id}: parts do not match the uploaded parts")
            for part in parts[:-1]:
                if part.size < min_part_size:
                    raise StorageError(
                        f"upload {upload_id}: part {part.part_number} is smaller than "
                        f"{min_part_size} bytes"
                    )
            return upload_dir / _DATA

    def remove(self, key: str, upload_id: str) -> None:
        """Delete the upload's staging directory; an unknown upload is not an error."""
        try:
            with self._open(key, upload_id) as (upload_dir, _):
                for name in (_DATA, _MANIFEST, _LOCK):
                    (upload_dir / name).unlink(missing_ok=True)
                with suppress(OSError):  # a racing locker re-created "lock"; it finds no manifest
                    upload_dir.rmdir()
        except ObjectNotFoundError:
            return
        fsync_dir(self._directory)

    @contextmanager
    def _open(self, key: str, upload_id: str) -> Iterator[tuple[Path, _Manifest]]:
        """Lock the upload and read its manifest; unknown → ``ObjectNotFoundError``."""
        if not isinstance(upload_id, str) or not _UPLOAD_ID.match(upload_id):
            raise InvalidKeyError(f"malformed upload id {upload_id!r}")
        upload_dir = self._directory / upload_id
        with ExitStack() as stack:
            try:
                stack.enter_context(exclusive_lock(upload_dir / _LOCK))
                raw = (upload_dir / _MANIFEST).read_bytes()
            except FileNotFoundError as exc:  # unknown, or aborted while we waited for the lock
                raise ObjectNotFoundError(f"no upload {upload_id}") from exc
            manifest = _Manifest.from_json(raw)
            if manifest.key != key:
                raise StorageError(f"upload {upload_id} belongs to another key")
            yield upload_dir, manifest
