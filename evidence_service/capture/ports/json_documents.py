"""Strict JSON parsing and JSON Schema validation for the structured capture ports.

Parsing is stricter than ``json.loads``: UTF-8 only (a BOM is tolerated), no duplicate keys (a
record with two ``"a"`` values would render one and store both), no ``NaN``/``Infinity``. Every
failure is a :class:`BadContentError` whose detail names where the problem is: a line and column
for syntax, a JSON path such as ``$.shapes[2].radius`` for schema violations.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import IO, Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

from evidence_service.capture.ports.timestamps import parse_rfc3339
from evidence_service.core.errors import BadContentError
from signing.jcs import TooDeepError, check_depth

_MAX_MESSAGE = 300


def _is_rfc3339(instance: object) -> bool:
    """JSON Schema ``date-time``: RFC 3339 with a zone, a real calendar date and clock time."""
    if isinstance(instance, str):
        parse_rfc3339(instance)
    return True


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("date-time", raises=ValueError)(_is_rfc3339)


def load_json(stream: IO[bytes]) -> Any:
    """The JSON document in ``stream`` (read to its end; callers bound its size)."""
    raw = stream.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadContentError(f"the JSON document is not UTF-8 (byte {exc.start})") from exc
    try:
        check_depth(text)
    except TooDeepError as exc:
        raise BadContentError(f"the JSON document is {exc}") from exc
    try:
        return json.loads(
            text, object_pairs_hook=_object_without_duplicates, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        raise BadContentError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            line=exc.lineno,
            column=exc.colno,
        ) from exc
    except RecursionError as exc:
        raise BadContentError("the JSON document is nested too deeply") from exc


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise BadContentError(f"duplicate key {key!r} in a JSON object")
        seen.add(key)
    return dict(pairs)


def _reject_constant(name: str) -> Any:
    raise BadContentError(f"{name} is not a JSON number")


@cache
def schema_validator(name: str) -> Draft202012Validator:
    """The validator for ``schemas/<name>.json`` (checked against the meta-schema once)."""
    text = resources.files(__package__).joinpath("schemas", f"{name}.json").read_text("utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_FORMATS)


def validate_document(document: Any, schema_name: str) -> None:
    """Raise :class:`BadContentError` naming the JSON path of the most relevant violation."""
    error = best_match(schema_validator(schema_name).iter_errors(document))
    if error is None:
        return
    message = error.message
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "…"
    raise BadContentError(f"{error.json_path}: {message}", json_path=error.json_path)
