"""Identity administration: admin-only, idempotent, tokens hashed at rest."""

from __future__ import annotations

from sqlmodel import Session, select

from evidence_service.access.identity import token_digest
from evidence_service.access.models import ApiToken, Department, Officer
from evidence_service.capture.models import IdempotencyRecord
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem


def test_admin_creates_department_officer_and_device_token(api: Api) -> None:
    admin = api.auth("admin")
    key = {"Idempotency-Key": "dept-001"}
    payload = {"name": "杭州市生态环境局", "kind": "inspection", "code": "HZ-STHJ"}
    created = api.client.post("/api/v1/departments", json=payload, headers={**admin, **key})
    assert created.status_code == 201
    again = api.client.post("/api/v1/departments", json=payload, headers={**admin, **key})
    assert again.status_code == 201 and again.json() == created.json()
    other = api.client.post(
        "/api/v1/departments", json={**payload, "code": "X"}, headers={**admin, **key}
    )
    assert_problem(other, 422, "idempotency-conflict")
    with Session(api.services.engine) as session:
        codes = session.exec(select(Department.code)).all()
    assert codes.count("HZ-STHJ") == 1 and "X" not in codes
    taken = api.client.post("/api/v1/departments", json=payload, headers=admin)
    assert_problem(taken, 400, "bad-request")

    officer = api.client.post(
        "/api/v1/officers",
        json={"name": "钱进", "role": "officer", "department_id": created.json()["id"]},
        headers=admin,
    ).json()
    token_key = {"Idempotency-Key": "tok-1"}
    issued = api.client.post(
        f"/api/v1/officers/{officer['id']}/tokens",
        json={"kind": "device", "label": "执法记录仪 #7"},
        headers={**admin, **token_key},
    )
    assert issued.status_code == 201
    token = issued.json()["token"]
    replay = api.client.post(
        f"/api/v1/officers/{officer['id']}/tokens",
        json={"kind": "device", "label": "执法记录仪 #7"},
        headers={**admin, **token_key},
    )
    assert replay.json()["token"] is None  # never stored in clear, not even for replays
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["id"] == officer["id"] and me["department_id"] == created.json()["id"]
    with Session(api.services.engine) as session:
        rows = session.exec(select(ApiToken).where(ApiToken.officer_id == officer["id"])).all()
        records = session.exec(select(IdempotencyRecord)).all()
    assert [r.token_sha256 for r in rows] == [token_digest(token)]
    assert all(token not in str(r.response) for r in records)


def test_only_admins_manage_people(api: Api) -> None:
    payload = {"name": "x", "kind": "court", "code": "C-1"}
    for role in ("officer", "reviewer", "penalty", "court", "auditor"):
        response = api.client.post("/api/v1/departments", json=payload, headers=api.auth(role))
        assert_problem(response, 403, "forbidden")
    unknown = api.client.post(
        "/api/v1/officers",
        json={"name": "x", "role": "officer", "department_id": "01NOPE"},
        headers=api.auth("admin"),
    )
    assert_problem(unknown, 404, "not-found")
    bad = api.client.post("/api/v1/departments", json={"name": ""}, headers=api.auth("admin"))
    assert_problem(bad, 422, "invalid-request")


def test_a_department_its_seal_cannot_draw_is_refused_and_nothing_written(api: Api) -> None:
    """Its public seal.png, and every document it seals, would fail forever after."""
    admin = api.auth("admin")
    for payload in (
        {"name": "表情局 😀", "kind": "inspection", "code": "EMOJI"},
        {"name": "杭州市生态环境局", "kind": "inspection", "code": "码" * 30},
    ):
        refused = api.client.post("/api/v1/departments", json=payload, headers=admin)
        assert_problem(refused, 422, "undrawable-seal")
    with Session(api.services.engine) as session:
        codes = session.exec(select(Department.code)).all()
    assert "EMOJI" not in codes and "码" * 30 not in codes


def test_names_a_certificate_cannot_carry_are_refused_before_anything_exists(api: Api) -> None:
    """Officer and department names go into X.509 names (64 bytes of UTF-8 at most)."""
    admin = api.auth("admin")
    department_id = api.users["officer"]["department_id"]
    too_long = "张" * 22  # 66 bytes of UTF-8, within the 200 characters the API takes
    for path, payload in (
        ("/api/v1/officers", {"name": too_long, "role": "officer", "department_id": department_id}),
        (
            "/api/v1/officers",
            {
                "name": "钱进",
                "role": "officer",
                "department_id": department_id,
                "cert_no": "号" * 22,
            },
        ),
        (
            "/api/v1/departments",
            {"name": "杭州市" + "局" * 19, "kind": "inspection", "code": "LONG"},
        ),
    ):
        before = [d["id"] for d in api.client.get("/api/v1/departments", headers=admin).json()]
        refused = api.client.post(path, json=payload, headers=admin)
        assert_problem(refused, 422, "certificate-text")
        after = [d["id"] for d in api.client.get("/api/v1/departments", headers=admin).json()]
        assert before == after
    with Session(api.services.engine) as session:
        assert session.exec(select(Officer).where(Officer.name == too_long)).first() is None
