"""Headers every answer carries, so that nothing served from our origin can act in a browser.

API answers are data: ``Content-Security-Policy: default-src 'none'; sandbox`` makes any HTML or
SVG that slips through inert, and every non-JSON answer under ``/api/`` (evidence bytes, derived
files, seal pictures, packages) is an attachment unless the route named a file itself. The API
documentation page (``/docs``) gets the one policy that lets Swagger UI run from our own assets.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"
)
#: Swagger UI sets inline style attributes; its scripts and the initializer are our own files.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
#: The web app's pages: our own scripts, styles and images only; media and pictures may come
#: from blob: URLs the page made from a file the officer chose.
WEB_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
#: Paths that answer data, never a page.
DATA_PATHS = ("/api/", "/healthz", "/readyz", "/metrics", "/openapi.json")
DOCS_PREFIX = "/docs"
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: Answers a browser may show inline; anything else from the API downloads as a file.
DATA_TYPES = ("application/json", "application/problem+json", "application/openmetrics-text")


def policy_for(path: str) -> str:
    if path == DOCS_PREFIX or path.startswith(DOCS_PREFIX + "/"):
        return DOCS_POLICY
    if path.startswith(DATA_PATHS):
        return API_POLICY
    return WEB_POLICY


class SecurityHeaders:
    """ASGI middleware adding :data:`ALWAYS`, the path's CSP and, under ``/api/``, an
    attachment disposition on non-JSON answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", policy_for(path))
                media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
                if (
                    path.startswith("/api/")
                    and media
                    and media not in DATA_TYPES
                    and "content-disposition" not in headers
                ):
                    headers["Content-Disposition"] = "attachment"
            await send(message)

        await self.app(scope, receive, send_with_headers)
