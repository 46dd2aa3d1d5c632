"""Captures are signed by default (issue 14): every officer has a custodial certificate, a
department refuses what the service cannot sign, custodial certificates renew before they
expire, and a department CA rotates with what it certified still verifying."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from evidence_service.access.custodial import (
    custodial_plan,
    issued_by,
    signing_as_is,
    signs_as_is,
)
from evidence_service.access.models import Department, OfficerCertificate
from evidence_service.capture.models import UploadSession
from evidence_service.cli import app as cli_app
from evidence_service.core.clock import utcnow
from evidence_service.custody.models import CustodyEvent
from evidence_service.demo import seed_demo
from evidence_service.services import build_services
from evidence_service.verify import Content, ProofDocument, Verdict, proof_verdict
from evidence_service.verify.proof_steps import Pins
from tests import samples
from tests.fixtures.service import Api, make_settings, running_api
from tests.service.anchoring.test_anchoring import verify_via_api
from tests.service.anchoring_helpers import anchored_services, proof_of, wait_anchored
from tests.service.capture.test_client_signing import officer_key, prepare, sign, signed_upload
from tests.service.helpers import assert_problem, counts, stored_keys, upload

A = "HZ-SCJG"


DAY = timedelta(days=1)


def capture(api: Api, headers: dict[str, str] | None = None) -> tuple[str, bytes]:
    data = samples.pdf()
    response = upload(api, "documentary", data, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"], data


def department_id(api: Api, code: str = A) -> str:
    return next(d["id"] for d in api.departments if d["code"] == code)


def trust_pins(api: Api) -> Pins:
    """The pins an auditor takes from ``GET /api/v1/trust``."""
    trust = api.client.get("/api/v1/trust").json()
    return Pins(
        trust["chain_id"],
        frozenset({trust["contract"]}) if trust["contract"] else frozenset(),
        tuple(pem.encode() for pem in trust["ca_certificates"]),
        tuple(pem.encode() for pem in trust["crls"]),
    )


def verified(api: Api, proof: dict[str, Any], data: bytes, pins: Pins | None = None) -> Verdict:
    """The auditor's own verdict (no service): the proof against the trust bundle and chain."""
    return proof_verdict(
        ProofDocument.from_json(proof),
        Content.of_chunks([data]),
        w3=api.services.chain_reader(),
        pins=pins or trust_pins(api),
    )


def step4(verdict: Verdict) -> tuple[str, str]:
    check = next(c for c in verdict.checks if c.number == 4)
    return str(check.status), check.detail


def certificates(api: Api, officer_id: str) -> list[dict[str, Any]]:
    listed = api.client.get(
        f"/api/v1/officers/{officer_id}/certificates", headers=api.auth("admin")
    )
    assert listed.status_code == 200, listed.text
    result: list[dict[str, Any]] = listed.json()
    return result


def actions(api: Api) -> list[tuple[str, dict[str, Any]]]:
    with Session(api.services.engine) as session:
        rows = session.exec(select(CustodyEvent).order_by(col(CustodyEvent.seq))).all()
    return [(r.action, r.details) for r in rows]


