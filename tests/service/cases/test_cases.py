"""Parties with protected identifiers, the cause catalogue, cases and their links to evidence."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from evidence_service.cases.models import GraphEdge, Party
from evidence_service.custody.models import CustodyEvent
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, upload

RESIDENT_ID = "11010519491231002X"  # the GB 11643 example number
USCC = "91350100M000100Y43"


def create_party(api: Api, **body: Any) -> Any:
    return api.client.post("/api/v1/parties", json=body, headers=api.auth())


def database_dump(api: Api) -> bytes:
    url = api.services.engine.url
    if url.get_backend_name() == "postgresql":
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return subprocess.run(
            ["pg_dump", "--data-only", dsn], capture_output=True, check=True, timeout=60
        ).stdout
    api.services.engine.dispose()
    database = Path(str(url.database))
    return b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))


def test_identifiers_are_never_kept_in_clear(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    person = create_party(
        api, kind="person", name="张三", identifier_kind="resident_id", identifier=RESIDENT_ID
    )
    assert person.status_code == 201, person.text
    assert person.json()["identifier"] == "1101**********002X"
    company = create_party(
        api, kind="organisation", name="某某餐饮有限公司", identifier_kind="uscc", identifier=USCC
    )
    assert company.status_code == 201
    found = api.client.get(
        "/api/v1/parties",
        params={"identifier_kind": "resident_id", "identifier": "110105 19491231 002x"},
        headers=api.auth(),
    )
    assert [p["id"] for p in found.json()] == [person.json()["id"]]
    duplicate = create_party(
        api, kind="person", name="张三", identifier_kind="resident_id", identifier=RESIDENT_ID
    )
    assert assert_problem(duplicate, 409, "conflict")["party_id"] == person.json()["id"]
    bad = create_party(
        api,
        kind="person",
        name="李四",
        identifier_kind="resident_id",
        identifier=RESIDENT_ID[:-1] + "1",
    )
    assert_problem(bad, 400, "bad-request")

    responses = person.text + company.text + found.text + duplicate.text + bad.text
    dump = database_dump(api)
    assert b"1101**********002X" in dump  # the dump does hold the parties' rows
    for clear in (RESIDENT_ID, USCC, RESIDENT_ID.lower()):
        assert clear not in responses
        assert clear not in caplog.text
        assert clear.encode() not in dump
    with Session(api.services.engine) as session:
        assert len(session.exec(select(Party)).all()) == 2


def test_an_officer_opens_a_case_and_attaches_evidence_and_parties(api: Api) -> None:
    cause = api.client.post(
        "/api/v1/causes",
        json={"code": "FS-001", "name": "未按规定贮存食品"},
        headers=api.auth("admin"),
    )
    assert cause.status_code == 201
    opened = api.client.post(
        "/api/v1/cases",
        json={
            "case_number": "杭市监罚〔2026〕1号",
            "kind": "penalty",
            "title": "后厨卫生",
            "cause_code": "FS-001",
        },
        headers=api.auth(),
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["status"] == "open" and case["evidence_ids"] == []
    same_number = api.client.post(
        "/api/v1/cases",
        json={"case_number": "杭市监罚〔2026〕1号", "kind": "penalty", "title": "again"},
        headers=api.auth(),
    )
    assert_problem(same_number, 409, "conflict")

    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    party_id = create_party(
        api, kind="organisation", name="某某餐饮", identifier_kind="uscc", identifier=USCC
    ).json()["id"]
    url = f"/api/v1/cases/{case['id']}"
    attached = api.client.post(
        f"{url}/evidence", json={"evidence_id": evidence_id}, headers=api.auth()
    )
    assert attached.status_code == 201 and attached.json()["evidence_ids"] == [evidence_id]
    again = api.client.post(
        f"{url}/evidence", json={"evidence_id": evidence_id}, headers=api.auth()
    )
    assert_problem(again, 409, "conflict")
    with_party = api.client.post(f"{url}/parties", json={"party_id": party_id}, headers=api.auth())
    assert with_party.json()["party_ids"] == [party_id]

    detached = api.client.delete(f"{url}/evidence/{evidence_id}", headers=api.auth())
    assert detached.status_code == 200 and detached.json()["evidence_ids"] == []
    assert_problem(
        api.client.delete(f"{url}/evidence/{evidence_id}", headers=api.auth()), 404, "not-found"
    )

    with Session(api.services.engine) as session:
        events = session.exec(
            select(CustodyEvent.action, CustodyEvent.evidence_id).where(
                CustodyEvent.evidence_id == evidence_id
            )
        ).all()
    assert [a for a, _ in events] == [
        "captured",
        "linked_belongs_to_case",
        "unlinked_belongs_to_case",
    ]
    verify = api.client.get("/api/v1/custody/verify", headers=api.auth("auditor")).json()
    assert verify["valid"] is True


def test_case_requests_are_checked_and_write_nothing(api: Api) -> None:
    opened = api.client.post(
        "/api/v1/cases",
        json={"case_number": "X-1", "kind": "inspection", "title": "t"},
        headers=api.auth(),
    ).json()
    url = f"/api/v1/cases/{opened['id']}"
    assert_problem(
        api.client.post(f"{url}/evidence", json={"evidence_id": "01NOPE"}, headers=api.auth()),
        404,
        "not-found",
    )
    assert_problem(
        api.client.post(f"{url}/parties", json={"party_id": "01NOPE"}, headers=api.auth()),
        404,
        "not-found",
    )
    assert_problem(
        api.client.post(
            "/api/v1/cases/01NOPE/evidence", json={"evidence_id": "x"}, headers=api.auth()
        ),
        404,
        "not-found",
    )
    assert_problem(
        api.client.post(
            "/api/v1/cases",
            json={"case_number": "X-2", "kind": "nope", "title": "t"},
            headers=api.auth(),
        ),
        422,
        "invalid-request",
    )
    assert_problem(
        api.client.post(
            "/api/v1/cases",
            json={"case_number": "X-3", "kind": "penalty", "title": "t", "cause_code": "NOPE"},
            headers=api.auth(),
        ),
        404,
        "not-found",
    )
    assert_problem(
        api.client.post("/api/v1/causes", json={"code": "A", "name": "n"}, headers=api.auth()),
        403,
        "forbidden",
    )
    assert_problem(create_party(api, kind="person", name="x", identifier="123"), 400, "bad-request")
    with Session(api.services.engine) as session:
        assert session.exec(select(GraphEdge)).all() == []
        assert session.exec(select(Party)).all() == []
