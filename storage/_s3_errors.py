"""Translation of minio / urllib3 / socket failures into ``storage.errors``, in one place."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from xml.etree.ElementTree import ParseError

import urllib3.exceptions
from minio.error import MinioException, S3Error

from storage.errors import (
    InvalidRangeError,
    ObjectLockedError,
    ObjectNotFoundError,
    StorageError,
    StoreUnavailableError,
)

_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchUpload", "NoSuchObject"})
_UNAVAILABLE = frozenset(
    {
        "NoSuchBucket",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "RequestTimeTooSkewed",
        "SlowDown",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "XMinioServerNotInitialized",
        "XMinioStorageFull",
    }
)
_LOCKED = frozenset({"ObjectLocked", "InvalidRetentionPeriod"})

# What the backend may raise: the client's own errors, urllib3 transport errors, raw socket
# errors, unparseable XML bodies, and ValueError from the client's argument checks.
_BACKEND_ERRORS = (MinioException, urllib3.exceptions.HTTPError, OSError, ParseError, ValueError)


def translate(exc: Exception, subject: str, *, denied_means_locked: bool = False) -> StorageError:
    """The ``StorageError`` for a backend exception raised while working on ``subject``."""
    if isinstance(exc, S3Error):
        code = exc.code or ""
        if code in _NOT_FOUND:
            return ObjectNotFoundError(subject)
        if code == "InvalidRange":
            return InvalidRangeError(f"{subject}: the range starts past the end of the object")
        if code in _LOCKED or (code == "AccessDenied" and denied_means_locked):
            return ObjectLockedError(f"{subject} is under retention or legal hold")
        if code in _UNAVAILABLE or code == "AccessDenied":
            return StoreUnavailableError(f"{subject}: {code}: {exc.message}")
        return StorageError(f"{subject}: {code}: {exc.message}")
    if isinstance(exc, MinioException | urllib3.exceptions.HTTPError | OSError | ParseError):
        return StoreUnavailableError(f"{subject}: {type(exc).__name__}: {exc}")
    return StorageError(f"{subject}: {type(exc).__name__}: {exc}")


@contextlib.contextmanager
def s3_errors(subject: str, *, denied_means_locked: bool = False) -> Iterator[None]:
    """Translate backend exceptions raised in the block; our own ``StorageError``s pass."""
    try:
        yield
    except StorageError:
        raise
    except _BACKEND_ERRORS as exc:
        raise translate(exc, subject, denied_means_locked=denied_means_locked) from exc
