"""``ObjectStore`` on MinIO (or any S3 server with object lock) through the ``minio`` client.

Immutability comes from the bucket: it is created with object lock (which implies versioning),
and finished evidence gets COMPLIANCE retention that nobody, root included, can shorten or lift.
The rules this module enforces itself rather than trusting the server with:

* no overwrite: ``put``/``promote``/``complete_multipart`` refuse an existing key (S3 would
  silently stack a new version on top);
* retention is never shortened (moto, used in tests, allows shortening COMPLIANCE retention);
* nothing locked is discarded (the server refuses too; we refuse first, with a clear error).

The existence checks are not atomic with the writes (S3 has no portable create-if-absent here),
so two writers racing on one key can both succeed; the bucket's versioning keeps both versions.
Keys are ULIDs in practice, so the race needs a bug elsewhere.

Every public method translates backend failures into ``storage.errors``; no minio or urllib3
exception escapes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, ComposeSource
from minio.datatypes import Object
from minio.error import S3Error
from minio.retention import Retention

from storage._chunk_reader import ChunkReader
from storage._s3_errors import s3_errors
from storage._s3_multipart import MultipartCalls
from storage._streams import ClosingIterator, shield_caller_errors, unwrap_caller_errors
from storage._time import retention_date, utc_now
from storage.base import ObjectInfo, PartResult, PutResult, retention_outcome
from storage.digest import Digester
from storage.errors import (
    ObjectExistsError,
    ObjectLockedError,
    ObjectNotFoundError,
    RetentionError,
    SizeLimitError,
    StorageError,
    StoreUnavailableError,
)
from storage.keys import validate_key, validate_prefix
from storage.limits import (
    DEFAULT_MAX_BUFFERED_PART,
    DEFAULT_S3_PART_SIZE,
    MAX_PRESIGN_SECONDS,
    READ_CHUNK_BYTES,
    S3_MAX_PART_SIZE,
    S3_MAX_PARTS,
    S3_MIN_PART_SIZE,
)
from storage.lock_headers import LockState, lock_state_from_headers
from storage.ranges import check_range

#: Retention requests of one ``set_retentions`` batch in flight at once (the pool holds 10).
RETENTION_CONCURRENCY = 8


class MinioStore:
    """Objects in one object-lock bucket; see the module docstring for what is enforced where."""

    min_part_size = S3_MIN_PART_SIZE

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str = "us-east-1",
        part_size: int = DEFAULT_S3_PART_SIZE,
        max_part_size: int = DEFAULT_MAX_BUFFERED_PART,
        upload_concurrency: int = 2,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_retries: int = 2,
        ca_certs: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """``part_size``: parts of a streamed ``put``, ``upload_concurrency`` of them in flight.
        ``max_part_size``: the most ``put_part``
        buffers in memory for one part (S3 needs a part's length before sending it).
        ``max_retries``/timeouts bound how long an outage takes to surface as
        ``StoreUnavailableError``; ``ca_certs`` defaults to certifi's bundle. No request is
        made here; a malformed configuration raises ``ValueError``."""
        for name, value in (("part_size", part_size), ("max_part_size", max_part_size)):
            if not S3_MIN_PART_SIZE <= value <= S3_MAX_PART_SIZE:
                raise ValueError(f"{name} must be between 5 MiB and 5 GiB, got {value}")
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_certs or certifi.where(),
            retries=urllib3.Retry(
                total=max_retries, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
            ),
        )
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        self._bucket = bucket
        self._region = region
        self._part_size = part_size
        self._max_part_size = max_part_size
        if not 1 <= upload_concurrency <= 16:
            raise ValueError(f"upload_concurrency must be 1..16, got {upload_concurrency}")
        self._upload_concurrency = upload_concurrency
        self._multipart = MultipartCalls(self._client, bucket)
        self._now = clock

    @property
    def bucket(self) -> str:
        return self._bucket

    def ensure_bucket(self) -> None:
        """Create the bucket with object lock if it is missing; refuse one without object lock."""
        with s3_errors(f"bucket {self._bucket}"):
            if not self._client.bucket_exists(self._bucket):
                try:
                    self._client.make_bucket(self._bucket, self._region, object_lock=True)
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
            try:
                self._client.get_object_lock_config(self._bucket)
            except S3Error as exc:
                if exc.code != "ObjectLockConfigurationNotFoundError":
                    raise
                raise StorageError(
                    f"bucket {self._bucket} exists without object lock; evidence needs a bucket "
                    "created with object lock enabled"
                ) from exc

    # -- writing -------------------------------------------------------------------------------

    def put(self, key: str, chunks: Iterable[bytes], *, max_size: int | None = None) -> PutResult:
        """Stream to ``key``: one PUT when the bytes fit in a part, else a multipart upload with
        ``upload_concurrency`` parts in flight while the next part is read and hashed.

        Memory stays at ``(upload_concurrency + 1) × part_size``. On any failure the multipart
        upload is aborted (nothing is left), and the caller's own exception is re-raised as is.
        """
        validate_key(key)
        self._refuse_existing(key)
        with Digester() as digester:
            reader = ChunkReader(chunks, digester.update, max_size)
            failure: Exception | None = None
            try:
                first = reader.read(self._part_size)
                if len(first) < self._part_size:  # it all fits in one request
                    try:
                        with s3_errors(f"cannot upload {key}"):
                            self._client.put_object(
                                self._bucket, key, io.BytesIO(first), len(first)
                            )
                    except StorageError:
                        self._remove_unfinished(key, len(first))
                        raise
                else:
                    self._put_multipart(key, reader, first)
            except Exception:
                if reader.error is None:
                    raise
                failure = reader.error
            if failure is not None:
                raise failure  # outside the except clause: the caller's exception, untouched
            digests = digester.result()
        return PutResult(key=key, size=digests.size, sha256=digests.sha256, sm3=digests.sm3)

    def _put_multipart(self, key: str, reader: ChunkReader, first: bytes) -> None:
        with s3_errors(f"cannot start the upload of {key}"):
            upload_id = self._multipart.create(key)
        etags: dict[int, Future[str]] = {}
        in_flight = threading.BoundedSemaphore(self._upload_concurrency)

        def send(number: int, data: bytes) -> str:
            try:
                with s3_errors(f"cannot upload part {number} of {key}"):
                    return self._multipart.upload_part(key, upload_id, number, data)
            finally:
                in_flight.release()

        pool = ThreadPoolExecutor(self._upload_concurrency, thread_name_prefix="s3-part")
        try:
            data, number = first, 1
            while data:
                in_flight.acquire()
                etags[number] = pool.submit(send, number, data)
                failed = [f for f in etags.values() if f.done() and f.exception()]
                if failed:
                    failed[0].result()
                if len(data) < self._part_size:
                    break
                data, number = reader.read(self._part_size), number + 1
                if data and number > S3_MAX_PARTS:
                    raise StorageError(
                        f"{key}: more than {S3_MAX_PARTS} parts of {self._part_size} bytes"
                    )
            parts = [(n, etags[n].result()) for n in sorted(etags)]
            with s3_errors(f"cannot complete the upload of {key}"):
                self._multipart.complete(key, upload_id, parts)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            with contextlib.suppress(StorageError, S3Error, OSError, ValueError):
                with s3_errors(f"cannot abort the upload of {key}"):
                    self._multipart.abort(key, upload_id)
            raise
        finally:
            pool.shutdown(wait=True)

    def promote(self, src_key: str, dst_key: str) -> ObjectInfo:
        validate_key(src_key)
        validate_key(dst_key)
        src, dst = self._head_or_none(src_key), self._head_or_none(dst_key)
        if dst is not None:  # a retry, or recovery from a crash between copy and delete
            if src is None:
                return self._info(dst_key, dst)
            if src.size != dst.size:
                raise ObjectExistsError(f"{dst_key} already exists with different content")
            self._remove_version(src_key, src)
            return self._info(dst_key, dst)
        if src is None:
            raise ObjectNotFoundError(src_key)
        self._refuse_if_locked(src_key, src)
        with s3_errors(f"cannot copy {src_key} to {dst_key}"):
            # compose_object does a plain server-side copy up to 5 GiB and a multipart copy
            # beyond (copy_object alone fails there).
            source = ComposeSource(self._bucket, src_key, version_id=src.version_id)
            self._client.compose_object(self._bucket, dst_key, [source])
        self._remove_version(src_key, src)
        return self.stat(dst_key)

    def discard(self, key: str) -> None:
        """Remove the unlocked object and abort any unfinished multipart upload of ``key``
        (a writer killed mid-put leaves one behind, invisible but holding storage)."""
        validate_key(key)
        head = self._head_or_none(key)
        if head is not None:
            self._remove_version(key, head)
        with s3_errors(f"cannot abort unfinished uploads of {key}"):
            for upload_id in self._multipart.unfinished_upload_ids(key):
                self._multipart.abort(key, upload_id)

    # -- lock state ----------------------------------------------------------------------------

    def set_retention(self, key: str, until: datetime) -> None:
        validate_key(key)
        until = _ceil_to_millisecond(retention_date(until, self._now()))
        head = self._head(key)
        current = _lock_state(head).retain_until
        if current is not None and until < current:
            raise RetentionError(
                f"{key} is retained until {current.isoformat()}; "
                f"retention cannot be shortened to {until.isoformat()}"
            )
        with s3_errors(f"cannot set retention on {key}", denied_means_locked=True):
            self._client.set_object_retention(
                self._bucket, key, Retention(COMPLIANCE, until), version_id=head.version_id
            )

    def set_retentions(self, items: Sequence[tuple[str, datetime]]) -> list[StorageError | None]:
        """:meth:`set_retention` for many keys, their round trips concurrent (at most
        ``RETENTION_CONCURRENCY`` in flight, within the connection pool); for each item in
        order, None or the ``StorageError`` that refused it."""
        if len(items) <= 1:
            return [retention_outcome(self, key, until) for key, until in items]
        workers = min(RETENTION_CONCURRENCY, len(items))
        with ThreadPoolExecutor(workers, thread_name_prefix="s3-retention") as pool:
            return list(pool.map(lambda item: retention_outcome(self, *item), items))

    def set_legal_hold(self, key: str, on: bool) -> None:
        validate_key(key)
        head = self._head(key)
        with s3_errors(f"cannot set legal hold on {key}"):
            if on:
                self._client.enable_object_legal_hold(self._bucket, key, head.version_id)
            else:
                self._client.disable_object_legal_hold(self._bucket, key, head.version_id)

    # -- reading -------------------------------------------------------------------------------

    def get(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        validate_key(key)
        check_range(start, end)
        length = 0 if end is None else end - start + 1  # 0: to the end
        with s3_errors(f"cannot read {key}"):
            response = self._client.get_object(self._bucket, key, offset=start, length=length)

        def release() -> None:
            response.close()
            response.release_conn()

        def chunks() -> Iterator[bytes]:
            with s3_errors(f"cannot read {key}"):
                yield from response.stream(READ_CHUNK_BYTES)

        return ClosingIterator(chunks(), release)

    def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        return self._info(key, self._head(key))

    def exists(self, key: str) -> bool:
        validate_key(key)
        return self._head_or_none(key) is not None

    def list_keys(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        validate_prefix(prefix)
        return self._list(prefix)

    def presigned_get_url(self, key: str, expires_seconds: int = 900) -> str | None:
        validate_key(key)
        if not 1 <= expires_seconds <= MAX_PRESIGN_SECONDS:
            raise StorageError(f"expires_seconds must be 1..{MAX_PRESIGN_SECONDS}")
        with s3_errors(f"cannot presign {key}"):
            return self._client.presigned_get_object(
                self._bucket, key, expires=timedelta(seconds=expires_seconds)
            )

    def ping(self) -> None:
        with s3_errors(f"bucket {self._bucket}"):
            found = self._client.bucket_exists(self._bucket)
        if not found:
            raise StoreUnavailableError(f"bucket {self._bucket} does not exist")

    # -- multipart -----------------------------------------------------------------------------

    def create_multipart(self, key: str) -> str:
        validate_key(key)
        self._refuse_existing(key)
        with s3_errors(f"cannot start an upload for {key}"):
            return self._multipart.create(key)

    def put_part(
        self, key: str, upload_id: str, part_number: int, chunks: Iterable[bytes]
    ) -> PartResult:
        validate_key(key)
        if not 1 <= part_number <= S3_MAX_PARTS:
            raise StorageError(f"part number must be 1..{S3_MAX_PARTS}, got {part_number}")
        self._require_next_part(key, upload_id, part_number)
        guarded = shield_caller_errors(chunks)
        data = unwrap_caller_errors(lambda: _read_capped(guarded, self._max_part_size))
        with s3_errors(f"cannot upload part {part_number} of {key}"):
            etag = self._multipart.upload_part(key, upload_id, part_number, data)
        return PartResult(
            part_number=part_number,
            size=len(data),
            etag=etag,
            sha256=hashlib.sha256(data).hexdigest(),
        )

    def complete_multipart(self, key: str, upload_id: str, parts: list[PartResult]) -> ObjectInfo:
        validate_key(key)
        numbers = [part.part_number for part in parts]
        if numbers != list(range(1, len(parts) + 1)):
            raise StorageError(f"upload {upload_id}: parts must be 1..n in order, got {numbers}")
        self._refuse_existing(key)
        with s3_errors(f"cannot complete the upload of {key}"):
            self._multipart.complete(key, upload_id, [(p.part_number, p.etag) for p in parts])
        return self.stat(key)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        validate_key(key)
        try:
            with s3_errors(f"upload {upload_id} of {key}"):
                self._multipart.abort(key, upload_id)
        except ObjectNotFoundError:
            return  # already aborted or completed

    # -- internals -----------------------------------------------------------------------------

    def _head(self, key: str) -> Object:
        with s3_errors(key):
            return self._client.stat_object(self._bucket, key)

    def _head_or_none(self, key: str) -> Object | None:
        try:
            return self._head(key)
        except ObjectNotFoundError:
            return None

    def _info(self, key: str, head: Object) -> ObjectInfo:
        lock = _lock_state(head)
        return ObjectInfo(key, head.size or 0, lock.retain_until, lock.legal_hold)

    def _refuse_existing(self, key: str) -> None:
        if self._head_or_none(key) is not None:
            raise ObjectExistsError(f"{key} already exists")

    def _refuse_if_locked(self, key: str, head: Object) -> None:
        if _lock_state(head).is_locked(self._now()):
            raise ObjectLockedError(f"{key} is under retention or legal hold")

    def _remove_version(self, key: str, head: Object) -> None:
        """Delete exactly the version ``head`` describes, so versioning keeps no copy of it."""
        self._refuse_if_locked(key, head)
        with s3_errors(f"cannot remove {key}", denied_means_locked=True):
            self._client.remove_object(self._bucket, key, version_id=head.version_id)

    def _remove_unfinished(self, key: str, size: int) -> None:
        """Best effort after a failed put whose body was fully sent: remove what may have landed.

        The key did not exist when the put began and a new object has no lock yet, so an
        unlocked object of exactly our size is ours.
        """
        try:
            head = self._head_or_none(key)
            if (
                head is not None
                and head.size == size
                and not _lock_state(head).is_locked(self._now())
            ):
                self._remove_version(key, head)
        except StorageError:
            pass  # the original failure is what the caller needs to see

    def _require_next_part(self, key: str, upload_id: str, part_number: int) -> None:
        """Parts arrive in order: ``n`` must follow the last uploaded part, or resend it (S3
        then replaces the earlier copy). One ListParts call looks at parts n-1, n and n+1."""
        with s3_errors(f"upload {upload_id} of {key}"):
            found = self._multipart.part_numbers(
                key, upload_id, after=max(part_number - 2, 0), limit=3 if part_number > 1 else 2
            )
        previous = [part_number - 1] if part_number > 1 else []
        if found not in (previous, [*previous, part_number]):
            raise StorageError(
                f"upload {upload_id}: part {part_number} is neither the next part nor a resend "
                f"of the last one (uploaded parts around it: {found})"
            )

    def _list(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        with s3_errors(f"cannot list {prefix!r}"):
            for item in self._client.list_objects(self._bucket, prefix=prefix, recursive=True):
                if item.is_dir or item.object_name is None or item.last_modified is None:
                    continue
                yield item.object_name, item.last_modified


def _lock_state(head: Object) -> LockState:
    return lock_state_from_headers(head.metadata or {})


def _ceil_to_millisecond(moment: datetime) -> datetime:
    """S3 keeps retention dates to the millisecond; round up so retention is never shorter."""
    millis = math.ceil(moment.microsecond / 1000) * 1000
    if millis == 1_000_000:
        return moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.replace(microsecond=millis)


def _read_capped(chunks: Iterable[bytes], limit: int) -> bytes:
    pieces: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise SizeLimitError(limit)
        pieces.append(bytes(chunk))
    return b"".join(pieces)
