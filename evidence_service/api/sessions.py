"""Browser sessions on the API: the web app's session cookie stands in for a bearer token.

Page scripts, ``<img>`` and ``<video>`` cannot send ``Authorization``, so the API also accepts
the cookie :data:`SESSION_COOKIE` (HttpOnly, SameSite=Strict; Secure on HTTPS) that signing in
on the web app sets. It holds a person token (:mod:`evidence_service.access.passwords`) and is
checked exactly as one. Because a browser attaches cookies by itself, the cookie counts only

- from this site: a request whose ``Sec-Fetch-Site`` says another site sent it is refused;
- for anything but GET/HEAD/OPTIONS, with :data:`CSRF_HEADER` carrying the session's
  anti-forgery token (an HMAC of the session token, which pages embed and scripts echo).

A request with an ``Authorization`` header is judged by that header alone.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from pathlib import Path

from starlette.requests import Request

from evidence_service.access.identity import Actor
from evidence_service.access.passwords import csrf_matches
from evidence_service.capture.callers import actor_for_token
from evidence_service.cases.pii import pii_secret
from evidence_service.core.config import Settings
from evidence_service.core.errors import EvidenceError, MissingTokenError
from evidence_service.services import Services

SESSION_COOKIE = "evd_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: ``Sec-Fetch-Site`` values of a request our own pages (or the user, typing a URL) made.
OWN_SITE = frozenset({"same-origin", "none"})


class CsrfError(EvidenceError):
    slug, title, status = "csrf-token", "The anti-forgery token is missing or wrong", 403


@functools.lru_cache(maxsize=8)
def _csrf_key(configured: bytes | None, data_dir: str) -> bytes:
    root = pii_secret(configured, Path(data_dir))
    return hmac.new(root, b"evidence-web-csrf", hashlib.sha256).digest()


def csrf_key(settings: Settings) -> bytes:
    """The anti-forgery key, derived from the secret every replica already shares."""
    configured = settings.pii_secret
    return _csrf_key(
        configured.get_secret_value().encode() if configured else None, str(settings.data_dir)
    )


def session_token(request: Request) -> str | None:
    value = request.cookies.get(SESSION_COOKIE, "").strip()
    return value or None


def from_other_site(request: Request) -> bool:
    """Whether the browser says another site made this request (``Sec-Fetch-Site``)."""
    site = request.headers.get("sec-fetch-site")
    return site is not None and site.lower() not in OWN_SITE


def actor_for_session(
    request: Request, services: Services, token: str, *, remembered: bool = False
) -> Actor:
    """The officer of a browser session, checked as the module docstring says
    (``remembered``: as :func:`evidence_service.api.deps.resolve_actor`)."""
    if from_other_site(request):
        raise MissingTokenError(
            "a session cookie counts only on requests from this site's own pages"
        )
    if request.method not in SAFE_METHODS and not csrf_matches(
        csrf_key(services.settings), token, request.headers.get(CSRF_HEADER)
    ):
        raise CsrfError(f"send the page's {CSRF_HEADER} header with the session cookie")
    if remembered:
        return services.callers.actor(token, now=services.clock())
    return actor_for_token(services.engine, token, now=services.clock())
