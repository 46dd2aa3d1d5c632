"""Identity administration: departments, officers and the bearer tokens they sign in with.

Each write is one transaction. Department codes are unique (a taken code is a
:class:`BadRequestError`); an officer joins a department that exists; a token is shown once
(:func:`~evidence_service.access.identity.issue_token` keeps only its hash).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor, issue_token
from evidence_service.access.models import Department, DepartmentCreate, Officer, OfficerCreate
from evidence_service.core.clock import Clock
from evidence_service.core.db import session_scope
from evidence_service.core.errors import BadRequestError, NotFoundError, SealTextError
from evidence_service.core.ids import new_id
from signing.seal_image import SealImageError, render_seal


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


def register_department(engine: Engine, payload: DepartmentCreate, *, at: datetime) -> Department:
    """Create a department; a code already taken is a :class:`BadRequestError`, a name or code
    the seal cannot draw a :class:`SealTextError`."""
    check_seal_drawable(payload.name, payload.code)
    department = Department(id=new_id(), created_at=at, **payload.model_dump())
    try:
        with session_scope(engine) as session:
            session.add(department)
    except IntegrityError as exc:
        raise BadRequestError(f"department code {payload.code!r} is taken") from exc
    return department


def register_officer(engine: Engine, payload: OfficerCreate, *, at: datetime) -> Officer:
    """Create an officer in an existing department (else :class:`NotFoundError`)."""
    officer = Officer(id=new_id(), created_at=at, **payload.model_dump())
    with session_scope(engine) as session:
        if session.get(Department, payload.department_id) is None:
            raise NotFoundError(f"no department {payload.department_id}")
        session.add(officer)
    return officer


def issue_officer_token(
    engine: Engine, officer_id: str, *, kind: str, label: str, clock: Clock
) -> str:
    """Issue a bearer token for the officer (else :class:`NotFoundError`); the clear token is
    returned this once and only its hash is stored."""
    with session_scope(engine) as session:
        officer = session.get(Officer, officer_id)
        if officer is None:
            raise NotFoundError(f"no officer {officer_id}")
        return issue_token(
            session,
            officer,
            token_id=new_id(),
            now=clock(),
            kind=kind,
            label=label,
        )
