"""Tokens: a person's own expire and come only from an enrolment code; an admin issues device
and service tokens and codes, never a credential to act as someone; disabling revokes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from evidence_service.access.identity import token_digest
from evidence_service.access.models import ApiToken, EnrolmentCode
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem

pytestmark = pytest.mark.parametrize("backend", ["sqlite-local", "postgres-minio"], indirect=True)


def new_officer(api: Api, name: str = "钱进") -> dict[str, Any]:
    department_id = api.users["officer"]["department_id"]
    response = api.client.post(
        "/api/v1/officers",
        json={"name": name, "role": "officer", "department_id": department_id},
        headers=api.auth("admin"),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def enrol(api: Api, officer_id: str) -> dict[str, Any]:
    code = api.client.post(f"/api/v1/officers/{officer_id}/enrolment", headers=api.auth("admin"))
    assert code.status_code == 201, code.text
    enrolled = api.client.post(
        "/api/v1/auth/enrol", json={"code": code.json()["code"], "label": "phone"}
    )
    assert enrolled.status_code == 201, enrolled.text
    return dict(enrolled.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_admin_cannot_mint_a_persons_token(api: Api) -> None:
    officer = new_officer(api)
    refused = api.client.post(
        f"/api/v1/officers/{officer['id']}/tokens",
        json={"kind": "person"},
        headers=api.auth("admin"),
    )
    assert_problem(refused, 400, "bad-request")
    assert "enrolment" in refused.json()["detail"]
    with Session(api.services.engine) as session:
        assert (
            session.exec(select(ApiToken).where(ApiToken.officer_id == officer["id"])).all() == []
        )


def test_device_tokens_are_listed_with_their_issuer_and_do_not_expire(api: Api) -> None:
    officer = new_officer(api)
    issued = api.client.post(
        f"/api/v1/officers/{officer['id']}/tokens",
        json={"kind": "device", "label": "body camera 7"},
        headers=api.auth("admin"),
    )
    assert issued.status_code == 201, issued.text
    assert issued.json()["kind"] == "device"
    listed = api.client.get(
        f"/api/v1/officers/{officer['id']}/tokens", headers=bearer(issued.json()["token"])
    )
    assert listed.status_code == 200
    [row] = listed.json()
    assert row["id"] == issued.json()["token_id"] and row["label"] == "body camera 7"
    assert row["issued_by"] == api.users["admin"]["id"]
    assert row["expires_at"] is None and row["revoked_at"] is None
    assert "token" not in row and "token_sha256" not in row


def test_enrolment_gives_the_officer_their_own_expiring_token_once(api: Api) -> None:
    officer = new_officer(api)
    code = api.client.post(
        f"/api/v1/officers/{officer['id']}/enrolment", headers=api.auth("admin")
    ).json()
    assert code["code"].startswith("enr_")
    enrolled = api.client.post("/api/v1/auth/enrol", json={"code": code["code"]})
    assert enrolled.status_code == 201, enrolled.text
    body = enrolled.json()
    me = api.client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200 and me.json()["id"] == officer["id"]
    now = api.services.clock()
    expires = api.client.get(
        f"/api/v1/officers/{officer['id']}/tokens", headers=bearer(body["token"])
    ).json()[0]["expires_at"]
    ttl = timedelta(days=api.services.settings.token_ttl_days)
    assert abs(datetime.fromisoformat(expires) - (now + ttl)) < timedelta(minutes=1)
    # The code is spent, and the admin holds nothing that signs in as the officer.
    again = api.client.post("/api/v1/auth/enrol", json={"code": code["code"]})
    assert_problem(again, 401, "invalid-enrolment-code")
    unknown = api.client.post("/api/v1/auth/enrol", json={"code": "enr_nothing"})
    assert_problem(unknown, 401, "invalid-enrolment-code")


def test_a_new_code_voids_the_earlier_one_and_codes_expire(api: Api) -> None:
    officer = new_officer(api)
    admin = api.auth("admin")
    first = api.client.post(f"/api/v1/officers/{officer['id']}/enrolment", headers=admin).json()
    second = api.client.post(f"/api/v1/officers/{officer['id']}/enrolment", headers=admin).json()
    assert_problem(
        api.client.post("/api/v1/auth/enrol", json={"code": first["code"]}),
        401,
        "invalid-enrolment-code",
    )
    with Session(api.services.engine) as session:
        row = session.exec(
            select(EnrolmentCode).where(EnrolmentCode.code_sha256 == token_digest(second["code"]))
        ).one()
        row.expires_at = api.services.clock() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    assert_problem(
        api.client.post("/api/v1/auth/enrol", json={"code": second["code"]}),
        401,
        "invalid-enrolment-code",
    )


def test_a_persons_token_stops_working_when_it_expires(api: Api) -> None:
    officer = new_officer(api)
    token = enrol(api, officer["id"])["token"]
    assert api.client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with Session(api.services.engine) as session:
        row = session.exec(
            select(ApiToken).where(ApiToken.token_sha256 == token_digest(token))
        ).one()
        row.expires_at = api.services.clock() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    expired = api.client.get("/api/v1/me", headers=bearer(token))
    assert_problem(expired, 401, "invalid-token")
    assert "expired" in expired.json()["detail"]


def test_disabling_an_officer_revokes_every_token_for_good(api: Api) -> None:
    officer = new_officer(api)
    own = enrol(api, officer["id"])["token"]
    device = api.client.post(
        f"/api/v1/officers/{officer['id']}/tokens", json={}, headers=api.auth("admin")
    ).json()["token"]
    pending_code = api.client.post(
        f"/api/v1/officers/{officer['id']}/enrolment", headers=api.auth("admin")
    ).json()["code"]
    disabled = api.client.patch(
        f"/api/v1/officers/{officer['id']}", json={"active": False}, headers=api.auth("admin")
    )
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    for token in (own, device):
        assert_problem(api.client.get("/api/v1/me", headers=bearer(token)), 401, "invalid-token")
    assert_problem(
        api.client.post("/api/v1/auth/enrol", json={"code": pending_code}),
        401,
        "invalid-enrolment-code",
    )
    enabled = api.client.patch(
        f"/api/v1/officers/{officer['id']}", json={"active": True}, headers=api.auth("admin")
    )
    assert enabled.json()["active"] is True
    for token in (own, device):  # enabling again restores nothing
        assert_problem(api.client.get("/api/v1/me", headers=bearer(token)), 401, "invalid-token")
    with Session(api.services.engine) as session:
        rows = session.exec(select(ApiToken).where(ApiToken.officer_id == officer["id"])).all()
    assert len(rows) == 2 and all(r.revoked_at is not None for r in rows)
    assert enrol(api, officer["id"])["token"]  # a new enrolment works


def test_an_officer_revokes_their_own_token_and_no_one_elses(api: Api) -> None:
    officer = new_officer(api)
    mine = enrol(api, officer["id"])
    other = api.client.delete(f"/api/v1/tokens/{mine['token_id']}", headers=api.auth("officer"))
    assert_problem(other, 404, "not-found")
    assert api.client.get("/api/v1/me", headers=bearer(mine["token"])).status_code == 200
    revoked = api.client.delete(f"/api/v1/tokens/{mine['token_id']}", headers=bearer(mine["token"]))
    assert revoked.status_code == 204
    assert_problem(
        api.client.get("/api/v1/me", headers=bearer(mine["token"])), 401, "invalid-token"
    )


def test_demo_tokens_expire_like_any_persons_and_seeding_renews_them(api: Api) -> None:
    with Session(api.services.engine) as session:
        row = session.exec(
            select(ApiToken).where(
                ApiToken.token_sha256 == token_digest(api.users["officer"]["token"])
            )
        ).one()
    assert row.kind == "person" and row.expires_at is not None
    assert row.expires_at > api.services.clock() + timedelta(days=29)
