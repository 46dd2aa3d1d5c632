"""Key grammar: everything that could leave the store root, or mean two things, is refused."""

from __future__ import annotations

import pytest

from storage.errors import InvalidKeyError
from storage.keys import MAX_KEY_LENGTH, MAX_SEGMENT_LENGTH, validate_key, validate_prefix


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "evidence/2026/01J9Z3-report.pdf",
        "tmp/01J9Z3.part_1",
        "a/b..c/d..",
        "-_-/0.9",
        "/".join(["x" * MAX_SEGMENT_LENGTH] * 2),
        "/".join(["abcdefg"] * (MAX_KEY_LENGTH // 8)) + "x",  # exactly the maximum length
    ],
)
def test_valid_keys_are_returned_unchanged(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("", "empty"),
        ("../x", "parent segment"),
        ("a/../../b", "traversal in the middle"),
        ("a/..", "trailing parent segment"),
        ("./a", "current-directory segment"),
        ("a/./b", "current-directory segment in the middle"),
        ("/etc/passwd", "absolute path"),
        ("a//b", "empty segment"),
        ("a/", "trailing slash"),
        ("a\\b", "backslash separator"),
        ("..\\..\\windows", "windows traversal"),
        ("a\x00b", "NUL byte"),
        ("a\nb", "newline"),
        ("a\n", "trailing newline"),
        ("a b", "space"),
        ("C:/x", "drive letter"),
        ("a/\u2025/b", "two-dot leader look-alike of '..'"),
        ("\uff0e\uff0e/x", "fullwidth full stops"),
        ("a\u2215b", "division slash look-alike of '/'"),
        ("caf\u00e9", "non-ASCII letter"),
        ("e\u0301", "combining accent"),
        ("a\u200bb", "zero-width space"),
        ("%2e%2e/x", "percent-encoded traversal"),
        ("/".join(["abcdefg"] * (MAX_KEY_LENGTH // 8)) + "xy", "too long"),
        ("x" * (MAX_SEGMENT_LENGTH + 1), "segment too long for a filesystem name"),
        (".hidden", "hidden name, reserved for the local store's own files"),
        (".meta/x.json", "the local store's sidecar area"),
        ("a/.b.0123456789abcdef01234567.tmp", "a temp-file name"),
        ("a/..b", "segment starting with a dot"),
    ],
)
def test_invalid_keys_are_rejected(key: str, why: str) -> None:
    with pytest.raises(InvalidKeyError):
        validate_key(key)


def test_non_string_key_is_rejected() -> None:
    with pytest.raises(InvalidKeyError):
        validate_key(b"abc")  # type: ignore[arg-type]


def test_invalid_key_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_key("../x")


@pytest.mark.parametrize("prefix", ["", "tmp/", "tmp/01J", "evidence/2026/", "a"])
def test_valid_prefixes(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize(
    "prefix", ["/", "/tmp/", "../", "a//", "a/../", "a\\", "caf\u00e9/", ".meta/", "tmp/."]
)
def test_invalid_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidKeyError):
        validate_prefix(prefix)
