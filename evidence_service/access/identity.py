"""Who is calling: bearer tokens (only their SHA-256 is stored) resolved to an officer."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam
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


#: :func:`authenticate`'s query, built once: every authenticated request runs it.
_TOKEN_QUERY = (
    sa_select(
        col(ApiToken.id),
        col(ApiToken.kind),
        col(ApiToken.revoked_at),
        col(ApiToken.expires_at),
        col(Officer.id),
        col(Officer.department_id),
        col(Officer.role),
        col(Officer.name),
        col(Officer.active),
    )
    .join_from(ApiToken, Officer, Officer.id == ApiToken.officer_id)  # type: ignore[arg-type]
    .where(ApiToken.token_sha256 == bindparam("digest"))  # type: ignore[arg-type]
)


def authenticate(conn: Connection, token: str, *, now: datetime) -> Actor:
    """The officer behind ``token``; ``InvalidTokenError`` if it is unknown, revoked or
    expired, or the officer's account is disabled.

    Read fresh on every request (a revoked token or a disabled officer stops working at once,
    on every replica), in one joined query of the few columns it needs: no ORM objects are
    built on this path, which every authenticated request takes."""
    # On the driver's cursor: a select of columns needs neither an ORM session nor the
    # execution path of Connection.execute (core/driver.py).
    row = driver.first(conn, _TOKEN_QUERY, {"digest": token_digest(token)})
    if row is None:
        raise InvalidTokenError("unknown bearer token")
    token_id, kind, revoked_at, expires_at, officer_id, department_id, role, name, active = row
    if revoked_at is not None:
        raise InvalidTokenError("this token was revoked")
    if expires_at is not None and expires_at <= now:
        raise InvalidTokenError("this token expired; sign in again")
    if not active:
        raise InvalidTokenError("this account is disabled")
    return Actor(officer_id, department_id, Role(role), name, token_id=token_id, token_kind=kind)
