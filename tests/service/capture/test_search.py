"""Evidence search by place, party and capture time; sorting; the edges a capture records."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from evidence_service.cases.models import GraphEdge, Place
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, counts, upload

WEST_LAKE = (30.2590, 120.1300)


def capture(api: Api, title: str, captured_at: str, **more: Any) -> str:
    response = upload(
        api,
        "documentary",
        samples.pdf(),
        metadata={"title": title, "captured_at": captured_at, **more},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def search(api: Api, **params: Any) -> Any:
    return api.client.get("/api/v1/evidence", params=params, headers=api.auth())


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_capture_records_officer_place_and_cause_edges(api: Api) -> None:
    cause = api.client.post(
        "/api/v1/causes",
        json={"code": "FS-001", "name": "未按规定贮存食品"},
        headers=api.auth("admin"),
    )
    assert cause.status_code == 201
    where = {"lat": WEST_LAKE[0], "lon": WEST_LAKE[1], "address": "杭州市西湖区北山街 1 号"}
    first = capture(
        api,
        "冷库照片",
        "2026-11-27T09:30:00+08:00",
        location=where,
        tags=[{"type": "cause", "value": "FS-001"}, {"type": "cause", "value": "not-a-code"}],
    )
    second = capture(api, "冷库温度记录", "2026-11-27T09:40:00+08:00", location=where)
    officer_id = api.users["officer"]["id"]
    with Session(api.services.engine) as session:
        edges = session.exec(
            select(GraphEdge).where(col(GraphEdge.source_id).in_([first, second]))
        ).all()
        places = session.exec(select(Place)).all()
    assert len(places) == 1, "the same address and position is one place"
    by_item = {
        item: sorted((e.kind, e.target_kind, e.target_id) for e in edges if e.source_id == item)
        for item in (first, second)
    }
    assert by_item[first] == [
        ("about_cause", "cause", "FS-001"),
        ("captured_at_place", "place", places[0].id),
        ("captured_by", "officer", officer_id),
    ]
    assert by_item[second] == [
        ("captured_at_place", "place", places[0].id),
        ("captured_by", "officer", officer_id),
    ]
    # The officer is a hub: the graph shows it but does not relate the two items through it.
    graph = api.client.get(
        f"/api/v1/graph/{first}", params={"hops": 2, "kind": "captured_by"}, headers=api.auth()
    ).json()
    assert {n["id"] for n in graph["nodes"]} == {first, officer_id}
    via_place = api.client.get(f"/api/v1/graph/{first}", params={"hops": 2}, headers=api.auth())
    assert second in {n["id"] for n in via_place.json()["nodes"]}


def test_search_within_metres_of_a_point(api: Api) -> None:
    lat, lon = WEST_LAKE
    at = capture(api, "现场", "2026-11-27T09:30:00+08:00", location={"lat": lat, "lon": lon})
    near = capture(  # about 80 m north
        api, "门口", "2026-11-27T09:31:00+08:00", location={"lat": lat + 0.00072, "lon": lon}
    )
    capture(api, "远处", "2026-11-27T09:32:00+08:00", location={"lat": lat + 0.01, "lon": lon})
    capture(api, "无位置", "2026-11-27T09:33:00+08:00")
    assert sorted(ids(search(api, near_lat=lat, near_lon=lon, within_m=100))) == sorted([at, near])
    assert ids(search(api, near_lat=lat, near_lon=lon, within_m=50)) == [at]
    assert_problem(search(api, near_lat=lat, near_lon=lon), 400, "bad-request")
    assert_problem(search(api, near_lat=95, near_lon=lon, within_m=100), 400, "bad-request")
    assert_problem(search(api, near_lat=lat, near_lon=lon, within_m=-1), 400, "bad-request")


def test_sort_by_capture_time_both_ways_with_cursors(api: Api) -> None:
    # Received in one order, captured in another.
    late = capture(api, "c", "2026-11-27T12:00:00Z")
    early = capture(api, "a", "2026-11-27T08:00:00Z")
    middle = capture(api, "b", "2026-11-27T10:00:00Z")

    def all_pages(sort: str) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            page = search(api, sort=sort, limit=2, **({"cursor": cursor} if cursor else {}))
            seen += ids(page)
            cursor = page.json()["next_cursor"]
            if not cursor:
                return seen

    assert all_pages("captured_at") == [early, middle, late]
    assert all_pages("-captured_at") == [late, middle, early]
    assert all_pages("received_at") == [late, early, middle]
    assert all_pages("-received_at") == [middle, early, late]
    window = search(api, captured_from="2026-11-27T09:00:00Z", captured_to="2026-11-27T12:00:00Z")
    assert ids(window) == [middle]
    cursor = search(api, sort="captured_at", limit=1).json()["next_cursor"]
    other_sort = search(api, sort="-received_at", cursor=cursor)
    assert "captured_at" in assert_problem(other_sort, 400, "bad-request")["detail"]
    assert_problem(search(api, sort="title"), 400, "bad-request")
    assert_problem(search(api, captured_from="2026-11-27T09:00:00"), 400, "bad-request")


def test_search_by_party(api: Api) -> None:
    party = api.client.post(
        "/api/v1/parties",
        json={"kind": "organisation", "name": "某某餐饮有限公司"},
        headers=api.auth(),
    )
    assert party.status_code == 201, party.text
    party_id = party.json()["id"]
    concerned = capture(api, "营业执照", "2026-11-27T09:00:00Z")
    capture(api, "无关", "2026-11-27T09:05:00Z")
    linked = api.client.post(
        f"/api/v1/evidence/{concerned}/parties", json={"party_id": party_id}, headers=api.auth()
    )
    assert linked.status_code == 201, linked.text
    assert ids(search(api, party_id=party_id)) == [concerned]
    before = counts(api)
    assert ids(search(api, party_id="01NOPE")) == []
    assert counts(api) == before
