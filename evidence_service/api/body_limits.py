"""Every request body has a declared limit, enforced while it is read, before anything parses it.

Most routes take a small JSON body: :class:`BodyLimits` reads it whole up to the route's limit
(413 problem+json beyond it, at once when ``Content-Length`` says so), refuses JSON that is not
UTF-8 or nests too deep (400 ``bad-json``, see ``core/json_input.py``) and hands the bytes on.
Text in plain JSON bodies must be fit to show a person (``core/text.py``, 422 otherwise);
bodies holding signed documents are exempt, as their bytes are judged by their signatures.
The few routes that stream large bodies (:attr:`Body.STREAMED`) keep streaming: their limit is
checked against ``Content-Length`` up front and counted while the route reads, and the route
bounds every JSON part it parses itself. The limits are listed in ``docs/api.md``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evidence_service.anchoring.documents import MAX_ANCHOR_DOCUMENT_BYTES
from evidence_service.api.problems import problem_response
from evidence_service.core.config import Settings
from evidence_service.core.errors import BodyTooLargeError, EvidenceError
from evidence_service.core.json_input import MalformedJsonError, parse_json
from evidence_service.core.text import check_text_tree
from evidence_service.verify.list_steps import MAX_LIST_DOCUMENT_BYTES
from evidence_service.verify.proof import MAX_PROOF_BYTES

KiB, MiB, GiB = 1024, 1024 * 1024, 1024 * 1024 * 1024

#: Packages verified here (anonymously) are at most this large.
MAX_PACKAGE_BYTES = 8 * GiB
#: A transfer document sent back for verification (its manifest lists every item).
MAX_TRANSFER_DOCUMENT = 16 * MiB
#: A document to anchor (its own JCS limit is checked by anchoring/documents.py), with room
#: for the wrapping object and the whitespace of a pretty-printed body.
MAX_ANCHOR_BODY = 2 * MAX_ANCHOR_DOCUMENT_BYTES
#: A JSON-RPC request to the embedded chain (a batch of up to 50 calls).
MAX_RPC_BODY = 64 * KiB
#: Room for a multipart form's boundaries and part headers around its fields and file.
FORM_OVERHEAD = 64 * KiB


class Body(enum.Enum):
    """How a route's body is read."""

    JSON = "json"  # small JSON, read whole here; its text must be fit to show a person
    DOCUMENT = "document"  # small JSON holding a signed document: checked byte for byte later
    STREAMED = "streamed"  # read by the route as a stream; it bounds what it parses itself


@dataclass(frozen=True)
class BodyRule:
    """The body of the routes matching ``method`` and ``path`` (a full-match pattern)."""

    method: str
    path: re.Pattern[str]
    limit: Callable[[Settings], int]
    body: Body


def _rule(method: str, path: str, limit: Callable[[Settings], int], body: Body) -> BodyRule:
    return BodyRule(method, re.compile(path), limit, body)


def _json_limit(settings: Settings) -> int:
    return settings.max_json_body_bytes


SEGMENT = r"[^/]+"

#: Routes whose body is not plain JSON within ``Settings.max_json_body_bytes``.
RULES: tuple[BodyRule, ...] = (
    _rule(
        "POST",
        r"/api/v1/evidence",
        lambda s: s.max_upload_bytes + s.max_metadata_bytes + FORM_OVERHEAD,
        Body.STREAMED,
    ),
    _rule("PATCH", rf"/api/v1/uploads/{SEGMENT}", lambda s: s.max_upload_bytes, Body.STREAMED),
    _rule("PATCH", rf"/api/v1/tus/{SEGMENT}", lambda s: s.max_upload_bytes, Body.STREAMED),
    _rule(
        "POST",
        r"/api/v1/verify",
        lambda s: s.max_upload_bytes + MAX_PROOF_BYTES + FORM_OVERHEAD,
        Body.STREAMED,
    ),
    _rule("POST", r"/api/v1/packages/verify", lambda s: MAX_PACKAGE_BYTES, Body.STREAMED),
    _rule(
        "POST", r"/api/v1/evidence-lists/verify", lambda s: MAX_LIST_DOCUMENT_BYTES, Body.STREAMED
    ),
    _rule("POST", r"/api/v1/chain/rpc", lambda s: MAX_RPC_BODY, Body.DOCUMENT),
    _rule("POST", r"/api/v1/seals/verify", _json_limit, Body.DOCUMENT),
    _rule("POST", r"/api/v1/transfers/verify", lambda s: MAX_TRANSFER_DOCUMENT, Body.DOCUMENT),
    _rule("POST", r"/api/v1/anchors", lambda s: MAX_ANCHOR_BODY, Body.DOCUMENT),
)


def module_rules(limits: Iterable[tuple[str, str, int]]) -> tuple[BodyRule, ...]:
    """A business module's own larger bodies (method, path pattern, bytes), read whole up to
    their limit like a JSON body (a page's form with a file)."""
    return tuple(_rule(m, path, _fixed(n), Body.JSON) for m, path, n in limits)


def _fixed(limit: int) -> Callable[[Settings], int]:
    return lambda _settings: limit


def rule_for(
    settings: Settings, method: str, path: str, extra: tuple[BodyRule, ...] = ()
) -> tuple[int, Body]:
    """The byte limit of a request's body and how it is read."""
    for rule in RULES + extra:
        if rule.method == method and rule.path.fullmatch(path):
            return rule.limit(settings), rule.body
    return settings.max_json_body_bytes, Body.JSON


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.strip()
            if text.isdigit() and len(text) <= 20:
                return int(text)
            return None
    return None


class BodyLimits:
    """ASGI middleware enforcing :func:`rule_for` on every HTTP request."""

    def __init__(self, app: ASGIApp, settings: Settings, extra: tuple[BodyRule, ...] = ()) -> None:
        self.app = app
        self.settings = settings
        self.extra = extra

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, body_kind = rule_for(self.settings, scope["method"], scope["path"], self.extra)
        try:
            declared = _declared_length(scope)
            if declared is not None and declared > limit:
                raise _too_large(limit)
            if body_kind is Body.STREAMED:
                await self.app(scope, _counting(receive, limit), send)
                return
            body = await _read_all(receive, limit)
            if body and _is_json(scope):
                _check_json(body, plain_text=body_kind is Body.JSON)
        except EvidenceError as exc:
            await _answer(exc, scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def _check_json(body: bytes, *, plain_text: bool) -> None:
    """Refuse what the framework's parser must never see (too deep, not UTF-8, absurd
    numbers) and, in plain JSON, text with control or bidi-override characters (422); plain
    syntax errors go on to the route, which answers them as it always has."""
    try:
        value = parse_json(body)
    except MalformedJsonError:
        return
    if plain_text:
        check_text_tree(value)


def _too_large(limit: int) -> BodyTooLargeError:
    return BodyTooLargeError(f"the request body is limited to {limit} bytes here", limit=limit)


async def _read_all(receive: Receive, limit: int) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: let the route see it
            return bytes(body)
        body += message.get("body", b"")
        if len(body) > limit:
            raise _too_large(limit)
        if not message.get("more_body", False):
            return bytes(body)


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _too_large(limit)
        return message

    return counted


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _answer(exc: EvidenceError, scope: Scope, receive: Receive, send: Send) -> None:
    # The rest of an oversized body is not read: ask the client to open a new connection.
    headers = {"Connection": "close"} if isinstance(exc, BodyTooLargeError) else None
    response = problem_response(exc.status, exc.problem(scope["path"]), headers)
    await response(scope, receive, send)
