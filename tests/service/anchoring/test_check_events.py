"""Checks by signed-in callers are custody events, bounded: only of what the caller may read,
and the same check once an hour, so nobody grows another department's log or the log at all by
posting a proof over and over. The verdict is answered every time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from evidence_service.custody.log import REPEAT_CHECK_WINDOW, CustodyAction, record_event
from evidence_service.custody.models import CustodyEvent
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import counts, sha256, upload


def _events(api: Api, action: str) -> list[tuple[str | None, str | None, dict[str, Any]]]:
    with Session(api.services.engine) as session:
        rows = session.exec(
            select(CustodyEvent)
            .where(CustodyEvent.action == action)
            .order_by(col(CustodyEvent.seq))
        ).all()
    return [(e.evidence_id, e.actor_id, e.details) for e in rows]


def test_verify_records_a_readers_check_once_per_outcome(api: Api) -> None:
    data = samples.pdf()
    item = upload(api, "documentary", data).json()["id"]
    proof = api.client.get(f"/api/v1/evidence/{item}/proof", headers=api.auth()).json()
    right = {"proof": proof, "sha256": sha256(data)}
    wrong = {"proof": proof, "sha256": "0" * 64}
    officer = api.users["officer"]["id"]

    verdicts = [
        api.client.post("/api/v1/verify", json=right, headers=api.auth()) for _ in range(100)
    ]
    assert {v.status_code for v in verdicts} == {200}
    verdict = verdicts[0].json()
    assert all(v.json() == verdict for v in verdicts)
    first = (item, officer, {"valid": verdict["valid"], "failure": verdict["failure"]})
    assert _events(api, "verified") == [first]

    # Another outcome is recorded at once, and then bounded the same way.
    for _ in range(20):
        failed = api.client.post("/api/v1/verify", json=wrong, headers=api.auth()).json()
        assert failed["valid"] is False and failed["failure"] == "content-mismatch"
    assert _events(api, "verified") == [
        first,
        (item, officer, {"valid": False, "failure": "content-mismatch"}),
    ]


def test_verify_records_nothing_for_who_may_not_read_the_item(api: Api) -> None:
    data = samples.pdf()
    item = upload(api, "documentary", data).json()["id"]
    proof = api.client.get(f"/api/v1/evidence/{item}/proof", headers=api.auth()).json()
    body = {"proof": proof, "sha256": sha256(data)}
    before = counts(api)
    expected = api.client.post("/api/v1/verify", json=body).json()  # anonymous: not recorded
    outsiders = [
        api.auth_as("HZ-ZHZF", "officer"),  # another department
        api.auth_as("HZ-ZHZF", "reviewer"),
        api.auth("court"),  # nothing was transferred to the court
        api.auth("admin"),  # admins never read items
    ]
    for headers in outsiders:
        for _ in range(10):
            answer = api.client.post("/api/v1/verify", json=body, headers=headers)
            assert answer.status_code == 200
            assert answer.json() == expected
    assert counts(api) == before

    # The auditor reads every item's record: its check is recorded (once).
    for _ in range(3):
        api.client.post("/api/v1/verify", json=body, headers=api.auth("auditor"))
    assert [e[:2] for e in _events(api, "verified")] == [(item, api.users["auditor"]["id"])]


def test_verify_with_a_proof_naming_unstorable_ids_records_nothing(api: Api) -> None:
    data = samples.pdf()
    item = upload(api, "documentary", data).json()["id"]
    proof = api.client.get(f"/api/v1/evidence/{item}/proof", headers=api.auth()).json()
    for evidence_id in ("\x00", "01NOPE", "x" * 5000):
        forged = {**proof, "statement": {**proof["statement"], "evidence_id": evidence_id}}
        answer = api.client.post(
            "/api/v1/verify", json={"proof": forged, "sha256": sha256(data)}, headers=api.auth()
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["valid"] is False
    assert _events(api, "verified") == []


def test_the_same_check_is_recorded_again_after_the_window(api: Api) -> None:
    item = upload(api, "documentary", samples.pdf()).json()["id"]
    officer = api.users["officer"]
    start = datetime(2030, 1, 1, tzinfo=UTC)
    for offset in (timedelta(0), timedelta(minutes=59), REPEAT_CHECK_WINDOW + timedelta(minutes=1)):
        record_event(
            api.services.engine,
            action=CustodyAction.verified,
            clock=lambda offset=offset: start + offset,
            evidence_id=item,
            actor_id=officer["id"],
            department_id=officer["department_id"],
            details={"valid": True, "failure": None},
        )
    assert len(_events(api, "verified")) == 2
    verified = api.client.get("/api/v1/custody/verify", headers=api.auth("auditor")).json()
    assert verified["valid"] is True


def test_seal_checks_are_recorded_for_valid_seals_once(api: Api) -> None:
    reviewer = api.users["reviewer"]
    url = f"/api/v1/departments/{reviewer['department_id']}/seals"
    record = api.client.post(url, json={"digest": "ab" * 32}, headers=api.auth("reviewer")).json()
    for _ in range(50):
        answer = api.client.post(
            "/api/v1/seals/verify", json={"record": record}, headers=api.auth("court")
        )
        assert answer.json()["valid"] is True
    assert [e[1] for e in _events(api, "seal_verified")] == [api.users["court"]["id"]]
    # Made-up records (any digest, any department) are answered and never recorded.
    for n in range(20):
        forged = {**record, "digest": f"{n:064x}"}
        answer = api.client.post(
            "/api/v1/seals/verify", json={"record": forged}, headers=api.auth("court")
        )
        assert answer.status_code == 200 and answer.json()["valid"] is False
    assert len(_events(api, "seal_verified")) == 1
