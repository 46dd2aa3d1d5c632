"""Reading JSON an outsider sent: bounded before it is parsed.

Every JSON text from outside (request bodies, multipart fields, members of uploaded packages,
captured JSON documents) goes through :func:`parse_json` or, for signed documents, through
``signing.jcs.loads``; both refuse text nested deeper than ``MAX_DEPTH`` *before* the C decoder
sees it, and numbers longer than ``MAX_NUMBER_DIGITS`` digits. py-evm and py_ecc raise Python's
recursion limit when imported (:func:`cap_recursion_limit` brings it back down), so without
the bound a ~65k-deep array overflowed the thread's stack and killed the process.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from evidence_service.core.errors import BadJsonError, BadRequestError
from signing.jcs import MAX_DEPTH, MAX_NUMBER_DIGITS, TooDeepError, check_depth

#: py-evm's own figure for 1024 nested EVM calls (``eth.EVM_RECURSION_LIMIT``); py_ecc asks for
#: 100000, which lets the C JSON decoder run off an 8 MiB thread stack.
RECURSION_LIMIT = 1024 * 12

__all__ = [
    "MAX_DEPTH",
    "RECURSION_LIMIT",
    "MalformedJsonError",
    "cap_recursion_limit",
    "check_json",
    "parse_json",
]


class MalformedJsonError(BadRequestError):
    """Text that is not JSON at all (a syntax error)."""


def cap_recursion_limit() -> int:
    """Import the libraries that raise the recursion limit, then set it to what py-evm needs.

    Called by the app factory and the CLI; importing the libraries first means a later lazy
    import cannot raise it again behind our back. Returns the limit now in force."""
    import eth  # noqa: F401  (sets 12288)
    import py_ecc  # noqa: F401  (sets 100000)

    sys.setrecursionlimit(RECURSION_LIMIT)
    return RECURSION_LIMIT


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number longer than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number longer than {MAX_NUMBER_DIGITS} characters")
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:20]} is out of range")
    return number


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_json(data: bytes | str, *, what: str = "the body", max_depth: int = MAX_DEPTH) -> None:
    """Refuse (``BadJsonError``) text that is not UTF-8 or nests deeper than ``max_depth``."""
    if not isinstance(data, str):
        try:
            bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadJsonError(f"{what} is not UTF-8 JSON: byte {exc.start} is invalid") from exc
    try:
        check_depth(data, max_depth)
    except TooDeepError as exc:
        raise BadJsonError(f"{what}: {exc}") from exc


def parse_json(data: bytes | str, *, what: str = "the body", max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON from outside: UTF-8 only (a leading BOM is tolerated), at most ``max_depth``
    levels, numbers of sane length, else ``BadJsonError`` (400 ``bad-json``); text that is
    simply not JSON raises ``MalformedJsonError`` (400 ``bad-request``). Both name ``what``."""
    if not isinstance(data, str):
        raw = bytes(data)
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            data = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadJsonError(f"{what} is not UTF-8 JSON: byte {exc.start} is invalid") from exc
    check_json(data, what=what, max_depth=max_depth)
    try:
        return json.loads(
            data,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
        )
    except RecursionError as exc:  # unreachable after check_json; kept as a last guard
        raise BadJsonError(f"{what} is nested too deeply") from exc
    except json.JSONDecodeError as exc:  # plain bad syntax: answered as it always was
        raise MalformedJsonError(f"{what} is not JSON: {exc}") from exc
    except ValueError as exc:  # the numbers refused above
        raise BadJsonError(f"{what} is not valid JSON: {exc}") from exc
