"""A co-signature request ends with a decline or after seven days without every approval;
an ended request takes no answers (409) and nothing is ever signed for it."""

from __future__ import annotations

from datetime import timedelta

from evidence_service.core.clock import parse_rfc3339
from tests import samples
from tests.fixtures.s3 import FakeClock
from tests.fixtures.service import Api
from tests.service.cosign.calls import (
    AUDIT,
    A,
    B,
    P,
    answer,
    cosign_events,
    dept,
    read,
    request,
    written,
)
from tests.service.helpers import assert_problem, upload


def test_a_decline_ends_the_request(api: Api) -> None:
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    cid = request(api, evidence_id, [B, P]).json()["id"]
    declined = answer(api, cid, "decline", B, body={"reason": "未参与现场检查"})
    assert declined.status_code == 200, declined.text
    record = declined.json()
    assert record["status"] == "declined" and record["decided_at"] is not None
    b = next(d for d in record["departments"] if d["department_id"] == dept(api, B))
    assert b["answer"] == "declined" and b["reason"] == "未参与现场检查"
    assert b["officer_id"] == api.person(B, "reviewer")["id"] and b["at"] is not None

    before = written(api)
    for code, verb in ((P, "approve"), (P, "decline"), (B, "approve"), (B, "decline")):
        problem = assert_problem(answer(api, cid, verb, code), 409, "cosignature-state")
        assert problem["cosignature_status"] in ("declined",)
    assert_problem(answer(api, cid, "verify", AUDIT, "auditor"), 409, "cosignature-state")
    assert written(api) == before
    assert before["cosignatures"] == 0 and before["bls_keys"] == 0
    assert read(api, cid, P, "penalty").json()["status"] == "declined"

    declined_event = cosign_events(api, cid)[-1]
    assert declined_event.action == "co_sign_declined"
    assert declined_event.department_id == dept(api, B)
    assert declined_event.evidence_id == evidence_id
    assert declined_event.details["reason"] == "未参与现场检查"


def test_a_decline_may_give_no_reason(api: Api) -> None:
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    cid = request(api, evidence_id, [B]).json()["id"]
    declined = api.client.post(
        f"/api/v1/cosignatures/{cid}/decline", headers=api.auth_as(B, "reviewer")
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    assert declined.json()["departments"][1]["reason"] is None


def test_a_request_expires_seven_days_after_it_was_made(timed: Api, clock: FakeClock) -> None:
    api = timed
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    asked = request(api, evidence_id, [B, P]).json()
    cid = asked["id"]
    assert parse_rfc3339(asked["requested_at"]) == clock.now
    assert parse_rfc3339(asked["expires_at"]) == clock.now + timedelta(days=7)

    clock.advance(timedelta(days=7) - timedelta(seconds=1))  # the last second it takes answers
    assert answer(api, cid, "approve", B).json()["status"] == "pending"
    clock.advance(timedelta(seconds=1))
    assert read(api, cid, A, "reviewer").json()["status"] == "expired"
    before = written(api)
    for verb in ("approve", "decline"):
        problem = assert_problem(answer(api, cid, verb, P), 409, "cosignature-state")
        assert problem["cosignature_status"] == "expired"
    assert_problem(answer(api, cid, "verify", A, "reviewer"), 409, "cosignature-state")
    assert written(api) == before and before["cosignatures"] == 0
    expired = read(api, cid, P, "penalty").json()
    assert expired["status"] == "expired" and expired["decided_at"] is None
    assert [d["answer"] for d in expired["departments"]] == ["approved", "approved", None]
