"""Officer certificates and signed capture statements, verified with long-term validation."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from evidence_service.access.models import OfficerCertificate
from evidence_service.custody.models import CustodyEvent
from signing.cert_identity import officer_identity
from signing.keys import generate_private_key, public_key_pem
from tests import samples
from tests.fixtures.service import Api, running_api
from tests.service.anchoring.test_anchoring import capture, verify_via_api
from tests.service.anchoring_helpers import INTERVAL, anchored_services, proof_of, wait_anchored
from tests.service.helpers import assert_problem, upload


def issue(api: Api, body: dict[str, Any] | None = None, role: str = "officer") -> dict[str, Any]:
    officer_id = api.users[role]["id"]
    response = api.client.post(
        f"/api/v1/officers/{officer_id}/certificates", json=body or {}, headers=api.auth("admin")
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def steps(verdict: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["name"], s["status"]) for s in verdict["steps"]]


ALL_PASS = [
    ("content", "pass"),
    ("leaf", "pass"),
    ("inclusion", "pass"),
    ("signature", "pass"),
    ("anchor", "pass"),
]


def test_custodial_certificate_signs_captures_and_the_proof_verifies(anchored: Api) -> None:
    cert = issue(anchored)
    officer = anchored.users["officer"]
    assert cert["custodial"] is True and "private_key" not in cert
    identity = officer_identity(cert["certificate"].encode())
    assert identity.officer_id == officer["id"]
    assert identity.department_id == officer["department_id"]

    evidence_id, data = capture(anchored)
    proof = wait_anchored(anchored, evidence_id)
    signature = proof["signature"]
    assert signature["alg"] == "Ed25519" and signature["signer"] == officer["id"]
    assert signature["certificate"] == cert["certificate"]
    verdict = verify_via_api(anchored, proof, data)
    assert verdict["valid"] is True and steps(verdict) == ALL_PASS, verdict

    trust = anchored.client.get("/api/v1/trust").json()
    assert len(trust["ca_certificates"]) == 1 and len(trust["crls"]) == 1

    tampered = copy.deepcopy(proof)
    value = bytearray(tampered["signature"]["value"].encode())
    value[5] = ord("A") if value[5] != ord("A") else ord("B")
    tampered["signature"]["value"] = value.decode()
    verdict = verify_via_api(anchored, tampered, data)
    assert verdict["failure"] == "bad-signature", verdict

    with Session(anchored.services.engine) as session:
        actions = session.exec(select(CustodyEvent.action)).all()
    assert "certificate_issued" in actions
    listed = anchored.client.get(
        f"/api/v1/officers/{officer['id']}/certificates", headers=anchored.auth()
    ).json()
    assert listed[0]["serial"] == cert["serial"]  # newest first: the one that signs


def test_revocation_after_the_anchor_keeps_the_statement_valid(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    services = anchored_services(tmp_path, request, "sqlite-local-embedded")
    try:
        with running_api(services, "sqlite-local") as api:
            cert = issue(api)
            evidence_id, data = capture(api)
            proof = wait_anchored(api, evidence_id)
            time.sleep(1.1)  # revocation times are whole seconds
            revoked = api.client.post(
                f"/api/v1/certificates/{cert['serial']}/revoke", headers=api.auth("admin")
            )
            assert revoked.status_code == 200 and revoked.json()["revoked_at"]
            verdict = verify_via_api(api, proof, data)
            assert verdict["valid"] is True and steps(verdict) == ALL_PASS, verdict
            # the service signs nothing more with the revoked key: a later capture is refused
            # (the department requires signed captures), or, where it does not, lands unsigned
            refused = upload(api, "documentary", samples.pdf())
            assert_problem(refused, 422, "unsigned-capture")
            department = f"/api/v1/departments/{api.users['officer']['department_id']}"
            allowed = api.client.patch(
                department, json={"require_signed_captures": False}, headers=api.auth("admin")
            )
            assert allowed.status_code == 200, allowed.text
            later, _ = capture(api)
            assert wait_anchored(api, later)["signature"] is None
    finally:
        services.close()


def test_a_statement_anchored_after_revocation_fails(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    services = anchored_services(tmp_path, request, "sqlite-local-embedded", anchor_worker=False)
    try:
        with running_api(services, "sqlite-local") as api:
            cert = issue(api)
            evidence_id, data = capture(api)
            assert proof_of(api, evidence_id)["signature"] is not None
            revoke = api.client.post(
                f"/api/v1/certificates/{cert['serial']}/revoke", headers=api.auth("admin")
            )
            assert revoke.status_code == 200
            time.sleep(max(INTERVAL, 1.1))
            worker = services.anchor_worker()
            try:
                assert worker.step() is True
            finally:
                worker.release()
            proof = proof_of(api, evidence_id)
            assert proof["anchor"] is not None
            verdict = verify_via_api(api, proof, data)
            assert verdict["valid"] is False and verdict["failure"] == "bad-signature"
            assert "revoked" in verdict["steps"][3]["detail"]
    finally:
        services.close()


def test_a_client_held_key_gets_a_certificate_and_nothing_is_signed_for_it(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    services = anchored_services(tmp_path, request, "sqlite-local-embedded", anchor_worker=False)
    try:
        with running_api(services, "sqlite-local") as api:
            key = generate_private_key("ES256")
            pem = public_key_pem(key.public_key()).decode()
            cert = issue(api, {"public_key_pem": pem})
            assert cert["custodial"] is False and cert["alg"] == "ES256"
            # the service never signs with a key it does not hold: a one-step capture is
            # refused where signatures are required (the officer signs in two steps) …
            assert_problem(upload(api, "documentary", samples.pdf()), 422, "unsigned-capture")
            department = f"/api/v1/departments/{api.users['officer']['department_id']}"
            allowed = api.client.patch(
                department, json={"require_signed_captures": False}, headers=api.auth("admin")
            )
            assert allowed.status_code == 200, allowed.text
            # … and lands unsigned where they are not
            evidence_id, _ = capture(api)
            assert proof_of(api, evidence_id)["signature"] is None
    finally:
        services.close()


def test_certificate_requests_are_checked(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    services = anchored_services(tmp_path, request, "sqlite-local-embedded", anchor_worker=False)
    try:
        with running_api(services, "sqlite-local") as api:
            officer_id = api.users["officer"]["id"]
            url = f"/api/v1/officers/{officer_id}/certificates"
            with Session(services.engine) as session:
                before = session.exec(select(OfficerCertificate)).all()
            assert_problem(api.client.post(url, json={}, headers=api.auth()), 403, "forbidden")
            bad_key = {
                "public_key_pem": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"
            }
            assert_problem(
                api.client.post(url, json=bad_key, headers=api.auth("admin")), 400, "bad-request"
            )
            assert_problem(
                api.client.post(url, json={"alg": "RSA"}, headers=api.auth("admin")),
                422,
                "invalid-request",
            )
            assert_problem(
                api.client.post(
                    "/api/v1/officers/01NOPE/certificates", json={}, headers=api.auth("admin")
                ),
                404,
                "not-found",
            )
            assert_problem(
                api.client.post("/api/v1/certificates/123/revoke", headers=api.auth("admin")),
                404,
                "not-found",
            )
            with Session(services.engine) as session:
                assert session.exec(select(OfficerCertificate)).all() == before
    finally:
        services.close()
