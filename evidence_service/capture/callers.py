"""Who calls, and the reads a request makes before its route runs.

The web layer resolves the caller of each request once — the actor behind its bearer token —
and checks the route's access rule (``api/policy.py``) in a read session; both reads live here
so that no router opens a session of its own.

A token is read afresh on every request, except on a route that confirms it again where it
records its effect: a capture counts only if its caller's token is still valid in the
transaction that records it (``capture/ingest.py``). Such a route may take the caller a token
stood for a moment ago (:class:`RememberedTokens`, at most :data:`REMEMBER_TOKEN_SECONDS`), so
a stream of captures does not read its token once each. A token revoked in those seconds may
still start a capture in this process; its bytes are discarded with a 401, and it records
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from evidence_service.access.identity import Actor, authenticate, token_digest
from evidence_service.core.db import one_statement_bind
from evidence_service.core.remembered import Remembered


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reads: it takes no writer lock, and rows it loaded stay readable after a
    commit or once it closes (``expire_on_commit`` off)."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def actor_for_token(engine: Engine, token: str, *, now: datetime) -> Actor:
    """The officer a bearer token stands for; ``InvalidTokenError`` (401) if the token is
    unknown, revoked or expired, or the officer's account is disabled."""
    with one_statement_bind(engine).connect() as conn:  # one read: no ORM session, no BEGIN
        return authenticate(conn, token, now=now)


#: How long a route that confirms its caller where it records (a capture) takes a token it
#: read valid without reading it again.
REMEMBER_TOKEN_SECONDS = 2.0


class RememberedTokens:
    """:func:`actor_for_token`, remembered for :data:`REMEMBER_TOKEN_SECONDS` per token (by
    its digest: no token is kept in the clear). Only answers are remembered, never refusals:
    an unknown or revoked token is read every time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._known: Remembered[str, Actor] = Remembered(REMEMBER_TOKEN_SECONDS)

    def actor(self, token: str, *, now: datetime) -> Actor:
        digest = token_digest(token)
        known = self._known.get(digest)
        if known is not None:
            return known
        actor = actor_for_token(self.engine, token, now=now)
        self._known.put(digest, actor)
        return actor
