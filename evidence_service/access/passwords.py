"""Web sign-in: an officer's own password (argon2id), set with an enrolment code, and the
short-lived person token a browser session carries in its cookie.

A password never replaces the token model: signing in (with a password, or with a token the
officer already holds) issues a fresh person token labelled :data:`SESSION_LABEL` that expires
after ``Settings.web_session_hours``; the browser keeps it in an HttpOnly cookie and every
request is authenticated exactly as a bearer token is (revocation and disabled accounts act at
once, on every replica). Signing out revokes that token.

Every refusal says the same thing (:class:`InvalidCredentialsError`): an unknown officer, a
wrong password, a disabled account and an officer without a password are indistinguishable.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, update
from sqlmodel import Session, col

from evidence_service.access.identity import authenticate, issue_token, token_digest
from evidence_service.access.models import ApiToken, Officer, OfficerPassword, TokenKind
from evidence_service.access.people import enrol
from evidence_service.core.clock import Clock
from evidence_service.core.db import session_scope
from evidence_service.core.errors import EvidenceError, InvalidTokenError
from evidence_service.core.ids import new_id

#: The label of the person tokens that browser sessions carry.
SESSION_LABEL = "web sign-in"
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 256

# argon2-cffi's defaults are RFC 9106's second recommended option (argon2id, t=3, m=64 MiB).
_hasher = PasswordHasher()


class InvalidCredentialsError(EvidenceError):
    slug, title, status = "invalid-credentials", "The sign-in details are not valid", 401


class WeakPasswordError(EvidenceError):
    slug, title, status = "weak-password", "The password is too short or too long", 422


def check_password_rules(password: str) -> None:
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise WeakPasswordError(
            f"a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters",
            min_length=MIN_PASSWORD_CHARS,
        )


def enrol_with_password(
    engine: Engine, code: str, password: str, *, clock: Clock, ttl: timedelta
) -> dict[str, Any]:
    """Spend an enrolment code: set the officer's password and open a browser session (the
    answer of :func:`evidence_service.access.people.enrol`: officer_id, token, expires_at)."""
    check_password_rules(password)
    hashed = _hasher.hash(password)  # before the code is spent: a failure here spends nothing
    issued = enrol(engine, code, label=SESSION_LABEL, clock=clock, ttl=ttl)
    with session_scope(engine) as session:
        row = session.get(OfficerPassword, issued["officer_id"])
        if row is None:
            row = OfficerPassword(officer_id=issued["officer_id"], hash=hashed, set_at=clock())
        else:
            row.hash, row.set_at = hashed, clock()
        session.add(row)
    return issued


def sign_in_with_password(
    engine: Engine, officer_id: str, password: str, *, clock: Clock, ttl: timedelta
) -> dict[str, Any]:
    """A new browser session for an officer whose password matches."""
    refused = InvalidCredentialsError("the officer id or the password is not right")
    if len(password) > MAX_PASSWORD_CHARS or len(officer_id) > 26:
        raise refused
    with Session(engine) as session:
        row = session.get(OfficerPassword, officer_id)
        officer = session.get(Officer, officer_id)
    if row is None or officer is None:
        _hasher.hash(password)  # spend the same work, so timing does not tell who exists
        raise refused
    try:
        _hasher.verify(row.hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise refused from None
    if not officer.active:
        raise refused
    return _open_session(engine, officer_id, clock=clock, ttl=ttl)


def sign_in_with_token(
    engine: Engine, token: str, *, clock: Clock, ttl: timedelta
) -> dict[str, Any]:
    """A new browser session for the holder of a valid token (of any kind): the page keeps a
    session token of its own, so signing out never revokes the token the officer typed."""
    try:
        with engine.connect() as conn:
            actor = authenticate(conn, token.strip(), now=clock())
    except InvalidTokenError:
        raise InvalidCredentialsError(
            "this token is not valid (unknown, revoked or expired)"
        ) from None
    return _open_session(engine, actor.officer_id, clock=clock, ttl=ttl)


def _open_session(
    engine: Engine, officer_id: str, *, clock: Clock, ttl: timedelta
) -> dict[str, Any]:
    now = clock()
    with session_scope(engine) as session:
        officer = session.get(Officer, officer_id)
        if officer is None or not officer.active:
            raise InvalidCredentialsError("the officer id or the password is not right")
        token = issue_token(
            session,
            officer,
            token_id=new_id(),
            now=now,
            kind=TokenKind.person,
            label=SESSION_LABEL,
            expires_at=now + ttl,
        )
    return {"officer_id": officer_id, "token": token, "expires_at": now + ttl}


def sign_out(engine: Engine, token: str, *, now: datetime) -> None:
    """Revoke a browser session's token (only a session token: never one the officer holds)."""
    with session_scope(engine) as session:
        session.execute(
            update(ApiToken)
            .where(col(ApiToken.token_sha256) == token_digest(token))
            .where(col(ApiToken.label) == SESSION_LABEL)
            .where(col(ApiToken.revoked_at).is_(None))
            .values(revoked_at=now)
        )


def csrf_token(secret: bytes, session_token: str) -> str:
    """The anti-forgery token of a browser session: an HMAC of its session token, so any
    replica sharing the secret checks it without storing anything."""
    mac = hmac.new(secret, b"evidence-csrf\x00" + session_token.encode(), hashlib.sha256)
    return mac.hexdigest()[:43]


def csrf_matches(secret: bytes, session_token: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(
        csrf_token(secret, session_token), presented.strip()
    )
