"""The case, inbox and outbox pages refuse what their API routes refuse: no session is a
redirect to /login, another department's case is the 404 page, a role the route refuses gets
the page's refusal and no link to it."""

from __future__ import annotations

import pytest

from tests.fixtures.service import Api

UNKNOWN = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def sign_in(api: Api, token: str) -> None:
    api.client.cookies.clear()
    response = api.client.post("/login", data={"token": token, "next": "/"})
    assert response.status_code == 303, response.text


def open_case(api: Api, department: str, number: str) -> str:
    response = api.client.post(
        "/api/v1/cases",
        json={"case_number": number, "kind": "inspection", "title": f"案件 {number}"},
        headers=api.auth_as(department, "officer"),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize("path", ["/cases", f"/cases/{UNKNOWN}", "/inbox", "/outbox"])
def test_pages_redirect_to_sign_in_without_a_session(web: Api, path: str) -> None:
    response = web.client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2F")


def test_another_departments_case_is_not_found(web: Api) -> None:
    mine = open_case(web, "HZ-SCJG", "SCJG-001")
    theirs = open_case(web, "HZ-ZHZF", "ZHZF-001")
    sign_in(web, web.person("HZ-SCJG", "officer")["token"])

    listed = web.client.get("/cases")
    assert listed.status_code == 200
    assert "SCJG-001" in listed.text and "ZHZF-001" not in listed.text
    assert 'data-testid="nav-cases"' in listed.text and 'data-testid="case-form"' in listed.text

    page = web.client.get(f"/cases/{mine}")
    assert page.status_code == 200 and "SCJG-001" in page.text
    assert 'data-testid="link-form"' in page.text
    assert 'data-testid="transfer-form"' not in page.text  # an officer does not send transfers

    for missing in (theirs, UNKNOWN, "x" * 27):
        refused = web.client.get(f"/cases/{missing}")
        assert refused.status_code == 404
        assert "ZHZF-001" not in refused.text


def test_roles_the_routes_refuse_get_no_page(web: Api) -> None:
    sign_in(web, web.users["court"]["token"])
    home = web.client.get("/")
    assert 'data-testid="nav-cases"' not in home.text and 'data-testid="nav-inbox"' in home.text
    assert web.client.get("/cases").status_code == 403
    inbox = web.client.get("/inbox")
    assert inbox.status_code == 200 and 'data-testid="inbox-empty"' in inbox.text

    sign_in(web, web.users["admin"]["token"])
    for path in ("/inbox", "/outbox", "/cases"):
        assert web.client.get(path).status_code == 403, path


def test_pages_speak_english_when_asked(web: Api) -> None:
    sign_in(web, web.users["reviewer"]["token"])
    case_id = open_case(web, "HZ-SCJG", "SCJG-002")
    page = web.client.get(f"/cases/{case_id}?lang=en")
    assert page.status_code == 200
    assert "Evidence list" in page.text and "Inbox" in page.text
    assert "证据清单" in web.client.get(f"/cases/{case_id}?lang=zh-CN").text
