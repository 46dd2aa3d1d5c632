"""Relations between evidence items and between items and parties: edges and custody events."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, func, select

from evidence_service.cases.models import GraphEdge
from evidence_service.custody.models import CustodyEvent
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, upload


def items(api: Api, *titles: str) -> list[str]:
    return [
        upload(api, "documentary", samples.pdf(), metadata={"title": t}).json()["id"]
        for t in titles
    ]


def relate(api: Api, source: str, kind: str, target: str, role: str = "officer") -> Any:
    return api.client.post(
        f"/api/v1/evidence/{source}/relations",
        json={"kind": kind, "target_id": target},
        headers=api.auth(role),
    )


def item_events(api: Api, evidence_id: str) -> list[tuple[str, dict[str, Any]]]:
    with Session(api.services.engine) as session:
        rows = session.exec(
            select(CustodyEvent)
            .where(CustodyEvent.evidence_id == evidence_id, CustodyEvent.action != "viewed")
            .order_by(col(CustodyEvent.seq))
        ).all()
    return [(e.action, e.details) for e in rows]


def edge_count(api: Api) -> int:
    with Session(api.services.engine) as session:
        return session.exec(select(func.count()).select_from(GraphEdge)).one()


def test_items_are_related_both_ways_with_custody_events(api: Api) -> None:
    record, video, photo = items(api, "询问笔录", "询问录像", "现场照片")
    created = relate(api, record, "transcript_of", video)
    assert created.status_code == 201, created.text
    [relation] = created.json()["relations"]
    assert relation["kind"] == "transcript_of" and relation["direction"] == "outgoing"
    assert (relation["evidence_id"], relation["title"]) == (video, "询问录像")
    assert relate(api, photo, "corroborates", record).status_code == 201

    seen_from_video = api.client.get(
        f"/api/v1/evidence/{video}/relations", headers=api.auth()
    ).json()
    assert [
        (r["kind"], r["direction"], r["evidence_id"]) for r in seen_from_video["relations"]
    ] == [("transcript_of", "incoming", record)]
    seen_from_record = api.client.get(
        f"/api/v1/evidence/{record}/relations", headers=api.auth()
    ).json()["relations"]
    assert [(r["kind"], r["direction"], r["evidence_id"]) for r in seen_from_record] == [
        ("transcript_of", "outgoing", video),
        ("corroborates", "incoming", photo),
    ]
    link = {"source": record, "target": video}
    assert item_events(api, record)[1:] == [
        ("linked_transcript_of", link),
        ("linked_corroborates", {"source": photo, "target": record}),
    ]
    assert item_events(api, video)[1:] == [("linked_transcript_of", link)]

    # corroborates holds both ways: removed from either item
    removed = api.client.delete(
        f"/api/v1/evidence/{record}/relations",
        params={"kind": "corroborates", "target_id": photo},
        headers=api.auth(),
    )
    assert removed.status_code == 200
    assert [r["kind"] for r in removed.json()["relations"]] == ["transcript_of"]
    assert item_events(api, photo)[-1] == (
        "unlinked_corroborates",
        {"source": photo, "target": record},
    )
    gone = api.client.delete(
        f"/api/v1/evidence/{record}/relations",
        params={"kind": "transcript_of", "target_id": video},
        headers=api.auth(),
    )
    assert gone.json()["relations"] == []
    assert item_events(api, video)[-1] == ("unlinked_transcript_of", link)
    verify = api.client.get("/api/v1/custody/verify", headers=api.auth("auditor")).json()
    assert verify["valid"] is True


def test_relation_requests_are_checked_and_write_nothing(api: Api) -> None:
    first, second = items(api, "甲", "乙")
    assert relate(api, first, "derived_from", second).status_code == 201
    assert relate(api, second, "corroborates", first).status_code == 201
    edges = edge_count(api)
    with Session(api.services.engine) as session:
        before = session.exec(select(func.count()).select_from(CustodyEvent)).one()
    case = api.client.post(
        "/api/v1/cases",
        json={"case_number": "E-1", "kind": "inspection", "title": "t"},
        headers=api.auth(),
    ).json()
    before += 1  # case_opened

    for response, status, slug in (
        (relate(api, first, "derived_from", second), 409, "conflict"),
        (relate(api, second, "derived_from", first), 409, "conflict"),  # two-item cycle
        (relate(api, first, "corroborates", second), 409, "conflict"),  # same fact reversed
        (relate(api, first, "corroborates", first), 400, "bad-request"),
        (relate(api, first, "belongs_to_case", case["id"]), 400, "bad-request"),
        (relate(api, first, "supersedes", second), 400, "bad-request"),
        (relate(api, first, "transcript_of", "01NOPE"), 404, "not-found"),
        (relate(api, "01NOPE", "transcript_of", first), 404, "not-found"),
        (relate(api, case["id"], "transcript_of", first), 404, "not-found"),
        (relate(api, first, "transcript_of", second, role="court"), 403, "forbidden"),
        (
            api.client.post(
                f"/api/v1/evidence/{first}/relations",
                json={"kind": "corroborates", "target_id": second, "note": "x"},
                headers=api.auth(),
            ),
            422,
            "invalid-request",
        ),
        (
            api.client.delete(
                f"/api/v1/evidence/{first}/relations",
                params={"kind": "transcript_of", "target_id": second},
                headers=api.auth(),
            ),
            404,
            "not-found",
        ),
        (
            api.client.delete(
                f"/api/v1/evidence/{second}/relations",  # directed: only from its source
                params={"kind": "derived_from", "target_id": first},
                headers=api.auth(),
            ),
            404,
            "not-found",
        ),
        (
            api.client.delete(
                f"/api/v1/evidence/{first}/relations",
                params={"kind": "nope", "target_id": second},
                headers=api.auth(),
            ),
            400,
            "bad-request",
        ),
        (api.client.get("/api/v1/evidence/01NOPE/relations", headers=api.auth()), 404, "not-found"),
    ):
        assert_problem(response, status, slug)
    assert edge_count(api) == edges
    with Session(api.services.engine) as session:
        assert session.exec(select(func.count()).select_from(CustodyEvent)).one() == before


def test_an_item_concerns_parties(api: Api) -> None:
    [photo] = items(api, "现场照片")
    party = api.client.post(
        "/api/v1/parties", json={"kind": "organisation", "name": "某餐饮店"}, headers=api.auth()
    ).json()
    case = api.client.post(
        "/api/v1/cases",
        json={"case_number": "E-2", "kind": "inspection", "title": "t"},
        headers=api.auth(),
    ).json()
    url = f"/api/v1/evidence/{photo}/parties"
    added = api.client.post(url, json={"party_id": party["id"]}, headers=api.auth())
    assert added.status_code == 201 and added.json() == {
        "evidence_id": photo,
        "party_ids": [party["id"]],
    }
    assert api.client.get(url, headers=api.auth()).json()["party_ids"] == [party["id"]]
    assert_problem(
        api.client.post(url, json={"party_id": party["id"]}, headers=api.auth()), 409, "conflict"
    )
    assert_problem(
        api.client.post(url, json={"party_id": "01NOPE"}, headers=api.auth()), 404, "not-found"
    )
    # a case id is not an item: this route never links a case to a party
    assert_problem(
        api.client.post(
            f"/api/v1/evidence/{case['id']}/parties",
            json={"party_id": party["id"]},
            headers=api.auth(),
        ),
        404,
        "not-found",
    )
    graph = api.client.get(f"/api/v1/graph/{party['id']}", headers=api.auth()).json()
    assert {(e["source"], e["kind"]) for e in graph["edges"]} == {(photo, "concerns_party")}
    assert (
        api.client.get(f"/api/v1/cases/{case['id']}", headers=api.auth()).json()["party_ids"] == []
    )

    removed = api.client.delete(f"{url}/{party['id']}", headers=api.auth())
    assert removed.status_code == 200 and removed.json()["party_ids"] == []
    assert_problem(api.client.delete(f"{url}/{party['id']}", headers=api.auth()), 404, "not-found")
    link = {"source": photo, "target": party["id"]}
    assert item_events(api, photo)[1:] == [
        ("linked_concerns_party", link),
        ("unlinked_concerns_party", link),
    ]


def test_relation_routes_leave_the_item_routes_alone(api: Api) -> None:
    first, second = items(api, "甲", "乙")
    relate(api, first, "corroborates", second)
    item = api.client.get(f"/api/v1/evidence/{first}", headers=api.auth())
    assert item.status_code == 200 and item.json()["id"] == first
    tagged = api.client.post(
        f"/api/v1/evidence/{first}/tags", json={"type": "free", "value": "x"}, headers=api.auth()
    )
    assert tagged.status_code == 201
    custody = api.client.get(f"/api/v1/evidence/{first}/custody", headers=api.auth())
    assert custody.status_code == 200
    listed = api.client.get("/api/v1/evidence", headers=api.auth()).json()
    assert {i["id"] for i in listed["items"]} == {first, second}
