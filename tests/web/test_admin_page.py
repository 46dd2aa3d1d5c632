"""The admin page lists departments and officers to the admin only; its buttons call the API."""

from __future__ import annotations

import pytest

from tests.fixtures.service import Api


def sign_in(api: Api, role: str) -> None:
    api.client.cookies.clear()
    assert api.client.post("/login", data={"token": api.users[role]["token"]}).status_code == 303


def test_admin_sees_departments_and_officers(web: Api) -> None:
    sign_in(web, "admin")
    page = web.client.get("/admin")
    assert page.status_code == 200
    for user in web.people:
        assert user["officer_id" if "officer_id" in user else "id"] in page.text
    for department in web.departments:
        assert department["code"] in page.text
    assert 'data-testid="nav-admin"' in page.text


@pytest.mark.parametrize("role", ["officer", "auditor", "court"])
def test_others_are_refused(web: Api, role: str) -> None:
    sign_in(web, role)
    refused = web.client.get("/admin")
    assert refused.status_code == 403 and 'data-testid="forbidden"' in refused.text
    assert 'data-testid="nav-admin"' not in web.client.get("/search").text


def test_officer_page_for_admins_only(web: Api) -> None:
    officer = web.users["officer"]
    officer_id = officer.get("officer_id") or officer["id"]
    sign_in(web, "officer")
    assert web.client.get(f"/admin/officers/{officer_id}").status_code == 403
    sign_in(web, "admin")
    page = web.client.get(f"/admin/officers/{officer_id}")
    assert page.status_code == 200
    assert 'data-testid="officer-tokens"' in page.text
    assert 'data-testid="officer-certificates"' in page.text
    assert web.client.get("/admin/officers/01ZZZZZZZZZZZZZZZZZZZZZZZZ").status_code == 404
    assert web.client.get("/admin/officers/" + "x" * 300).status_code == 404
