"""Immutable object storage for evidence: one protocol, a local-disk and a MinIO/S3 backend."""

from storage.base import ObjectInfo, ObjectStore, PartResult, PutResult, set_retentions
from storage.digest import Digester, Digests, digest_bytes
from storage.errors import (
    InvalidKeyError,
    InvalidRangeError,
    ObjectExistsError,
    ObjectLockedError,
    ObjectNotFoundError,
    RetentionError,
    SizeLimitError,
    StorageError,
    StoreUnavailableError,
)
from storage.keys import validate_key
from storage.local import LocalStore
from storage.minio_store import MinioStore

__all__ = [
    "Digester",
    "Digests",
    "InvalidKeyError",
    "InvalidRangeError",
    "LocalStore",
    "MinioStore",
    "ObjectExistsError",
    "ObjectInfo",
    "ObjectLockedError",
    "ObjectNotFoundError",
    "ObjectStore",
    "PartResult",
    "PutResult",
    "RetentionError",
    "SizeLimitError",
    "StorageError",
    "StoreUnavailableError",
    "digest_bytes",
    "set_retentions",
    "validate_key",
]
