"""Department e-seals through the API: the image, sealing a digest, verifying the record."""

from __future__ import annotations

import hashlib
import io

from PIL import Image
from sqlmodel import Session, select

from evidence_service.custody.models import CustodyEvent
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem

DIGEST = hashlib.sha256(b"evidence list of case 2026-001").hexdigest()


def test_the_seal_image_is_a_transparent_red_seal(api: Api) -> None:
    department = api.departments[0]
    response = api.client.get(f"/api/v1/departments/{department['id']}/seal.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.mode == "RGBA" and image.size == (1024, 1024)
    assert image.getpixel((0, 0))[3] == 0  # transparent corner
    r, g, b, a = image.getpixel((512, 512))  # the star's centre
    assert a > 200 and r > 150 and g < 80 and b < 80
    assert_problem(api.client.get("/api/v1/departments/01NOPE/seal.png"), 404, "not-found")


def test_a_sealed_digest_verifies_and_tampering_does_not(api: Api) -> None:
    reviewer = api.users["reviewer"]
    url = f"/api/v1/departments/{reviewer['department_id']}/seals"
    sealed = api.client.post(url, json={"digest": DIGEST}, headers=api.auth("reviewer"))
    assert sealed.status_code == 201, sealed.text
    record = sealed.json()
    assert record["digest"] == DIGEST and record["department_id"] == reviewer["department_id"]

    ok = api.client.post("/api/v1/seals/verify", json={"record": record, "digest": DIGEST})
    assert ok.json()["valid"] is True and ok.json()["department_id"] == reviewer["department_id"]

    other = api.client.post(
        "/api/v1/seals/verify", json={"record": record, "digest": "00" * 32}
    ).json()
    assert other["valid"] is False and other["reason"] == "bad-signature"
    forged = {**record, "digest": "11" * 32}
    verdict = api.client.post("/api/v1/seals/verify", json={"record": forged}).json()
    assert verdict == {**verdict, "valid": False, "reason": "bad-signature"}

    with Session(api.services.engine) as session:
        actions = session.exec(select(CustodyEvent.action)).all()
    assert actions.count("sealed") == 1


def test_sealing_is_checked(api: Api) -> None:
    reviewer = api.users["reviewer"]
    url = f"/api/v1/departments/{reviewer['department_id']}/seals"
    assert_problem(
        api.client.post(url, json={"digest": DIGEST}, headers=api.auth()), 403, "forbidden"
    )
    assert_problem(
        api.client.post(url, json={"digest": "xyz"}, headers=api.auth("reviewer")),
        400,
        "bad-request",
    )
    others = [d for d in api.departments if d["id"] != reviewer["department_id"]]
    if others:
        foreign = f"/api/v1/departments/{others[0]['id']}/seals"
        assert_problem(
            api.client.post(foreign, json={"digest": DIGEST}, headers=api.auth("reviewer")),
            403,
            "forbidden",
        )
    assert_problem(
        api.client.post("/api/v1/seals/verify", json={"record": {"digest": DIGEST}}),
        400,
        "bad-request",
    )
    with Session(api.services.engine) as session:
        assert "sealed" not in session.exec(select(CustodyEvent.action)).all()


def test_signed_in_verifications_are_custody_events(api: Api) -> None:
    reviewer = api.users["reviewer"]
    url = f"/api/v1/departments/{reviewer['department_id']}/seals"
    record = api.client.post(url, json={"digest": DIGEST}, headers=api.auth("reviewer")).json()
    api.client.post("/api/v1/seals/verify", json={"record": record})  # anonymous: not recorded
    api.client.post("/api/v1/seals/verify", json={"record": record}, headers=api.auth("auditor"))
    with Session(api.services.engine) as session:
        events = session.exec(
            select(CustodyEvent).where(CustodyEvent.action == "seal_verified")
        ).all()
    assert [(e.actor_id, e.details["valid"]) for e in events] == [
        (api.users["auditor"]["id"], True)
    ]
    bad_token = {"Authorization": "Bearer nope"}
    assert_problem(
        api.client.post("/api/v1/seals/verify", json={"record": record}, headers=bad_token),
        401,
        "invalid-token",
    )
