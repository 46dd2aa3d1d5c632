"""A capture counts only if its caller's token, and the certificate that signed its statement,
still hold in the transaction that records it: a capture may start from a token or a
certificate read a moment earlier (remembered for a stream of captures), and one revoked
since, or while its bytes streamed, records nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from evidence_service.access.identity import token_digest
from evidence_service.access.models import ApiToken, OfficerCertificate
from evidence_service.access.refusals import RefusedRequest
from evidence_service.capture.ingest import Received
from evidence_service.capture.models import Evidence
from evidence_service.core.db import session_scope
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_no_intake_left, assert_problem, counts, stored_keys, upload

pytestmark = pytest.mark.parametrize("backend", ["sqlite-local", "postgres-minio"], indirect=True)


def officer_token_id(api: Api) -> str:
    digest = token_digest(api.users["officer"]["token"])
    with Session(api.services.engine) as session:
        return session.exec(select(ApiToken.id).where(ApiToken.token_sha256 == digest)).one()


def revoke_elsewhere(api: Api, model: Any, key: Any, value: str) -> None:
    """Revoke a row as another replica would: in the database, behind this process's back."""
    with session_scope(api.services.engine) as session:
        session.execute(update(model).where(key == value).values(revoked_at=api.services.clock()))


def refusals_of(api: Api, token_id: str) -> list[tuple[str, int, str]]:
    with Session(api.services.engine) as session:
        rows = session.exec(select(RefusedRequest).where(RefusedRequest.token_id == token_id))
        return [(r.route, r.status, r.problem_type.rsplit("/", 1)[1]) for r in rows]


def assert_kept_nothing_more(api: Api, before: dict[str, int], keys: list[str]) -> None:
    assert counts(api) == before
    assert stored_keys(api) == keys
    assert_no_intake_left(api)


def test_a_token_revoked_after_it_was_remembered_records_nothing(api: Api) -> None:
    assert upload(api, "electronic", b"the first of a stream").status_code == 201
    before, keys = counts(api), stored_keys(api)
    token_id = officer_token_id(api)
    revoke_elsewhere(api, ApiToken, col(ApiToken.id), token_id)

    # The route takes the token as remembered; the transaction that would record refuses it.
    refused = upload(api, "electronic", b"sent with a revoked token")
    assert "revoked" in assert_problem(refused, 401, "invalid-token")["detail"]
    assert_kept_nothing_more(api, before, keys)
    assert refusals_of(api, token_id) == [("/api/v1/evidence", 401, "invalid-token")]
    # Other routes read the token afresh, as ever.
    assert_problem(api.client.get("/api/v1/me", headers=api.auth("officer")), 401, "invalid-token")


def test_a_token_revoked_while_the_bytes_stream_records_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert upload(api, "electronic", b"the first of a stream").status_code == 201
    before, keys = counts(api), stored_keys(api)
    token_id = officer_token_id(api)
    ingestor = api.services.ingestor
    receive = ingestor.receive_new

    def revoked_meanwhile(*args: Any) -> tuple[str, Received]:
        received = receive(*args)  # the bytes are stored …
        revoke_elsewhere(api, ApiToken, col(ApiToken.id), token_id)  # … and then
        return received

    monkeypatch.setattr(ingestor, "receive_new", revoked_meanwhile)
    refused = upload(api, "documentary", samples.pdf())
    assert "revoked" in assert_problem(refused, 401, "invalid-token")["detail"]
    assert_kept_nothing_more(api, before, keys)
    assert refusals_of(api, token_id) == [("/api/v1/evidence", 401, "invalid-token")]


def test_a_token_that_expired_since_it_was_remembered_records_nothing(api: Api) -> None:
    assert upload(api, "electronic", b"the first of a stream").status_code == 201
    before, keys = counts(api), stored_keys(api)
    token_id = officer_token_id(api)
    with session_scope(api.services.engine) as session:
        session.execute(
            update(ApiToken)
            .where(col(ApiToken.id) == token_id)
            .values(expires_at=datetime(2000, 1, 1, tzinfo=api.services.clock().tzinfo))
        )
    refused = upload(api, "electronic", b"sent with an expired token")
    assert "expired" in assert_problem(refused, 401, "invalid-token")["detail"]
    assert_kept_nothing_more(api, before, keys)


def signing_serial(api: Api) -> str:
    with Session(api.services.engine) as session:
        return session.exec(
            select(OfficerCertificate.serial).where(
                OfficerCertificate.officer_id == api.users["officer"]["id"],
                col(OfficerCertificate.custodial).is_(True),
                col(OfficerCertificate.revoked_at).is_(None),
            )
        ).one()


def test_a_certificate_revoked_after_it_was_remembered_signs_nothing_more(api: Api) -> None:
    for n in range(2):  # the first may issue the officer's certificate; the second reads it
        signed = upload(api, "electronic", f"capture {n} of a stream".encode())
        assert signed.status_code == 201 and signature_of(api, signed.json()["id"]) is not None
    serial = signing_serial(api)
    revoke_elsewhere(api, OfficerCertificate, col(OfficerCertificate.serial), serial)
    before, keys = counts(api), stored_keys(api)

    # Signed with the remembered certificate, refused where it would be recorded, signed
    # again on a fresh read: the officer's department requires signed captures.
    refused = upload(api, "electronic", b"after the revocation")
    assert serial in assert_problem(refused, 422, "unsigned-capture")["detail"]
    assert_kept_nothing_more(api, before, keys)

    department = f"/api/v1/departments/{api.users['officer']['department_id']}"
    allowed = api.client.patch(
        department, json={"require_signed_captures": False}, headers=api.auth("admin")
    )
    assert allowed.status_code == 200, allowed.text
    unsigned = upload(api, "electronic", b"after the revocation, unsigned allowed")
    assert unsigned.status_code == 201, unsigned.text
    assert signature_of(api, unsigned.json()["id"]) is None


def test_a_capture_signed_by_a_certificate_revoked_meanwhile_lands_unsigned_if_allowed(
    api: Api,
) -> None:
    department = f"/api/v1/departments/{api.users['officer']['department_id']}"
    allowed = api.client.patch(
        department, json={"require_signed_captures": False}, headers=api.auth("admin")
    )
    assert allowed.status_code == 200, allowed.text
    for n in range(2):
        assert upload(api, "electronic", f"capture {n} of a stream".encode()).status_code == 201
    revoke_elsewhere(api, OfficerCertificate, col(OfficerCertificate.serial), signing_serial(api))
    before = counts(api)

    # Signed with the remembered certificate, refused where it would be recorded, and then,
    # signed again on a fresh read, recorded unsigned: exactly one item, once.
    landed = upload(api, "electronic", b"after the revocation")
    assert landed.status_code == 201, landed.text
    assert signature_of(api, landed.json()["id"]) is None
    assert counts(api) == {
        **before,
        "evidence": before["evidence"] + 1,
        "custody": before["custody"] + 1,
    }


def signature_of(api: Api, evidence_id: str) -> dict[str, Any] | None:
    with Session(api.services.engine) as session:
        evidence = session.get(Evidence, evidence_id)
        assert evidence is not None
        return evidence.signature
