"""Party identifiers, by the core's rule (``cases/pii.py``, copied: a module imports no wing).

A number is normalised (spaces and hyphens dropped, upper-cased), its check character verified
(GB 11643 for a person's resident ID number, GB 32100 for an organisation's unified social
credit code), then kept only as HMAC-SHA256 under the core's PII secret over
``kind ‖ 0x00 ‖ number`` — the very digest the core's party register stores, so one finds the
other — and a masked form ``3301**********1234``. The clear number never reaches a table.
"""

from __future__ import annotations

import hashlib
import hmac
import re

#: The core's identifier kinds, by the record's party kind.
CORE_KIND = {"person": "resident_id", "organisation": "uscc"}

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def normalise(number: str) -> str:
    return re.sub(r"[\s-]", "", number).upper()


def resident_id_check(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def uscc_check(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def check(party_kind: str, number: str) -> str:
    """The normalised number; ValueError naming what is wrong with it."""
    normal = normalise(number)
    if party_kind == "person":
        if not re.fullmatch(r"\d{17}[\dX]", normal):
            raise ValueError("a resident ID number has 17 digits and a check digit or X")
        if resident_id_check(normal[:17]) != normal[17]:
            raise ValueError("the resident ID number's check digit is wrong")
    else:
        if len(normal) != 18 or any(c not in _USCC_ALPHABET for c in normal):
            raise ValueError(
                "a unified social credit code has 18 characters from 0-9 and A-Y without I O S V Z"
            )
        if uscc_check(normal[:17]) != normal[17]:
            raise ValueError("the unified social credit code's check character is wrong")
    return normal


def mask(number: str) -> str:
    """``3301**********1234``: the first and last four characters, the rest starred."""
    normal = normalise(number)
    if len(normal) <= 8:
        return "*" * len(normal)
    return normal[:4] + "*" * (len(normal) - 8) + normal[-4:]


def digest(party_kind: str, normal: str, secret: bytes) -> str:
    message = f"{CORE_KIND[party_kind]}\x00{normal}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
