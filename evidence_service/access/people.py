"""Identity administration: departments, officers and the bearer tokens they sign in with.

Each write is one transaction. Department codes are unique (a taken code is a
:class:`BadRequestError`); an officer joins a department that exists; a token is shown once
(:func:`~evidence_service.access.identity.issue_token` keeps only its hash).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor, issue_token, token_digest
from evidence_service.access.models import (
    ApiToken,
    Department,
    DepartmentCreate,
    EnrolmentCode,
    Officer,
    OfficerCreate,
    Role,
    TokenKind,
    TokenPublic,
)
from evidence_service.access.pki import Pki
from evidence_service.core.clock import Clock
from evidence_service.core.db import session_scope
from evidence_service.core.errors import (
    BadRequestError,
    CertificateTextError,
    ConflictError,
    InvalidEnrolmentCodeError,
    NotFoundError,
    SealTextError,
)
from evidence_service.core.ids import new_id
from evidence_service.custody.log import append_event
from signing.cert_identity import check_identity_text
from signing.errors import BadCertificateError
from signing.seal_image import SealImageError, render_seal

#: Enrolment codes are told apart from tokens at a glance.
ENROLMENT_PREFIX = "enr_"
NOT_VALID = "this enrolment code is not valid (used, expired or unknown)"


def signed_in_officer(engine: Engine, actor: Actor) -> Officer:
    """The officer record behind a signed-in actor (its token resolved to it, so it exists)."""
    with Session(engine) as session:
        officer = session.get(Officer, actor.officer_id)
    assert officer is not None
    return officer


def all_departments(engine: Engine) -> list[Department]:
    """Every department, by name."""
    with Session(engine) as session:
        return list(session.exec(select(Department).order_by(col(Department.name))).all())


def check_seal_drawable(name: str, code: str) -> None:
    """Refuse (422) a department name or code its e-seal cannot draw: every sealed document
    and the public ``seal.png`` show it, so it is checked before the department exists."""
    try:
        render_seal(department_name=name, seal_code=code, size_px=64)
    except SealImageError as exc:
        raise SealTextError(f"the department seal cannot show this: {exc}") from exc


def check_certifiable(**fields: str | None) -> None:
    """Refuse (422) names the certificates could not carry: officer and department names, codes
    and enforcement numbers go into X.509 names, at most 64 bytes of UTF-8 (RFC 5280), so a
    longer one is refused before anything exists rather than failing at the first capture."""
    for what, value in fields.items():
        if value is None:
            continue
        try:
            check_identity_text(what, value)
        except BadCertificateError as exc:
            raise CertificateTextError(exc.detail, field=what) from exc


def register_department(engine: Engine, payload: DepartmentCreate, *, at: datetime) -> Department:
    """Create a department; a code already taken is a :class:`BadRequestError`, a name or code
    the seal cannot draw a :class:`SealTextError`."""
    check_seal_drawable(payload.name, payload.code)
    check_certifiable(department_name=payload.name, code=payload.code)
    department = Department(id=new_id(), created_at=at, **payload.model_dump())
    try:
        with session_scope(engine) as session:
            session.add(department)
    except IntegrityError as exc:
        raise BadRequestError(f"department code {payload.code!r} is taken") from exc
    return department


def register_officer(
    pki: Pki, payload: OfficerCreate, *, at: datetime, actor_id: str | None = None
) -> Officer:
    """Create an officer in an existing department (else :class:`NotFoundError`), with a
    custodial certificate from the department CA in the same transaction, so the service signs
    their captures from the first one."""
    check_certifiable(name=payload.name, cert_no=payload.cert_no)
    officer = Officer(id=new_id(), created_at=at, **payload.model_dump())
    with session_scope(pki.engine) as session:
        if session.get(Department, payload.department_id) is None:
            raise NotFoundError(f"no department {payload.department_id}")
        session.add(officer)
        session.flush()
        pki.issue_in(session, officer, actor_id=actor_id)
    return officer


def update_department(
    engine: Engine,
    department_id: str,
    *,
    require_signed_captures: bool | None,
    actor: Actor,
    clock: Clock,
) -> Department:
    """Change a department's settings (only what is given); a change is a custody event."""
    with session_scope(engine) as session:
        department = session.get(Department, department_id, with_for_update=True)
        if department is None:
            raise NotFoundError(f"no department {department_id}")
        changed: dict[str, Any] = {}
        if (
            require_signed_captures is not None
            and require_signed_captures != department.require_signed_captures
        ):
            department.require_signed_captures = require_signed_captures
            changed["require_signed_captures"] = require_signed_captures
        if changed:
            session.add(department)
            append_event(
                session,
                action="department_updated",
                at=clock(),
                actor_id=actor.officer_id,
                department_id=department_id,
                details=changed,
            )
        session.flush()
        session.refresh(department)
        return department


