"""Two-step capture with an officer-held key: prepare, sign on the device, upload with the
signature. A bad or revoked signature, or bytes that do not give the signed statement, are
refused with problem+json and nothing is kept."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from evidence_service.access.models import OfficerCertificate
from evidence_service.capture.models import PreparedCapture
from signing.keys import PrivateKey, generate_private_key, public_key_pem
from signing.statements import sign_statement, signing_payload
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_nothing_written, assert_problem, counts, upload

META = json.dumps({"title": "现场检查记录", "captured_at": "2026-11-28T09:30:00+08:00"})


def officer_key(api: Api, alg: str = "Ed25519") -> tuple[PrivateKey, str]:
    key = generate_private_key(alg)  # type: ignore[arg-type]
    officer_id = api.users["officer"]["id"]
    response = api.client.post(
        f"/api/v1/officers/{officer_id}/certificates",
        json={"public_key_pem": public_key_pem(key.public_key()).decode()},
        headers=api.auth("admin"),
    )
    assert response.status_code == 201, response.text
    return key, response.json()["certificate"]


def prepare(api: Api, data: bytes, **override: Any) -> dict[str, Any]:
    body = {
        "port": "documentary",
        "metadata": META,
        "sha256": hashlib.sha256(data).hexdigest(),
        "sm3": hashlib.new("sm3", data).hexdigest(),
        "size": len(data),
        "media_type": "application/pdf",
        **override,
    }
    response = api.client.post("/api/v1/evidence/prepare", json=body, headers=api.auth())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def signed_upload(api: Api, data: bytes, prepared_id: str, signature: dict[str, Any]) -> Any:
    return api.client.post(
        "/api/v1/evidence",
        data={
            "port": "documentary",
            "metadata": META,
            "prepared_id": prepared_id,
            "signature": json.dumps(signature),
        },
        files={"file": ("record.pdf", data, "application/pdf")},
        headers=api.auth(),
    )


def sign(prepared: dict[str, Any], key: PrivateKey, cert: str, officer_id: str) -> dict[str, Any]:
    assert base64.b64decode(prepared["payload"]) == signing_payload(prepared["statement"])
    block = sign_statement(
        prepared["statement"], key=key, certificate_pem=cert.encode(), signer=officer_id
    )
    return dict(block.as_json())


@pytest.mark.parametrize("alg", ["Ed25519", "ES256"])
def test_a_client_signed_capture_lands_with_its_signature(api: Api, alg: str) -> None:
    key, cert = officer_key(api, alg)
    data = samples.pdf()
    prepared = prepare(api, data)
    signature = sign(prepared, key, cert, api.users["officer"]["id"])
    response = signed_upload(api, data, prepared["prepared_id"], signature)
    assert response.status_code == 201, response.text
    assert response.json()["id"] == prepared["prepared_id"]
    proof = api.client.get(
        f"/api/v1/evidence/{prepared['prepared_id']}/proof", headers=api.auth()
    ).json()
    assert proof["statement"] == prepared["statement"]
    assert proof["signature"] == signature and proof["signature"]["alg"] == alg

    again = signed_upload(api, data, prepared["prepared_id"], signature)  # used once only
    assert_problem(again, 404, "not-found")
    assert counts(api)["evidence"] == 1


def test_a_wrong_signature_is_refused_and_nothing_kept(api: Api) -> None:
    key, cert = officer_key(api)
    data = samples.pdf()
    prepared = prepare(api, data)
    before = counts(api)
    other = prepare(api, data)  # a signature over another statement
    signature = sign(other, key, cert, api.users["officer"]["id"])
    refused = signed_upload(api, data, prepared["prepared_id"], signature)
    body = assert_problem(refused, 422, "bad-signature")
    assert body["reason"] == "bad-signature"
    garbage = signed_upload(api, data, prepared["prepared_id"], {"alg": "Ed25519"})
    assert_problem(garbage, 422, "bad-signature")
    assert_nothing_written(api, before)


def test_a_revoked_certificate_is_refused(api: Api) -> None:
    key, cert = officer_key(api)
    data = samples.pdf()
    prepared = prepare(api, data)
    signature = sign(prepared, key, cert, api.users["officer"]["id"])
    with Session(api.services.engine) as session:
        serial = session.exec(select(OfficerCertificate.serial)).one()
    revoke = api.client.post(f"/api/v1/certificates/{serial}/revoke", headers=api.auth("admin"))
    assert revoke.status_code == 200
    before = counts(api)
    body = assert_problem(
        signed_upload(api, data, prepared["prepared_id"], signature), 422, "bad-signature"
    )
    assert body["reason"] == "revoked"
    assert_nothing_written(api, before)


def test_bytes_that_do_not_give_the_signed_statement_are_refused(api: Api) -> None:
    key, cert = officer_key(api)
    data = samples.pdf()
    prepared = prepare(api, data)
    signature = sign(prepared, key, cert, api.users["officer"]["id"])
    before = counts(api)
    other = samples.pdf(pages=2)
    assert other != data
    body = assert_problem(
        signed_upload(api, other, prepared["prepared_id"], signature), 422, "statement-mismatch"
    )
    assert "sha256" in body["fields"]
    assert_nothing_written(api, before)
    # the prepared capture is still there for the right bytes
    assert signed_upload(api, data, prepared["prepared_id"], signature).status_code == 201


def test_prepared_captures_are_checked(api: Api) -> None:
    key, cert = officer_key(api)
    data = samples.pdf()
    prepared = prepare(api, data)
    signature = sign(prepared, key, cert, api.users["officer"]["id"])
    with api.services.engine.begin() as conn:  # an hour has passed
        conn.execute(
            update(PreparedCapture)
            .where(PreparedCapture.id == prepared["prepared_id"])  # type: ignore[arg-type]
            .values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
    assert_problem(
        signed_upload(api, data, prepared["prepared_id"], signature), 409, "prepared-capture"
    )
    # half a signed upload
    half = api.client.post(
        "/api/v1/evidence",
        data={"port": "documentary", "metadata": META, "prepared_id": prepared["prepared_id"]},
        files={"file": ("record.pdf", data, "application/pdf")},
        headers=api.auth(),
    )
    assert_problem(half, 400, "bad-request")
    # bad prepare requests
    bad = api.client.post(
        "/api/v1/evidence/prepare",
        json={
            "port": "documentary",
            "metadata": META,
            "sha256": "zz",
            "sm3": "00" * 32,
            "size": 1,
            "media_type": "application/pdf",
        },
        headers=api.auth(),
    )
    assert_problem(bad, 422, "invalid-request")
    unknown = api.client.post(
        "/api/v1/evidence/prepare",
        json={
            "port": "nope",
            "metadata": META,
            "sha256": "00" * 32,
            "sm3": "00" * 32,
            "size": 1,
            "media_type": "application/pdf",
        },
        headers=api.auth(),
    )
    assert_problem(unknown, 422, "unknown-port")
    # an officer holding only their own key is not signed for here: a plain upload is refused
    # (their department requires signed captures), before a byte is kept
    before = counts(api)
    refused = assert_problem(upload(api, "documentary", data), 422, "unsigned-capture")
    assert "two steps" in refused["detail"] and counts(api) == before


def test_the_reaper_drops_expired_prepared_captures(api: Api) -> None:
    from datetime import timedelta

    from evidence_service.capture.reaper import reap

    data = samples.pdf()
    old, fresh = prepare(api, data), prepare(api, data)
    with api.services.engine.begin() as conn:
        conn.execute(
            update(PreparedCapture)
            .where(PreparedCapture.id == old["prepared_id"])  # type: ignore[arg-type]
            .values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
    report = reap(api.services.ingestor, temp_ttl=timedelta(hours=1))
    assert report.expired_prepared == 1
    with Session(api.services.engine) as session:
        left = session.exec(select(PreparedCapture.id)).all()
    assert left == [fresh["prepared_id"]]


def test_a_prepared_capture_in_flight_cannot_be_uploaded_twice(api: Api) -> None:
    key, cert = officer_key(api)
    data = samples.pdf()
    prepared = prepare(api, data)
    signature = sign(prepared, key, cert, api.users["officer"]["id"])
    api.services.ingestor.begin_intake(prepared["prepared_id"])  # another upload is streaming
    before = counts(api)
    assert_problem(
        signed_upload(api, data, prepared["prepared_id"], signature), 409, "prepared-capture"
    )
    assert counts(api) == before
