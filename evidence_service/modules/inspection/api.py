"""``/api/v1/inspection/…``: the published rules, the scenario library, the departments' parts,
the directory and roster, signals and warnings.

Tasks are in ``tasks_api.py`` and draws in ``draws_api.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from evidence_service.modules.inspection import directory, directory_store, scenarios, signals
from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection.common import (
    ADMIN,
    WORKERS,
    BadRequestError,
    BadRowsError,
    CallerDep,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    TooLargeError,
    UnsupportedMediaError,
    decode_cursor,
    local_date,
    page_of,
    problems,
    require_coordinator,
    require_role,
    row_error,
    state_of,
    utcnow,
)
from evidence_service.modules.inspection.state import InspectionState
from evidence_service.modules.kit.caller import bearer_token, department_names
from evidence_service.modules.kit.db import write_transaction

router = APIRouter(prefix="/api/v1/inspection", tags=["inspection"])

MiB = 1024 * 1024
#: The directory and roster uploads (100,000 rows) and signal batches are larger than the
#: core's JSON limit: module rules handed to the core's body-limit middleware.
BODY_LIMITS = (
    ("POST", r"/api/v1/inspection/(enterprises|inspectors)", 64 * MiB),
    ("POST", r"/api/v1/inspection/signals", 8 * MiB),
)
DEPARTMENT_ID = Path(max_length=64, pattern=r"^[^/]+$")


class DepartmentPart(BaseModel):
    """A core department's part in joint inspection."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = Field(
        None, description="the scenario library's department kind it inspects for, or null"
    )
    coordinator: bool = Field(False, description="the coordinating office (综合行政执法)")


class DepartmentPartOut(DepartmentPart):
    department_id: str
    name: str | None = Field(None, description="as the core named it when it was mapped")


@router.get("/departments", response_model=list[DepartmentPartOut], responses=problems(401, 403))
async def list_departments(request: Request, who: CallerDep) -> list[dict[str, Any]]:
    """Every department's part: the kind it inspects for and whether it coordinates."""
    state = state_of(request)

    def read() -> list[dict[str, Any]]:
        with state.engine.connect() as conn:
            rows = conn.execute(select(m.department).order_by(m.department.c.department_id))
            return [
                {
                    "department_id": r.department_id,
                    "name": r.name,
                    "kind": r.kind,
                    "coordinator": r.coordinator,
                }
                for r in rows
            ]

    return await anyio.to_thread.run_sync(read)


@router.put(
    "/departments/{department_id}",
    response_model=DepartmentPartOut,
    responses=problems(401, 403, 404, 422),
)
async def put_department(
    request: Request,
    who: CallerDep,
    body: DepartmentPart,
    department_id: str = DEPARTMENT_ID,
) -> dict[str, Any]:
    """Map a core department onto a scenario department kind and/or mark it the coordinator
    (an admin's act; the core's departments are the ones it knows)."""
    require_role(who, frozenset({ADMIN}), "map departments")
    if department_id not in who.departments:
        raise NotFoundError(f"the core has no department {department_id}")
    if body.kind is not None and body.kind not in scenarios.DEPARTMENT_KINDS:
        known = ", ".join(scenarios.DEPARTMENT_KINDS)
        raise BadRequestError(f"kind: unknown department kind {body.kind!r}; known: {known}")
    state = state_of(request)
    names = await department_names(state.core_client(bearer_token(request)))
    values = {
        "name": names.get(department_id),
        "kind": body.kind,
        "coordinator": body.coordinator,
        "updated_by": who.officer_id,
        "updated_at": utcnow(),
    }

    def write() -> None:
        with write_transaction(state.engine) as conn:
            found = conn.execute(
                m.department.update()
                .where(m.department.c.department_id == department_id)
                .values(**values)
            ).rowcount
            if not found:
                conn.execute(m.department.insert().values(department_id=department_id, **values))

    await anyio.to_thread.run_sync(write)
    return {
        "department_id": department_id,
        "name": values["name"],
        "kind": body.kind,
        "coordinator": body.coordinator,
    }


# ------------------------------------------------------------------------- published rules


