"""RFC 8785 JSON Canonicalization Scheme: the one byte encoding every signature and hash is over."""

from __future__ import annotations

import json
from typing import Any

import rfc8785

_MAX_SAFE_INTEGER = 2**53 - 1


def canonicalize(value: Any) -> bytes:
    """The JCS bytes of ``value`` (sorted keys, no whitespace, ES6 number form, UTF-8).

    Raises ``ValueError`` for values JSON cannot carry faithfully (NaN, infinities, integers
    outside the IEEE-754 safe range, non-string keys).
    """
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"not canonicalizable: {exc}") from exc


def _parse_int(text: str) -> int | float:
    number = int(text)
    return number if -_MAX_SAFE_INTEGER <= number <= _MAX_SAFE_INTEGER else float(text)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"not JSON: {name} is not a JSON number")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"not I-JSON: duplicate object key {key!r}")
        result[key] = value
    return result


def loads(data: bytes | str) -> Any:
    """Parse JSON the way RFC 8785 reads it (I-JSON, RFC 7493), for re-canonicalizing.

    Numbers are IEEE-754 doubles, so an integer beyond ±(2**53 - 1) is read as a float (a float
    such as ``1e16`` canonicalizes to ``10000000000000000``, which plain ``json.loads`` reads
    back as an int that :func:`canonicalize` refuses). Duplicate keys, ``NaN`` and ``Infinity``
    are refused with ``ValueError``: a signed object must have one meaning.
    """
    return json.loads(
        data,
        parse_int=_parse_int,
        parse_constant=_refuse_constant,
        object_pairs_hook=_unique_object,
    )
