"""What the case centre's routes answer, for the OpenAPI document (the routes build the
dicts in ``records.py``; these models document and check them), and the problem answers in
the core's shape (``#/components/schemas/Problem``, which the core's document defines)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from evidence_service.modules.kit.problems import PROBLEM_JSON as PROBLEM_JSON
from evidence_service.modules.kit.problems import PROBLEM_REF as PROBLEM_REF
from evidence_service.modules.kit.problems import problem_answers

DESCRIPTIONS = {
    401: "Missing or invalid bearer token (problem+json)",
    403: "The caller's role or department may not do this (problem+json)",
    404: "No such record, run or clue, or not one the caller may see (problem+json)",
    413: "More records than one batch takes (problem+json)",
    415: "Neither JSON nor CSV (problem+json)",
    422: "A malformed batch or query: ``errors`` lists each bad row (problem+json)",
    500: "A problem model failed; the run is kept as failed (problem+json)",
    502: "The evidence core did not answer (problem+json)",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return problem_answers(DESCRIPTIONS, *statuses)


def pdf_answer(description: str) -> dict[int | str, dict[str, Any]]:
    """A 200 answer that is a PDF file."""
    schema = {"type": "string", "format": "binary"}
    return {200: {"description": description, "content": {"application/pdf": {"schema": schema}}}}


class IngestAnswer(BaseModel):
    batch_id: str
    created: int = Field(description="records new to the case centre")
    updated: int = Field(description="records re-posted (same department, case number, kind)")
    ids: list[str] = Field(description="each record's id, in the batch's order")


class OfficerPublic(BaseModel):
    name: str
    cert_no: str | None = Field(description="执法证号")


class PartyPublic(BaseModel):
    kind: str = Field(description="person | organisation")
    masked: str = Field(description="the identifier masked, e.g. 3301**********1234")


class RecordPublic(BaseModel):
    id: str
    batch_id: str
    kind: str
    department_id: str
    case_number: str
    title: str
    region: str | None
    city: str
    procedure: str
    stages: dict[str, str | None] = Field(description="each stage's date (YYYY-MM-DD) or null")
    occurred_on: str | None = Field(description="when the act happened (YYYY-MM-DD)")
    hearing_offered: bool | None = Field(description="the party was told of a hearing right")
    notified_amount: str | None = Field(description="yuan, two decimals")
    decided_amount: str | None
    party: PartyPublic | None
    core_case_id: str | None
    evidence_ids: list[str]
    document_ids: list[str]
    officers: list[OfficerPublic]
    planted: list[str] | None = Field(description="demo data only: the problems planted")
    ingested_by: str
    created_at: datetime
    updated_at: datetime


class RecordPage(BaseModel):
    items: list[RecordPublic]
    next_cursor: str | None


#: The request body: a JSON array of records or a CSV text (docs/modules/supervision.md).
BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


# ------------------------------------------------------------------ clue centre


class ModelPublic(BaseModel):
    code: str
    name: str = Field(description="the model's Chinese name")
    basis: str = Field(description="the law and article it applies")
    severity: str = Field(description="high | medium | low")
    description: str
    reads: list[str] = Field(description="the tables it reads (records, certificates, …)")


class RunRequest(BaseModel):
    """``models``: the codes to run, or null for every model — said, not implied, so an empty
    body runs nothing (422); ``mode``: ``incremental`` looks only at what changed since the
    last finished run."""

    model_config = {"extra": "forbid"}
    models: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        ..., max_length=100
    )
    mode: Literal["full", "incremental"] = "full"


class RunPublic(BaseModel):
    id: str
    trigger: str = Field(description="schedule | demand")
    mode: str = Field(description="full | incremental")
    models: list[str]
    started_by: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str = Field(description="running | done | failed")
    hits: int
    opened: int = Field(description="clues opened or reopened")
    closed: int = Field(description="clues closed because their cause is gone")
    error: str | None


class RunPage(BaseModel):
    items: list[RunPublic]
    next_cursor: str | None


class ClueDisposal(BaseModel):
    id: str
    procedure: str
    state: str
    due_on: date | None


class CluePublic(BaseModel):
    id: str
    model: str
    model_name: str | None
    basis: str | None
    subject: str
    department_id: str
    severity: str
    status: str = Field(description="open | closed")
    summary: str
    facts: dict[str, Any]
    links: dict[str, list[str]] = Field(
        description="what the clue rests on, by kind (record, evidence, case, party, …): ids"
    )
    first_run_id: str
    last_run_id: str
    opened_at: datetime
    last_seen_at: datetime
    closed_at: datetime | None
    disposal: ClueDisposal | None = Field(
        description="its disposal in the disposal centre, once one is opened"
    )


class CluePage(BaseModel):
    items: list[CluePublic]
    next_cursor: str | None


# ------------------------------------------------------------------ case-file review


class ReviewItemPublic(BaseModel):
    code: str
    name: str
    section: str = Field(description="veto | presentation (卷面) | content (内容)")
    points: int
    basis: str
    auto: bool = Field(description="decided from the data, not by the reviewer")
    how: str
    passed: bool | None = Field(description="None: not decided yet")
    deducted: int
    note: str
    decided_by: str | None


class ReviewPublic(BaseModel):
    id: str
    record_id: str
    department_id: str
    case_number: str
    title: str
    kind: str
    checklist: str
    status: str = Field(description="draft | sealing | final")
    reviewer_id: str
    created_at: datetime
    finalized_by: str | None
    finalized_at: datetime | None
    result_evidence_id: str | None
    result_sha256: str | None
    result_seal: dict[str, Any] | None
    items: list[ReviewItemPublic]
    vetoed: bool
    presentation: int
    content: int
    score: int
    grade: str | None = Field(description="优秀 | 合格 | 不合格, once final")
    provisional_grade: str
    undecided: list[str]


class ReviewSummary(BaseModel):
    id: str
    record_id: str
    checklist: str
    status: str
    vetoed: bool
    score: int
    grade: str | None
    reviewer_id: str
    created_at: datetime
    finalized_at: datetime | None
    department_id: str
    case_number: str
    title: str


class ReviewPage(BaseModel):
    items: list[ReviewSummary]
    next_cursor: str | None


# ------------------------------------------------------------------ cockpit


class CockpitFigures(BaseModel):
    counts: dict[str, int] = Field(description="the counts the indicators are ratios of")
    clue_rate: float | None
    indicators: dict[str, float | None] = Field(description="each indicator, 0–1")
    composite: float | None = Field(description="the weighted composite, 0–100")


class CockpitRow(CockpitFigures):
    key: str = Field(description="the department id, region, city or 执法证 number")
    name: str | None = None


class CockpitPublic(BaseModel):
    level: str
    as_of: datetime | None = Field(description="when the summary was last rebuilt")
    rows: list[CockpitRow]
    row_count: int
    total: CockpitFigures
    period: str | None
    weights: dict[str, float]