class RulesOut(BaseModel):
    annual_cap: int = Field(description="joint inspections of one enterprise per calendar year")
    timezone: str
    ratios: dict[str, str] = Field(description="the draw's sampling ratio per credit-risk class")
    risk: dict[str, Any] = Field(description="weights, half-lives (days), bases and threshold")
    department_kinds: dict[str, str]


@router.get("/rules", response_model=RulesOut, responses=problems(401))
async def rules(request: Request) -> dict[str, Any]:
    """The rules the module applies, published (国办发〔2024〕54号: a published annual cap)."""
    config = state_of(request).config
    settings = config.risk
    return {
        "annual_cap": config.annual_cap,
        "timezone": config.timezone,
        "ratios": dict(config.ratios),
        "risk": {
            "weights": dict(settings.weights),
            "half_life_days": dict(settings.half_life_days),
            "base": dict(settings.base),
            "threshold": settings.threshold,
        },
        "department_kinds": dict(scenarios.DEPARTMENT_KINDS),
    }


# ------------------------------------------------------------------------- scenario library


class BasisOut(BaseModel):
    law: str
    article: int
    verified: bool = Field(description="false: the article number awaits a check of the text")
    text: str = Field(description="as cited: 《法》第N条")


class ItemOut(BaseModel):
    code: str
    text: str
    department_kind: str
    basis: BasisOut


class ScenarioSummary(BaseModel):
    code: str
    name: str
    description: str
    department_kinds: list[str]
    items: int


class ScenarioOut(BaseModel):
    code: str
    name: str
    description: str
    department_kinds: list[str]
    items: list[ItemOut]


def item_out(item: scenarios.CheckItem) -> dict[str, Any]:
    basis = item.basis
    return {
        "code": item.code,
        "text": item.text,
        "department_kind": item.department,
        "basis": {
            "law": basis.law,
            "article": basis.article,
            "verified": basis.verified,
            "text": str(basis),
        },
    }


@router.get("/scenarios", response_model=list[ScenarioSummary], responses=problems(401, 422))
async def list_scenarios(
    department_kind: Annotated[str | None, Query(max_length=32)] = None,
) -> list[dict[str, Any]]:
    """The scenario library (检查场景): each kind of place with the departments whose items
    one joint visit covers; ``department_kind`` keeps those with items of that kind."""
    if department_kind is not None and department_kind not in scenarios.DEPARTMENT_KINDS:
        raise BadRequestError(f"department_kind: unknown department kind {department_kind!r}")
    return [
        {
            "code": s.code,
            "name": s.name,
            "description": s.description,
            "department_kinds": list(s.departments),
            "items": len(s.items),
        }
        for s in scenarios.library().scenarios.values()
        if department_kind is None or department_kind in s.departments
    ]


