"""The cosign wing on its own (as the joint-inspection module will call it): it enforces who
may ask, see and answer without the router's policy, and two last approvals arriving together
complete a request exactly once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlmodel import Session, select

from evidence_service.access.identity import Actor
from evidence_service.access.models import Role
from evidence_service.core.errors import (
    CoSignatureStateError,
    EvidenceError,
    ForbiddenError,
    NotFoundError,
)
from evidence_service.cosign.models import CoSignature
from evidence_service.cosign.workflow import (
    approve_cosignature,
    cosignature_record,
    decline_cosignature,
    request_cosignature,
)
from tests import samples
from tests.fixtures.service import Api
from tests.service.cosign.calls import AUDIT, A, B, P, cosign_events, dept, written
from tests.service.helpers import upload


def actor(api: Api, code: str, role: str) -> Actor:
    person = api.person(code, role)
    return Actor(person["id"], person["department_id"], Role(role), person["name"])


def test_the_wing_refuses_on_its_own(api: Api) -> None:
    engine, clock, signer = api.services.engine, api.services.clock, api.services.cosigner
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    reviewer_a, reviewer_b = actor(api, A, "reviewer"), actor(api, B, "reviewer")
    admin, penalty = actor(api, AUDIT, "admin"), actor(api, P, "penalty")
    before = written(api)
    with pytest.raises(ForbiddenError):
        request_cosignature(engine, admin, "statement", evidence_id, [dept(api, B)], clock=clock)
    with pytest.raises(NotFoundError):  # B's reviewer may not see A's item
        request_cosignature(
            engine, reviewer_b, "statement", evidence_id, [dept(api, A)], clock=clock
        )
    assert written(api) == before

    cid = request_cosignature(
        engine, reviewer_a, "statement", evidence_id, [dept(api, B)], clock=clock
    )["id"]
    refusals: list[tuple[Actor, type[EvidenceError]]] = [
        (admin, ForbiddenError),
        (actor(api, B, "officer"), ForbiddenError),
        (penalty, NotFoundError),  # not named, and the item is not P's to see
        (reviewer_a, CoSignatureStateError),  # answered with its request
    ]
    before = written(api)
    for who, error in refusals:
        with pytest.raises(error):
            approve_cosignature(engine, signer, who, cid, clock=clock)
        with pytest.raises(error):
            decline_cosignature(engine, who, cid, clock=clock)
    with pytest.raises(NotFoundError):
        cosignature_record(engine, penalty, cid, clock=clock)
    assert written(api) == before
    assert cosignature_record(engine, penalty, cid, clock=clock, oversight=True)["id"] == cid
    assert approve_cosignature(engine, signer, reviewer_b, cid, clock=clock)["status"] == "complete"


def test_answers_arriving_together_are_taken_one_at_a_time(api: Api) -> None:
    """The same department approves and declines at once (two reviewers' clicks) while the
    other department has approved: one answer wins, the other is a 409, never a half-written
    request (a complete aggregate marked declined) or a database error."""
    engine, clock, signer = api.services.engine, api.services.clock, api.services.cosigner
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    cid = request_cosignature(
        engine,
        actor(api, A, "reviewer"),
        "statement",
        evidence_id,
        [dept(api, B), dept(api, P)],
        clock=clock,
    )["id"]
    approve_cosignature(engine, signer, actor(api, P, "penalty"), cid, clock=clock)
    reviewer_b = actor(api, B, "reviewer")
    start = threading.Barrier(2)
    results: dict[str, Any] = {}

    def run(verb: str) -> None:
        start.wait()
        try:
            if verb == "approve":
                results[verb] = approve_cosignature(engine, signer, reviewer_b, cid, clock=clock)
            else:
                results[verb] = decline_cosignature(engine, reviewer_b, cid, clock=clock)
        except Exception as exc:  # noqa: BLE001 - the assertions below say what it was
            results[verb] = exc

    threads = [threading.Thread(target=run, args=(verb,)) for verb in ("approve", "decline")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [verb for verb, result in results.items() if isinstance(result, dict)]
    lost = [result for result in results.values() if not isinstance(result, dict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], CoSignatureStateError), results
    final = cosignature_record(engine, reviewer_b, cid, clock=clock)
    assert final["status"] == {"approve": "complete", "decline": "declined"}[won[0]]
    with Session(engine) as session:
        signed = len(session.exec(select(CoSignature)).all())
    assert signed == (1 if won == ["approve"] else 0)
    actions = [e.action for e in cosign_events(api, cid)]
    assert actions.count("co_signed") == signed
    assert actions.count("co_sign_approved") + actions.count("co_sign_declined") == 2
