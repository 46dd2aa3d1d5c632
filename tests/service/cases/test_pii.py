"""Party identifiers: check characters, normalisation, masking, keyed hashes."""

from __future__ import annotations

import pytest

from evidence_service.cases.pii import (
    IdentifierError,
    IdentifierKind,
    check_identifier,
    mask,
    pii_secret,
    protect,
)

VALID = [
    (IdentifierKind.resident_id, "11010519491231002X"),  # GB 11643 examples
    (IdentifierKind.resident_id, "440524188001010014"),
    (IdentifierKind.uscc, "91350100M000100Y43"),  # GB 32100 example
]


@pytest.mark.parametrize("kind, number", VALID)
def test_valid_numbers_pass_and_any_changed_character_fails(
    kind: IdentifierKind, number: str
) -> None:
    assert check_identifier(kind, number) == number
    alphabet = (
        "0123456789X" if kind == IdentifierKind.resident_id else "0123456789ABCDEFGHJKLMNPQRTUWXY"
    )
    for position in range(len(number)):
        for replacement in alphabet:
            if replacement == number[position]:
                continue
            changed = number[:position] + replacement + number[position + 1 :]
            if kind == IdentifierKind.resident_id and position < 17 and replacement == "X":
                continue  # X is only a check character
            with pytest.raises(IdentifierError):
                check_identifier(kind, changed)


def test_normalising_masking_and_hashing() -> None:
    assert check_identifier(IdentifierKind.resident_id, " 110105-19491231-002x ") == VALID[0][1]
    assert mask("11010519491231002X") == "1101**********002X"
    assert mask("1234") == "****"
    a = protect(IdentifierKind.resident_id, "11010519491231002x", secret=b"k1")
    b = protect(IdentifierKind.resident_id, "11010519491231002X", secret=b"k1")
    c = protect(IdentifierKind.resident_id, "11010519491231002X", secret=b"k2")
    assert a == b and a.digest != c.digest and len(a.digest) == 64
    assert "11010519491231002X" not in repr(a)
    with pytest.raises(IdentifierError):
        check_identifier(IdentifierKind.uscc, "91350100I000100Y43")  # I is not in the alphabet


def test_the_generated_secret_is_private_and_stable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = pii_secret(None, tmp_path)
    assert len(first) == 32 and pii_secret(None, tmp_path) == first
    assert (tmp_path / "pii.secret").stat().st_mode & 0o777 == 0o600
    assert pii_secret(b"configured", tmp_path) == b"configured"
