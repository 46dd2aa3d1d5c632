"""Web sign-in: enrolment code -> argon2id password -> session cookie; the API accepts the
cookie only with the page's anti-forgery token for changes, and never from another site."""

from __future__ import annotations

import io
import re

import segno
from sqlmodel import Session, select

from evidence_service.access.models import ApiToken, OfficerPassword
from evidence_service.access.passwords import SESSION_LABEL
from evidence_service.api.sessions import SESSION_COOKIE
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem

PASSWORD = "correct horse battery"


def enrolment_code(api: Api, role: str = "officer") -> str:
    officer_id = (
        api.users[role]["officer_id"] if "officer_id" in api.users[role] else api.users[role]["id"]
    )
    response = api.client.post(
        f"/api/v1/officers/{officer_id}/enrolment", headers=api.auth("admin")
    )
    assert response.status_code == 201, response.text
    return str(response.json()["code"])


def officer_id(api: Api, role: str = "officer") -> str:
    user = api.users[role]
    return str(user.get("officer_id") or user["id"])


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert found is not None
    return found.group(1)


def sign_in(api: Api) -> str:
    code = enrolment_code(api)
    response = api.client.post(
        "/enrol", data={"code": code, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    home = api.client.get("/")
    assert home.status_code == 200
    return csrf_of(home.text)


def test_pages_redirect_to_sign_in_without_a_session(web: Api) -> None:
    response = web.client.get("/capture")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcapture"
    page = web.client.get("/login")
    assert page.status_code == 200 and 'data-testid="login-form"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_enrol_sets_an_argon2id_password_and_signs_in(web: Api) -> None:
    sign_in(web)
    with Session(web.services.engine) as session:
        row = session.get(OfficerPassword, officer_id(web))
        tokens = session.exec(select(ApiToken).where(ApiToken.label == SESSION_LABEL)).all()
    assert row is not None and row.hash.startswith("$argon2id$") and PASSWORD not in row.hash
    assert len(tokens) == 1 and tokens[0].expires_at is not None
    page = web.client.get("/")
    assert 'data-testid="who"' in page.text


def test_password_sign_in_and_wrong_password(web: Api) -> None:
    sign_in(web)
    web.client.cookies.clear()
    wrong = web.client.post("/login", data={"officer_id": officer_id(web), "password": "x" * 12})
    assert wrong.status_code == 401 and 'data-testid="login-error"' in wrong.text
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    unknown = web.client.post("/login", data={"officer_id": "nobody", "password": PASSWORD})
    assert unknown.status_code == 401
    right = web.client.post(
        "/login", data={"officer_id": officer_id(web), "password": PASSWORD, "next": "/capture"}
    )
    assert right.status_code == 303 and right.headers["location"] == "/capture"
    offsite = web.client.post(
        "/login",
        data={"officer_id": officer_id(web), "password": PASSWORD, "next": "//evil.example"},
    )
    assert offsite.headers["location"] == "/"


def test_a_spent_or_bad_code_and_a_short_password_set_nothing(web: Api) -> None:
    code = enrolment_code(web)
    short = web.client.post("/enrol", data={"code": code, "password": "short", "confirm": "short"})
    assert short.status_code == 422
    with Session(web.services.engine) as session:
        assert session.get(OfficerPassword, officer_id(web)) is None
    bad = web.client.post(
        "/enrol", data={"code": "nope", "password": PASSWORD, "confirm": PASSWORD}
    )
    assert bad.status_code == 401 and 'data-testid="enrol-error"' in bad.text
    ok = web.client.post("/enrol", data={"code": code, "password": PASSWORD, "confirm": PASSWORD})
    assert ok.status_code == 303  # the short password did not spend the code
    again = web.client.post(
        "/enrol", data={"code": code, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert again.status_code == 401


def test_token_sign_in_keeps_the_typed_token_alive_on_sign_out(web: Api) -> None:
    token = web.users["officer"]["token"]
    response = web.client.post("/login", data={"token": token})
    assert response.status_code == 303
    csrf = csrf_of(web.client.get("/").text)
    out = web.client.post("/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert web.client.get("/").status_code == 303  # the session is gone
    me = web.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200  # the officer's own token still works


def test_the_api_takes_the_cookie_with_the_csrf_header_only(web: Api) -> None:
    csrf = sign_in(web)
    assert web.client.get("/api/v1/me").status_code == 200  # a read needs no CSRF header
    files = {"file": ("a.txt", b"hello from the browser", "text/plain")}
    form = {"port": "electronic", "metadata": '{"title": "web"}'}
    before = web.client.get("/api/v1/evidence").json()["items"]
    refused = web.client.post("/api/v1/evidence", data=form, files=files)
    assert_problem(refused, 403, "csrf-token")
    forged = web.client.post(
        "/api/v1/evidence", data=form, files=files, headers={"X-CSRF-Token": "0" * 43}
    )
    assert_problem(forged, 403, "csrf-token")
    cross = web.client.get("/api/v1/me", headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 401
    assert web.client.get("/api/v1/evidence").json()["items"] == before  # nothing written
    made = web.client.post(
        "/api/v1/evidence", data=form, files=files, headers={"X-CSRF-Token": csrf}
    )
    assert made.status_code == 201, made.text
    page = web.client.get(f"/evidence/{made.json()['id']}")
    assert page.status_code == 200 and made.json()["sha256"] in page.text
    qr = web.client.get(f"/evidence/{made.json()['id']}/proof-qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    expected = io.BytesIO()
    proof_url = f"http://testserver/api/v1/evidence/{made.json()['id']}/proof"
    segno.make(proof_url, error="m").save(expected, kind="svg", scale=4, border=2, xmldecl=False)
    assert qr.content == expected.getvalue()  # the QR code says the proof's URL


def test_sign_out_needs_the_form_token_and_revokes_the_session(web: Api) -> None:
    csrf = sign_in(web)
    refused = web.client.post("/logout", data={"csrf": "wrong"})
    assert refused.status_code == 403
    assert web.client.get("/").status_code == 200
    foreign = web.client.post(
        "/logout", data={"csrf": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert web.client.post("/logout", data={"csrf": csrf}).status_code == 303
    with Session(web.services.engine) as session:
        token = session.exec(select(ApiToken).where(ApiToken.label == SESSION_LABEL)).one()
    assert token.revoked_at is not None


def test_pages_speak_english_on_request(web: Api) -> None:
    zh = web.client.get("/login")
    assert "登录" in zh.text and '<html lang="zh-CN">' in zh.text
    en = web.client.get("/login?lang=en")
    assert "Sign in" in en.text and '<html lang="en">' in en.text
    assert "evd_lang=en" in en.headers["set-cookie"]
