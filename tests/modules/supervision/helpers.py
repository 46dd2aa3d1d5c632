"""Supervision-module test helpers: the callers the case centre distinguishes, a record as a
department sends it, the module's row counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from evidence_service.modules.supervision.models import (
    batch,
    record,
    record_link,
    record_officer,
)
from evidence_service.modules.supervision.records import count_rows
from tests.fixtures.service import Api

RECORDS = "/api/v1/supervision/records"
DEPT_A, DEPT_B, OFFICE = "HZ-SCJG", "HZ-ZHZF", "ZJ-SFT"
TABLES = (batch, record, record_officer, record_link)
PERSON_ID = "11010519491231002X"  # a well-formed resident ID number (GB 11643 check digit)
ORG_ID = "91330106MA2CFLU23P"  # GB 32100 check character


def department_id(api: Api, code: str) -> str:
    return next(d["id"] for d in api.departments if d["code"] == code)


def module_engine(api: Api) -> Engine:
    return api.client.app.state.supervision.engine  # type: ignore[attr-defined,no-any-return]


def counts(api: Api) -> dict[str, int]:
    return count_rows(module_engine(api), TABLES)


def office_officer(api: Api) -> dict[str, str]:
    """An officer of the supervision office (the demo has only its auditor and admin)."""
    created = api.client.post(
        "/api/v1/officers",
        json={"name": "郑洁", "role": "officer", "department_id": department_id(api, OFFICE)},
        headers=api.auth("admin"),
    )
    assert created.status_code == 201, created.text
    token = api.client.post(
        f"/api/v1/officers/{created.json()['id']}/tokens",
        json={"kind": "service", "label": "supervision office"},
        headers=api.auth("admin"),
    ).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def a_record(department: str, number: str = "杭市监罚〔2026〕1号", **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "penalty",
        "department_id": department,
        "case_number": number,
        "title": "销售过期食品",
        "region": "西湖区",
        "city": "杭州",
        "procedure": "general",
        "stages": {
            "立案": "2026-01-05",
            "investigation": "2026-01-08",
            "notice": "2026-02-01",
            "decision": "2026-03-01",
            "送达": "2026-03-03",
        },
        "notified_amount": "5000",
        "decided_amount": 5000,
        "party": {"kind": "person", "identifier": PERSON_ID},
        "officers": [
            {"name": "张明", "cert_no": "33010012345"},
            {"name": "李华", "cert_no": "33010012346"},
        ],
        "evidence_ids": ["01JEVIDENCE0000000000000001"],
        "document_ids": ["01JDOCUMENT0000000000000001"],
        "core_case_id": "01JCASE00000000000000000001",
    }
    return {**base, **over}
