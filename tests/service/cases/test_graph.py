"""Graph neighbourhoods by recursive CTE on both databases."""

from __future__ import annotations

from typing import Any

from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, upload


def small_case(api: Api) -> dict[str, Any]:
    case = api.client.post(
        "/api/v1/cases",
        json={"case_number": "G-1", "kind": "inspection", "title": "联合检查"},
        headers=api.auth(),
    ).json()
    items = [upload(api, "documentary", samples.pdf()).json()["id"] for _ in range(2)]
    party = api.client.post(
        "/api/v1/parties", json={"kind": "organisation", "name": "某餐饮店"}, headers=api.auth()
    ).json()
    url = f"/api/v1/cases/{case['id']}"
    for item in items:
        api.client.post(f"{url}/evidence", json={"evidence_id": item}, headers=api.auth())
    api.client.post(f"{url}/parties", json={"party_id": party["id"]}, headers=api.auth())
    return {"case": case["id"], "items": items, "party": party["id"]}


def test_k_hop_neighbourhoods(api: Api) -> None:
    ids = small_case(api)
    one = api.client.get(f"/api/v1/graph/{ids['case']}", headers=api.auth()).json()
    assert one["nodes"][0] == {
        "id": ids["case"],
        "kind": "case",
        "label": "G-1 联合检查",
        "depth": 0,
    }
    assert {n["id"] for n in one["nodes"]} == {ids["case"], *ids["items"], ids["party"]}
    assert len(one["edges"]) == 3
    assert {(e["kind"], e["target"]) for e in one["edges"]} == {
        ("belongs_to_case", ids["case"]),
        ("concerns_party", ids["party"]),
    }

    first = ids["items"][0]
    officer = api.users["officer"]["id"]
    near = api.client.get(f"/api/v1/graph/{first}", headers=api.auth()).json()
    assert [n["id"] for n in near["nodes"]] == [first, *sorted([ids["case"], officer])]
    two = api.client.get(f"/api/v1/graph/{first}", params={"hops": 2}, headers=api.auth()).json()
    depths = {n["id"]: n["depth"] for n in two["nodes"]}
    # The officer is shown but not walked through; the second item is reached via the case.
    assert depths == {first: 0, ids["case"]: 1, officer: 1, ids["items"][1]: 2, ids["party"]: 2}
    capped = api.client.get(
        f"/api/v1/graph/{first}", params={"hops": 2, "limit": 2}, headers=api.auth()
    ).json()
    assert [n["id"] for n in capped["nodes"]] == [first, min(ids["case"], officer)]
    only_case = api.client.get(
        f"/api/v1/graph/{first}",
        params={"hops": 2, "kind": ["belongs_to_case"]},
        headers=api.auth(),
    ).json()
    assert {n["id"] for n in only_case["nodes"]} == {first, ids["case"], ids["items"][1]}
    assert {e["kind"] for e in only_case["edges"]} == {"belongs_to_case"}


def test_graph_requests_are_checked(api: Api) -> None:
    ids = small_case(api)
    assert_problem(api.client.get("/api/v1/graph/01NOPE", headers=api.auth()), 404, "not-found")
    too_far = api.client.get(f"/api/v1/graph/{ids['case']}", params={"hops": 5}, headers=api.auth())
    assert_problem(too_far, 422, "invalid-request")
    unknown_kind = api.client.get(
        f"/api/v1/graph/{ids['case']}", params={"kind": "knows"}, headers=api.auth()
    )
    assert "unknown edge kind knows" in assert_problem(unknown_kind, 400, "bad-request")["detail"]
    assert api.client.get(f"/api/v1/graph/{ids['case']}").status_code == 401


def test_shortest_path_and_component(api: Api) -> None:
    ids = small_case(api)
    first, second = ids["items"]
    path = api.client.get(
        "/api/v1/graph/path", params={"from": first, "to": ids["party"]}, headers=api.auth()
    ).json()
    assert [n["id"] for n in path["nodes"]] == [first, ids["case"], ids["party"]]
    assert [e["kind"] for e in path["edges"]] == ["belongs_to_case", "concerns_party"]
    lonely = upload(api, "documentary", samples.pdf()).json()["id"]
    nowhere = api.client.get(
        "/api/v1/graph/path", params={"from": first, "to": lonely}, headers=api.auth()
    )
    assert_problem(nowhere, 404, "not-found")
    whole = api.client.get(f"/api/v1/graph/{second}/component", headers=api.auth()).json()
    officer = api.users["officer"]["id"]
    assert {n["id"] for n in whole["nodes"]} == {
        ids["case"],
        first,
        second,
        ids["party"],
        officer,  # reached, not passed through: the lonely item is not in the component
    }
    assert len(whole["edges"]) == 5


def test_the_neighbourhood_as_a_picture(api: Api) -> None:
    import io
    import xml.etree.ElementTree as ET

    from PIL import Image

    ids = small_case(api)
    svg = api.client.get(f"/api/v1/graph/{ids['case']}.svg", headers=api.auth())
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.content)
    text = "".join(root.itertext())
    assert "G-1 联合检查" in text and "某餐饮店" in text
    png = api.client.get(f"/api/v1/graph/{ids['case']}.png", headers=api.auth())
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (1200, 900)
    assert_problem(api.client.get("/api/v1/graph/01NOPE.svg", headers=api.auth()), 404, "not-found")
