"""RFC 8785 JSON Canonicalization Scheme: the one byte encoding every signature and hash is over."""

from __future__ import annotations

from typing import Any

import rfc8785


def canonicalize(value: Any) -> bytes:
    """The JCS bytes of ``value`` (sorted keys, no whitespace, ES6 number form, UTF-8).

    Raises ``ValueError`` for values JSON cannot carry faithfully (NaN, infinities, integers
    outside the IEEE-754 safe range, non-string keys).
    """
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"not canonicalizable: {exc}") from exc
