"""``/api/v1/supervision/…``: the case centre's routes.

The core's policy table has already let the caller's role through (``api/policy.py``) before
a route runs; the finer rule — whose records — is the module's, from what the core says of the
caller (``GET /api/v1/me`` and the department's kind from ``GET /api/v1/departments``, asked
with the caller's own token). The supervision office (a department of kind ``audit``) and
auditors see and, for the office's workers, ingest every department's records; any other
department only its own, and another's record answers 404 as in the core.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from evidence_service.modules.kit.caller import CallerRefusedError as CallerRefusedError
from evidence_service.modules.kit.caller import CoreCaller, ask_core
from evidence_service.modules.kit.caller import bearer_token as bearer_token
from evidence_service.modules.supervision import inspection_signals, records
from evidence_service.modules.supervision.problems import (
    BadBatchError,
    BadQueryError,
    ForbiddenDepartmentError,
    RecordNotFoundError,
    SupervisionProblem,
    UnsupportedMediaError,
)
from evidence_service.modules.supervision.schemas import (
    BATCH_BODY,
    IngestAnswer,
    RecordPage,
    RecordPublic,
    problems,
)
from evidence_service.modules.supervision.state import SupervisionState

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])
OFFICE_KIND = "audit"  # the justice department's supervision office is an audit department
AUDITOR = "auditor"


class TooManyRecordsError(SupervisionProblem):
    slug, title, status = "too-many-records", "Records batch too large", 413


@dataclass(frozen=True)
class Caller(CoreCaller):
    """Who calls, as the core knows them (``kit/caller.py``)."""

    @property
    def office(self) -> bool:
        """The supervision office: acts on every department's records."""
        return self.department_kind == OFFICE_KIND

    @property
    def sees_all(self) -> bool:
        return self.office or self.role == AUDITOR


def state_of(request: Request) -> SupervisionState:
    return request.app.state.supervision  # type: ignore[no-any-return]


async def caller_for_token(state: SupervisionState, token: str) -> Caller:
    """Who holds ``token``, asked of the core with that token (``kit/caller.py``)."""
    return await ask_core(state.core_client(token), Caller)


async def caller(request: Request) -> Caller:
    """The caller of a route, from its bearer token."""
    return await caller_for_token(state_of(request), bearer_token(request))


CallerDep = Annotated[Caller, Depends(caller)]
#: The roles of the core's policy table for these routes (``api/policy.py``), checked again
#: here for a separate deployment, where no core policy stands in front of the module.
INGESTERS = frozenset({"officer", "reviewer", "penalty"})
READERS = INGESTERS | {AUDITOR}


def _require(who: Caller, roles: frozenset[str], what: str) -> None:
    if who.role not in roles:
        raise ForbiddenDepartmentError(
            f"role {who.role} may not {what} (allowed: {', '.join(sorted(roles))})"
        )


def _rows_of(request_type: str, body: bytes) -> tuple[str, list[Any]]:
    media = request_type.split(";")[0].strip().lower()
    if media == "application/json":
        try:
            parsed = json.loads(body)
        except ValueError as exc:
            raise BadBatchError("the body is not JSON", errors=[]) from exc
        if not isinstance(parsed, list) or not parsed:
            raise BadBatchError("a batch is a non-empty JSON array of records", errors=[])
        return "json", parsed
    if media == "text/csv":
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadBatchError("a CSV batch is UTF-8", errors=[]) from exc
        try:
            rows = records.csv_rows(text)
        except records.BatchInvalid as exc:
            raise _refuse_rows(exc.rows, "are not valid CSV records") from exc
        if not rows:
            raise BadBatchError("the CSV batch has no data lines", errors=[])
        return "csv", rows
    raise UnsupportedMediaError(f"send application/json or text/csv, not {media or 'nothing'}")


def _refuse_rows(bad: list[records.RowError], what: str) -> BadBatchError:
    """422 naming each failed field in the core's ``errors`` shape (``loc``, ``msg``), with
    the row's index as ``row`` (none for the CSV header)."""
    return BadBatchError(
        f"{len(bad)} of the batch's rows {what}; nothing was written",
        errors=[error for row in bad[:100] for error in row.problem_errors()],
    )


def refuse_unknown_departments(who: Caller, departments: Sequence[str]) -> None:
    """Rows naming a department the core does not know are bad rows (422)."""
    unknown = [
        records.RowError(i, [{"loc": "department_id", "msg": "no such department"}])
        for i, department in enumerate(departments)
        if department not in who.departments
    ]
    if unknown:
        raise _refuse_rows(unknown, "name an unknown department")


