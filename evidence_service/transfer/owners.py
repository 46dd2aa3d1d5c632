"""Whose a record is: the department (or departments) a record named in a path belongs to, and
whether a caller may see it. The access policy (``api/policy.py``) decides with these before a
route runs; graph walks narrow their results with :func:`visible_nodes`.

Records are the department's that created them. Parties and causes are shared registers (every
department sees them; the registering department keeps them), departments are public knowledge,
and a transfer belongs to both its ends. These lookups read the tables of several wings
(evidence and uploads, cases, lists and registers, officers and departments, transfers), so they
live in the transfer wing, the lowest one that sees them all.

Each lookup reads in the caller's ``Session`` and answers None for a record that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from evidence_service.access.identity import Actor
from evidence_service.access.models import ApiToken, Department, Officer, Role
from evidence_service.capture.models import Evidence, UploadSession
from evidence_service.capture.visibility import granted
from evidence_service.cases.models import Case, Cause, EvidenceList, Party, Place
from evidence_service.transfer.models import Transfer


@dataclass(frozen=True)
class Owner:
    """The departments a record belongs to (a transfer: both ends)."""

    departments: frozenset[str]
    evidence_id: str | None = None  # set for evidence, whose grants count where a rule allows
    officer_id: str | None = None  # set for an upload: only its officer may touch it
    keeper: str | None = None  # a record everyone sees (a party, a department): who keeps it
    sender: str | None = None  # a transfer's two ends
    recipient: str | None = None


#: Finds whose the record with this id is, or None when there is no such record.
OwnerLookup = Callable[[Session, str], Owner | None]


def evidence_owner(session: Session, evidence_id: str) -> Owner | None:
    """An item: its capturing department's (and, where a rule allows, granted ones')."""
    dept = session.exec(select(Evidence.department_id).where(Evidence.id == evidence_id)).first()
    return Owner(frozenset({dept}), evidence_id=evidence_id) if dept else None


def owned_by(model: type, key: str = "id") -> OwnerLookup:
    """A record of ``model`` with a ``department_id`` column, found by its ``key`` column."""

    def resolve(session: Session, value: str) -> Owner | None:
        dept = session.exec(
            select(model.department_id).where(getattr(model, key) == value)  # type: ignore[attr-defined]
        ).first()
        return Owner(frozenset({dept})) if dept else None

    return resolve


def list_owner(session: Session, list_id: str) -> Owner | None:
    """An issued evidence list: its case's department's."""
    dept = session.exec(
        select(Case.department_id)
        .join(EvidenceList, col(EvidenceList.case_id) == col(Case.id))
        .where(EvidenceList.id == list_id)
    ).first()
    return Owner(frozenset({dept})) if dept else None


def transfer_owner(session: Session, transfer_id: str) -> Owner | None:
    """A transfer: both its ends'."""
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        return None
    return Owner(
        frozenset({transfer.from_department_id, transfer.to_department_id}),
        sender=transfer.from_department_id,
        recipient=transfer.to_department_id,
    )


def department_owner(session: Session, department_id: str) -> Owner | None:
    """Departments are public knowledge (their seals verify publicly); each keeps its own."""
    if session.get(Department, department_id) is None:
        return None
    return Owner(frozenset({"*"}), keeper=department_id)


def upload_owner(session: Session, upload_id: str) -> Owner | None:
    """A resumable upload: its department's, and only its officer touches it."""
    upload = session.get(UploadSession, upload_id)
    if upload is None:
        return None
    return Owner(frozenset({upload.department_id}), officer_id=upload.officer_id)


def shared_owner(model: type) -> OwnerLookup:
    """A record of a shared register (``model``: a party, a cause): everyone's, kept by the
    department that registered it."""

    def resolve(session: Session, value: str) -> Owner | None:
        record = session.get(model, value)
        if record is None:
            return None
        return Owner(frozenset({"*"}), keeper=getattr(record, "department_id", None))

    return resolve


def officer_owner(session: Session, officer_id: str) -> Owner | None:
    """An officer's own records (certificates, tokens): theirs alone, or oversight's."""
    officer = session.get(Officer, officer_id)
    if officer is None:
        return None
    return Owner(frozenset({officer.department_id}), officer_id=officer.id)


def token_owner(session: Session, token_id: str) -> Owner | None:
    """A bearer token: its officer's alone (or oversight's)."""
    token = session.get(ApiToken, token_id)
    if token is None:
        return None
    return officer_owner(session, token.officer_id)


def node_owner(session: Session, node_id: str) -> Owner | None:
    """A graph node: its department's; a cause or a party (shared registers) is everyone's."""
    for shared in (shared_owner(Cause), shared_owner(Party)):
        owner = shared(session, node_id)
        if owner is not None:
            return owner
    for resolve in (evidence_owner, owned_by(Case), owned_by(Place)):
        owner = resolve(session, node_id)
        if owner is not None:
            return owner
    return owned_by(Officer)(session, node_id)


def may_see(
    session: Session,
    actor: Actor,
    owner: Owner,
    *,
    oversight: frozenset[Role] = frozenset(),
    through_grants: bool = False,
) -> bool:
    """Whether the caller may see a record of ``owner``: roles in ``oversight`` see every
    department's; an officer's own record is theirs alone; a shared one is everyone's; else the
    department's own, or (``through_grants``) an item an accepted transfer granted it."""
    if actor.role in oversight:
        return True
    if owner.officer_id is not None:
        return owner.officer_id == actor.officer_id
    if "*" in owner.departments:
        return True
    if actor.department_id in owner.departments:
        return True
    return bool(
        through_grants
        and owner.evidence_id is not None
        and granted(session, actor.department_id, owner.evidence_id)
    )


def visible_nodes(session: Session, actor: Actor, node_ids: Iterable[str]) -> set[str]:
    """The graph nodes among ``node_ids`` the caller may see (walk results are narrowed):
    the department's own records, transferred items, and the shared registers."""
    out: set[str] = set()
    for node_id in node_ids:
        owner = node_owner(session, node_id)
        if owner is not None and may_see(session, actor, owner, through_grants=True):
            out.add(node_id)
    return out
