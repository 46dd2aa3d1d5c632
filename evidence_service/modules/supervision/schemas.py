"""What the case centre's routes answer, for the OpenAPI document (the routes build the
dicts in ``records.py``; these models document and check them), and the problem answers in
the core's shape (``#/components/schemas/Problem``, which the core's document defines)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_JSON = "application/problem+json"
DESCRIPTIONS = {
    401: "Missing or invalid bearer token (problem+json)",
    403: "The caller's role or department may not do this (problem+json)",
    404: "No such record, or not one the caller may see (problem+json)",
    413: "More records than one batch takes (problem+json)",
    415: "Neither JSON nor CSV (problem+json)",
    422: "A malformed batch or query: ``errors`` lists each bad row (problem+json)",
    502: "The evidence core did not answer (problem+json)",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
        for status in statuses
    }


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
