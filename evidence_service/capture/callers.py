"""Who calls, and the reads a request makes before its route runs.

The web layer resolves the caller of each request once — the actor behind its bearer token —
and checks the route's access rule (``api/policy.py``) in a read session; both reads live here
so that no router opens a session of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from evidence_service.access.identity import Actor, authenticate
from evidence_service.core.db import one_statement_bind


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
