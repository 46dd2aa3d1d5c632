"""Listing, editing, closing and reopening cases; editing and removing parties and causes."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, func, select

from evidence_service.cases.models import Case, Cause, Party
from evidence_service.custody.models import CustodyEvent
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, upload

RESIDENT_ID = "11010519491231002X"  # the GB 11643 example number
OTHER_RESIDENT_ID = "110105194912310038"  # same prefix, valid check digit
USCC = "91350100M000100Y43"


def other_department_officer(api: Api, code: str = "HZ-ZHZF") -> dict[str, str]:
    """Headers of the demo officer of another department (no write: creating an officer is a
    custody event, which would upset the tests that count them)."""
    return api.auth_as(code, "officer")


def open_case(
    api: Api, number: str, headers: dict[str, str] | None = None, **body: Any
) -> dict[str, Any]:
    response = api.client.post(
        "/api/v1/cases",
        json={"case_number": number, "kind": "penalty", "title": f"title {number}", **body},
        headers=headers or api.auth(),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def add_cause(api: Api, code: str = "FS-001", name: str = "未按规定贮存食品") -> None:
    response = api.client.post(
        "/api/v1/causes", json={"code": code, "name": name}, headers=api.auth("admin")
    )
    assert response.status_code == 201, response.text


def events(api: Api, *actions: str) -> list[CustodyEvent]:
    with Session(api.services.engine) as session:
        return list(
            session.exec(
                select(CustodyEvent)
                .where(col(CustodyEvent.action).in_(actions))
                .order_by(col(CustodyEvent.seq))
            ).all()
        )


def custody_count(api: Api) -> int:
    with Session(api.services.engine) as session:
        return session.exec(select(func.count()).select_from(CustodyEvent)).one()


def test_cases_are_listed_for_the_callers_department_newest_first(api: Api) -> None:
    add_cause(api)
    first = open_case(api, "杭市监罚〔2026〕1号", cause_code="FS-001")
    second = open_case(api, "杭市监罚〔2026〕2号", kind="inspection", title="冷库_100%检查")
    third = open_case(api, "杭市监罚〔2026〕3号")
    api.client.patch(f"/api/v1/cases/{third['id']}", json={"status": "closed"}, headers=api.auth())
    other = other_department_officer(api)
    open_case(api, "杭综执〔2026〕1号", headers=other)

    def ids(**params: Any) -> list[str]:
        response = api.client.get("/api/v1/cases", params=params, headers=api.auth())
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert ids() == [third["id"], second["id"], first["id"]]
    assert ids(status="closed") == [third["id"]]
    assert ids(status="open") == [second["id"], first["id"]]
    assert ids(kind="inspection") == [second["id"]]
    assert ids(cause_code="FS-001") == [first["id"]]
    assert ids(q="2026〕1") == [first["id"]]
    assert ids(q="_100%") == [second["id"]]  # LIKE wildcards are taken literally
    assert ids(q="1_0") == []  # "_" is no wildcard: "100" does not match
    listed = api.client.get("/api/v1/cases", headers=other).json()["items"]
    assert [c["case_number"] for c in listed] == ["杭综执〔2026〕1号"]
    assert set(listed[0]) >= {"id", "case_number", "title", "status", "opened_at", "closed_at"}

    page = api.client.get("/api/v1/cases", params={"limit": 2}, headers=api.auth()).json()
    assert [c["id"] for c in page["items"]] == [third["id"], second["id"]]
    rest = api.client.get(
        "/api/v1/cases", params={"limit": 2, "cursor": page["next_cursor"]}, headers=api.auth()
    ).json()
    assert [c["id"] for c in rest["items"]] == [first["id"]] and rest["next_cursor"] is None

    bad_cursor = api.client.get("/api/v1/cases", params={"cursor": "nope"}, headers=api.auth())
    assert_problem(bad_cursor, 400, "bad-request")
    too_many = api.client.get("/api/v1/cases", params={"limit": 201}, headers=api.auth())
    assert_problem(too_many, 422, "invalid-request")
    assert_problem(
        api.client.get("/api/v1/cases", params={"status": "nope"}, headers=api.auth()),
        422,
        "invalid-request",
    )
    assert api.client.get("/api/v1/cases").status_code == 401


def test_a_case_is_edited_closed_and_reopened(api: Api) -> None:
    add_cause(api)
    add_cause(api, "FS-002", "超范围经营")
    case = open_case(api, "C-1", cause_code="FS-001")
    url = f"/api/v1/cases/{case['id']}"
    opened = events(api, "case_opened")
    assert [(e.evidence_id, e.details["case_id"]) for e in opened] == [(None, case["id"])]

    edited = api.client.patch(
        url, json={"title": "后厨卫生", "cause_code": "FS-002"}, headers=api.auth()
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["title"] == "后厨卫生" and edited.json()["cause_code"] == "FS-002"
    [updated] = events(api, "case_updated")
    assert updated.evidence_id is None
    assert updated.details == {
        "case_id": case["id"],
        "changes": {
            "title": {"old": "title C-1", "new": "后厨卫生"},
            "cause_code": {"old": "FS-001", "new": "FS-002"},
        },
    }
    same = api.client.patch(url, json={"title": "后厨卫生"}, headers=api.auth())
    assert same.status_code == 200 and len(events(api, "case_updated")) == 1  # nothing changed

    before = custody_count(api)
    for body, status, slug in (
        ({"cause_code": "NOPE"}, 404, "not-found"),
        ({"case_number": "C-9"}, 400, "bad-request"),
        ({"title": None}, 400, "bad-request"),
        ({"status": None}, 400, "bad-request"),
        ({"title": ""}, 422, "invalid-request"),
        ({"status": "archived"}, 422, "invalid-request"),
        ({"department_id": "x"}, 422, "invalid-request"),
    ):
        assert_problem(api.client.patch(url, json=body, headers=api.auth()), status, slug)
    assert_problem(
        api.client.patch("/api/v1/cases/01NOPE", json={"title": "x"}, headers=api.auth()),
        404,
        "not-found",
    )
    with Session(api.services.engine) as session:
        stored = session.get(Case, case["id"])
        assert stored is not None
        assert (stored.case_number, stored.title, stored.cause_code) == (
            "C-1",
            "后厨卫生",
            "FS-002",
        )
    assert custody_count(api) == before

    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    party_id = api.client.post(
        "/api/v1/parties", json={"kind": "organisation", "name": "某餐饮"}, headers=api.auth()
    ).json()["id"]
    api.client.post(f"{url}/evidence", json={"evidence_id": evidence_id}, headers=api.auth())
    cleared = api.client.patch(url, json={"cause_code": None}, headers=api.auth()).json()
    assert cleared["cause_code"] is None

    closed = api.client.patch(url, json={"status": "closed"}, headers=api.auth())
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"] is not None
    [closing] = events(api, "case_closed")
    assert closing.evidence_id is None and closing.details["case_id"] == case["id"]

    before = custody_count(api)
    refused = [
        api.client.post(f"{url}/evidence", json={"evidence_id": evidence_id}, headers=api.auth()),
        api.client.delete(f"{url}/evidence/{evidence_id}", headers=api.auth()),
        api.client.post(f"{url}/parties", json={"party_id": party_id}, headers=api.auth()),
        api.client.patch(url, json={"title": "again"}, headers=api.auth()),
    ]
    for response in refused:
        assert "closed" in assert_problem(response, 409, "conflict")["detail"]
    assert custody_count(api) == before
    assert api.client.get(url, headers=api.auth()).json()["evidence_ids"] == [evidence_id]

    reopened = api.client.patch(
        url, json={"status": "open", "title": "重新调查"}, headers=api.auth()
    ).json()
    assert (reopened["status"], reopened["closed_at"], reopened["title"]) == (
        "open",
        None,
        "重新调查",
    )
    assert [e.details["case_id"] for e in events(api, "case_reopened")] == [case["id"]]
    attached = api.client.post(f"{url}/parties", json={"party_id": party_id}, headers=api.auth())
    assert attached.status_code == 201 and attached.json()["party_ids"] == [party_id]

    edit_and_close = api.client.patch(
        url, json={"title": "结案", "status": "closed"}, headers=api.auth()
    ).json()
    assert (edit_and_close["title"], edit_and_close["status"]) == ("结案", "closed")
    actions = [e.action for e in events(api, "case_updated", "case_closed", "case_reopened")]
    assert actions[-2:] == ["case_updated", "case_closed"]
    verify = api.client.get("/api/v1/custody/verify", headers=api.auth("auditor")).json()
    assert verify["valid"] is True


def test_only_the_cases_department_sees_and_changes_it(api: Api) -> None:
    case = open_case(api, "D-1")
    url = f"/api/v1/cases/{case['id']}"
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    other = other_department_officer(api)
    before = custody_count(api)
    # Another department's case is as unknown as a made-up id; roles that never work cases
    # are refused whatever the case (policy.py).
    for headers, status, slug in (
        (other, 404, "not-found"),
        (api.auth("court"), 403, "forbidden"),
        (api.auth("auditor"), 403, "forbidden"),
        (api.auth("admin"), 403, "forbidden"),
    ):
        assert_problem(api.client.patch(url, json={"title": "x"}, headers=headers), status, slug)
        assert_problem(
            api.client.post(f"{url}/evidence", json={"evidence_id": evidence_id}, headers=headers),
            status,
            slug,
        )
        assert_problem(api.client.get(url, headers=headers), status, slug)
    assert custody_count(api) == before

    closed = api.client.patch(url, json={"status": "closed"}, headers=api.auth("reviewer"))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    reopened = api.client.patch(url, json={"status": "open"}, headers=api.auth())
    assert reopened.status_code == 200  # the demo officer works in the same department


def test_a_party_is_detached_from_a_case(api: Api) -> None:
    case = open_case(api, "P-1")
    url = f"/api/v1/cases/{case['id']}"
    party_id = api.client.post(
        "/api/v1/parties", json={"kind": "person", "name": "张三"}, headers=api.auth()
    ).json()["id"]
    api.client.post(f"{url}/parties", json={"party_id": party_id}, headers=api.auth())
    detached = api.client.delete(f"{url}/parties/{party_id}", headers=api.auth())
    assert detached.status_code == 200 and detached.json()["party_ids"] == []
    assert_problem(
        api.client.delete(f"{url}/parties/{party_id}", headers=api.auth()), 404, "not-found"
    )
    assert_problem(
        api.client.delete(f"/api/v1/cases/01NOPE/parties/{party_id}", headers=api.auth()),
        404,
        "not-found",
    )
    linked = events(api, "linked_concerns_party", "unlinked_concerns_party")
    assert [(e.action, e.evidence_id, e.details) for e in linked] == [
        ("linked_concerns_party", None, {"source": case["id"], "target": party_id}),
        ("unlinked_concerns_party", None, {"source": case["id"], "target": party_id}),
    ]


def test_a_party_is_renamed_and_its_identifier_corrected_never_in_clear(api: Api) -> None:
    created = api.client.post(
        "/api/v1/parties",
        json={
            "kind": "person",
            "name": "张三",
            "identifier_kind": "resident_id",
            "identifier": RESIDENT_ID,
        },
        headers=api.auth(),
    ).json()
    holder = api.client.post(
        "/api/v1/parties",
        json={
            "kind": "organisation",
            "name": "某公司",
            "identifier_kind": "uscc",
            "identifier": USCC,
        },
        headers=api.auth(),
    ).json()
    url = f"/api/v1/parties/{created['id']}"
    renamed = api.client.patch(url, json={"name": "张叁"}, headers=api.auth())
    assert renamed.status_code == 200 and renamed.json()["name"] == "张叁"
    corrected = api.client.patch(
        url,
        json={"identifier_kind": "resident_id", "identifier": OTHER_RESIDENT_ID},
        headers=api.auth(),
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["identifier"] == "1101**********0038"
    found = api.client.get(
        "/api/v1/parties",
        params={"identifier_kind": "resident_id", "identifier": OTHER_RESIDENT_ID},
        headers=api.auth(),
    ).json()
    assert [p["id"] for p in found] == [created["id"]]

    before = custody_count(api)
    failures = [
        (api.client.patch(url, json={"identifier": RESIDENT_ID}, headers=api.auth()), 400),
        (api.client.patch(url, json={"identifier_kind": "uscc"}, headers=api.auth()), 400),
        (
            api.client.patch(
                url,
                json={"identifier_kind": "resident_id", "identifier": RESIDENT_ID[:-1] + "1"},
                headers=api.auth(),
            ),
            400,
        ),
        (api.client.patch(url, json={"kind": "organisation"}, headers=api.auth()), 422),
        (api.client.patch(url, json={"name": ""}, headers=api.auth()), 422),
        (api.client.patch("/api/v1/parties/01NOPE", json={"name": "x"}, headers=api.auth()), 404),
        (
            api.client.patch(url, json={"name": "x"}, headers=other_department_officer(api)),
            403,
        ),
    ]
    for response, status in failures:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    duplicate = api.client.patch(
        url, json={"identifier_kind": "uscc", "identifier": USCC}, headers=api.auth()
    )
    assert assert_problem(duplicate, 409, "conflict")["party_id"] == holder["id"]
    assert custody_count(api) == before

    updates = events(api, "party_updated")
    assert [e.details["changes"] for e in updates] == [
        {"name": {"old": "张三", "new": "张叁"}},
        {
            "identifier": {
                "old": {"kind": "resident_id", "masked": "1101**********002X"},
                "new": {"kind": "resident_id", "masked": "1101**********0038"},
            }
        },
    ]
    texts = [r.text for r, _ in failures] + [renamed.text, corrected.text, duplicate.text]
    logged = json.dumps([e.details for e in events(api, "party_created", "party_updated")])
    for clear in (RESIDENT_ID, OTHER_RESIDENT_ID, USCC):
        assert clear not in logged
        assert all(clear not in text for text in texts)


def test_a_party_is_removed_only_when_nothing_links_to_it(api: Api) -> None:
    case = open_case(api, "R-1")
    party_id = api.client.post(
        "/api/v1/parties", json={"kind": "person", "name": "李四"}, headers=api.auth()
    ).json()["id"]
    url = f"/api/v1/cases/{case['id']}"
    api.client.post(f"{url}/parties", json={"party_id": party_id}, headers=api.auth())
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    api.client.post(
        f"/api/v1/evidence/{evidence_id}/parties", json={"party_id": party_id}, headers=api.auth()
    )
    before = custody_count(api)
    linked = api.client.delete(f"/api/v1/parties/{party_id}", headers=api.auth())
    body = assert_problem(linked, 409, "conflict")
    assert body["links"] == 2 and "2 link" in body["detail"]
    assert_problem(
        api.client.delete(f"/api/v1/parties/{party_id}", headers=other_department_officer(api)),
        403,
        "forbidden",
    )
    assert custody_count(api) == before

    api.client.delete(f"{url}/parties/{party_id}", headers=api.auth())
    api.client.delete(f"/api/v1/evidence/{evidence_id}/parties/{party_id}", headers=api.auth())
    removed = api.client.delete(f"/api/v1/parties/{party_id}", headers=api.auth())
    assert removed.status_code == 204 and removed.content == b""
    assert_problem(
        api.client.get(f"/api/v1/parties/{party_id}", headers=api.auth()), 404, "not-found"
    )
    assert_problem(
        api.client.delete(f"/api/v1/parties/{party_id}", headers=api.auth()), 404, "not-found"
    )
    [deleted] = events(api, "party_deleted")
    assert deleted.evidence_id is None and deleted.details["party_id"] == party_id


def test_causes_are_renamed_and_removed_by_admins_only(api: Api) -> None:
    admin = api.auth("admin")
    add_cause(api)
    renamed = api.client.patch(
        "/api/v1/causes/FS-001", json={"name": "未按要求贮存"}, headers=admin
    )
    assert renamed.json() == {"code": "FS-001", "name": "未按要求贮存"}
    assert [e.details["changes"] for e in events(api, "cause_updated")] == [
        {"name": {"old": "未按规定贮存食品", "new": "未按要求贮存"}}
    ]
    case = open_case(api, "K-1", cause_code="FS-001")
    tagged = upload(
        api,
        "documentary",
        samples.pdf(),
        metadata={"title": "记录", "tags": [{"type": "cause", "value": "FS-001"}]},
    )
    assert tagged.status_code == 201, tagged.text

    before = custody_count(api)
    assert_problem(
        api.client.patch("/api/v1/causes/FS-001", json={"name": "x"}, headers=api.auth()),
        403,
        "forbidden",
    )
    assert_problem(api.client.delete("/api/v1/causes/FS-001", headers=api.auth()), 403, "forbidden")
    assert_problem(
        api.client.patch("/api/v1/causes/NOPE", json={"name": "x"}, headers=admin), 404, "not-found"
    )
    assert_problem(api.client.delete("/api/v1/causes/NOPE", headers=admin), 404, "not-found")
    in_use = assert_problem(
        api.client.delete("/api/v1/causes/FS-001", headers=admin), 409, "conflict"
    )
    assert (in_use["cases"], in_use["links"]) == (1, 1)
    for code in ("01HZY3X8Q4N2V6T9RBKMWCDEFG", "01hzy3x8q4n2v6t9rbkmwcdefg"):
        assert_problem(
            api.client.post("/api/v1/causes", json={"code": code, "name": "n"}, headers=admin),
            400,
            "bad-request",
        )
    assert custody_count(api) == before

    api.client.patch(f"/api/v1/cases/{case['id']}", json={"cause_code": None}, headers=api.auth())
    still = assert_problem(
        api.client.delete("/api/v1/causes/FS-001", headers=admin), 409, "conflict"
    )
    assert (still["cases"], still["links"]) == (0, 1)  # the item's about_cause edge remains

    add_cause(api, "FS-009", "无人使用")
    assert api.client.delete("/api/v1/causes/FS-009", headers=admin).status_code == 204
    with Session(api.services.engine) as session:
        assert session.get(Cause, "FS-009") is None
        assert session.exec(select(func.count()).select_from(Party)).one() == 0
    assert [e.details["code"] for e in events(api, "cause_deleted")] == ["FS-009"]
    assert [e.details["code"] for e in events(api, "cause_created")] == ["FS-001", "FS-009"]
