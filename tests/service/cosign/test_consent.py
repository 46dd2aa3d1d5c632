"""A co-signature is consent (issue 14, defect 2): a request signs nothing, only each named
department's own reviewers approve for it, and nobody reaches a subject or a co-signature they
may not see — such ids answer exactly as unknown ones do, and nothing is written."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from evidence_service.custody.models import CustodyEvent
from tests import samples
from tests.fixtures.service import Api
from tests.service.cosign.calls import (
    AUDIT,
    COURT,
    A,
    B,
    P,
    answer,
    dept,
    read,
    request,
    written,
)
from tests.service.helpers import assert_problem, upload

UNKNOWN = "01JZZZZZZZZZZZZZZZZZZZZZZZ"


def item_of(api: Api, code: str) -> str:
    response = upload(api, "documentary", samples.pdf(), headers=api.auth_as(code, "officer"))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def same_as_unknown(response: Any, unknown: Any) -> None:
    """A 404 that says nothing an unknown id's 404 does not (only the id differs)."""
    assert_problem(response, 404, "not-found")
    assert_problem(unknown, 404, "not-found")
    mine, theirs = response.json(), unknown.json()
    assert mine["detail"].rsplit(" ", 1)[0] == theirs["detail"].rsplit(" ", 1)[0]
    assert {k: v for k, v in mine.items() if k not in ("detail", "instance", "request_id")} == {
        k: v for k, v in unknown.json().items() if k not in ("detail", "instance", "request_id")
    }


def item_actions(api: Api, evidence_id: str) -> list[str]:
    with Session(api.services.engine) as session:
        return list(
            session.exec(
                select(CustodyEvent.action)
                .where(CustodyEvent.evidence_id == evidence_id)
                .order_by(col(CustodyEvent.seq))
            ).all()
        )


def test_naming_other_departments_signs_nothing_until_each_approves(api: Api) -> None:
    """The forgery of the issue: a reviewer named another inspection department and got an
    aggregate "signed" by it on the spot. Now the request is pending, no key has signed, and
    only the named departments' own reviewers can change that."""
    evidence_id = item_of(api, A)
    asked = request(api, evidence_id, [B, P])
    assert asked.status_code == 201, asked.text
    cid = asked.json()["id"]
    assert asked.json()["status"] == "pending" and asked.json()["aggregate_signature"] is None
    assert written(api)["cosignatures"] == 0 and written(api)["bls_keys"] == 0

    before = written(api)
    for code, role in (
        (B, "officer"),
        (A, "officer"),
        (AUDIT, "admin"),
        (AUDIT, "auditor"),
        (COURT, "court"),
    ):
        for verb in ("approve", "decline"):
            assert_problem(answer(api, cid, verb, code, role), 403, "forbidden")
    # the requester's department approved with the request: it cannot answer again
    for verb in ("approve", "decline"):
        assert_problem(answer(api, cid, verb, A), 409, "cosignature-state")
    assert written(api) == before

    assert answer(api, cid, "approve", B).status_code == 200
    assert written(api)["cosignatures"] == 0 and written(api)["bls_keys"] == 0
    assert_problem(answer(api, cid, "approve", B), 409, "cosignature-state")  # once only
    assert_problem(answer(api, cid, "decline", B), 409, "cosignature-state")
    assert answer(api, cid, "approve", P).json()["status"] == "complete"
    assert written(api)["cosignatures"] == 1 and written(api)["bls_keys"] == 3


def test_only_a_named_department_answers(api: Api) -> None:
    evidence_id = item_of(api, A)
    # P may see the item (transferred to it and accepted) but is not named: it knows the
    # request exists and is told it may not answer; B may not see it at all: as unknown
    sent = api.client.post(
        "/api/v1/transfers",
        json={"to_department_id": dept(api, P), "evidence_ids": [evidence_id]},
        headers=api.auth_as(A, "reviewer"),
    )
    assert sent.status_code == 201, sent.text
    accepted = api.client.post(
        f"/api/v1/transfers/{sent.json()['id']}/accept", headers=api.auth_as(P, "penalty")
    )
    assert accepted.status_code == 200, accepted.text
    to_b = request(api, evidence_id, [B]).json()["id"]
    to_p = request(api, evidence_id, [P]).json()["id"]
    before = written(api)
    for verb in ("approve", "decline"):
        assert_problem(answer(api, to_b, verb, P), 403, "forbidden")
        same_as_unknown(answer(api, to_p, verb, B), answer(api, UNKNOWN, verb, B))
    assert written(api) == before
    assert read(api, to_b, P, "penalty").status_code == 200  # the item is P's to read too
    assert answer(api, to_p, "approve", P).json()["status"] == "complete"


def test_a_subject_of_another_department_is_unknown_and_nothing_is_written(api: Api) -> None:
    """The other half of the issue: a reviewer co-signed another department's item, which told
    them the id exists and wrote a custody event on it."""
    theirs, mine = item_of(api, B), item_of(api, A)
    before, their_log = written(api), item_actions(api, theirs)
    refused = request(api, theirs, [B])
    same_as_unknown(refused, request(api, UNKNOWN, [B]))
    assert refused.json()["detail"] == f"no evidence {theirs}"
    same_as_unknown(request(api, mine, [A], by=(B, "reviewer")), refused)
    assert written(api) == before and before["requests"] == 0
    assert item_actions(api, theirs) == their_log
    assert not any(action.startswith("co_sign") for action in their_log)


def test_a_cosignature_is_seen_where_its_subject_is_and_by_its_departments(api: Api) -> None:
    evidence_id = item_of(api, A)
    cid = request(api, evidence_id, [P]).json()["id"]
    # the item's department, the named department, the auditor: they read it
    for code, role in ((A, "officer"), (A, "reviewer"), (P, "penalty"), (AUDIT, "auditor")):
        assert read(api, cid, code, role).status_code == 200, (code, role)
    # anyone else: the same 404 an unknown id gets, for every route, and nothing written
    before = written(api)
    for code, role in ((B, "officer"), (B, "reviewer"), (COURT, "court"), (AUDIT, "admin")):
        same_as_unknown(read(api, cid, code, role), read(api, UNKNOWN, code, role))
        same_as_unknown(
            answer(api, cid, "verify", code, role), answer(api, UNKNOWN, "verify", code, role)
        )
    same_as_unknown(answer(api, cid, "approve", B), answer(api, UNKNOWN, "approve", B))
    assert written(api) == before

    assert answer(api, cid, "approve", P).json()["status"] == "complete"
    assert answer(api, cid, "verify", P).json()["valid"] is True
    same_as_unknown(
        answer(api, cid, "verify", B, "reviewer"), answer(api, UNKNOWN, "verify", B, "reviewer")
    )
