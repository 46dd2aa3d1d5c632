"""Multi-department BLS co-signatures through the API: a request, each department's approval,
then one aggregate — cross-checked with the reference library."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from evidence_service.anchoring.batches import close_batch
from evidence_service.capture.models import Evidence
from evidence_service.core.clock import parse_rfc3339, utcnow
from signing import bls
from tests import samples
from tests.fixtures.service import Api
from tests.service.cosign.calls import (
    AUDIT,
    A,
    B,
    P,
    answer,
    cosign_events,
    dept,
    documented,
    read,
    request,
    written,
)
from tests.service.helpers import assert_problem, upload

ONE = "/api/v1/cosignatures/{cosignature_id}"


def check_with_reference_library(record: dict[str, Any]) -> None:
    """What an auditor does with the document and any IETF BLS library (not our backend)."""
    assert record["ciphersuite"] == "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
    public_keys = [bytes.fromhex(s["public_key"]) for s in record["signers"]]
    aggregate = bytes.fromhex(record["aggregate_signature"])
    assert len(aggregate) == 96 and all(len(pk) == 48 for pk in public_keys)
    for signer in record["signers"]:
        bls.pop_verify(
            bytes.fromhex(signer["public_key"]),
            bytes.fromhex(signer["proof_of_possession"]),
            backend=bls.PY_ECC,
        )
    bls.fast_aggregate_verify(
        public_keys, record["message"].encode(), aggregate, backend=bls.PY_ECC
    )


def test_every_department_approves_then_one_aggregate_verifies(api: Api) -> None:
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    a, b, p = dept(api, A), dept(api, B), dept(api, P)
    asked = request(api, evidence_id, [A, B, P])
    assert asked.status_code == 201, asked.text
    pending = documented(api, "post", "/api/v1/cosignatures", asked)
    cid = pending["id"]
    assert pending["status"] == "pending"
    assert pending["signers"] == [] and pending["aggregate_signature"] is None
    assert pending["subject"] == {"kind": "statement", "id": evidence_id}
    assert f'"id":"{evidence_id}"' in pending["message"]
    assert pending["requested_by"] == {
        "officer_id": api.person(A, "reviewer")["id"],
        "department_id": a,
    }
    requested_at = parse_rfc3339(pending["requested_at"])
    assert parse_rfc3339(pending["expires_at"]) - requested_at == timedelta(days=7)
    assert [(d["department_id"], d["answer"]) for d in pending["departments"]] == [
        (a, "approved"),  # the request is its department's approval
        (b, None),
        (p, None),
    ]
    assert written(api)["cosignatures"] == 0 and written(api)["bls_keys"] == 0

    halfway = answer(api, cid, "approve", B)
    assert documented(api, "post", ONE + "/approve", halfway)["status"] == "pending"
    assert written(api)["cosignatures"] == 0 and written(api)["bls_keys"] == 0

    done = answer(api, cid, "approve", P)
    record = documented(api, "post", ONE + "/approve", done)
    assert record["status"] == "complete" and record["decided_at"] is not None
    answers = {d["department_id"]: d for d in record["departments"]}
    assert answers[b]["answer"] == "approved"
    assert answers[b]["officer_id"] == api.person(B, "reviewer")["id"]
    assert answers[p]["officer_id"] == api.person(P, "penalty")["id"]
    assert all(d["at"] is not None for d in record["departments"])
    assert [s["department_id"] for s in record["signers"]] == [a, b, p]
    check_with_reference_library(record)

    # anyone who may see it reads the same document; the auditor checks it
    fetched = read(api, cid, A, "officer")
    assert documented(api, "get", ONE, fetched) == record
    verdict = answer(api, cid, "verify", AUDIT, "auditor")
    assert documented(api, "post", ONE + "/verify", verdict)["valid"] is True

    # the record changes under the co-signature: verification says so
    with Session(api.services.engine) as session:
        row = session.get(Evidence, evidence_id)
        assert row is not None
        row.statement = {**row.statement, "size": row.statement["size"] + 1}
        session.add(row)
        session.commit()
    tampered = answer(api, cid, "verify", AUDIT, "auditor").json()
    assert tampered["valid"] is False and "changed" in tampered["detail"]

    # each step is a custody event on the item, with the department that acted
    steps = [(e.action, e.department_id, e.evidence_id) for e in cosign_events(api, cid)]
    audit = dept(api, AUDIT)
    assert steps == [
        ("co_sign_requested", a, evidence_id),
        ("co_sign_approved", b, evidence_id),
        ("co_sign_approved", p, evidence_id),
        ("co_signed", p, evidence_id),
        ("co_signature_verified", audit, evidence_id),
        ("co_signature_verified", audit, evidence_id),
    ]
    signed = cosign_events(api, cid)[3]
    assert signed.details["departments"] == [a, b, p]
    assert signed.actor_id == api.person(P, "penalty")["id"]


def test_a_batch_root_is_co_signed_by_approval(api: Api) -> None:
    upload(api, "documentary", samples.pdf())
    batch = close_batch(api.services.engine, max_leaves=100, now=utcnow())
    assert batch is not None
    asked = request(api, str(batch.id), [B], subject="batch")
    assert asked.status_code == 201, asked.text
    cid = asked.json()["id"]
    assert batch.root in asked.json()["message"]
    # a batch root is public knowledge: any signed-in caller reads the request
    assert read(api, cid, B, "officer").status_code == 200
    done = answer(api, cid, "approve", B)
    assert done.status_code == 200, done.text
    record = done.json()
    assert record["status"] == "complete"
    assert [s["department_id"] for s in record["signers"]] == [dept(api, A), dept(api, B)]
    check_with_reference_library(record)
    # the events concern no single item, and still name the acting department
    steps = [(e.action, e.department_id, e.evidence_id) for e in cosign_events(api, cid)]
    assert steps == [
        ("co_sign_requested", dept(api, A), None),
        ("co_sign_approved", dept(api, B), None),
        ("co_signed", dept(api, B), None),
    ]
    assert cosign_events(api, cid)[0].details["subject"] == {"kind": "batch", "id": str(batch.id)}


def test_requests_are_checked_and_write_nothing_on_refusal(api: Api) -> None:
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    before = written(api)

    def refused(body: dict[str, Any], status: int, slug: str, by: str = "reviewer") -> None:
        full = {"subject": "statement", "subject_id": evidence_id, **body}
        response = api.client.post("/api/v1/cosignatures", json=full, headers=api.auth_as(A, by))
        assert_problem(response, status, slug)

    b, a = dept(api, B), dept(api, A)
    for role in ("officer",):
        refused({"department_ids": [b]}, 403, "forbidden", by=role)
    for code, role in ((AUDIT, "admin"), (AUDIT, "auditor"), ("HZ-XHFY", "court")):
        response = request(api, evidence_id, [B], by=(code, role))
        assert_problem(response, 403, "forbidden")
    refused({"department_ids": [b, b]}, 400, "bad-request")
    refused({"department_ids": [a]}, 400, "bad-request")  # nobody besides oneself
    refused({"department_ids": [b, "01NOPE"]}, 404, "not-found")
    refused({"department_ids": [f"01FAKE{i:020d}" for i in range(32)]}, 400, "bad-request")
    refused({"department_ids": [b] * 33}, 422, "invalid-request")
    refused({"department_ids": []}, 422, "invalid-request")
    refused({"department_ids": [b], "extra": 1}, 422, "invalid-request")
    refused({"department_ids": [b], "subject_id": "01NOPE"}, 404, "not-found")
    for batch_id in ("x", "0", "99999999999999999999999", "²", "-1"):
        refused(
            {"department_ids": [b], "subject": "batch", "subject_id": batch_id}, 404, "not-found"
        )
    assert written(api) == before
    unknown = api.client.get("/api/v1/cosignatures/01NOPE", headers=api.auth("reviewer"))
    assert_problem(unknown, 404, "not-found")


def test_a_subject_changed_since_the_request_is_not_signed(api: Api) -> None:
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    cid = request(api, evidence_id, [B]).json()["id"]
    with Session(api.services.engine) as session:
        row = session.get(Evidence, evidence_id)
        assert row is not None
        row.statement = {**row.statement, "size": row.statement["size"] + 1}
        session.add(row)
        session.commit()
    before = written(api)
    refused = assert_problem(answer(api, cid, "approve", B), 409, "cosignature-state")
    assert "changed" in refused["detail"]
    assert written(api) == before and before["cosignatures"] == 0
