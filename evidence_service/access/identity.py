"""Who is calling: bearer tokens (only their SHA-256 is stored) resolved to an officer."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from evidence_service.access.models import ApiToken, Officer, Role, TokenKind
from evidence_service.core import driver
from evidence_service.core.errors import InvalidTokenError

TOKEN_PREFIX = "evd_"


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of one request."""

    officer_id: str
    department_id: str
    role: Role
    name: str
    token_id: str = ""  # the bearer token this request came with (rate limits count per token)
    token_kind: str = TokenKind.person


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    officer: Officer,
    *,
    token_id: str,
    now: datetime,
    kind: str = TokenKind.person,
    label: str = "",
    token: str | None = None,
    expires_at: datetime | None = None,
    issued_by: str | None = None,
) -> str:
    """Create a token for ``officer``; the clear token is returned once and never stored."""
    token = token or new_token()
    session.add(
        ApiToken(
            id=token_id,
            token_sha256=token_digest(token),
            officer_id=officer.id,
            kind=str(kind),
            label=label,
            created_at=now,
            expires_at=expires_at,
            issued_by=issued_by,
        )
    )
    return token


#: A token's row and its officer's, in the columns :func:`authenticate` needs.
_TOKEN_ROWS = sa_select(
    col(ApiToken.id),
    col(ApiToken.kind),
    col(ApiToken.revoked_at),
    col(ApiToken.expires_at),
    col(Officer.id),
    col(Officer.department_id),
    col(Officer.role),
    col(Officer.name),
    col(Officer.active),
).join_from(ApiToken, Officer, Officer.id == ApiToken.officer_id)  # type: ignore[arg-type]
#: :func:`authenticate`'s query, built once: every authenticated request runs it.
_TOKEN_QUERY = _TOKEN_ROWS.where(ApiToken.token_sha256 == bindparam("digest"))  # type: ignore[arg-type]


@functools.cache
def _tokens_by_id(slots: int) -> Executable:
    """The same for up to ``slots`` tokens named by id (:func:`tokens_refused`)."""
    return _TOKEN_ROWS.where(driver.in_slots(col(ApiToken.id), "id", slots))


def authenticate(conn: Connection, token: str, *, now: datetime) -> Actor:
    """The officer behind ``token``; ``InvalidTokenError`` if it is unknown, revoked or
    expired, or the officer's account is disabled.

    Read fresh on every request (a revoked token or a disabled officer stops working at once,
    on every replica), in one joined query of the few columns it needs: no ORM objects are
    built on this path, which every authenticated request takes. The one exception is a
    capture, which may start from what its token stood for a moment ago because it confirms
    the token (:func:`tokens_refused`) in the transaction that records it
    (``capture/callers.py``)."""
    # On the driver's cursor: a select of columns needs neither an ORM session nor the
    # execution path of Connection.execute (core/driver.py).
    row = driver.first(conn, _TOKEN_QUERY, {"digest": token_digest(token)})
    if row is None:
        raise InvalidTokenError("unknown bearer token")
    refusal = _refusal(row, now)
    if refusal is not None:
        raise refusal
    token_id, kind, _, _, officer_id, department_id, role, name, _ = row
    return Actor(officer_id, department_id, Role(role), name, token_id=token_id, token_kind=kind)


def _refusal(row: Any, now: datetime) -> InvalidTokenError | None:
    """Why a row of :data:`_TOKEN_QUERY` no longer authenticates anyone at ``now``, if it
    does not."""
    _, _, revoked_at, expires_at, _, _, _, _, active = row
    if revoked_at is not None:
        return InvalidTokenError("this token was revoked")
    if expires_at is not None and expires_at <= now:
        return InvalidTokenError("this token expired; sign in again")
    if not active:
        return InvalidTokenError("this account is disabled")
    return None


def tokens_refused(
    conn: Connection, token_ids: Collection[str], *, now: datetime
) -> dict[str, Exception]:
    """The tokens of ``token_ids`` that would no longer authenticate at ``now``, each with the
    401 :func:`authenticate` would now answer: one query for them all, in the caller's
    transaction (a capture confirms its caller's token in the one that records it)."""
    query = _tokens_by_id(driver.slots(token_ids))
    rows = {row[0]: row for row in driver.every(conn, query, driver.slot_values(token_ids, "id"))}
    refused: dict[str, Exception] = {}
    for token_id in token_ids:
        row = rows.get(token_id)
        refusal = InvalidTokenError("unknown bearer token") if row is None else _refusal(row, now)
        if refusal is not None:
            refused[token_id] = refusal
    return refused
