"""Multi-department BLS co-signatures through the API, cross-checked with the reference library."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from evidence_service.access.models import DepartmentBlsKey
from evidence_service.anchoring.batches import close_batch
from evidence_service.capture.models import Evidence
from evidence_service.core.clock import utcnow
from evidence_service.cosign.models import CoSignature
from evidence_service.custody.models import CustodyEvent
from signing import bls
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, upload


def cosign(api: Api, body: dict[str, Any], role: str = "reviewer") -> Any:
    return api.client.post("/api/v1/cosignatures", json=body, headers=api.auth(role))


def test_departments_co_sign_a_statement_and_anyone_can_check_it(api: Api) -> None:
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    departments = [d["id"] for d in api.departments[:3]]
    created = cosign(
        api, {"subject": "statement", "subject_id": evidence_id, "department_ids": departments}
    )
    assert created.status_code == 201, created.text
    record = created.json()
    assert [s["department_id"] for s in record["signers"]] == departments
    assert record["ciphersuite"] == "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
    assert f'"id":"{evidence_id}"' in record["message"]
    public_keys = [bytes.fromhex(s["public_key"]) for s in record["signers"]]
    aggregate = bytes.fromhex(record["aggregate_signature"])
    assert len(aggregate) == 96 and all(len(pk) == 48 for pk in public_keys)
    # an auditor with the reference implementation, not our fast backend
    for signer in record["signers"]:
        bls.pop_verify(
            bytes.fromhex(signer["public_key"]),
            bytes.fromhex(signer["proof_of_possession"]),
            backend=bls.PY_ECC,
        )
    bls.fast_aggregate_verify(
        public_keys, record["message"].encode(), aggregate, backend=bls.PY_ECC
    )

    fetched = api.client.get(f"/api/v1/cosignatures/{record['id']}", headers=api.auth()).json()
    assert fetched == record
    verdict = api.client.post(
        f"/api/v1/cosignatures/{record['id']}/verify", headers=api.auth("auditor")
    ).json()
    assert verdict["valid"] is True

    # the record changes under the co-signature: verification says so
    with Session(api.services.engine) as session:
        row = session.get(Evidence, evidence_id)
        assert row is not None
        row.statement = {**row.statement, "size": row.statement["size"] + 1}
        session.add(row)
        session.commit()
    tampered = api.client.post(
        f"/api/v1/cosignatures/{record['id']}/verify", headers=api.auth("auditor")
    ).json()
    assert tampered["valid"] is False and "changed" in tampered["detail"]

    with Session(api.services.engine) as session:
        actions = session.exec(select(CustodyEvent.action)).all()
    assert actions.count("co_signed") == 1 and actions.count("co_signature_verified") == 2


def test_a_batch_root_can_be_co_signed(api: Api) -> None:
    upload(api, "documentary", samples.pdf())
    batch = close_batch(api.services.engine, max_leaves=100, now=utcnow())
    assert batch is not None
    created = cosign(
        api,
        {
            "subject": "batch",
            "subject_id": str(batch.id),
            "department_ids": [api.departments[0]["id"], api.departments[1]["id"]],
        },
        role="admin",
    )
    assert created.status_code == 201, created.text
    assert batch.root in created.json()["message"]


def test_co_signing_is_checked_and_writes_nothing_on_refusal(api: Api) -> None:
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    first = api.departments[0]["id"]
    body = {"subject": "statement", "subject_id": evidence_id, "department_ids": [first]}
    assert_problem(cosign(api, body, role="officer"), 403, "forbidden")
    assert_problem(cosign(api, {**body, "department_ids": [first, first]}), 400, "bad-request")
    assert_problem(cosign(api, {**body, "department_ids": [first, "01NOPE"]}), 404, "not-found")
    assert_problem(cosign(api, {**body, "subject_id": "01NOPE"}), 404, "not-found")
    assert_problem(cosign(api, {**body, "subject": "batch", "subject_id": "x"}), 404, "not-found")
    assert_problem(cosign(api, {**body, "department_ids": []}), 422, "invalid-request")
    with Session(api.services.engine) as session:
        assert session.exec(select(CoSignature)).all() == []
        assert session.exec(select(DepartmentBlsKey)).all() == []
    assert_problem(
        api.client.get("/api/v1/cosignatures/01NOPE", headers=api.auth()), 404, "not-found"
    )
