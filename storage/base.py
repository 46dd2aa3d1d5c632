"""The object-store protocol the evidence service programs against.

A store knows bytes and keys, nothing about evidence. Keys are ``/``-separated relative paths made
of ``[A-Za-z0-9._-]`` segments (no empty segment, no leading ``/``, no segment starting with ``.``
so no ``..``; see ``storage.keys``); anything else is an ``InvalidKeyError``. Every write computes
size, SHA-256 and SM3 in the same single pass over the bytes. Objects are immutable once written:
a key is written once, and an object under retention or legal hold can never be removed or
shortened in retention, whatever the backend would allow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from storage.errors import StorageError


@dataclass(frozen=True)
class PutResult:
    """What a completed write produced: exactly the bytes that were stored."""

    key: str
    size: int
    sha256: str  # lowercase hex
    sm3: str  # lowercase hex


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    retain_until: datetime | None  # COMPLIANCE retention, timezone-aware UTC; None = none set
    legal_hold: bool


@dataclass(frozen=True)
class PartResult:
    """One part of a multipart (resumable) upload."""

    part_number: int
    size: int
    etag: str
    sha256: str  # of this part's bytes only


@runtime_checkable
class ObjectStore(Protocol):
    #: Smallest size a non-final multipart part may have (S3: 5 MiB; local disk: 1).
    min_part_size: int

    def put(self, key: str, chunks: Iterable[bytes], *, max_size: int | None = None) -> PutResult:
        """Stream ``chunks`` (unknown total length) into a new object at ``key``.

        Computes size + SHA-256 + SM3 in one pass. Raises ``ObjectExistsError`` if ``key`` exists,
        ``SizeLimitError`` once more than ``max_size`` bytes arrive (nothing is left behind), and
        re-raises any exception the ``chunks`` iterator raises after discarding the partial write.
        """
        ...

    def get(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes ``start``..``end`` inclusive (``end=None``: to the last byte)."""
        ...

    def stat(self, key: str) -> ObjectInfo: ...

    def exists(self, key: str) -> bool: ...

    def promote(self, src_key: str, dst_key: str) -> ObjectInfo:
        """Move a finished temporary object to its final key (atomic where the backend allows).

        Idempotent for crash recovery: if ``dst_key`` already exists with the same size and
        ``src_key`` is gone (or also present), it returns ``stat(dst_key)`` and removes ``src_key``.
        """
        ...

    def set_retention(self, key: str, until: datetime) -> None:
        """Put COMPLIANCE retention on ``key`` until ``until``.

        Refuses to shorten an existing retention (``RetentionError``).
        """
        ...

    def set_legal_hold(self, key: str, on: bool) -> None: ...

    def discard(self, key: str) -> None:
        """Remove an object that never became evidence (a temp object, an aborted upload).

        Refuses (``ObjectLockedError``) while the object is under retention or legal hold. Missing
        keys are not an error. The public API never exposes this.
        """
        ...

    def list_keys(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        """Keys under ``prefix`` with their last-modified time (for the reaper)."""
        ...

    def presigned_get_url(self, key: str, expires_seconds: int = 900) -> str | None:
        """A time-limited download URL, or None when the backend cannot make one (local disk)."""
        ...

    # Multipart (resumable) uploads: parts arrive in order, 1, 2, 3, ...
    def create_multipart(self, key: str) -> str:
        """Begin a multipart upload for ``key``; returns the upload id."""
        ...

    def put_part(
        self, key: str, upload_id: str, part_number: int, chunks: Iterable[bytes]
    ) -> PartResult:
        """Store part ``part_number``: the next part, or a resend of the last one (which
        replaces it, as in S3); anything else is a ``StorageError``. If ``chunks`` raises, the
        part is not stored and the exception is re-raised unchanged."""
        ...

    def complete_multipart(self, key: str, upload_id: str, parts: list[PartResult]) -> ObjectInfo:
        """Assemble ``parts`` (exactly the stored parts, 1..n) into ``key``; every part but the
        last must be at least ``min_part_size``. ``ObjectExistsError`` if ``key`` was taken."""
        ...

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop the upload and its parts; an unknown or finished upload is not an error."""
        ...

    def ping(self) -> None:
        """Raise ``StoreUnavailableError`` unless the store is reachable and writable."""
        ...


def set_retentions(
    store: ObjectStore, items: Sequence[tuple[str, datetime]]
) -> list[StorageError | None]:
    """Put COMPLIANCE retention on many keys: the store's own batch (``set_retentions``, which
    the local store makes durable with one directory fsync) where it has one, else
    ``set_retention`` key by key. Returns, for each item in order, None or the
    ``StorageError`` that refused it; one refusal does not stop the others."""
    batch = getattr(store, "set_retentions", None)
    if batch is not None:
        return list(batch(items))
    return [retention_outcome(store, key, until) for key, until in items]


def retention_outcome(store: ObjectStore, key: str, until: datetime) -> StorageError | None:
    """``store.set_retention(key, until)``: None once set, or the ``StorageError`` refusing it."""
    try:
        store.set_retention(key, until)
    except StorageError as exc:
        return exc
    return None
