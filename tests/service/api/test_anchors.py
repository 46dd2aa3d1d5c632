"""Anchoring a JSON document (``POST /api/v1/anchors``): its JCS bytes become a leaf of kind
``document``; once its batch is mined the answer carries an RFC 9162 path to an anchored root.
The same document twice is one anchor and one leaf; bad input is a 4xx with nothing written.
Run on the embedded chain and on PostgreSQL + S3 + Hardhat (the ``anchored`` fixture), and the
refusals on both database backends."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from sqlmodel import Session, func, select

from chain.merkle import leaf_hash, verify_inclusion
from evidence_service.anchoring.models import AnchoredDocument, AnchorLeaf, LeafKind
from evidence_service.custody.models import CustodyEvent
from signing.jcs import canonicalize
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem

ANCHORS = "/api/v1/anchors"
COMMITMENT: dict[str, Any] = {
    "format": "draw-commitment/1",
    "draw_id": "01JDRAW0000000000000000000",
    "task": "嘉兴 2026 年度餐饮双随机",
    "strata": [{"name": "high", "population": ["91330100A1", "91330100A2"], "k": 1}],
    "ratio": 0.25,
}


def written(api: Api) -> tuple[int, int, int]:
    """Anchored documents, leaves of kind document, document_anchored custody events."""
    with Session(api.services.engine) as session:
        return (
            session.exec(select(func.count()).select_from(AnchoredDocument)).one(),
            session.exec(
                select(func.count())
                .select_from(AnchorLeaf)
                .where(AnchorLeaf.kind == LeafKind.document)
            ).one(),
            session.exec(
                select(func.count())
                .select_from(CustodyEvent)
                .where(CustodyEvent.action == "document_anchored")
            ).one(),
        )


def wait_mined(api: Api, anchor_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = api.client.get(f"{ANCHORS}/{anchor_id}", headers=api.auth("auditor"))
        assert answer.status_code == 200, answer.text
        if answer.json()["state"] == "anchored":
            return dict(answer.json())
        assert time.monotonic() < deadline, f"not anchored within {timeout}s: {answer.json()}"
        time.sleep(0.1)


def test_a_document_is_anchored_once_with_a_path_to_a_mined_root(anchored: Api) -> None:
    jcs = canonicalize(COMMITMENT)
    first = anchored.client.post(ANCHORS, json={"document": COMMITMENT}, headers=anchored.auth())
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["digest"] == hashlib.sha256(jcs).hexdigest()
    assert body["leaf_hash"] == leaf_hash(jcs).hex()  # SHA-256(0x00 ‖ JCS)
    assert body["size"] == len(jcs) and body["state"] in ("pending", "batched", "anchored")
    # the same document, keys in another order and by another officer: the same anchor
    shuffled = dict(reversed(list(COMMITMENT.items())))
    again = anchored.client.post(
        ANCHORS, json={"document": shuffled}, headers=anchored.auth("reviewer")
    )
    assert again.status_code == 200, again.text
    assert again.json()["id"] == body["id"]
    assert written(anchored) == (1, 1, 1)

    mined = wait_mined(anchored, body["id"])
    merkle, anchor = mined["merkle"], mined["anchor"]
    assert merkle["leaf_hash"] == body["leaf_hash"]
    verify_inclusion(
        merkle["leaf_index"],
        merkle["tree_size"],
        bytes.fromhex(merkle["leaf_hash"]),
        [bytes.fromhex(h) for h in merkle["path"]],
        bytes.fromhex(merkle["root"]),
    )
    batch = anchored.client.get(
        f"/api/v1/batches/{anchor['batch_id']}", headers=anchored.auth()
    ).json()
    assert batch["root"] == merkle["root"] and batch["status"] == "anchored"
    trust = anchored.client.get("/api/v1/trust").json()
    assert (anchor["chain_id"], anchor["contract"]) == (trust["chain_id"], trust["contract"])
    assert anchor["block_number"] >= 1


def test_bad_documents_and_callers_are_refused_with_nothing_written(api: Api) -> None:
    headers = api.auth()
    for body, status, slug in (
        ({"document": [1, 2]}, 422, "invalid-request"),  # not an object
        ({"document": {"n": 2**60}}, 400, "bad-request"),  # beyond JSON's safe integers
        ({"document": {"a": 1}, "extra": True}, 422, "invalid-request"),
        ({}, 422, "invalid-request"),
    ):
        assert_problem(api.client.post(ANCHORS, json=body, headers=headers), status, slug)
    broken = api.client.post(
        ANCHORS,
        content=b'{"document": {"a": 1',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert broken.status_code in (400, 422)
    huge = api.client.post(
        ANCHORS,
        content=b"{}",
        headers={**headers, "Content-Type": "application/json", "Content-Length": str(64 << 20)},
    )
    assert huge.status_code == 413
    assert api.client.post(ANCHORS, json={"document": {"a": 1}}).status_code == 401
    auditor = api.client.post(ANCHORS, json={"document": {"a": 1}}, headers=api.auth("auditor"))
    assert_problem(auditor, 403, "forbidden")
    assert written(api) == (0, 0, 0)
    assert_problem(
        api.client.get(f"{ANCHORS}/01JNOSUCHANCHOR00000000000", headers=headers), 404, "not-found"
    )
