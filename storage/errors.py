"""Errors of the storage layer. Backend exceptions (minio, OSError) are translated into these."""

from __future__ import annotations


class StorageError(Exception):
    """Root of every storage error."""


class InvalidKeyError(StorageError, ValueError):
    """The key is not a safe relative path (path traversal, absolute path, bad characters)."""


class ObjectNotFoundError(StorageError, KeyError):
    """No object under that key."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "object not found"


class ObjectExistsError(StorageError):
    """The key is already taken; objects are written once."""


class SizeLimitError(StorageError):
    """More bytes arrived than the caller allowed; the partial write was discarded."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"object exceeds the limit of {limit} bytes")
        self.limit = limit


class RetentionError(StorageError):
    """A retention change that would shorten or remove COMPLIANCE retention."""


class ObjectLockedError(StorageError):
    """The object is under retention or legal hold and cannot be removed or replaced."""


class InvalidRangeError(StorageError, ValueError):
    """The requested byte range is malformed or starts past the end of the object (HTTP 416)."""


class StoreUnavailableError(StorageError):
    """The backend cannot be reached, or refused for reasons outside the caller's control."""
