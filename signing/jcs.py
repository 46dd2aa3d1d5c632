"""RFC 8785 JSON Canonicalization Scheme: the one byte encoding every signature and hash is over."""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

_MAX_SAFE_INTEGER = 2**53 - 1

#: The deepest nesting of arrays and objects :func:`loads` accepts. Every document of the
#: service nests less than ten deep; the bound keeps the C decoder far from the stack's end
#: (libraries such as py-evm raise the recursion limit, so a ~65k-deep array would crash it).
MAX_DEPTH = 64
#: Longest run of digits in a number :func:`loads` reads (CPython refuses beyond 4300 anyway).
MAX_NUMBER_DIGITS = 400

# A string, skipped whole (possessive, so an unterminated one costs one pass).
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
# Keep only brackets, each opening one as "[" and each closing one as "]".
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


class TooDeepError(ValueError):
    """The JSON text nests arrays and objects deeper than allowed."""


def check_depth(data: bytes | str, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`TooDeepError` when ``data`` nests deeper than ``max_depth``, before any
    parser sees it. Linear in the text; strings are skipped, so brackets inside them do not
    count. Malformed text is not judged here (the parser does that)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    brackets = _STRING.sub(b"", raw).translate(_BRACKETS, _NOT_BRACKETS)
    if brackets.count(b"[") <= max_depth:
        return
    depth = 0
    for byte in brackets:
        if byte == 0x5B:  # "["
            depth += 1
            if depth > max_depth:
                raise TooDeepError(f"JSON nested deeper than {max_depth} levels")
        else:
            depth -= 1


def canonicalize(value: Any) -> bytes:
    """The JCS bytes of ``value`` (sorted keys, no whitespace, ES6 number form, UTF-8).

    Raises ``ValueError`` for values JSON cannot carry faithfully (NaN, infinities, integers
    outside the IEEE-754 safe range, non-string keys).
    """
    if _plain(value, 0):
        try:
            return _PLAIN_ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: the reference encoder decides
            pass
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"not canonicalizable: {exc}") from exc


#: For a document without floats (every statement, custody event and leaf body of the
#: service), JCS is exactly ``json.dumps`` with sorted keys, no whitespace and UTF-8 text:
#: both escape only the quote, the backslash and the C0 controls (the short forms for
#: backspace, tab, newline, form feed and carriage return, else a lower-case ``u00xx``). Key
#: order agrees while keys are ASCII (code points and UTF-16 code units then order alike).
#: Anything else takes the reference encoder; ``test_jcs.py`` holds both to the same bytes.
_PLAIN_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False
)


def _plain(value: Any, depth: int) -> bool:
    """Whether ``value`` holds only ASCII-keyed objects, arrays, strings, booleans, null and
    integers in the IEEE-754 safe range (no floats, no subclasses), nested at most
    :data:`MAX_DEPTH` deep."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER)
    if depth >= MAX_DEPTH:
        return False
    if kind is dict:
        return all(
            type(k) is str and k.isascii() and _plain(v, depth + 1) for k, v in value.items()
        )
    if kind is list:
        return all(_plain(v, depth + 1) for v in value)
    return False


def _parse_int(text: str) -> int | float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"not I-JSON: a number longer than {MAX_NUMBER_DIGITS} digits")
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


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON the way RFC 8785 reads it (I-JSON, RFC 7493), for re-canonicalizing.

    Numbers are IEEE-754 doubles, so an integer beyond ±(2**53 - 1) is read as a float (a float
    such as ``1e16`` canonicalizes to ``10000000000000000``, which plain ``json.loads`` reads
    back as an int that :func:`canonicalize` refuses). Duplicate keys, ``NaN`` and ``Infinity``
    are refused with ``ValueError``: a signed object must have one meaning. Text nested deeper
    than ``max_depth`` is refused (:class:`TooDeepError`) before it is parsed, and so are
    numbers of more than :data:`MAX_NUMBER_DIGITS` digits.
    """
    check_depth(data, max_depth)
    return json.loads(
        data,
        parse_int=_parse_int,
        parse_constant=_refuse_constant,
        object_pairs_hook=_unique_object,
    )
