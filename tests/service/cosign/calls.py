"""The co-signature calls and counts the cosign tests share."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
from sqlmodel import Session, col, func, select

from evidence_service.access.models import DepartmentBlsKey
from evidence_service.cosign.models import CoSignature, CoSignatureAnswer, CoSignatureRequest
from evidence_service.custody.models import CustodyEvent
from tests.fixtures.service import Api

#: Two inspection departments (officer, reviewer), a penalty one, the court, the audit office.
A, B, P, COURT, AUDIT = "HZ-SCJG", "HZ-ZHZF", "HZ-CFK", "HZ-XHFY", "ZJ-SFT"
#: Who answers for each department in the demo data.
ANSWERER = {A: "reviewer", B: "reviewer", P: "penalty"}
COSIGN_ACTIONS = ("co_sign_requested", "co_sign_approved", "co_sign_declined", "co_signed")


def dept(api: Api, code: str) -> str:
    return str(next(d["id"] for d in api.departments if d["code"] == code))


def request(
    api: Api,
    subject_id: str,
    codes: list[str],
    *,
    by: tuple[str, str] = (A, "reviewer"),
    subject: str = "statement",
) -> httpx.Response:
    body = {
        "subject": subject,
        "subject_id": subject_id,
        "department_ids": [dept(api, c) for c in codes],
    }
    return api.client.post("/api/v1/cosignatures", json=body, headers=api.auth_as(*by))


def answer(
    api: Api,
    cosignature_id: str,
    verb: str,
    code: str,
    role: str | None = None,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    """``verb`` (approve, decline, verify) as the demo user of ``role`` (by default the
    department's reviewer or penalty officer) of the department ``code``."""
    return api.client.post(
        f"/api/v1/cosignatures/{cosignature_id}/{verb}",
        json=body,
        headers=api.auth_as(code, role or ANSWERER[code]),
    )


def read(api: Api, cosignature_id: str, code: str, role: str) -> httpx.Response:
    return api.client.get(f"/api/v1/cosignatures/{cosignature_id}", headers=api.auth_as(code, role))


def written(api: Api) -> dict[str, int]:
    """Rows of every table a co-signature writes, and the custody log's length."""
    tables = {
        "requests": CoSignatureRequest,
        "answers": CoSignatureAnswer,
        "cosignatures": CoSignature,
        "bls_keys": DepartmentBlsKey,
        "custody": CustodyEvent,
    }
    with Session(api.services.engine) as session:
        return {
            name: session.exec(select(func.count()).select_from(table)).one()
            for name, table in tables.items()
        }


def cosign_events(api: Api, cosignature_id: str) -> list[CustodyEvent]:
    """The workflow's custody events for one co-signature, oldest first."""
    with Session(api.services.engine) as session:
        rows = session.exec(select(CustodyEvent).order_by(col(CustodyEvent.seq))).all()
    return [e for e in rows if e.details.get("cosignature_id") == cosignature_id]


def documented(api: Api, method: str, template: str, response: httpx.Response) -> Any:
    """The answer's body, checked against the schema the OpenAPI document gives for it."""
    spec = api.client.get("/openapi.json").json()
    answers = spec["paths"][template][method]["responses"][str(response.status_code)]
    media = response.headers["content-type"].split(";")[0]
    schema = {**answers["content"][media]["schema"], "components": spec["components"]}
    body = response.json()
    jsonschema.Draft202012Validator(schema).validate(body)
    return body
