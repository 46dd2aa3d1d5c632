"""/api/v1/parties, /api/v1/causes, /api/v1/cases: open a case, attach parties and evidence."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from evidence_service.api.deps import AdminActor, CaptureActor, CurrentActor, ServicesDep
from evidence_service.cases import case_public, link, party_public, unlink
from evidence_service.db import session_scope
from evidence_service.errors import BadRequestError, ConflictError, NotFoundError
from evidence_service.ingest import new_id
from evidence_service.models import Case, CaseKind, Cause, Party, PartyKind
from evidence_service.pii import IdentifierError, IdentifierKind, pii_secret, protect
from evidence_service.services import Services

router = APIRouter(prefix="/api/v1", tags=["cases"])


def _secret(services: Services) -> bytes:
    configured = services.settings.pii_secret
    return pii_secret(
        configured.get_secret_value().encode() if configured else None,
        services.settings.data_dir,
    )


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


@router.post("/parties", status_code=201, summary="Register a party (行政相对人)")
def create_party(payload: PartyCreate, services: ServicesDep, actor: CaptureActor) -> Any:
    """The identifier is checked (GB 11643 / GB 32100 check character), then kept only as a
    keyed hash (for exact lookups) and a masked form; the clear number is never stored."""
    protected = None
    if (payload.identifier is None) != (payload.identifier_kind is None):
        raise BadRequestError("give identifier_kind and identifier together")
    if payload.identifier is not None and payload.identifier_kind is not None:
        try:
            protected = protect(
                payload.identifier_kind, payload.identifier, secret=_secret(services)
            )
        except IdentifierError as exc:
            raise BadRequestError(f"identifier: {exc}") from exc
    party = Party(
        id=new_id(),
        kind=payload.kind,
        name=payload.name,
        identifier_kind=protected.kind.value if protected else None,
        identifier_hmac=protected.digest if protected else None,
        identifier_masked=protected.masked if protected else None,
        department_id=actor.department_id,
        created_at=services.ingestor.clock(),
    )
    try:
        with session_scope(services.engine) as session:
            session.add(party)
    except IntegrityError as exc:
        with Session(services.engine) as session:
            existing = session.exec(
                select(Party.id).where(Party.identifier_hmac == party.identifier_hmac)
            ).first()
        raise ConflictError("a party with this identifier exists", party_id=existing) from exc
    return jsonable_encoder(party_public(party))


@router.get("/parties", summary="Find a party by its exact identifier")
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


@router.get("/parties/{party_id}", summary="One party (identifier masked)")
def get_party(party_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    with Session(services.engine) as session:
        party = session.get(Party, party_id)
    if party is None:
        raise NotFoundError(f"no party {party_id}")
    return jsonable_encoder(party_public(party))


# --- causes ------------------------------------------------------------------------------------


class CauseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)


@router.post(
    "/causes", status_code=201, summary="Add a violation cause (违法案由) to the catalogue"
)
def create_cause(payload: CauseCreate, services: ServicesDep, actor: AdminActor) -> Any:
    try:
        with session_scope(services.engine) as session:
            session.add(Cause(code=payload.code, name=payload.name))
    except IntegrityError as exc:
        raise ConflictError(f"cause {payload.code} exists") from exc
    return payload.model_dump()


@router.get("/causes", summary="The cause catalogue")
def list_causes(services: ServicesDep, actor: CurrentActor) -> list[Any]:
    with Session(services.engine) as session:
        rows = session.exec(select(Cause).order_by(col(Cause.code))).all()
    return [{"code": c.code, "name": c.name} for c in rows]


# --- cases -------------------------------------------------------------------------------------


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_number: str = Field(min_length=1, max_length=64)
    kind: CaseKind
    title: str = Field(min_length=1, max_length=200)
    cause_code: str | None = Field(None, max_length=32)


@router.post("/cases", status_code=201, summary="Open a case in the caller's department")
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
    with Session(services.engine) as session:
        if payload.cause_code and session.get(Cause, payload.cause_code) is None:
            raise NotFoundError(f"no cause {payload.cause_code} in the catalogue")
    try:
        with session_scope(services.engine) as session:
            session.add(case)
    except IntegrityError as exc:
        raise ConflictError(f"case number {payload.case_number} exists in your department") from exc
    with Session(services.engine) as session:
        return jsonable_encoder(case_public(session, case))


def _load_case(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    return case


@router.get("/cases/{case_id}", summary="A case with its evidence and parties")
def get_case(case_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    with Session(services.engine) as session:
        return jsonable_encoder(case_public(session, _load_case(session, case_id)))


class EvidenceLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    evidence_id: str = Field(max_length=26)
    purpose: str = Field("", max_length=1000, description="what it proves (证明目的)")


class PartyLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    party_id: str = Field(max_length=26)


@router.post("/cases/{case_id}/evidence", status_code=201, summary="Attach evidence to a case")
def attach_evidence(
    case_id: str, payload: EvidenceLink, services: ServicesDep, actor: CaptureActor
) -> Any:
    with session_scope(services.engine) as session:
        _load_case(session, case_id)
        link(
            session,
            "belongs_to_case",
            payload.evidence_id,
            case_id,
            actor=actor,
            at=services.ingestor.clock(),
            purpose=payload.purpose,
        )
    with Session(services.engine) as session:
        return jsonable_encoder(case_public(session, _load_case(session, case_id)))


@router.delete("/cases/{case_id}/evidence/{evidence_id}", summary="Detach evidence from a case")
def detach_evidence(
    case_id: str, evidence_id: str, services: ServicesDep, actor: CaptureActor
) -> Any:
    with session_scope(services.engine) as session:
        unlink(
            session,
            "belongs_to_case",
            evidence_id,
            case_id,
            actor=actor,
            at=services.ingestor.clock(),
        )
    with Session(services.engine) as session:
        return jsonable_encoder(case_public(session, _load_case(session, case_id)))


@router.post("/cases/{case_id}/parties", status_code=201, summary="Attach a party to a case")
def attach_party(
    case_id: str, payload: PartyLink, services: ServicesDep, actor: CaptureActor
) -> Any:
    with session_scope(services.engine) as session:
        _load_case(session, case_id)
        link(
            session,
            "concerns_party",
            case_id,
            payload.party_id,
            actor=actor,
            at=services.ingestor.clock(),
        )
    with Session(services.engine) as session:
        return jsonable_encoder(case_public(session, _load_case(session, case_id)))