def issue_officer_token(
    engine: Engine, officer_id: str, *, kind: TokenKind, label: str, issuer: Actor, clock: Clock
) -> dict[str, Any]:
    """Issue a device or service token in the officer's name (else :class:`NotFoundError`);
    the clear token is returned this once and only its hash is stored. A person's own token
    never comes from here: an admin gets an enrolment code for them instead
    (:func:`issue_enrolment_code`), so an admin cannot sign in as anyone."""
    if kind == TokenKind.person:
        raise BadRequestError(
            "a person's token comes from their enrolment code "
            "(POST /api/v1/officers/{id}/enrolment, then POST /api/v1/auth/enrol)"
        )
    with session_scope(engine) as session:
        officer = _active_officer(session, officer_id)
        token_id = new_id()
        token = issue_token(
            session,
            officer,
            token_id=token_id,
            now=clock(),
            kind=kind,
            label=label,
            issued_by=issuer.officer_id,
        )
    return {"officer_id": officer_id, "kind": str(kind), "token": token, "token_id": token_id}


def _active_officer(session: Session, officer_id: str) -> Officer:
    officer = session.get(Officer, officer_id, with_for_update=True)
    if officer is None:
        raise NotFoundError(f"no officer {officer_id}")
    if not officer.active:
        raise ConflictError(f"officer {officer_id} is disabled")
    return officer


def issue_enrolment_code(
    engine: Engine, officer_id: str, *, issuer: Actor, clock: Clock, ttl: timedelta
) -> dict[str, Any]:
    """A one-time code the officer exchanges for their own credentials; any earlier unused
    code of theirs stops working. Only the code's hash is stored."""
    code = ENROLMENT_PREFIX + secrets.token_urlsafe(18)
    now = clock()
    with session_scope(engine) as session:
        _active_officer(session, officer_id)
        for earlier in session.exec(
            select(EnrolmentCode).where(
                EnrolmentCode.officer_id == officer_id, col(EnrolmentCode.used_at).is_(None)
            )
        ):
            earlier.used_at = now
            session.add(earlier)
        session.add(
            EnrolmentCode(
                id=new_id(),
                code_sha256=token_digest(code),
                officer_id=officer_id,
                issued_by=issuer.officer_id,
                created_at=now,
                expires_at=now + ttl,
            )
        )
    return {"officer_id": officer_id, "code": code, "expires_at": now + ttl}


def enrol(engine: Engine, code: str, *, label: str, clock: Clock, ttl: timedelta) -> dict[str, Any]:
    """Exchange an enrolment code for the officer's own person token (expiring after
    ``ttl``). A code works once, before it expires; anything else is one
    :class:`InvalidEnrolmentCodeError`, which says nothing of why."""
    now = clock()
    with session_scope(engine) as session:
        row = session.exec(
            select(EnrolmentCode)
            .where(EnrolmentCode.code_sha256 == token_digest(code.strip()))
            .with_for_update()
        ).first()
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise InvalidEnrolmentCodeError(
                "this enrolment code is not valid (used, expired or unknown)"
            )
        officer = session.get(Officer, row.officer_id)
        if officer is None or not officer.active:
            raise InvalidEnrolmentCodeError(
                "this enrolment code is not valid (used, expired or unknown)"
            )
        row.used_at = now
        session.add(row)
        token_id = new_id()
        token = issue_token(
            session,
            officer,
            token_id=token_id,
            now=now,
            kind=TokenKind.person,
            label=label,
            expires_at=now + ttl,
        )
        return {
            "officer_id": officer.id,
            "token": token,
            "token_id": token_id,
            "expires_at": now + ttl,
        }


def officer_tokens(engine: Engine, officer_id: str) -> list[TokenPublic]:
    """Every token in the officer's name, newest first (never their hashes)."""
    with Session(engine) as session:
        if session.get(Officer, officer_id) is None:
            raise NotFoundError(f"no officer {officer_id}")
        rows = session.exec(
            select(ApiToken)
            .where(ApiToken.officer_id == officer_id)
            .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
        ).all()
        return [TokenPublic.model_validate(row, from_attributes=True) for row in rows]


def revoke_token(engine: Engine, token_id: str, *, actor: Actor, clock: Clock) -> None:
    """Revoke a token: its owner may revoke their own, an admin anyone's. Revoking twice is
    harmless (the first time stands)."""
    with session_scope(engine) as session:
        token = session.get(ApiToken, token_id, with_for_update=True)
        if token is None or (actor.role != Role.admin and token.officer_id != actor.officer_id):
            raise NotFoundError(f"no token {token_id}")
        if token.revoked_at is None:
            token.revoked_at = clock()
            session.add(token)


def set_officer_active(engine: Engine, officer_id: str, active: bool, *, clock: Clock) -> Officer:
    """Enable or disable an officer. Disabling revokes every token and enrolment code of
    theirs: enabling again gives them nothing back (they enrol anew)."""
    now = clock()
    with session_scope(engine) as session:
        officer = session.get(Officer, officer_id, with_for_update=True)
        if officer is None:
            raise NotFoundError(f"no officer {officer_id}")
        officer.active = active
        session.add(officer)
        if not active:
            for token in session.exec(
                select(ApiToken).where(
                    ApiToken.officer_id == officer_id, col(ApiToken.revoked_at).is_(None)
                )
            ):
                token.revoked_at = now
                session.add(token)
            for code in session.exec(
                select(EnrolmentCode).where(
                    EnrolmentCode.officer_id == officer_id, col(EnrolmentCode.used_at).is_(None)
                )
            ):
                code.used_at = now
                session.add(code)
        session.flush()
        session.refresh(officer)
        return officer
