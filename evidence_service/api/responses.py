"""What the routes answer, for the OpenAPI document: the problem+json model and ``responses=``
helpers.

Every error answer is an RFC 9457 problem (``api/problems.py``) served as
``application/problem+json``; :func:`problems` documents the statuses a route answers with that
way, each referring to the one ``Problem`` schema (added to the document's components by
:func:`install_openapi`). :func:`ok` documents a JSON answer with a model without declaring a
``response_model`` (nothing is validated or filtered: the bytes stay what the route returns),
and :func:`binary` a file answer of another content type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"
#: Health checks answer whatever the caller's rate (api/rate_limits.py UNLIMITED_PATHS).
NOT_RATE_LIMITED = frozenset({"/healthz", "/readyz"})
COMPONENTS = "#/components/schemas/"
PROBLEM_REF = COMPONENTS + "Problem"


class ProblemError(BaseModel):
    """One failed field of a request or a document (``errors`` of a 422)."""

    loc: str = Field(description="dotted path of the field (e.g. body.port, query.limit)")
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem document. ``type`` is stable per error (its last segment is the
    slug, e.g. ``…/problems/not-found``); errors may add members of their own (``errors``,
    ``offset``, ``size``, ``limit``, ``party_id``, ``reason``, ...)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI naming the kind of problem")
    title: str = Field(description="short summary of the kind of problem")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what went wrong with this request")
    instance: str | None = Field(None, description="the request path")
    errors: list[ProblemError] | None = Field(
        None, description="each invalid field (request validation, capture metadata, documents)"
    )
    request_id: str | None = Field(
        None, description="the request's id, as in its X-Request-ID answer header and log lines"
    )


#: What each status means when the service answers with it as a problem.
PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "The request is malformed (problem+json)",
    401: "Missing or invalid bearer token (problem+json, with WWW-Authenticate: Bearer)",
    403: "The caller's role (or department) may not do this (problem+json)",
    404: "No such resource, or not one the caller may see (problem+json)",
    409: "The resource's state does not allow this (problem+json)",
    410: "The evidence bytes were disposed of after their retention (problem+json)",
    413: "The upload exceeds the size limit (problem+json)",
    415: "The content does not match the capture port (problem+json)",
    416: "The requested range is outside the file (problem+json, with Content-Range)",
    422: "The request or its content is invalid (problem+json)",
    429: "Too many requests (problem+json)",
    500: "Internal error (problem+json)",
    503: "A backing service (object store, chain) is unavailable (problem+json)",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the problem+json answers of a route."""
    return {
        status: {
            "description": PROBLEM_DESCRIPTIONS.get(status, "Problem"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
        for status in statuses
    }


def ok(model: Any, status: int = 200, description: str | None = None) -> dict[int | str, Any]:
    """A JSON answer documented with ``model`` (documentation only: no validation, no filter)."""
    entry: dict[str, Any] = {"model": model}
    if description:
        entry["description"] = description
    return {status: entry}


BINARY = {"type": "string", "format": "binary"}


def binary(
    *media_types: str,
    status: int = 200,
    description: str | None = None,
    headers: dict[str, Any] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """A file answer (one entry per content type)."""
    entry: dict[str, Any] = {"content": {m: {"schema": dict(BINARY)} for m in media_types}}
    if description:
        entry["description"] = description
    if headers:
        entry["headers"] = headers
    return {status: entry}


def header(description: str, type_: str = "string") -> dict[str, Any]:
    """A response header's documentation."""
    return {"description": description, "schema": {"type": type_}}


def install_openapi(app: FastAPI) -> None:
    """Add the ``Problem`` schema to the app's OpenAPI components, document the body limits'
    answers on every operation with a body, and tidy the success schemas
    that :func:`ok` documents (the route's return annotation leaves ``type``/``title`` beside
    the model's ``$ref``; the model is what the route answers)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        add_problem_schemas(schema)
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                document_body_problems(operation)
                if path not in NOT_RATE_LIMITED:  # api/rate_limits.py counts every other
                    operation.setdefault("responses", {}).setdefault("429", problems(429)[429])
                for response in operation.get("responses", {}).values():
                    for media in response.get("content", {}).values():
                        _keep_ref_only(media.get("schema"))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_body_problems(operation: dict[str, Any]) -> None:
    """Every body is bounded while it is read (``api/body_limits.py``): 413 beyond the limit,
    and 400 for JSON that is not UTF-8 or nests too deep."""
    content = operation.get("requestBody", {}).get("content")
    if not content:
        return
    statuses = [413] + ([400] if any(m.endswith("json") for m in content) else [])
    responses = operation.setdefault("responses", {})
    for status, entry in problems(*statuses).items():
        responses.setdefault(str(status), entry)


def add_problem_schemas(schema: dict[str, Any]) -> None:
    found = Problem.model_json_schema(ref_template=COMPONENTS + "{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(found.pop("$defs", {}))
    components["Problem"] = found


def _keep_ref_only(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        for key in [k for k in schema if k not in ("$ref", "description")]:
            del schema[key]
    _keep_ref_only(schema.get("items"))
