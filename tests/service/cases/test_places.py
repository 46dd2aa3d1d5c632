"""Places: checked positions, distance search in plain SQL on both databases, case links."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from evidence_service.cases.models import Place
from evidence_service.cases.places import near_clause
from evidence_service.core.errors import BadRequestError
from evidence_service.core.ids import new_id
from evidence_service.custody.models import CustodyEvent
from tests import samples
from tests.fixtures.service import Api
from tests.service.cases.test_case_crud import other_department_officer
from tests.service.helpers import assert_problem, upload

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
CENTRE = (30.27, 120.15)  # 杭州 西湖


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def destination(
    start: tuple[float, float], bearing_deg: float, metres: float
) -> tuple[float, float]:
    """The point ``metres`` away along a great circle (spherical earth)."""
    lat1, lon1 = map(math.radians, start)
    bearing, d = math.radians(bearing_deg), metres / EARTH_RADIUS_M
    lat2 = math.asin(
        math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(bearing)
    )
    lon2 = lon1 + math.atan2(
        math.sin(bearing) * math.sin(d) * math.cos(lat1),
        math.cos(d) - math.sin(lat1) * math.sin(lat2),
    )
    return math.degrees(lat2), (math.degrees(lon2) + 540.0) % 360.0 - 180.0


def store_places(api: Api, points: dict[str, tuple[float, float] | None]) -> None:
    department = api.departments[0]["id"]
    now = api.services.ingestor.clock()
    with Session(api.services.engine) as session:
        for label, point in points.items():
            lat, lon = point if point else (None, None)
            session.add(
                Place(
                    id=new_id(),
                    address=label,
                    lat=lat,
                    lon=lon,
                    department_id=department,
                    created_at=now,
                )
            )
        session.commit()


def near(api: Api, lat: float, lon: float, within_m: float) -> set[str]:
    with Session(api.services.engine) as session:
        rows = session.exec(
            select(Place.address).where(near_clause(Place.lat, Place.lon, lat, lon, within_m))
        ).all()
    return set(rows)


def test_near_clause_keeps_points_within_the_radius(api: Api) -> None:
    points: dict[str, tuple[float, float] | None] = {"no position": None, "centre": CENTRE}
    for bearing in range(0, 360, 45):
        for metres in (90, 110):
            point = destination(CENTRE, bearing, metres)
            assert haversine_m(CENTRE, point) == pytest.approx(metres, abs=0.01)
            points[f"{metres}m@{bearing}"] = point
    store_places(api, points)
    inside = {f"90m@{b}" for b in range(0, 360, 45)} | {"centre"}
    assert near(api, *CENTRE, 100) == inside
    assert near(api, *CENTRE, 120) == set(points) - {"no position"}
    assert near(api, *CENTRE, 50) == {"centre"}


def test_near_clause_crosses_the_antimeridian_and_checks_its_input(api: Api) -> None:
    east = (10.0, 179.9995)
    store_places(
        api,
        {
            "west 98 m": (10.0, -179.9996),
            "west 219 m": (10.0, -179.9985),
            "east 55 m": (10.0, 179.9990),
        },
    )
    assert haversine_m(east, (10.0, -179.9996)) == pytest.approx(98.6, abs=0.5)
    assert near(api, *east, 150) == {"west 98 m", "east 55 m"}
    assert near(api, 10.0, -179.9996, 60) == {"west 98 m"}  # only itself
    assert near(api, 10.0, -179.9996, 160) == {"west 98 m", "west 219 m", "east 55 m"}
    for args in ((*CENTRE, 0), (*CENTRE, 50_001), (*CENTRE, math.nan), (91, 0, 10), (0, 181, 10)):
        with pytest.raises(BadRequestError):
            near_clause(Place.lat, Place.lon, *args)


def custody_actions(api: Api, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    with Session(api.services.engine) as session:
        rows = session.exec(
            select(CustodyEvent)
            .where(col(CustodyEvent.action).startswith(prefix))
            .order_by(col(CustodyEvent.seq))
        ).all()
    return [(e.action, e.details) for e in rows]


def counts(api: Api) -> tuple[int, int]:
    with Session(api.services.engine) as session:
        return (
            session.exec(select(func.count()).select_from(Place)).one(),
            session.exec(select(func.count()).select_from(CustodyEvent)).one(),
        )


def post_place(api: Api, **body: Any) -> Any:
    return api.client.post("/api/v1/places", json=body, headers=api.auth())


def test_places_are_registered_checked_and_found(api: Api) -> None:
    by_address = post_place(api, address="  杭州市西湖区北山街 1 号 ")
    assert by_address.status_code == 201, by_address.text
    assert by_address.json()["address"] == "杭州市西湖区北山街 1 号"
    assert by_address.json()["lat"] is None
    at_90 = destination(CENTRE, 30, 90)
    by_position = post_place(api, lat=at_90[0], lon=at_90[1]).json()
    far = destination(CENTRE, 200, 5_000)
    both = post_place(api, address="灵隐寺", lat=far[0], lon=far[1]).json()
    assert [d["place_id"] for a, d in custody_actions(api, "place_created")] == [
        by_address.json()["id"],
        by_position["id"],
        both["id"],
    ]

    before = counts(api)
    for body, status, slug in (
        ({"lat": 30.27}, 400, "bad-request"),
        ({"lon": 120.15, "address": "x"}, 400, "bad-request"),
        ({"lat": 91, "lon": 0}, 400, "bad-request"),
        ({"lat": 0, "lon": -180.5}, 400, "bad-request"),
        ({}, 400, "bad-request"),
        ({"address": "   "}, 400, "bad-request"),
        ({"address": "x" * 501}, 422, "invalid-request"),
        ({"address": "x", "department_id": "y"}, 422, "invalid-request"),
        ({"lat": "north", "lon": 0}, 422, "invalid-request"),
    ):
        assert_problem(post_place(api, **body), status, slug)
    court = api.client.post("/api/v1/places", json={"address": "x"}, headers=api.auth("court"))
    assert_problem(court, 403, "forbidden")
    assert counts(api) == before

    fetched = api.client.get(f"/api/v1/places/{both['id']}", headers=api.auth()).json()
    assert fetched == both
    assert_problem(api.client.get("/api/v1/places/01NOPE", headers=api.auth()), 404, "not-found")

    def listed(**params: Any) -> list[dict[str, Any]]:
        response = api.client.get("/api/v1/places", params=params, headers=api.auth())
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    assert [p["id"] for p in listed()] == [both["id"], by_position["id"], by_address.json()["id"]]
    assert [p["id"] for p in listed(q="北山街")] == [by_address.json()["id"]]
    near_centre = listed(near_lat=CENTRE[0], near_lon=CENTRE[1], within_m=100)
    assert [p["id"] for p in near_centre] == [by_position["id"]]
    assert near_centre[0]["distance_m"] == pytest.approx(90, abs=0.5)
    wide = listed(near_lat=CENTRE[0], near_lon=CENTRE[1], within_m=6000, q="灵隐")
    assert [p["id"] for p in wide] == [both["id"]]
    page = api.client.get("/api/v1/places", params={"limit": 2}, headers=api.auth()).json()
    rest = api.client.get(
        "/api/v1/places", params={"limit": 2, "cursor": page["next_cursor"]}, headers=api.auth()
    ).json()
    assert [p["id"] for p in page["items"] + rest["items"]] == [p["id"] for p in listed()]
    assert rest["next_cursor"] is None
    for params in (
        {"near_lat": 30.27, "near_lon": 120.15},
        {"near_lat": 30.27, "near_lon": 120.15, "within_m": 0},
        {"near_lat": 30.27, "near_lon": 120.15, "within_m": 50_001},
        {"near_lat": 95, "near_lon": 120.15, "within_m": 10},
        {"cursor": "nope"},
    ):
        response = api.client.get("/api/v1/places", params=params, headers=api.auth())
        assert_problem(response, 400, "bad-request")


def test_a_place_is_corrected_and_removed_by_its_department(api: Api) -> None:
    place = post_place(api, address="北山街", lat=30.26, lon=120.14).json()
    url = f"/api/v1/places/{place['id']}"
    moved = api.client.patch(url, json={"lat": 30.261}, headers=api.auth())
    assert moved.status_code == 200 and (moved.json()["lat"], moved.json()["lon"]) == (
        30.261,
        120.14,
    )
    unplaced = api.client.patch(url, json={"lat": None, "lon": None}, headers=api.auth()).json()
    assert unplaced["lat"] is None and unplaced["address"] == "北山街"
    assert [d["changes"] for _, d in custody_actions(api, "place_updated")] == [
        {"lat": {"old": 30.26, "new": 30.261}},
        {"lat": {"old": 30.261, "new": None}, "lon": {"old": 120.14, "new": None}},
    ]

    before = counts(api)
    for body, headers, status in (
        ({"address": ""}, api.auth(), 400),  # neither address nor position left
        ({"address": None}, api.auth(), 400),
        ({"lat": 30.0}, api.auth(), 400),  # lon missing
        ({"lat": 30.0, "lon": 200}, api.auth(), 400),
        ({"address": "x"}, other_department_officer(api), 404),  # not theirs to see
        ({"address": "x"}, api.auth("court"), 403),  # courts never register places
    ):
        response = api.client.patch(url, json=body, headers=headers)
        assert response.status_code == status, response.text
    assert_problem(
        api.client.patch("/api/v1/places/01NOPE", json={"address": "x"}, headers=api.auth()),
        404,
        "not-found",
    )
    assert counts(api) == before

    assert_problem(api.client.delete(url, headers=other_department_officer(api)), 404, "not-found")
    removed = api.client.delete(url, headers=api.auth())
    assert removed.status_code == 204
    assert_problem(api.client.get(url, headers=api.auth()), 404, "not-found")
    assert_problem(api.client.delete(url, headers=api.auth()), 404, "not-found")
    assert [d["place_id"] for _, d in custody_actions(api, "place_deleted")] == [place["id"]]


def test_cases_concern_places_and_linked_places_stay(api: Api) -> None:
    case = api.client.post(
        "/api/v1/cases",
        json={"case_number": "PL-1", "kind": "inspection", "title": "后厨"},
        headers=api.auth(),
    ).json()
    place = post_place(api, address="某餐饮店后厨", lat=30.27, lon=120.15).json()
    url = f"/api/v1/cases/{case['id']}/places"
    attached = api.client.post(url, json={"place_id": place["id"]}, headers=api.auth())
    assert attached.status_code == 201 and attached.json()["place_ids"] == [place["id"]]
    assert_problem(
        api.client.post(url, json={"place_id": place["id"]}, headers=api.auth()), 409, "conflict"
    )
    assert_problem(
        api.client.post(url, json={"place_id": "01NOPE"}, headers=api.auth()), 404, "not-found"
    )
    assert_problem(
        api.client.post(url, json={"place_id": place["id"]}, headers=other_department_officer(api)),
        404,  # another department's case is as unknown as a made-up one
        "not-found",
    )
    graph = api.client.get(f"/api/v1/graph/{case['id']}", headers=api.auth()).json()
    assert {(e["kind"], e["target"]) for e in graph["edges"]} == {("case_at_place", place["id"])}

    linked = api.client.delete(f"/api/v1/places/{place['id']}", headers=api.auth())
    assert assert_problem(linked, 409, "conflict")["links"] == 1

    api.client.patch(f"/api/v1/cases/{case['id']}", json={"status": "closed"}, headers=api.auth())
    closed = api.client.delete(f"{url}/{place['id']}", headers=api.auth())
    assert_problem(closed, 409, "conflict")
    api.client.patch(f"/api/v1/cases/{case['id']}", json={"status": "open"}, headers=api.auth())
    detached = api.client.delete(f"{url}/{place['id']}", headers=api.auth())
    assert detached.status_code == 200 and detached.json()["place_ids"] == []
    assert [(a, d["source"]) for a, d in custody_actions(api, "linked_case_at_place")] == [
        ("linked_case_at_place", case["id"])
    ]
    assert len(custody_actions(api, "unlinked_case_at_place")) == 1

    captured = upload(
        api,
        "documentary",
        samples.pdf(),
        metadata={"title": "现场", "location": {"lat": 30.2701, "lon": 120.1501, "address": "店"}},
    )
    assert captured.status_code == 201, captured.text
    found = api.client.get(
        "/api/v1/places",
        params={"near_lat": 30.2701, "near_lon": 120.1501, "within_m": 1},
        headers=api.auth(),
    ).json()["items"]
    assert [p["address"] for p in found] == ["店"]
    in_use = api.client.delete(f"/api/v1/places/{found[0]['id']}", headers=api.auth())
    assert assert_problem(in_use, 409, "conflict")["links"] == 1
    assert api.client.delete(f"/api/v1/places/{place['id']}", headers=api.auth()).status_code == 204
