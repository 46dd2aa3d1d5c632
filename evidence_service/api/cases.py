"""/api/v1/parties, /api/v1/causes, /api/v1/cases: open, list, edit and close cases; attach
parties and evidence; keep the party register and the cause catalogue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from evidence_service.api import schemas
from evidence_service.api.case_links import change_case_links
from evidence_service.api.deps import AdminActor, CaptureActor, CurrentActor, ServicesDep
from evidence_service.api.responses import ok, problems
from evidence_service.cases import causes, parties
from evidence_service.cases.cases import CaseFilter, case_page, edit_case, open_case, read_case
from evidence_service.cases.models import CaseKind, CaseStatus, PartyKind
from evidence_service.cases.pii import IdentifierKind
from evidence_service.core.cursors import MAX_PAGE
from evidence_service.core.errors import BadRequestError

router = APIRouter(prefix="/api/v1", tags=["cases"])


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
    protected = parties.protect_identifier(
        payload.identifier_kind, payload.identifier, settings=services.settings
    )
    party = parties.register_party(
        services.engine,
        kind=payload.kind,
        name=payload.name,
        identifier=protected,
        actor=actor,
        at=services.ingestor.clock(),
    )
    return jsonable_encoder(party)


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
    found = parties.find_parties(
        services.engine, identifier_kind, identifier, settings=services.settings
    )
    return [jsonable_encoder(p) for p in found]


@router.get(
    "/parties/{party_id}",
    summary="One party (identifier masked)",
    responses={**ok(schemas.Party), **problems(401, 403, 404, 422)},
)
def get_party(party_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    return jsonable_encoder(parties.read_party(services.engine, party_id))


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
    protected = parties.protect_identifier(
        payload.identifier_kind, payload.identifier, settings=services.settings
    )
    party = parties.change_party(
        services.engine,
        party_id,
        name=payload.name,
        identifier=protected,
        actor=actor,
        at=services.ingestor.clock(),
    )
    return jsonable_encoder(party)


@router.delete(
    "/parties/{party_id}",
    status_code=204,
    summary="Remove a party registered by mistake (only while nothing links to it)",
    responses=problems(401, 403, 404, 409, 422),
)
def delete_party(party_id: str, services: ServicesDep, actor: CurrentActor) -> Response:
    parties.remove_party(services.engine, party_id, actor=actor, clock=services.ingestor.clock)
    return Response(status_code=204)


# --- causes ------------------------------------------------------------------------------------


class CauseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)


class CauseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


@router.post(
    "/causes",
    status_code=201,
    summary="Add a violation cause (违法案由) to the catalogue",
    responses={**ok(schemas.Cause, 201), **problems(400, 401, 403, 409, 422)},
)
def create_cause(payload: CauseCreate, services: ServicesDep, actor: AdminActor) -> Any:
    causes.add_cause(
        services.engine, payload.code, payload.name, actor=actor, clock=services.ingestor.clock
    )
    return payload.model_dump()


@router.get(
    "/causes",
    summary="The cause catalogue",
    responses={**ok(list[schemas.Cause]), **problems(401)},
)
def list_causes(services: ServicesDep, actor: CurrentActor) -> list[Any]:
    return causes.cause_catalogue(services.engine)


@router.patch(
    "/causes/{code}",
    summary="Rename a cause",
    responses={**ok(schemas.Cause), **problems(401, 403, 404, 422)},
)
def update_cause(code: str, payload: CauseUpdate, services: ServicesDep, actor: AdminActor) -> Any:
    return causes.rename_cause(
        services.engine, code, payload.name, actor=actor, clock=services.ingestor.clock
    )


@router.delete(
    "/causes/{code}",
    status_code=204,
    summary="Remove a cause no case or item refers to",
    responses=problems(401, 403, 404, 409, 422),
)
def delete_cause(code: str, services: ServicesDep, actor: AdminActor) -> Response:
    causes.remove_cause(services.engine, code, actor=actor, clock=services.ingestor.clock)
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
    case = open_case(
        services.engine,
        case_number=payload.case_number,
        kind=payload.kind,
        title=payload.title,
        cause_code=payload.cause_code,
        actor=actor,
        at=services.ingestor.clock(),
    )
    return jsonable_encoder(case)


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
    rows, next_cursor = case_page(services.engine, flt, limit=limit, cursor=cursor)
    return {"items": jsonable_encoder(rows), "next_cursor": next_cursor}


@router.get(
    "/cases/{case_id}",
    summary="A case with its evidence, parties and places",
    responses={**ok(schemas.CaseDetail), **problems(401, 403, 404, 422)},
)
def get_case(case_id: str, services: ServicesDep, actor: CurrentActor) -> Any:
    return jsonable_encoder(read_case(services.engine, case_id))


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
    case = edit_case(services.engine, case_id, changes, actor=actor, clock=services.ingestor.clock)
    return jsonable_encoder(case)


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
