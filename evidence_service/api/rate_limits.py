"""Rate limits per route class: per client address without a token, per token with one.

Counting uses the maintained ``limits`` library (moving windows), in memory for one process or
in Redis when several replicas share the counts (``EVIDENCE_RATE_LIMIT_STORAGE``). The classes:

* ``public`` — a caller without a token (verification, the trust bundle, seal pictures), per
  client address; the bytes such a caller asks us to hash (``POST /api/v1/verify``,
  ``/api/v1/packages/verify``) count against ``public_bytes`` as they are read.
* ``enrol`` — ``POST /api/v1/auth/enrol``, per client address (codes must not be guessable).
* ``signed_in`` — a person's token on ordinary routes.
* ``bulk`` — capture and upload routes, and device or service tokens on every route: the
  cameras, gateways and benchmarks that send hundreds of requests a second with one token.

Over the limit: 429 ``rate-limited`` problem+json with ``Retry-After``. Health checks are never
limited. The client address is the connection's (uvicorn's ``--proxy-headers`` with
``--forwarded-allow-ips`` makes it the one a trusted load balancer saw).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evidence_service.access.identity import Actor
from evidence_service.access.models import TokenKind
from evidence_service.api.problems import problem_response
from evidence_service.api.responses import NOT_RATE_LIMITED
from evidence_service.core.config import Settings
from evidence_service.core.errors import RateLimitedError
from evidence_service.core.metrics import RATE_LIMITED

MiB = 1024 * 1024
UNLIMITED_PATHS = NOT_RATE_LIMITED
ENROL = ("POST", "/api/v1/auth/enrol")
#: Anonymous routes whose bodies are hashed: their bytes count too.
HASHED_BODIES = frozenset({("POST", "/api/v1/verify"), ("POST", "/api/v1/packages/verify")})
#: Route templates of the bulk class, whatever the token.
BULK_ROUTES = frozenset(
    {
        ("POST", "/api/v1/evidence"),
        ("POST", "/api/v1/evidence/prepare"),
        ("POST", "/api/v1/uploads"),
        ("HEAD", "/api/v1/uploads/{upload_id}"),
        ("GET", "/api/v1/uploads/{upload_id}"),
        ("PATCH", "/api/v1/uploads/{upload_id}"),
        ("POST", "/api/v1/uploads/{upload_id}/complete"),
        ("POST", "/api/v1/tus/"),
        ("HEAD", "/api/v1/tus/{upload_id}"),
        ("PATCH", "/api/v1/tus/{upload_id}"),
    }
)
BULK_TOKENS = frozenset({TokenKind.device, TokenKind.service})


@dataclass(frozen=True)
class RateLimiter:
    """The configured limits and the storage that counts them."""

    public: RateLimitItem
    public_bytes: RateLimitItem
    enrol: RateLimitItem
    signed_in: RateLimitItem
    bulk: RateLimitItem
    limiter: MovingWindowRateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter | None:
        if not settings.rate_limits:
            return None
        return cls(
            public=parse(settings.rate_limit_public),
            public_bytes=parse(settings.rate_limit_public_bytes_mib),
            enrol=parse(settings.rate_limit_enrol),
            signed_in=parse(settings.rate_limit_signed_in),
            bulk=parse(settings.rate_limit_bulk),
            limiter=MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage)),
        )

    def hit(self, item: RateLimitItem, key: str, cost: int = 1) -> None:
        """Count ``cost`` against ``item`` for ``key``; ``RateLimitedError`` when over."""
        if self.limiter.hit(item, "evidence", key, cost=cost):
            return
        RATE_LIMITED.labels(route_class=self.class_of(item)).inc()
        reset = self.limiter.get_window_stats(item, "evidence", key).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        raise RateLimitedError(
            f"over the limit of {item} for this {key.split(':', 1)[0]}; retry in {retry_after} s",
            retry_after=retry_after,
        )

    def class_of(self, item: RateLimitItem) -> str:
        """The name of the class ``item`` limits (a metric label)."""
        for name in ("public", "public_bytes", "enrol", "signed_in", "bulk"):
            if getattr(self, name) is item:
                return name
        return "other"

    def check_actor(self, actor: Actor, method: str, route: str) -> None:
        """The signed-in classes, once the token is known (called by the policy check)."""
        bulk = (method, route) in BULK_ROUTES or actor.token_kind in BULK_TOKENS
        self.hit(self.bulk if bulk else self.signed_in, f"token:{actor.token_id}")


def _has_bearer(scope: Scope) -> bool:
    return any(name == b"authorization" for name, _ in scope.get("headers", ()))


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class AnonymousRateLimits:
    """ASGI middleware for callers without a token: per address, requests and hashed bytes.
    Callers with a token are counted per token by the policy check (``api/deps.py``)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS or _has_bearer(scope):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        key = f"address:{_client(scope)}"
        try:
            self.limiter.hit(
                self.limiter.enrol if (method, path) == ENROL else self.limiter.public, key
            )
        except RateLimitedError as exc:
            headers = {"Retry-After": str(exc.extra["retry_after"])}
            await problem_response(exc.status, exc.problem(path), headers)(scope, receive, send)
            return
        if (method, path) in HASHED_BODIES:
            receive = self._count_bytes(receive, key)
        await self.app(scope, receive, send)

    def _count_bytes(self, receive: Receive, key: str) -> Receive:
        """Charge every MiB read against the address's byte budget, as it is read; over the
        budget the read raises ``RateLimitedError`` and the route answers 429."""
        pending = 0

        async def counted() -> Message:
            nonlocal pending
            message = await receive()
            if message["type"] == "http.request":
                pending += len(message.get("body", b""))
                whole, pending = divmod(pending, MiB)
                if not message.get("more_body") and pending:  # the last part counts as 1 MiB
                    whole, pending = whole + 1, 0
                if whole:
                    self.limiter.hit(self.limiter.public_bytes, f"bytes:{key}", cost=whole)
            return message

        return counted
