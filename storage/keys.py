"""Object keys: the one grammar every store accepts, checked before any I/O.

A key is a relative path: ``/``-separated segments of ``[A-Za-z0-9._-]``, at most
:data:`MAX_KEY_LENGTH` characters, each segment at most :data:`MAX_SEGMENT_LENGTH`. No segment
may start with ``.``: that rules out ``.`` and ``..`` and also hidden names, which the local
store reserves for its own files (temp files, ``.meta/``), so they can never collide with a key.
The grammar is ASCII-only on purpose: no separators from other platforms (``\\``), no NUL, no
Unicode look-alikes or normalisation tricks, so a key means the same path on every filesystem
(segments fit in NAME_MAX with room for a temp-file suffix) and the same name on every S3 server.
"""

from __future__ import annotations

import re

from storage.errors import InvalidKeyError
from storage.limits import MAX_KEY_LENGTH, MAX_SEGMENT_LENGTH

__all__ = ["MAX_KEY_LENGTH", "MAX_SEGMENT_LENGTH", "validate_key", "validate_prefix"]

# \Z, not $: "$" would accept a trailing newline.
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*\Z")


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is a safe object key, else raise ``InvalidKeyError``."""
    if not isinstance(key, str):
        raise InvalidKeyError(f"key must be a string, not {type(key).__name__}")
    if not key:
        raise InvalidKeyError("key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError(f"key is longer than {MAX_KEY_LENGTH} characters")
    if key.startswith("/"):
        raise InvalidKeyError(f"key must be relative, got {key!r}")
    for segment in key.split("/"):
        _check_segment(key, segment)
    return key


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` unchanged if every key it can match would be valid.

    The empty prefix matches everything; a trailing ``/`` is allowed (``"tmp/"``), and the last
    segment may be partial (``"tmp/01J"``), but it must still use only key characters.
    """
    if not isinstance(prefix, str):
        raise InvalidKeyError(f"prefix must be a string, not {type(prefix).__name__}")
    if not prefix:
        return prefix
    if len(prefix) > MAX_KEY_LENGTH:
        raise InvalidKeyError(f"prefix is longer than {MAX_KEY_LENGTH} characters")
    if prefix.startswith("/"):
        raise InvalidKeyError(f"prefix must be relative, got {prefix!r}")
    *directories, last = prefix.split("/")
    for segment in directories:
        _check_segment(prefix, segment)
    if last and (not _SEGMENT.match(last) or len(last) > MAX_SEGMENT_LENGTH):
        raise InvalidKeyError(f"prefix {prefix!r} cannot match any valid key")
    return prefix


def _check_segment(key: str, segment: str) -> None:
    if not segment:
        raise InvalidKeyError(f"key {key!r} has an empty segment")
    if segment in (".", ".."):
        raise InvalidKeyError(f"key {key!r} has a {segment!r} segment (path traversal)")
    if segment.startswith("."):
        raise InvalidKeyError(f"key {key!r} has a hidden segment (starting with '.')")
    if len(segment) > MAX_SEGMENT_LENGTH:
        raise InvalidKeyError(f"key {key!r} has a segment longer than {MAX_SEGMENT_LENGTH}")
    if not _SEGMENT.match(segment):
        raise InvalidKeyError(f"key {key!r} has characters outside [A-Za-z0-9._-]")
