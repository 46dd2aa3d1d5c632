"""/api/v1/parties, /api/v1/causes, /api/v1/cases: open, list, edit and close cases; attach
parties and evidence; keep the party register and the cause catalogue."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from evidence_service.api import schemas
from evidence_service.api.case_links import change_case_links
from evidence_service.api.deps import AdminActor, CaptureActor, CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.cases.cases import (
    CaseFilter,
    case_public,
    case_summary,
    check_may_change,
    department_event,
    edge_count,
    list_cases,
    load_case,
    party_public,
    update_case,
)
from evidence_service.cases.models import Case, CaseKind, CaseStatus, Cause, Party, PartyKind
from evidence_service.cases.pii import (
    IdentifierError,
    IdentifierKind,
    ProtectedIdentifier,
    pii_secret,
    protect,
)
from evidence_service.core.cursors import MAX_PAGE
from evidence_service.core.db import session_scope
from evidence_service.core.errors import BadRequestError, ConflictError, NotFoundError
from evidence_service.core.ids import new_id
from evidence_service.services import Services

router = APIRouter(prefix="/api/v1", tags=["cases"])

#: Graph node ids are ULIDs and cause codes are graph nodes too: a code must not look like one.
ULID_LIKE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$", re.IGNORECASE)


def _secret(services: Services) -> bytes:
    configured = services.settings.pii_secret
    return pii_secret(
        configured.get_secret_value().encode() if configured else None,
        services.settings.data_dir,
    )


def _protect(
    services: Services, kind: IdentifierKind | None, identifier: str | None
) -> ProtectedIdentifier | None:
    """Check and protect an identifier given with its kind (both or neither)."""
    if (identifier is None) != (kind is None):
        raise BadRequestError("give identifier_kind and identifier together")
    if identifier is None or kind is None:
        return None
    try:
        return protect(kind, identifier, secret=_secret(services))
    except IdentifierError as exc:
        raise BadRequestError(f"identifier: {exc}") from exc


# --- parties -----------------------------------------------------------------------------------


class PartyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: PartyKind
    name: str = Field(min_length=1, max_length=200)
    identifier_kind: IdentifierKind | None = None
    identifier: str | None = Field(
        None, max_length=64, description="ID number or credit code; stored only hashed + masked"
    )

    def __repr__(self) -> str:  # never echo the clear identifier into logs or tracebacks
        return f"PartyCreate(kind={self.kind!r}, name={self.name!r})"

    __str__ = __repr__


class PartyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    identifier_kind: IdentifierKind | None = None
    identifier: str | None = Field(
        None, max_length=64, description="a new number, with its kind; checked like on create"
    )

    def __repr__(self) -> str:  # never echo the clear identifier into logs or tracebacks
        return f"PartyUpdate(name={self.name!r}, identifier_kind={self.identifier_kind!r})"

    __str__ = __repr__


@router.post(
    "/parties",
    status_code=201,
    summary="Register a party (行政相对人)",
    responses={**ok(schemas.Party, 201), **problems(400, 401, 403, 409, 422)},
)
def create_party(payload: PartyCreate, services: ServicesDep, actor: CaptureActor) -> Any:
    """The identifier is checked (GB 11643 / GB 32100 check character), then kept only as a
    keyed hash (for exact lookups) and a masked form; the clear number is never stored."""
    protected = _protect(services, payload.identifier_kind, payload.identifier)
    now = services.ingestor.clock()
    party = Party(
        id=new_id(),
        kind=payload.kind,
        name=payload.name,
        identifier_kind=protected.kind.value if protected else None,
        identifier_hmac=protected.digest if protected else None,
        identifier_masked=protected.masked if protected else None,
        department_id=actor.department_id,
        created_at=now,
    )
    try:
        with session_scope(services.engine) as session:
            session.add(party)
            session.flush()
            department_event(
                session,
                "party_created",
                {"party_id": party.id, "kind": str(party.kind)},
                actor=actor,
                at=now,
            )
    except IntegrityError as exc:
        with Session(services.engine) as session:
            existing = session.exec(
                select(Party.id).where(Party.identifier_hmac == party.identifier_hmac)
            ).first()
        raise ConflictError("a party with this identifier exists", party_id=existing) from exc
    return jsonable_encoder(party_public(party))


@router.get(
    "/parties",
    summary="Find a party by its exact identifier",
    responses={**ok(list[schemas.Party]), **problems(400, 401, 403, 422)},
)
def find_party(
    services: ServicesDep,
    actor: CurrentActor,
    identifier_kind: IdentifierKind,
    identifier: str = Query(max_length=64),
) -> list[Any]:
    try:
        digest = protect(identifier_kind, identifier, secret=_secret(services)).digest
    except IdentifierError as exc:
        raise BadRequestError(f"identifier: {exc}") from exc
    with Session(services.engine) as session:
        rows = session.exec(
            select(Party).where(
                Party.identifier_kind == identifier_kind.value, Party.identifier_hmac == digest
            )
        ).all()
    return [jsonable_encoder(party_public(p)) for p in rows]


@router.get(
    "/parties/{party_id}",
    summary="One party (identifier masked)",
    responses={**ok(schemas.Party), **problems(401, 403, 404, 422)},
)
def get_party(party_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    with Session(services.engine) as session:
        party = session.get(Party, party_id)
    if party is None:
        raise NotFoundError(f"no party {party_id}")
    return jsonable_encoder(party_public(party))


def _load_party(session: Session, party_id: str) -> Party:
    party = session.get(Party, party_id, with_for_update=True)
    if party is None:
        raise NotFoundError(f"no party {party_id}")
    return party


@router.patch(
    "/parties/{party_id}",
    summary="Rename a party or correct its identifier",
    responses={**ok(schemas.Party), **problems(400, 401, 403, 404, 409, 422)},
)
def update_party(
    party_id: str, payload: PartyUpdate, services: ServicesDep, actor: CurrentActor
) -> Any:
    """A new identifier is checked and protected exactly as on registration; the custody event
    records only the masked forms."""
    protected = _protect(services, payload.identifier_kind, payload.identifier)
    now = services.ingestor.clock()
    with session_scope(services.engine) as session:
        party = _load_party(session, party_id)
        check_may_change(actor, party.department_id, f"party {party.id}")
        changes: dict[str, Any] = {}
        if payload.name is not None and payload.name != party.name:
            changes["name"] = {"old": party.name, "new": payload.name}
            party.name = payload.name
        if protected is not None and (protected.kind.value, protected.digest) != (
            party.identifier_kind,
            party.identifier_hmac,
        ):
            holder = session.exec(
                select(Party.id).where(
                    Party.identifier_kind == protected.kind.value,
                    Party.identifier_hmac == protected.digest,
                )
            ).first()
            if holder is not None:
                raise ConflictError("a party with this identifier exists", party_id=holder)
            changes["identifier"] = {
                "old": {"kind": party.identifier_kind, "masked": party.identifier_masked},
                "new": {"kind": protected.kind.value, "masked": protected.masked},
            }
            party.identifier_kind = protected.kind.value
            party.identifier_hmac = protected.digest
            party.identifier_masked = protected.masked
        if changes:
            session.add(party)
            try:
                session.flush()
            except IntegrityError as exc:  # a concurrent request registered the number first
                raise ConflictError("a party with this identifier exists") from exc
            department_event(
                session,
                "party_updated",
                {"party_id": party.id, "changes": changes},
                actor=actor,
                at=now,
            )
    return jsonable_encoder(party_public(party))


@router.delete(
    "/parties/{party_id}",
    status_code=204,
    summary="Remove a party registered by mistake (only while nothing links to it)",
    responses=problems(401, 403, 404, 409, 422),
)
def delete_party(party_id: str, services: ServicesDep, actor: CurrentActor) -> Response:
    with session_scope(services.engine) as session:
        party = _load_party(session, party_id)
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
            at=services.ingestor.clock(),
        )
    return Response(status_code=204)


# --- causes ------------------------------------------------------------------------------------


class CauseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)


class CauseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


def _load_cause(session: Session, code: str) -> Cause:
    cause = session.get(Cause, code, with_for_update=True)
    if cause is None:
        raise NotFoundError(f"no cause {code} in the catalogue")
    return cause


@router.post(
    "/causes",
    status_code=201,
    summary="Add a violation cause (违法案由) to the catalogue",
    responses={**ok(schemas.Cause, 201), **problems(400, 401, 403, 409, 422)},
)
def create_cause(payload: CauseCreate, services: ServicesDep, actor: AdminActor) -> Any:
    if ULID_LIKE.fullmatch(payload.code):
        raise BadRequestError(
            f"cause code {payload.code} looks like a record id (a ULID); graph node ids share "
            "one namespace, so choose another code"
        )
    try:
        with session_scope(services.engine) as session:
            session.add(Cause(code=payload.code, name=payload.name))
            session.flush()
            department_event(
                session,
                "cause_created",
                payload.model_dump(),
                actor=actor,
                at=services.ingestor.clock(),
            )
    except IntegrityError as exc:
        raise ConflictError(f"cause {payload.code} exists") from exc
    return payload.model_dump()


@router.get(
    "/causes",
    summary="The cause catalogue",
    responses={**ok(list[schemas.Cause]), **problems(401)},
)
def list_causes(services: ServicesDep, actor: CurrentActor) -> list[Any]:
    with Session(services.engine) as session:
        rows = session.exec(select(Cause).order_by(col(Cause.code))).all()
    return [{"code": c.code, "name": c.name} for c in rows]


@router.patch(
    "/causes/{code}",
    summary="Rename a cause",
    responses={**ok(schemas.Cause), **problems(401, 403, 404, 422)},
)
def update_cause(code: str, payload: CauseUpdate, services: ServicesDep, actor: AdminActor) -> Any:
    with session_scope(services.engine) as session:
        cause = _load_cause(session, code)
        if cause.name != payload.name:
            department_event(
                session,
                "cause_updated",
                {"code": code, "changes": {"name": {"old": cause.name, "new": payload.name}}},
                actor=actor,
                at=services.ingestor.clock(),
            )
            cause.name = payload.name
            session.add(cause)
        return {"code": cause.code, "name": cause.name}


@router.delete(
    "/causes/{code}",
    status_code=204,
    summary="Remove a cause no case or item refers to",
    responses=problems(401, 403, 404, 409, 422),
)
def delete_cause(code: str, services: ServicesDep, actor: AdminActor) -> Response:
    with session_scope(services.engine) as session:
        cause = _load_cause(session, code)
        cases = session.exec(
            select(func.count()).select_from(Case).where(Case.cause_code == code)
        ).one()
        links = edge_count(session, code)
        if cases or links:
            raise ConflictError(
                f"cause {code} is used by {cases} case(s) and {links} graph link(s)",
                cases=cases,
                links=links,
            )
        session.delete(cause)
        department_event(
            session,
            "cause_deleted",
            {"code": cause.code, "name": cause.name},
            actor=actor,
            at=services.ingestor.clock(),
        )
    return Response(status_code=204)


# --- cases -------------------------------------------------------------------------------------


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_number: str = Field(min_length=1, max_length=64)
    kind: CaseKind
    title: str = Field(min_length=1, max_length=200)
    cause_code: str | None = Field(None, max_length=32)


class CaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, min_length=1, max_length=200)
    cause_code: str | None = Field(None, max_length=32, description="null clears it")
    status: CaseStatus | None = Field(None, description="closed closes the case; open reopens")
    case_number: str | None = Field(None, description="immutable: a request carrying it fails")


@router.post(
    "/cases",
    status_code=201,
    summary="Open a case in the caller's department",
    responses={**ok(schemas.CaseDetail, 201), **problems(401, 403, 404, 409, 422)},
)
def create_case(payload: CaseCreate, services: ServicesDep, actor: CaptureActor) -> Any:
    now = services.ingestor.clock()
    case = Case(
        id=new_id(),
        department_id=actor.department_id,
        case_number=payload.case_number,
        kind=payload.kind,
        title=payload.title,
        cause_code=payload.cause_code,
        opened_at=now,
        created_by=actor.officer_id,
    )
    try:
        with session_scope(services.engine) as session:
            if payload.cause_code and session.get(Cause, payload.cause_code) is None:
                raise NotFoundError(f"no cause {payload.cause_code} in the catalogue")
            session.add(case)
            session.flush()
            department_event(
                session,
                "case_opened",
                {"case_id": case.id, "case_number": case.case_number, "kind": str(case.kind)},
                actor=actor,
                at=now,
            )
    except IntegrityError as exc:
        raise ConflictError(f"case number {payload.case_number} exists in your department") from exc
    with Session(services.engine) as session:
        return jsonable_encoder(case_public(session, case))


@router.get(
    "/cases",
    summary="Your department's cases (newest first, cursor-paginated)",
    responses={**ok(schemas.CasePage), **problems(400, 401, 403, 422)},
)
def list_department_cases(
    services: ServicesDep,
    actor: CurrentActor,
    status: CaseStatus | None = None,
    kind: CaseKind | None = None,
    cause_code: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=200, description="part of number or title")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    flt = CaseFilter(actor.department_id, status, kind, cause_code, q)
    with Session(services.engine) as session:
        rows, next_cursor = list_cases(session, flt, limit=limit, cursor=cursor)
    return {"items": jsonable_encoder([case_summary(c) for c in rows]), "next_cursor": next_cursor}


@router.get(
    "/cases/{case_id}",
    summary="A case with its evidence, parties and places",
    responses={**ok(schemas.CaseDetail), **problems(401, 403, 404, 422)},
)
def get_case(case_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    with Session(services.engine) as session:
        return jsonable_encoder(case_public(session, load_case(session, case_id)))


@router.patch(
    "/cases/{case_id}",
    summary="Edit a case's title or cause; close or reopen it",
    responses={**ok(schemas.CaseDetail), **problems(400, 401, 403, 404, 409, 422)},
)
def patch_case(
    case_id: str, payload: CaseUpdate, services: ServicesDep, actor: CurrentActor
) -> Any:
    """Only the case's department (or an admin) may change it. The case number never changes."""
    sent = payload.model_fields_set
    if "case_number" in sent:
        raise BadRequestError("case_number cannot be changed")
    for field in ("title", "status"):
        if field in sent and getattr(payload, field) is None:
            raise BadRequestError(f"{field} cannot be null")
    changes = {field: getattr(payload, field) for field in sent}
    with session_scope(services.engine) as session:
        update_case(session, case_id, changes, actor=actor, at=services.ingestor.clock())
    with Session(services.engine) as session:
        return jsonable_encoder(case_public(session, load_case(session, case_id)))


class EvidenceLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    evidence_id: str = Field(max_length=26)
    purpose: str = Field("", max_length=1000, description="what it proves (证明目的)")


class PartyLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    party_id: str = Field(max_length=26)


@router.post(
    "/cases/{case_id}/evidence",
    status_code=201,
    summary="Attach evidence to a case",
    responses={**ok(schemas.CaseDetail, 201), **problems(400, 401, 403, 404, 409, 422)},
)
def attach_evidence(
    case_id: str, payload: EvidenceLink, services: ServicesDep, actor: CurrentActor
) -> Any:
    return change_case_links(
        services,
        actor,
        case_id,
        "belongs_to_case",
        payload.evidence_id,
        case_id,
        attach=True,
        purpose=payload.purpose,
    )


@router.delete(
    "/cases/{case_id}/evidence/{evidence_id}",
    summary="Detach evidence from a case",
    responses={**ok(schemas.CaseDetail), **problems(401, 403, 404, 409, 422)},
)
def detach_evidence(
    case_id: str, evidence_id: str, services: ServicesDep, actor: CurrentActor
) -> Any:
    return change_case_links(
        services, actor, case_id, "belongs_to_case", evidence_id, case_id, attach=False
    )


@router.post(
    "/cases/{case_id}/parties",
    status_code=201,
    summary="Attach a party to a case",
    responses={**ok(schemas.CaseDetail, 201), **problems(400, 401, 403, 404, 409, 422)},
)
def attach_party(
    case_id: str, payload: PartyLink, services: ServicesDep, actor: CurrentActor
) -> Any:
    return change_case_links(
        services, actor, case_id, "concerns_party", case_id, payload.party_id, attach=True
    )


@router.delete(
    "/cases/{case_id}/parties/{party_id}",
    summary="Detach a party from a case",
    responses={**ok(schemas.CaseDetail), **problems(401, 403, 404, 409, 422)},
)
def detach_party(case_id: str, party_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    return change_case_links(
        services, actor, case_id, "concerns_party", case_id, party_id, attach=False
    )