def set_required(api: Api, required: bool, code: str = A) -> dict[str, Any]:
    response = api.client.patch(
        f"/api/v1/departments/{department_id(api, code)}",
        json={"require_signed_captures": required},
        headers=api.auth("admin"),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def revoke_custodial(api: Api, officer_id: str) -> None:
    for cert in certificates(api, officer_id):
        if cert["custodial"] and cert["revoked_at"] is None:
            revoked = api.client.post(
                f"/api/v1/certificates/{cert['serial']}/revoke", headers=api.auth("admin")
            )
            assert revoked.status_code == 200, revoked.text


# --------------------------------------------------------------------------- signed by default


def test_a_demo_officers_proof_verifies_with_step_4_pass(anchored: Api) -> None:
    """The issue's "done when": a demo officer's capture, anchored, proves with a signature."""
    evidence_id, data = capture(anchored)
    wait_anchored(anchored, evidence_id)
    proof = proof_of(anchored, evidence_id)
    officer = anchored.users["officer"]
    assert proof["signature"]["signer"] == officer["id"]
    verdict = verified(anchored, proof, data)
    assert verdict.valid, verdict.as_json()
    status, detail = step4(verdict)
    assert status == "pass" and officer["id"] in detail, detail
    served = verify_via_api(anchored, proof, data)
    assert served["valid"] is True and served["steps"][3]["status"] == "pass", served


def test_a_new_officer_has_a_custodial_certificate_and_signs_from_the_first_capture(
    api: Api,
) -> None:
    admin = api.users["admin"]
    created = api.client.post(
        "/api/v1/officers",
        json={"name": "孙丽", "role": "officer", "department_id": department_id(api)},
        headers=api.auth("admin"),
    )
    assert created.status_code == 201, created.text
    officer_id = created.json()["id"]
    [cert] = certificates(api, officer_id)
    assert cert["custodial"] is True and cert["revoked_at"] is None
    assert cert["department_id"] == department_id(api)
    issued = [d for a, d in actions(api) if a == "certificate_issued"]
    assert {"serial": cert["serial"], "officer_id": officer_id, "custodial": True} in issued
    with Session(api.services.engine) as session:
        event = session.exec(
            select(CustodyEvent).where(CustodyEvent.action == "certificate_issued")
        ).all()[-1]
    assert event.actor_id == admin["id"]

    token = api.client.post(
        f"/api/v1/officers/{officer_id}/tokens",
        json={"kind": "device", "label": "执法记录仪"},
        headers=api.auth("admin"),
    ).json()["token"]
    evidence_id, _ = capture(api, headers={"Authorization": f"Bearer {token}"})
    signature = proof_of(api, evidence_id)["signature"]
    assert signature["signer"] == officer_id and signature["certificate"] == cert["certificate"]
    assert len(certificates(api, officer_id)) == 1  # signed with it: nothing new issued


def test_seeding_with_the_pki_gives_each_demo_officer_one_certificate(api: Api) -> None:
    services = api.services
    for _ in range(2):  # idempotent: seeding again keeps the certificates that are good
        seed_demo(
            services.engine, services.settings.data_dir, clock=services.clock, pki=services.pki
        )
    for user in api.people:
        [cert] = certificates(api, user["id"])
        assert cert["custodial"] is True and cert["revoked_at"] is None
    evidence_id, _ = capture(api)
    signature = proof_of(api, evidence_id)["signature"]
    assert (
        signature["certificate"] == certificates(api, api.users["officer"]["id"])[0]["certificate"]
    )


# --------------------------------------------------------------------------- refusing unsigned


def test_a_capture_the_service_cannot_sign_is_refused_and_nothing_is_written(api: Api) -> None:
    officer = api.users["officer"]
    capture(api)  # signed (the officer's custodial certificate is made for it if need be)
    data = samples.mp4(1000)
    started = api.client.post(
        "/api/v1/uploads",
        json={"port": "remote_video", "metadata": {"title": "t"}, "total_size": len(data)},
        headers=api.auth(),
    )
    assert started.status_code == 201, started.text
    upload_id = started.json()["id"]
    chunk = api.client.patch(
        f"/api/v1/uploads/{upload_id}",
        content=data,
        headers={
            **api.auth(),
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert chunk.status_code == 200, chunk.text

    revoke_custodial(api, officer["id"])
    before, keys = counts(api), stored_keys(api)
    with Session(api.services.engine) as session:
        sessions = len(session.exec(select(UploadSession)).all())

    refused = assert_problem(upload(api, "documentary", samples.pdf()), 422, "unsigned-capture")
    assert "revoked" in refused["detail"] and "require_signed_captures" in refused["detail"]
    assert refused["officer_id"] == officer["id"]
    assert_problem(
        api.client.post(
            "/api/v1/uploads",
            json={"port": "documentary", "metadata": {"title": "t"}},
            headers=api.auth(),
        ),
        422,
        "unsigned-capture",
    )
    completed = api.client.post(f"/api/v1/uploads/{upload_id}/complete", headers=api.auth())
    assert_problem(completed, 422, "unsigned-capture")
    assert counts(api) == before and stored_keys(api) == keys
    with Session(api.services.engine) as session:
        assert len(session.exec(select(UploadSession)).all()) == sessions
    state = api.client.get(f"/api/v1/uploads/{upload_id}", headers=api.auth()).json()
    assert state["status"] == "open" and state["offset"] == len(data)  # kept for a retry

    # the department may accept unsigned statements: then they land, unsigned
    assert set_required(api, False)["require_signed_captures"] is False
    completed = api.client.post(f"/api/v1/uploads/{upload_id}/complete", headers=api.auth())
    assert completed.status_code == 201, completed.text
    assert proof_of(api, completed.json()["id"])["signature"] is None
    evidence_id, _ = capture(api)
    assert proof_of(api, evidence_id)["signature"] is None


def test_an_officer_holding_their_own_key_captures_signed_in_two_steps(api: Api) -> None:
    officer_id = api.users["officer"]["id"]
    key, cert = officer_key(api, "ES256")
    data = samples.pdf()
    before = counts(api)
    refused = assert_problem(upload(api, "documentary", data), 422, "unsigned-capture")
    assert "two steps" in refused["detail"]
    assert counts(api) == before
    assert [c["custodial"] for c in certificates(api, officer_id)] == [False]  # none made
    # the department's requirement is met by the officer's own signature
    prepared = prepare(api, data)
    landed = signed_upload(
        api, data, prepared["prepared_id"], sign(prepared, key, cert, officer_id)
    )
    assert landed.status_code == 201, landed.text
    assert proof_of(api, landed.json()["id"])["signature"]["certificate"] == cert


def test_only_an_admin_changes_a_department_setting(api: Api) -> None:
    url = f"/api/v1/departments/{department_id(api)}"
    body = {"require_signed_captures": False}
    before = counts(api)
    for role in ("officer", "reviewer", "auditor"):
        assert_problem(api.client.patch(url, json=body, headers=api.auth(role)), 403, "forbidden")
    for bad in ({"require_signed_captures": "maybe"}, {"colour": "red"}):
        assert_problem(
            api.client.patch(url, json=bad, headers=api.auth("admin")), 422, "invalid-request"
        )
    assert_problem(
        api.client.patch(
            "/api/v1/departments/01JZZZZZZZZZZZZZZZZZZZZZZZ", json=body, headers=api.auth("admin")
        ),
        404,
        "not-found",
    )
    assert counts(api) == before
    listed = api.client.get("/api/v1/departments", headers=api.auth()).json()
    assert all(d["require_signed_captures"] is True for d in listed)  # on by default

    assert set_required(api, False)["require_signed_captures"] is False
    assert set_required(api, False)["require_signed_captures"] is False  # no change: no event
    unchanged = api.client.patch(url, json={}, headers=api.auth("admin"))
    assert unchanged.status_code == 200 and unchanged.json()["require_signed_captures"] is False
    updates = [(a, d) for a, d in actions(api) if a == "department_updated"]
    assert updates == [("department_updated", {"require_signed_captures": False})]
    with Session(api.services.engine) as session:
        row = session.get(Department, department_id(api))
        assert row is not None and row.require_signed_captures is False
    assert set_required(api, True)["require_signed_captures"] is True


# --------------------------------------------------------------------------- renewal


@pytest.fixture
def moved_clock_api(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Api, list[timedelta]]]:
    """The service on a clock the test moves (two-day officer certificates)."""
    offset = [timedelta(0)]
    settings = make_settings(tmp_path, "sqlite-local", request, officer_cert_days=2)
    services = build_services(settings, clock=lambda: utcnow() + offset[0])
    try:
        with running_api(services, "sqlite-local") as api:
            yield api, offset
    finally:
        services.close()


def test_custodial_certificates_renew_before_they_expire(
    moved_clock_api: tuple[Api, list[timedelta]],
) -> None:
    api, offset = moved_clock_api
    officer_id = api.users["officer"]["id"]

    def signed_with() -> str:
        evidence_id, data = capture(api)
        proof = proof_of(api, evidence_id)
        # not anchored: step 4 checks the certificate at the statement's receipt time
        status, detail = step4(verified(api, proof, data))
        assert status == "pass", detail
        serial = next(
            c["serial"]
            for c in certificates(api, officer_id)
            if c["certificate"] == proof["signature"]["certificate"]
        )
        return str(serial)

    first = signed_with()
    offset[0] = timedelta(hours=12)  # 1.5 days left of 2: not yet due
    assert signed_with() == first
    offset[0] = timedelta(days=1, hours=12)  # half a day left: renewed before it expires
    second = signed_with()
    assert second != first
    offset[0] = timedelta(days=5)  # the second aged out (nobody captured): renewed still
    third = signed_with()
    assert third not in (first, second)
    listed = certificates(api, officer_id)
    assert [c["serial"] for c in listed] == [third, second, first]
    assert all(c["custodial"] and c["revoked_at"] is None for c in listed)
    renewals = [d.get("renews") for a, d in actions(api) if a == "certificate_issued"]
    assert renewals[-2:] == [first, second]


def test_the_one_query_signing_path_agrees_with_the_full_plan(api: Api) -> None:
    """``signing_as_is`` (every capture's one query) gives the plan's current certificate when
    the plan issues nothing, and None whenever the plan has more to do."""
    capture(api)  # the officer's first capture: a custodial certificate
    engine, officer_id, renew_within = api.services.engine, api.users["officer"]["id"], DAY

    def both(at: datetime) -> tuple[Any, Any]:
        with engine.connect() as connection:
            fast = signing_as_is(connection, officer_id, at, renew_within=renew_within)
        with Session(engine) as session:
            plan = custodial_plan(session, officer_id, at, renew_within=renew_within)
        return fast, plan

    fast, plan = both(utcnow())
    assert not plan.issue and plan.current is not None
    assert fast is not None and fast[0].serial == plan.current.serial
    remembered, ca_pem = fast  # what a stream of captures takes without reading it again
    assert signs_as_is(remembered, ca_pem, utcnow(), renew_within=renew_within)
    late = plan.current.not_after - timedelta(hours=1)  # due for renewal: the plan issues first
    fast, plan = both(late)
    assert fast is None and plan.issue and plan.renews == plan.current.serial
    assert not signs_as_is(remembered, ca_pem, late, renew_within=renew_within)
    expired = plan.current.not_after  # no longer valid
    assert not signs_as_is(remembered, ca_pem, expired, renew_within=timedelta(0))
    api.services.pki.revoke(plan.current.serial)
    fast, plan = both(utcnow())  # revoked: nothing signs
    assert fast is None and plan.current is None and not plan.issue and plan.why_not


# --------------------------------------------------------------------------- CA rotation


def test_a_rotated_ca_keeps_what_it_certified_verifying(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    services = anchored_services(tmp_path, request, "sqlite-local-embedded")
    try:
        with running_api(services, "sqlite-local") as api:
            dept = department_id(api)
            url = f"/api/v1/departments/{dept}/ca/rotate"
            old_id, old_data = capture(api)
            old_proof = wait_anchored(api, old_id)
            old_ca = api.client.get("/api/v1/trust").json()["ca_certificates"]
            old_seal = services.pki.seal_digest(
                dept, "0" * 64, actor_id=api.users["reviewer"]["id"]
            )

            assert_problem(api.client.post(url, headers=api.auth("reviewer")), 403, "forbidden")
            assert_problem(
                api.client.post(
                    "/api/v1/departments/01JZZZZZZZZZZZZZZZZZZZZZZZ/ca/rotate",
                    headers=api.auth("admin"),
                ),
                404,
                "not-found",
            )
            rotated = api.client.post(url, headers=api.auth("admin"))
            assert rotated.status_code == 200, rotated.text
            ca = rotated.json()
            assert ca["department_id"] == dept and ca["certificate"] not in old_ca
            assert [r["certificate"] for r in ca["retired"]] == old_ca
            assert ca["retired"][0]["retired_at"] and ca["retired"][0]["not_after"]
            assert [d for a, d in actions(api) if a == "ca_rotated"] == [
                {
                    "retired_serial": ca["retired"][0]["serial"],
                    "serial": ca["serial"],
                    "reason": "rotated",
                }
            ]

            new_id, new_data = capture(api)
            new_proof = wait_anchored(api, new_id)
            new_cert = new_proof["signature"]["certificate"]
            assert new_cert != old_proof["signature"]["certificate"]  # renewed under the new CA
            assert issued_by(new_cert, ca["certificate"])
            trust = api.client.get("/api/v1/trust").json()
            assert trust["ca_certificates"] == [ca["certificate"], *old_ca]
            assert len(trust["crls"]) == 2
            for proof, data in ((old_proof, old_data), (new_proof, new_data)):
                verdict = verified(api, proof, data)
                assert verdict.valid and step4(verdict)[0] == "pass", verdict.as_json()
            # it is the retired CA, still in the bundle, that vouches for the earlier proof
            only_new = Pins(None, frozenset(), (ca["certificate"].encode(),), ())
            status, detail = step4(verified(api, old_proof, old_data, only_new))
            assert status == "fail" and "unknown-issuer" in detail

            # the retired CA still revokes what it issued; revoked after its anchor, the
            # earlier statement still verifies, and later ones do not use that key anyway
            time.sleep(1.1)  # revocation times are whole seconds
            old_serial = next(
                c["serial"]
                for c in certificates(api, api.users["officer"]["id"])
                if c["certificate"] == old_proof["signature"]["certificate"]
            )
            revoked = api.client.post(
                f"/api/v1/certificates/{old_serial}/revoke", headers=api.auth("admin")
            )
            assert revoked.status_code == 200, revoked.text
            assert api.client.get("/api/v1/trust").json()["crls"] != trust["crls"]
            verdict = verified(api, old_proof, old_data)
            assert verdict.valid and step4(verdict)[0] == "pass", verdict.as_json()

            # the seal is certified anew by the new CA; the earlier seal still verifies
            new_seal = services.pki.seal_digest(
                dept, "1" * 64, actor_id=api.users["reviewer"]["id"]
            )
            assert new_seal.certificate != old_seal.certificate
            assert issued_by(new_seal.certificate, ca["certificate"])
            for record, digest in ((old_seal, "0" * 64), (new_seal, "1" * 64)):
                check = api.client.post(
                    "/api/v1/seals/verify",
                    json={"record": json.loads(record.as_json()), "digest": digest},
                )
                assert check.status_code == 200 and check.json()["valid"] is True, check.text
    finally:
        services.close()


def test_the_cli_rotates_a_department_ca(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    settings = make_settings(tmp_path, "sqlite-local", request)
    services = build_services(settings)
    try:
        with running_api(services, "sqlite-local") as api:
            capture(api)  # the department's CA exists
            before = api.client.get("/api/v1/trust").json()["ca_certificates"]
            env = {"EVIDENCE_DATA_DIR": str(settings.data_dir), "EVIDENCE_ANCHOR_WORKER": "false"}
            runner = CliRunner()
            done = runner.invoke(cli_app, ["department", "rotate-ca", department_id(api)], env=env)
            assert done.exit_code == 0, done.output
            assert '"retired"' in done.stdout and before[0] in done.stdout.replace("\\n", "\n")
            after = api.client.get("/api/v1/trust").json()["ca_certificates"]
            assert len(after) == 2 and after[1:] == before
            unknown = runner.invoke(cli_app, ["department", "rotate-ca", "01NOPE"], env=env)
            assert unknown.exit_code == 1 and "no department" in unknown.stderr
            with Session(services.engine) as session:
                rows = session.exec(select(OfficerCertificate)).all()
            assert len(rows) == 1  # the officer's, from their first capture
    finally:
        services.close()


def test_a_departments_first_ca_covers_the_receipt_time_of_the_capture_that_made_it(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A slow request (here: a clock that moves 1.5 s at each reading) makes the department's
    CA after the capture's receipt time; the officer certificate is valid from that receipt
    time, and so must be the CA it chains to, or the statement fails step 4 (not-yet-valid)."""
    readings = [0]

    def slow_clock() -> Any:
        readings[0] += 1
        return utcnow() + timedelta(seconds=1.5 * readings[0])

    settings = make_settings(tmp_path, "sqlite-local", request)
    services = build_services(settings, clock=slow_clock)
    try:
        with running_api(services, "sqlite-local") as api:
            with Session(services.engine) as session:
                assert session.exec(select(OfficerCertificate)).all() == []
                assert session.exec(select(Department)).all() != []
            evidence_id, data = capture(api)
            proof = proof_of(api, evidence_id)
            status, detail = step4(verified(api, proof, data))
            assert status == "pass", detail
    finally:
        services.close()