@router.get("/scenarios/{code}", response_model=ScenarioOut, responses=problems(401, 404, 422))
async def get_scenario(code: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """One scenario with its check items, their owners and legal bases."""
    try:
        scenario = scenarios.by_code(code)
    except KeyError as exc:
        raise NotFoundError(f"no scenario {code!r}") from exc
    return {
        "code": scenario.code,
        "name": scenario.name,
        "description": scenario.description,
        "department_kinds": list(scenario.departments),
        "items": [item_out(item) for item in scenario.items],
    }


# ------------------------------------------------------------------- directory and roster


class Imported(BaseModel):
    created: int
    updated: int


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


async def _upload(request: Request, read_json: Any, read_csv: Any, limits: Any) -> Any:
    """The rows of a JSON or CSV upload, checked whole (422 listing each bad row)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    try:
        if media == "application/json":
            try:
                parsed = json.loads(body)
            except ValueError as exc:
                raise BadRowsError("the body is not JSON", errors=[]) from exc
            return read_json(parsed, limits)
        if media == "text/csv":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadRowsError("a CSV upload is UTF-8", errors=[]) from exc
            return read_csv(text, limits)
    except directory.DirectoryError as exc:
        too_many = f"more than {limits.max_rows} rows"
        if any(e.message == too_many for e in exc.errors):
            raise TooLargeError(f"{too_many} in one upload; nothing was written") from exc
        raise BadRowsError(
            f"{len(exc.errors)} problem(s) in the upload; nothing was written",
            errors=[row_error(e.row, e.field, e.message) for e in exc.errors[:1000]],
        ) from exc
    raise UnsupportedMediaError(f"send application/json or text/csv, not {media or 'nothing'}")


def _limits(request: Request) -> directory.DirectoryLimits:
    return directory.DirectoryLimits(max_rows=state_of(request).config.max_directory_rows)


@router.post(
    "/enterprises",
    response_model=Imported,
    openapi_extra=UPLOAD_BODY,
    responses=problems(401, 403, 413, 415, 422),
)
async def import_enterprises(request: Request, who: CallerDep) -> dict[str, int]:
    """The enterprise directory (一户一档), as CSV or JSON: every row checked (credit code by
    its check characters), then all written or none. Known credit codes are updated."""
    rows = await _upload(
        request, directory.enterprises_from_json, directory.enterprises_from_csv, _limits(request)
    )
    require_coordinator(
        who, "import the enterprise directory"
    )  # after the body, as for a route's body model
    state = state_of(request)

    def write() -> directory_store.Written:
        with write_transaction(state.engine) as conn:
            return directory_store.write_enterprises(conn, rows, utcnow())

    written = await anyio.to_thread.run_sync(write)
    return {"created": written.created, "updated": written.updated}


@router.post(
    "/inspectors",
    response_model=Imported,
    openapi_extra=UPLOAD_BODY,
    responses=problems(401, 403, 413, 415, 422),
)
async def import_inspectors(request: Request, who: CallerDep) -> dict[str, int]:
    """The inspector roster (执法人员名录), as CSV or JSON: officer, department (one the core
    knows), 执法证 number, specialities, conflicts of interest (credit codes)."""
    rows = await _upload(
        request, directory.inspectors_from_json, directory.inspectors_from_csv, _limits(request)
    )
    require_coordinator(
        who, "import the inspector roster"
    )  # after the body, as for a route's body model
    unknown = [
        row_error(n, "department_id", "no such department in the core")
        for n, i in enumerate(rows, start=1)
        if i.department_id not in who.departments
    ]
    if unknown:
        raise BadRowsError(
            f"{len(unknown)} row(s) name an unknown department; nothing was written",
            errors=unknown[:1000],
        )
    state = state_of(request)

    def write() -> directory_store.Written:
        with write_transaction(state.engine) as conn:
            clashes = directory_store.cert_clashes(conn, rows)
            if clashes:
                raise BadRowsError(
                    f"{len(clashes)} 执法证 number(s) belong to other officers; nothing was "
                    "written",
                    errors=[row_error(e.row, e.field, e.message) for e in clashes[:1000]],
                )
            return directory_store.write_inspectors(conn, rows, utcnow())

    written = await anyio.to_thread.run_sync(write)
    return {"created": written.created, "updated": written.updated}


class EnterpriseOut(BaseModel):
    credit_code: str
    name: str
    address: str
    industry: str
    scale: str
    risk_class: str
    region: str = Field(description="GB/T 2260 code of the registering authority (characters 3–8)")
    longitude: float | None
    latitude: float | None


class EnterprisePage(BaseModel):
    items: list[EnterpriseOut]
    next_cursor: str | None


def _enterprise_out(row: Any) -> dict[str, Any]:
    return {
        "credit_code": row.credit_code,
        "name": row.name,
        "address": row.address,
        "industry": row.industry,
        "scale": row.scale,
        "risk_class": row.risk_class,
        "region": row.region,
        "longitude": row.longitude,
        "latitude": row.latitude,
    }


Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=100)]


def _page_size(request: Request, limit: int) -> int:
    return min(limit, state_of(request).config.max_page_size)


@router.get("/enterprises", response_model=EnterprisePage, responses=problems(401, 403, 422))
async def list_enterprises(
    request: Request,
    who: CallerDep,
    risk_class: Annotated[str | None, Query(max_length=16)] = None,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The directory, by credit code; ``q`` finds a part of the name."""
    if risk_class is not None and risk_class not in directory.RISK_CLASSES:
        raise BadRequestError(f"risk_class: one of {', '.join(directory.RISK_CLASSES)}")
    size = _page_size(request, limit)
    query = select(m.enterprise).order_by(m.enterprise.c.credit_code).limit(size + 1)
    if risk_class:
        query = query.where(m.enterprise.c.risk_class == risk_class)
    if region:
        query = query.where(m.enterprise.c.region == region)
    if q:
        query = query.where(m.enterprise.c.name.contains(q, autoescape=True))
    if cursor:
        query = query.where(m.enterprise.c.credit_code > decode_cursor(cursor))
    state = state_of(request)
    return await page_of(
        state, query, size, key=lambda r: r.credit_code, out=lambda r: _enterprise_out(r)
    )


class SignalOut(BaseModel):
    id: str
    kind: str
    severity: int
    at: datetime
    source: str
    ref: str
    note: str | None


class ContributionOut(BaseModel):
    signal_id: str
    kind: str
    at: datetime
    severity: int
    points: float


class WarningOut(BaseModel):
    id: str
    credit_code: str
    enterprise_name: str
    state: str
    score: float
    threshold: float
    contributions: list[ContributionOut]
    opened_at: datetime
    updated_at: datetime
    task_id: str | None
    closed_note: str | None


class EnterpriseDetail(EnterpriseOut):
    score: float = Field(description="the risk score now (risk.py)")
    threshold: float
    contributions: list[ContributionOut]
    signals: list[SignalOut] = Field(description="the latest 50")
    warnings: list[WarningOut]
    annual_cap: int
    tasks_this_year: int


CREDIT_CODE = Path(min_length=18, max_length=18, pattern=r"^[0-9A-Z]{18}$")


@router.get(
    "/enterprises/{credit_code}",
    response_model=EnterpriseDetail,
    responses=problems(401, 403, 404, 422),
)
async def get_enterprise(
    request: Request, who: CallerDep, credit_code: str = CREDIT_CODE
) -> dict[str, Any]:
    """One enterprise: its score now with the signals behind it, its latest signals, its
    warnings and how many of this year's inspections the cap still allows."""
    state = state_of(request)
    config = state.config
    now = utcnow()
    year = local_date(now, config.timezone).year

    def read() -> dict[str, Any] | None:
        with state.engine.connect() as conn:
            row = conn.execute(
                select(m.enterprise).where(m.enterprise.c.credit_code == credit_code)
            ).first()
            if row is None:
                return None
            (scored,) = signals.score_enterprises(
                conn, [credit_code], now=now, settings=config.risk
            )
            latest = conn.execute(
                select(m.signal)
                .where(m.signal.c.credit_code == credit_code)
                .order_by(m.signal.c.at.desc(), m.signal.c.id.desc())
                .limit(50)
            )
            warned = conn.execute(
                select(m.warning)
                .where(m.warning.c.credit_code == credit_code)
                .order_by(m.warning.c.opened_at.desc())
                .limit(50)
            )
            tasks = conn.execute(
                select(func.count())
                .select_from(m.task)
                .where(
                    m.task.c.credit_code == credit_code,
                    m.task.c.year == year,
                    m.task.c.state != "cancelled",
                )
            ).scalar_one()
            return {
                **_enterprise_out(row),
                "score": scored.total,
                "threshold": config.risk.threshold,
                "contributions": scored.contributions,
                "signals": [_signal_out(s) for s in latest],
                "warnings": [_warning_out(w, row.name) for w in warned],
                "annual_cap": config.annual_cap,
                "tasks_this_year": tasks,
            }

    found = await anyio.to_thread.run_sync(read)
    if found is None:
        raise NotFoundError(f"no enterprise {credit_code} in the directory")
    return found


def _signal_out(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "severity": row.severity,
        "at": row.at,
        "source": row.source,
        "ref": row.ref,
        "note": row.note,
    }


def _warning_out(row: Any, name: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "credit_code": row.credit_code,
        "enterprise_name": name,
        "state": row.state,
        "score": row.score,
        "threshold": row.threshold,
        "contributions": row.contributions,
        "opened_at": row.opened_at,
        "updated_at": row.updated_at,
        "task_id": row.task_id,
        "closed_note": row.closed_note,
    }


class InspectorOut(BaseModel):
    officer_id: str
    department_id: str
    cert_no: str
    specialities: list[str]
    conflicts: list[str]


class InspectorPage(BaseModel):
    items: list[InspectorOut]
    next_cursor: str | None


@router.get("/inspectors", response_model=InspectorPage, responses=problems(401, 403, 422))
async def list_inspectors(
    request: Request,
    who: CallerDep,
    department_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The roster, by officer id: the coordinating office and auditors see every
    department's; a department its own."""
    if not who.reads_all:
        if department_id not in (None, who.department_id):
            raise ForbiddenError("a department reads only its own inspectors")
        department_id = who.department_id
    size = _page_size(request, limit)
    query = select(m.inspector).order_by(m.inspector.c.officer_id).limit(size + 1)
    if department_id:
        query = query.where(m.inspector.c.department_id == department_id)
    if cursor:
        query = query.where(m.inspector.c.officer_id > decode_cursor(cursor))
    state = state_of(request)
    return await page_of(
        state,
        query,
        size,
        key=lambda r: r.officer_id,
        out=lambda r: {
            "officer_id": r.officer_id,
            "department_id": r.department_id,
            "cert_no": r.cert_no,
            "specialities": r.specialities,
            "conflicts": r.conflicts,
        },
    )


# ------------------------------------------------------------------- signals and warnings

SOURCE_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
#: A signal may be dated this far after the server's clock (another system's clock skew).
CLOCK_SKEW = timedelta(minutes=5)


class SignalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credit_code: str = Field(min_length=18, max_length=18, pattern=r"^[0-9A-Z]{18}$")
    kind: Literal["hotline", "grid", "petition", "inspection_finding", "penalty", "iot_alarm"]
    severity: int = Field(ge=1, le=3, description="1 minor, 2 serious, 3 grave")
    at: AwareDatetime
    source: str = Field(
        pattern=SOURCE_PATTERN, description='who reports it: "12345", "grid", "catering" …'
    )
    ref: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="the signal's id at its source: the same (source, ref) is stored once",
    )
    note: str | None = Field(None, max_length=500)


class SignalsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signals: list[SignalIn] = Field(min_length=1, max_length=10_000)


class SignalsPosted(BaseModel):
    created: list[str] = Field(description="ids of the new signals, in the post's order")
    skipped: list[str] = Field(
        description="with unknown=skip: the credit codes outside the directory, left out"
    )
    repeated: list[str] = Field(description="signals stored before under the same (source, ref)")
    warnings_opened: list[str]


@router.post(
    "/signals",
    response_model=SignalsPosted,
    status_code=201,
    responses=problems(401, 403, 422),
)
async def post_signals(
    request: Request,
    who: CallerDep,
    body: SignalsIn,
    unknown: Annotated[
        Literal["refuse", "skip"],
        Query(description="a credit code outside the directory refuses the post, or is skipped"),
    ] = "refuse",
) -> dict[str, Any]:
    """Signals about enterprises (12345, grid patrol, petitions, findings, penalties, IoT
    alarms): stored once per (source, ref); each enterprise named is scored again, and a
    warning opens where the score reaches the threshold. Every credit code must be in the
    directory, or nothing is written — unless ``unknown=skip``, for a system that reports on
    every enterprise (the supervision module's penalties), whose other signals are left out."""
    require_role(who, WORKERS, "post signals")
    state = state_of(request)
    config = state.config
    if len(body.signals) > config.max_signals:
        raise TooLargeError(f"more than {config.max_signals} signals in one post")
    now = utcnow()
    late = [
        row_error(n, "at", "is in the future")
        for n, s in enumerate(body.signals, start=1)
        if s.at > now + CLOCK_SKEW
    ]
    if late:
        raise BadRowsError(f"{len(late)} signal(s) dated in the future", errors=late[:1000])
    items = [
        signals.SignalIn(
            credit_code=s.credit_code,
            kind=s.kind,
            severity=s.severity,
            at=min(s.at.astimezone(UTC), now),
            source=s.source,
            ref=s.ref,
            note=s.note,
        )
        for s in body.signals
    ]

    def write() -> tuple[signals.Posted, list[str]]:
        with write_transaction(state.engine) as conn:
            outside = signals.unknown_enterprises(conn, (s.credit_code for s in items))
            if outside and unknown == "refuse":
                raise BadRowsError(
                    f"{len(outside)} credit code(s) are not in the directory; nothing was written",
                    errors=[
                        row_error(0, "credit_code", f"{code} is unknown") for code in outside[:1000]
                    ],
                )
            skipped = set(outside)
            kept = [s for s in items if s.credit_code not in skipped]
            posted = signals.record(
                conn, kept, posted_by=who.officer_id, now=now, settings=config.risk
            )
            return posted, outside

    posted, skipped = await anyio.to_thread.run_sync(write)
    return {
        "created": posted.created,
        "skipped": skipped,
        "repeated": posted.repeated,
        "warnings_opened": posted.opened,
    }


class WarningPage(BaseModel):
    items: list[WarningOut]
    next_cursor: str | None


def _warnings_query() -> Any:
    return select(m.warning, m.enterprise.c.name.label("enterprise_name")).join(
        m.enterprise, m.enterprise.c.credit_code == m.warning.c.credit_code
    )


@router.get("/warnings", response_model=WarningPage, responses=problems(401, 403, 422))
async def list_warnings(
    request: Request,
    who: CallerDep,
    state_: Annotated[
        Literal["open", "tasked", "resolved", "dismissed"] | None, Query(alias="state")
    ] = None,
    credit_code: Annotated[str | None, Query(max_length=18)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Warnings (预警), newest first, each with the signals that caused it."""
    size = _page_size(request, limit)
    query = _warnings_query().order_by(m.warning.c.id.desc()).limit(size + 1)
    if state_:
        query = query.where(m.warning.c.state == state_)
    if credit_code:
        query = query.where(m.warning.c.credit_code == credit_code)
    if cursor:
        query = query.where(m.warning.c.id < decode_cursor(cursor))
    state = state_of(request)
    return await page_of(
        state, query, size, key=lambda r: r.id, out=lambda r: _warning_out(r, r.enterprise_name)
    )


WARNING_ID = Path(max_length=26, pattern=r"^[0-9A-Z]{26}$")


def _read_warning(state: InspectionState, warning_id: str) -> dict[str, Any]:
    with state.engine.connect() as conn:
        row = conn.execute(_warnings_query().where(m.warning.c.id == warning_id)).first()
    if row is None:
        raise NotFoundError(f"no warning {warning_id}")
    return _warning_out(row, row.enterprise_name)


@router.get(
    "/warnings/{warning_id}", response_model=WarningOut, responses=problems(401, 403, 404, 422)
)
async def get_warning(
    request: Request, who: CallerDep, warning_id: str = WARNING_ID
) -> dict[str, Any]:
    return await anyio.to_thread.run_sync(_read_warning, state_of(request), warning_id)


class DismissIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=500, description="why no inspection is needed")


@router.post(
    "/warnings/{warning_id}/dismiss",
    response_model=WarningOut,
    responses=problems(401, 403, 404, 409, 422),
)
async def dismiss_warning(
    request: Request, who: CallerDep, body: DismissIn, warning_id: str = WARNING_ID
) -> dict[str, Any]:
    """The office closes an open warning without an inspection, saying why (the note is
    kept; a later signal may open a new warning)."""
    require_coordinator(who, "dismiss a warning")
    state = state_of(request)

    def write() -> dict[str, Any]:
        with write_transaction(state.engine) as conn:
            current = conn.execute(
                select(m.warning.c.state).where(m.warning.c.id == warning_id)
            ).scalar_one_or_none()
            if current is None:
                raise NotFoundError(f"no warning {warning_id}")
            if current != "open":
                raise ConflictError(f"the warning is {current}; only an open one is dismissed")
            conn.execute(
                m.warning.update()
                .where(m.warning.c.id == warning_id)
                .values(state="dismissed", closed_note=body.note, updated_at=utcnow())
            )
        return _read_warning(state, warning_id)

    return await anyio.to_thread.run_sync(write)
