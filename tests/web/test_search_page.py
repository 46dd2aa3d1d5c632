"""The search page finds what the officer may see, with the API's filters and visibility."""

from __future__ import annotations

from tests.fixtures.service import Api


def capture(api: Api, title: str, headers: dict[str, str], port: str = "electronic") -> str:
    response = api.client.post(
        "/api/v1/evidence",
        headers=headers,
        data={"port": port, "metadata": f'{{"title": "{title}"}}'},
        files={"file": ("a.txt", title.encode(), "text/plain")},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def sign_in(api: Api, token: str) -> None:
    api.client.cookies.clear()
    assert api.client.post("/login", data={"token": token}).status_code == 303


def test_search_by_text_and_port_within_what_the_officer_sees(web: Api) -> None:
    mine = capture(web, "后厨油烟检查", web.auth("officer"))
    other = capture(web, "仓库巡查", web.auth("officer"))
    stranger = next(
        user
        for user in web.people
        if user["role"] == "officer"
        and user["department_id"] != web.users["officer"]["department_id"]
    )
    foreign = capture(web, "后厨油烟 他部门", {"Authorization": f"Bearer {stranger['token']}"})
    sign_in(web, web.users["officer"]["token"])
    found = web.client.get("/search", params={"q": "后厨"})
    assert found.status_code == 200
    assert f"/evidence/{mine}" in found.text and f"/evidence/{other}" not in found.text
    assert f"/evidence/{foreign}" not in found.text  # another department's item
    by_port = web.client.get("/search", params={"port": "electronic", "q": "仓库"})
    assert f"/evidence/{other}" in by_port.text
    none = web.client.get("/search", params={"port": "documentary", "q": "仓库"})
    assert 'data-testid="search-none"' in none.text


def test_bad_input_is_shown_not_raised(web: Api) -> None:
    sign_in(web, web.users["officer"]["token"])
    bad_date = web.client.get("/search", params={"received_from": "2026-13-45"})
    assert bad_date.status_code == 422 and 'data-testid="search-error"' in bad_date.text
    bad_port = web.client.get("/search", params={"port": "nonsense"})
    assert bad_port.status_code == 422
    too_long = web.client.get("/search", params={"q": "x" * 201})
    assert too_long.status_code == 422


def test_search_needs_a_session(web: Api) -> None:
    response = web.client.get("/search?q=x")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_search_near_a_place(web: Api) -> None:
    near = web.client.post(
        "/api/v1/evidence",
        headers=web.auth("officer"),
        data={
            "port": "electronic",
            "metadata": '{"title": "嘉兴现场", "location": {"lat": 30.7522, "lon": 120.7555}}',
        },
        files={"file": ("a.txt", b"near", "text/plain")},
    ).json()["id"]
    far = web.client.post(
        "/api/v1/evidence",
        headers=web.auth("officer"),
        data={
            "port": "electronic",
            "metadata": '{"title": "杭州现场", "location": {"lat": 30.2741, "lon": 120.1551}}',
        },
        files={"file": ("a.txt", b"far", "text/plain")},
    ).json()["id"]
    sign_in(web, web.users["officer"]["token"])
    found = web.client.get(
        "/search", params={"near_lat": "30.75", "near_lon": "120.75", "within_m": "5000"}
    )
    assert found.status_code == 200
    assert f"/evidence/{near}" in found.text and f"/evidence/{far}" not in found.text
    half = web.client.get("/search", params={"near_lat": "30.75"})
    assert half.status_code == 422 and 'data-testid="search-error"' in half.text
    wild = web.client.get("/search", params={"near_lat": "95", "near_lon": "1", "within_m": "1"})
    assert wild.status_code == 422
