"""The party register (行政相对人): one register for the province, shared by every department and
changed only by the department that registered a party.

Identifiers are checked and protected (see :mod:`evidence_service.cases.pii`) before anything
touches the database: the clear number never reaches a row, a custody event or a log line. Two
parties never share an identifier; a clash is a :class:`ConflictError` naming the holder.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from evidence_service.access.identity import Actor
from evidence_service.cases.cases import (
    check_may_change,
    department_event,
    edge_count,
    party_public,
)
from evidence_service.cases.models import Party, PartyKind
from evidence_service.cases.pii import (
    IdentifierError,
    IdentifierKind,
    ProtectedIdentifier,
    pii_secret,
    protect,
)
from evidence_service.core.clock import Clock
from evidence_service.core.config import Settings
from evidence_service.core.db import session_scope
from evidence_service.core.errors import BadRequestError, ConflictError, NotFoundError
from evidence_service.core.ids import new_id

_TAKEN = "a party with this identifier exists"


def _secret(settings: Settings) -> bytes:
    """The HMAC key, read (or generated into the data dir) only when an identifier is given."""
    configured = settings.pii_secret
    return pii_secret(
        configured.get_secret_value().encode() if configured else None, settings.data_dir
    )


def _protected(kind: IdentifierKind, identifier: str, settings: Settings) -> ProtectedIdentifier:
    try:
        return protect(kind, identifier, secret=_secret(settings))
    except IdentifierError as exc:
        raise BadRequestError(f"identifier: {exc}") from exc


def protect_identifier(
    kind: IdentifierKind | None, identifier: str | None, *, settings: Settings
) -> ProtectedIdentifier | None:
    """Check and protect an identifier given with its kind (both or neither; None for neither).

    Raises :class:`BadRequestError` for one without the other, a malformed number or a wrong
    check character."""
    if (identifier is None) != (kind is None):
        raise BadRequestError("give identifier_kind and identifier together")
    if identifier is None or kind is None:
        return None
    return _protected(kind, identifier, settings)


def register_party(
    engine: Engine,
    *,
    kind: PartyKind,
    name: str,
    identifier: ProtectedIdentifier | None,
    actor: Actor,
    at: datetime,
) -> dict[str, Any]:
    """Register a party in the actor's department with a ``party_created`` event; answers its
    public form. An identifier already registered is a :class:`ConflictError` naming the party
    that holds it."""
    party = Party(
        id=new_id(),
        kind=kind,
        name=name,
        identifier_kind=identifier.kind.value if identifier else None,
        identifier_hmac=identifier.digest if identifier else None,
        identifier_masked=identifier.masked if identifier else None,
        department_id=actor.department_id,
        created_at=at,
    )
    try:
        with session_scope(engine) as session:
            session.add(party)
            session.flush()
            department_event(
                session,
                "party_created",
                {"party_id": party.id, "kind": str(party.kind)},
                actor=actor,
                at=at,
            )
    except IntegrityError as exc:
        with Session(engine) as session:
            existing = session.exec(
                select(Party.id).where(Party.identifier_hmac == party.identifier_hmac)
            ).first()
        raise ConflictError(_TAKEN, party_id=existing) from exc
    return party_public(party)


def find_parties(
    engine: Engine, kind: IdentifierKind, identifier: str, *, settings: Settings
) -> list[dict[str, Any]]:
    """The parties registered with exactly this identifier (none or one), in public form."""
    digest = _protected(kind, identifier, settings).digest
    with Session(engine) as session:
        rows = session.exec(
            select(Party).where(
                Party.identifier_kind == kind.value, Party.identifier_hmac == digest
            )
        ).all()
    return [party_public(p) for p in rows]


def read_party(engine: Engine, party_id: str) -> dict[str, Any]:
    """One party's public form (identifier masked), or :class:`NotFoundError`."""
    with Session(engine) as session:
        party = session.get(Party, party_id)
    if party is None:
        raise NotFoundError(f"no party {party_id}")
    return party_public(party)


def _locked_party(session: Session, party_id: str) -> Party:
    party = session.get(Party, party_id, with_for_update=True)
    if party is None:
        raise NotFoundError(f"no party {party_id}")
    return party


def change_party(
    engine: Engine,
    party_id: str,
    *,
    name: str | None,
    identifier: ProtectedIdentifier | None,
    actor: Actor,
    at: datetime,
) -> dict[str, Any]:
    """Rename a party or give it a new (already protected) identifier, with one
    ``party_updated`` event recording only the masked forms; answers its public form. Only
    the registering department (or an admin) may; a number another party holds is a
    :class:`ConflictError`."""
    with session_scope(engine) as session:
        party = _locked_party(session, party_id)
        check_may_change(actor, party.department_id, f"party {party.id}")
        changes: dict[str, Any] = {}
        if name is not None and name != party.name:
            changes["name"] = {"old": party.name, "new": name}
            party.name = name
        if identifier is not None and (identifier.kind.value, identifier.digest) != (
            party.identifier_kind,
            party.identifier_hmac,
        ):
            holder = session.exec(
                select(Party.id).where(
                    Party.identifier_kind == identifier.kind.value,
                    Party.identifier_hmac == identifier.digest,
                )
            ).first()
            if holder is not None:
                raise ConflictError(_TAKEN, party_id=holder)
            changes["identifier"] = {
                "old": {"kind": party.identifier_kind, "masked": party.identifier_masked},
                "new": {"kind": identifier.kind.value, "masked": identifier.masked},
            }
            party.identifier_kind = identifier.kind.value
            party.identifier_hmac = identifier.digest
            party.identifier_masked = identifier.masked
        if changes:
            session.add(party)
            try:
                session.flush()
            except IntegrityError as exc:  # a concurrent request registered the number first
                raise ConflictError(_TAKEN) from exc
            department_event(
                session,
                "party_updated",
                {"party_id": party.id, "changes": changes},
                actor=actor,
                at=at,
            )
    return party_public(party)


def remove_party(engine: Engine, party_id: str, *, actor: Actor, clock: Clock) -> None:
    """Remove a party registered by mistake, with a ``party_deleted`` event stamped by
    ``clock`` inside the transaction; refused (:class:`ConflictError`) while anything links
    to it."""
    with session_scope(engine) as session:
        party = _locked_party(session, party_id)
        check_may_change(actor, party.department_id, f"party {party.id}")
        links = edge_count(session, party_id)
        if links:
            raise ConflictError(
                f"party {party_id} has {links} link(s) to cases or evidence; detach them first",
                links=links,
            )
        session.delete(party)
        department_event(
            session,
            "party_deleted",
            {"party_id": party.id, "kind": str(party.kind), "name": party.name},
            actor=actor,
            at=clock(),
        )
