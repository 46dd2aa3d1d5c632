"""Every answer names its request: ``X-Request-ID`` in, the same (or a new ULID) out.

:class:`RequestIds` is the outermost middleware, so the header is on every answer — the 413s,
400s and 429s that the body and rate limits give before any route runs included. A caller's own
``X-Request-ID`` is kept when it is short and plain (``[A-Za-z0-9._-]``, at most
:data:`MAX_REQUEST_ID` characters), so a trace can cross services; anything else is replaced,
never echoed. The id lives in ``core.logs.REQUEST_ID`` while the request runs: every log line
and every problem+json body (``request_id``) written for it carries it.
"""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evidence_service.core.ids import new_id
from evidence_service.core.logs import REQUEST_ID

HEADER = "X-Request-ID"
MAX_REQUEST_ID = 128
SAFE_REQUEST_ID = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_REQUEST_ID}}}")


def request_id_for(scope: Scope) -> str:
    """The caller's id if it is safe to repeat, else a new ULID."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if SAFE_REQUEST_ID.fullmatch(text) else new_id()
    return new_id()


class RequestIds:
    """ASGI middleware: set the request id for the request's work and answer with it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
