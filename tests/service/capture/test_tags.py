"""Typed tags after capture (custody events) and evidence search by tag, case and text."""

from __future__ import annotations

from sqlmodel import Session, select

from evidence_service.capture.models import Evidence
from evidence_service.custody.models import CustodyEvent
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, upload


def capture(api: Api, title: str, tags: list[dict[str, str]] | None = None) -> str:
    response = upload(
        api, "documentary", samples.pdf(), metadata={"title": title, "tags": tags or []}
    )
    assert response.status_code == 201, response.text
    evidence_id: str = response.json()["id"]
    return evidence_id


def search(api: Api, **params: str) -> list[str]:
    response = api.client.get("/api/v1/evidence", params=params, headers=api.auth())
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_tags_change_as_custody_events_and_the_statement_stays(api: Api) -> None:
    first = capture(api, "后厨照片", [{"type": "party", "value": "某餐饮店"}])
    with Session(api.services.engine) as session:
        before = session.get(Evidence, first)
        assert before is not None
        statement = dict(before.statement)
    url = f"/api/v1/evidence/{first}/tags"
    tags = api.client.get(url, headers=api.auth()).json()
    assert [(t["type"], t["value"]) for t in tags] == [("party", "某餐饮店")]
    added = api.client.post(
        url, json={"type": "penalty_no", "value": "罚2026-7"}, headers=api.auth()
    )
    assert added.status_code == 201
    assert {(t["type"], t["value"]) for t in added.json()} == {
        ("party", "某餐饮店"),
        ("penalty_no", "罚2026-7"),
    }
    again = api.client.post(
        url, json={"type": "penalty_no", "value": "罚2026-7"}, headers=api.auth()
    )
    assert_problem(again, 409, "conflict")
    removed = api.client.delete(
        url, params={"type": "party", "value": "某餐饮店"}, headers=api.auth()
    )
    assert [(t["type"], t["value"]) for t in removed.json()] == [("penalty_no", "罚2026-7")]
    missing = api.client.delete(url, params={"type": "party", "value": "x"}, headers=api.auth())
    assert_problem(missing, 404, "not-found")
    bad = api.client.post(url, json={"type": "nope", "value": "x"}, headers=api.auth())
    assert_problem(bad, 422, "invalid-request")

    with Session(api.services.engine) as session:
        after = session.get(Evidence, first)
        actions = session.exec(
            select(CustodyEvent.action).where(CustodyEvent.evidence_id == first)
        ).all()
    assert after is not None and after.statement == statement
    assert actions == ["captured", "tagged", "untagged"]


def test_search_by_tag_case_and_text(api: Api) -> None:
    a = capture(api, "后厨照片 kitchen", [{"type": "party", "value": "甲店"}])
    b = capture(api, "冷库温度记录", [{"type": "party", "value": "乙店"}])
    c = capture(api, "现场笔录 100%_done", [{"type": "party", "value": "甲店"}])
    assert set(search(api, tag_type="party", tag_value="甲店")) == {a, c}
    assert search(api, tag_value="乙店") == [b]
    assert search(api, q="KITCHEN") == [a]
    assert search(api, q="100%_") == [c]  # LIKE wildcards are matched literally
    assert search(api, q="%") == [c]
    case = api.client.post(
        "/api/v1/cases",
        json={"case_number": "S-1", "kind": "inspection", "title": "t"},
        headers=api.auth(),
    ).json()
    api.client.post(
        f"/api/v1/cases/{case['id']}/evidence", json={"evidence_id": b}, headers=api.auth()
    )
    assert search(api, case_id=case["id"]) == [b]
    assert search(api, case_id=case["id"], tag_value="甲店") == []