def refuse_foreign_rows(who: Caller, foreign: Iterable[int], *, does: str) -> None:
    """Rows that are another department's refuse the batch (403) for a caller outside the
    office, who ``does`` (e.g. "ingests only its own records") only for its own."""
    rows = sorted(set(foreign))
    if rows and not who.office:
        raise ForbiddenDepartmentError(
            f"a {who.role} of department {who.department_id} {does}; "
            f"rows {rows[:20]} are another department's",
            rows=rows[:100],
        )


def _check_departments(who: Caller, rows: list[records.RecordIn]) -> None:
    refuse_unknown_departments(who, [r.department_id for r in rows])
    foreign = (i for i, r in enumerate(rows) if r.department_id != who.department_id)
    refuse_foreign_rows(who, foreign, does="ingests only its own records")


@router.post(
    "/records",
    summary="Ingest a batch of enforcement records (JSON array or CSV); all or nothing",
    status_code=201,
    response_model=IngestAnswer,
    responses={
        **problems(401, 403, 413, 415, 422, 502),
        200: {"model": IngestAnswer, "description": "Every record was already known"},
    },
    openapi_extra=BATCH_BODY,
)
async def ingest_records(
    request: Request, who: CallerDep, background: BackgroundTasks
) -> JSONResponse:
    _require(who, INGESTERS, "ingest records")
    state = state_of(request)
    fmt, raw = _rows_of(request.headers.get("content-type", ""), await request.body())
    limit = state.config.max_batch_records
    if len(raw) > limit:
        raise TooManyRecordsError(f"{len(raw)} records in one batch; at most {limit}")
    try:
        rows = records.validate_rows(raw)
    except records.BatchInvalid as exc:
        raise _refuse_rows(exc.rows, "are not valid records") from exc
    _check_departments(who, rows)
    result = await anyio.to_thread.run_sync(
        lambda: records.ingest(
            state.engine, rows, secret=state.config.pii_secret, ingested_by=who.officer_id, fmt=fmt
        )
    )
    body = {
        "batch_id": result.batch_id,
        "created": result.created,
        "updated": result.updated,
        "ids": result.ids,
    }
    # after the answer: its penalties, as risk signals for joint inspection
    told = inspection_signals.penalty_signals(
        rows, result.ids, major_fen=state.config.major_decision_fen, now=datetime.now(UTC)
    )
    background.add_task(inspection_signals.tell_inspection, state, bearer_token(request), told)
    return JSONResponse(body, status_code=201 if result.created else 200)


@router.get(
    "/records",
    summary="Search enforcement records (cursor-paginated)",
    response_model=RecordPage,
    responses=problems(401, 403, 422, 502),
)
async def list_records(
    request: Request,
    who: CallerDep,
    department_id: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    city: Annotated[str | None, Query(max_length=64)] = None,
    filed_from: date | None = None,
    filed_to: date | None = None,
    q: Annotated[str | None, Query(max_length=100, description="in case number or title")] = None,
    party: Annotated[
        str | None, Query(max_length=32, description="a party's identifier (found by HMAC)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    _require(who, READERS, "read records")
    state = state_of(request)
    digests: tuple[str, ...] = ()
    if party is not None:
        digests = records.party_digests(party, state.config.pii_secret)
        if not digests:
            raise BadQueryError("party: not a well-formed resident ID or credit code")
    flt = records.RecordFilter(
        departments=None if who.sees_all else frozenset({who.department_id}),
        department_id=department_id,
        kind=kind,
        city=city,
        filed_from=filed_from,
        filed_to=filed_to,
        text=q,
        party_digests=digests,
    )
    try:
        page, next_cursor = await anyio.to_thread.run_sync(
            lambda: records.search(state.engine, flt, limit=limit, cursor=cursor)
        )
    except ValueError as exc:
        raise BadQueryError(f"cursor: {exc}") from exc
    return {"items": jsonable_encoder(page), "next_cursor": next_cursor}


@router.get(
    "/records/{record_id}",
    summary="One enforcement record",
    response_model=RecordPublic,
    responses=problems(401, 403, 404, 422, 502),
)
async def get_record(request: Request, record_id: str, who: CallerDep) -> Any:
    _require(who, READERS, "read records")
    state = state_of(request)
    found = await anyio.to_thread.run_sync(lambda: records.get_record(state.engine, record_id))
    if found is None or not (who.sees_all or found["department_id"] == who.department_id):
        raise RecordNotFoundError(f"no record {record_id}")
    return jsonable_encoder(found)
