"""Party identifiers (身份证号, 统一社会信用代码): checked, keyed-hashed, masked, never in clear.

A number is normalised (spaces and hyphens dropped, letters upper-cased), its check character
verified (GB 11643 for resident ID numbers, GB 32100 for unified social credit codes), then
stored only as HMAC-SHA256 under a secret from settings (so equal numbers can be found again,
but a leaked database cannot be brute-forced without the secret) and a masked display form
(``3301**********1234``). The clear number lives only in the request that carries it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from evidence_service.core.secrets import generated_secret

SECRET_FILE = "pii.secret"


class IdentifierKind(StrEnum):
    resident_id = "resident_id"  # 居民身份证号码, GB 11643-1999
    uscc = "uscc"  # 统一社会信用代码, GB 32100-2015


class IdentifierError(ValueError):
    """The number is malformed or its check character is wrong."""


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def normalise(number: str) -> str:
    return re.sub(r"[\s-]", "", number).upper()


def _check_resident_id(number: str) -> None:
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise IdentifierError("a resident ID number has 17 digits and a check digit or X")
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != number[17]:
        raise IdentifierError("the resident ID number's check digit is wrong")


def _check_uscc(number: str) -> None:
    if len(number) != 18 or any(c not in _USCC_ALPHABET for c in number):
        raise IdentifierError(
            "a unified social credit code has 18 characters from 0-9 and A-Y without I O S V Z"
        )
    total = sum(
        _USCC_ALPHABET.index(c) * w for c, w in zip(number[:17], _USCC_WEIGHTS, strict=True)
    )
    expected = _USCC_ALPHABET[(31 - total % 31) % 31]
    if expected != number[17]:
        raise IdentifierError("the unified social credit code's check character is wrong")


def check_identifier(kind: IdentifierKind, number: str) -> str:
    """The normalised number, if well-formed with a correct check character."""
    normal = normalise(number)
    if kind == IdentifierKind.resident_id:
        _check_resident_id(normal)
    else:
        _check_uscc(normal)
    return normal


def mask(number: str) -> str:
    """``3301**********1234``: the first and last four characters, the rest starred."""
    normal = normalise(number)
    if len(normal) <= 8:
        return "*" * len(normal)
    return normal[:4] + "*" * (len(normal) - 8) + normal[-4:]


@dataclass(frozen=True)
class ProtectedIdentifier:
    kind: IdentifierKind
    digest: str  # hex HMAC-SHA256(secret, kind ‖ 0x00 ‖ number)
    masked: str


def protect(kind: IdentifierKind, number: str, *, secret: bytes) -> ProtectedIdentifier:
    normal = check_identifier(kind, number)
    digest = hmac.new(secret, f"{kind.value}\x00{normal}".encode(), hashlib.sha256).hexdigest()
    return ProtectedIdentifier(kind, digest, mask(normal))


def pii_secret(configured: bytes | None, data_dir: Path) -> bytes:
    """The HMAC key: the configured one, else one generated once into the data dir (0600).

    Losing it makes stored digests unsearchable (not readable: they never were)."""
    if configured:
        return configured
    return bytes.fromhex(generated_secret(data_dir / SECRET_FILE))
