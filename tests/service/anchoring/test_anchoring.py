"""Anchoring end to end: capture → batch → anchor → proof → verify, on both chain columns."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from chain.anchor_check import ANCHORED_AT_SELECTOR
from chain.base import AnchorChain
from chain.merkle import MerkleTree, leaf_hash
from evidence_service.anchoring.batches import custody_head_leaf_data
from evidence_service.anchoring.models import AnchorLeaf, BatchStatus, LeafKind
from evidence_service.anchoring.worker import AnchorWorker
from evidence_service.core.config import Settings
from evidence_service.core.db import make_engine
from evidence_service.custody.models import CustodyEvent
from tests import samples
from tests.fixtures.service import Api, database_copy, running_api
from tests.service.anchoring_helpers import (
    ANCHORED_BACKENDS,
    anchored_services,
    batches,
    proof_of,
    wait_anchored,
)
from tests.service.helpers import assert_problem, upload


def capture(api: Api, data: bytes | None = None) -> tuple[str, bytes]:
    data = data or samples.pdf()
    response = upload(api, "documentary", data)
    assert response.status_code == 201, response.text
    return response.json()["id"], data


def verify_via_api(api: Api, proof: dict[str, Any], data: bytes) -> dict[str, Any]:
    response = api.client.post(
        "/api/v1/verify",
        data={"proof": json.dumps(proof)},
        files={"file": ("evidence.bin", data, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_captured_item_gets_a_proof_that_verifies(anchored: Api) -> None:
    evidence_id, data = capture(anchored)
    proof = wait_anchored(anchored, evidence_id)

    assert proof["format"] == "evidence-proof/1"
    assert proof["statement"]["evidence_id"] == evidence_id
    assert proof["statement"]["sha256"] == hashlib.sha256(data).hexdigest()
    # signed by default: the demo officer's custodial key
    assert proof["signature"]["signer"] == anchored.users["officer"]["id"]
    merkle, anchor = proof["merkle"], proof["anchor"]
    statement_jcs = json.dumps(
        proof["statement"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert merkle["leaf_hash"] == leaf_hash(statement_jcs).hex()
    assert merkle["hash"] == "sha256-rfc9162"

    batch = anchored.client.get(f"/api/v1/batches/{anchor['batch_id']}", headers=anchored.auth())
    assert batch.status_code == 200
    facts = batch.json()
    assert facts["status"] == "anchored"
    assert facts["root"] == merkle["root"] and facts["tree_size"] == merkle["tree_size"]
    assert facts["tx_hash"] == anchor["tx_hash"] and facts["block_number"] == anchor["block_number"]
    assert facts["gas_used"] > 21000

    trust = anchored.client.get("/api/v1/trust").json()
    assert trust["chain_id"] == anchor["chain_id"] and trust["contract"] == anchor["contract"]
    assert len(trust["ca_certificates"]) == 1  # the officer's department CA

    w3 = anchored.services.chain_reader()
    assert w3 is not None
    raw = w3.eth.call(
        {
            "to": anchor["contract"],
            "data": "0x" + (ANCHORED_AT_SELECTOR + bytes.fromhex(merkle["root"])).hex(),
        }
    )
    assert int.from_bytes(raw, "big") == anchor["block_number"]
    verdict = verify_via_api(anchored, proof, data)
    assert verdict["valid"] is True, verdict
    signed_in = anchored.client.post(
        "/api/v1/verify",
        json={"proof": proof, "sha256": hashlib.sha256(data).hexdigest()},
        headers=anchored.auth("auditor"),
    )
    assert signed_in.json()["valid"] is True
    with Session(anchored.services.engine) as session:
        verified = session.exec(select(CustodyEvent).where(CustodyEvent.action == "verified")).all()
    assert [(e.evidence_id, e.actor_id) for e in verified] == [
        (evidence_id, anchored.users["auditor"]["id"])
    ]
    assert [(s["step"], s["name"], s["status"]) for s in verdict["steps"]] == [
        (1, "content", "pass"),
        (2, "leaf", "pass"),
        (3, "inclusion", "pass"),
        (4, "signature", "pass"),
        (5, "anchor", "pass"),
    ]


def test_items_share_a_batch_that_ends_with_the_custody_head(anchored: Api) -> None:
    anchored.services.settings.anchor_interval = 2.0  # let several items gather
    ids = [capture(anchored)[0] for _ in range(4)]
    proofs = [wait_anchored(anchored, i) for i in ids]
    batch_ids = {p["anchor"]["batch_id"] for p in proofs}
    batch = next(b for b in batches(anchored) if b.id in batch_ids)
    with Session(anchored.services.engine) as session:
        leaves = session.exec(
            select(AnchorLeaf)
            .where(AnchorLeaf.batch_id == batch.id)
            .order_by(AnchorLeaf.leaf_index)  # type: ignore[arg-type]
        ).all()
        head = session.exec(
            select(CustodyEvent).where(CustodyEvent.seq == batch.custody_seq)
        ).first()
    assert [leaf.leaf_index for leaf in leaves] == list(range(batch.tree_size))
    assert leaves[-1].kind == LeafKind.custody_head
    assert head is not None and head.hash == batch.custody_head
    assert leaves[-1].leaf_hash == leaf_hash(custody_head_leaf_data(head.seq, head.hash)).hex()
    tree = MerkleTree.from_leaf_hashes([bytes.fromhex(leaf.leaf_hash) for leaf in leaves])
    assert tree.root.hex() == batch.root
    # every proof of the batch names the same root and its own index
    same = [p for p in proofs if p["anchor"]["batch_id"] == batch.id]
    assert {p["merkle"]["root"] for p in same} == {batch.root}
    assert len({p["merkle"]["leaf_index"] for p in same}) == len(same)


def test_batches_hold_at_most_max_leaves(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    services = anchored_services(
        tmp_path, request, "sqlite-local-embedded", anchor_max_leaves=3, anchor_interval=60.0
    )
    try:
        with running_api(services, "sqlite-local") as api:
            ids = [capture(api)[0] for _ in range(5)]
            proofs = [wait_anchored(api, i, timeout=60) for i in ids[:4]]
            sizes = {p["anchor"]["batch_id"]: p["merkle"]["tree_size"] for p in proofs}
            assert set(sizes.values()) == {3}  # 2 statements + the custody head
            assert len(sizes) == 2
            # the fifth waits for the interval (60 s): closed batches only when full or due
            assert proof_of(api, ids[4])["merkle"] is None
    finally:
        services.close()


@pytest.fixture(scope="module", params=ANCHORED_BACKENDS)
def anchored_once(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[Api, bytes, dict[str, Any]]]:
    """The service with its worker on each chain column, one anchored capture (its bytes) and
    its proof: the tampering cases below each change a copy, and verifying writes nothing, so
    they need no service of their own."""
    with contextlib.ExitStack() as stack:
        extra: dict[str, Any] = {}
        if request.param.startswith("postgres"):
            extra["db_url"] = stack.enter_context(database_copy(request))
        services = anchored_services(
            tmp_path_factory.mktemp("anchored"), request, request.param, **extra
        )
        stack.callback(services.close)
        api = stack.enter_context(running_api(services, request.param))
        evidence_id, data = capture(api)
        yield api, data, wait_anchored(api, evidence_id)


@pytest.mark.parametrize(
    "tamper, failure",
    [
        ("file", "content-mismatch"),
        ("statement", "leaf-mismatch"),
        ("leaf_hash", "leaf-mismatch"),
        ("path", "inclusion-failed"),
        ("root", "inclusion-failed"),
        ("leaf_index", "inclusion-failed"),
        ("tx_hash", "not-anchored"),
        ("block_number", "not-anchored"),
        ("block_timestamp", "not-anchored"),
        ("batch_id", "not-anchored"),
    ],
)
def test_a_flipped_byte_fails_with_its_name(
    anchored_once: tuple[Api, bytes, dict[str, Any]], tamper: str, failure: str
) -> None:
    anchored, data, anchored_proof = anchored_once
    proof = copy.deepcopy(anchored_proof)
    if tamper == "file":
        data = bytes([data[0] ^ 1]) + data[1:]
    elif tamper == "statement":
        officer_id = proof["statement"]["officer_id"]
        proof["statement"]["officer_id"] = officer_id[:-1] + ("1" if officer_id[-1] == "0" else "0")
    elif tamper == "leaf_hash":
        proof["merkle"]["leaf_hash"] = flip_hex(proof["merkle"]["leaf_hash"])
    elif tamper == "path":
        if not proof["merkle"]["path"]:
            pytest.skip("a one-leaf tree has no path")
        proof["merkle"]["path"][0] = flip_hex(proof["merkle"]["path"][0])
    elif tamper == "root":
        proof["merkle"]["root"] = flip_hex(proof["merkle"]["root"])
    elif tamper == "leaf_index":
        proof["merkle"]["leaf_index"] ^= 1
    elif tamper == "tx_hash":
        proof["anchor"]["tx_hash"] = "0x" + flip_hex(proof["anchor"]["tx_hash"][2:])
    else:
        proof["anchor"][tamper] += 1
    verdict = verify_via_api(anchored, proof, data)
    assert verdict["valid"] is False
    assert verdict["failure"] == failure, verdict


def flip_hex(value: str, position: int = 10) -> str:
    raw = bytearray(bytes.fromhex(value))
    raw[position % len(raw)] ^= 0x01
    return raw.hex()


def test_verify_a_bare_digest_and_pinned_registry(anchored: Api) -> None:
    evidence_id, data = capture(anchored)
    proof = wait_anchored(anchored, evidence_id)
    body = {"proof": proof, "sha256": hashlib.sha256(data).hexdigest()}
    verdict = anchored.client.post("/api/v1/verify", json=body).json()
    assert verdict["valid"] is True
    assert "size not checked" in verdict["steps"][0]["detail"]
    forged = copy.deepcopy(proof)
    forged["anchor"]["contract"] = "0x" + "11" * 20
    verdict = anchored.client.post("/api/v1/verify", json={**body, "proof": forged}).json()
    assert verdict["failure"] == "not-anchored"
    assert "not a trusted registry" in verdict["steps"][4]["detail"]


@pytest.mark.parametrize(
    "kwargs, status, slug",
    [
        ({"json": {"sha256": "00" * 32}}, 400, "bad-request"),
        (
            {"json": {"proof": {"format": "evidence-proof/9"}, "sha256": "00" * 32}},
            422,
            "malformed-proof",
        ),
        (
            {"files": {"proof": (None, "not json"), "sha256": (None, "00" * 32)}},
            422,
            "malformed-proof",
        ),
        ({"files": {"sha256": (None, "00" * 32)}}, 400, "bad-request"),
        ({"content": b"{", "headers": {"content-type": "application/json"}}, 400, "bad-request"),
    ],
)
def test_verify_refuses_bad_input_with_a_problem(
    anchored: Api, kwargs: dict[str, Any], status: int, slug: str
) -> None:
    assert_problem(anchored.client.post("/api/v1/verify", **kwargs), status, slug)


def test_verify_refuses_a_proof_with_extra_or_mistyped_fields(anchored: Api) -> None:
    evidence_id, data = capture(anchored)
    proof = wait_anchored(anchored, evidence_id)
    digest = hashlib.sha256(data).hexdigest()
    for mutate in (
        lambda p: p["statement"].update(extra="x"),
        lambda p: p["statement"].update(size=float(p["statement"]["size"])),
        lambda p: p["merkle"].update(path=["00" * 32] * 65),
    ):
        bad = copy.deepcopy(proof)
        mutate(bad)
        response = anchored.client.post("/api/v1/verify", json={"proof": bad, "sha256": digest})
        assert_problem(response, 422, "malformed-proof")


def test_proof_before_anchoring_is_pending(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    services = anchored_services(tmp_path, request, "sqlite-local-embedded", anchor_worker=False)
    try:
        with running_api(services, "sqlite-local") as api:
            evidence_id, data = capture(api)
            proof = proof_of(api, evidence_id)
            assert proof["merkle"] is None and proof["anchor"] is None
            verdict = verify_via_api(api, proof, data)
            assert verdict["valid"] is False and verdict["failure"] == "leaf-mismatch"
            assert "fetch the proof again later" in verdict["steps"][1]["detail"]
            missing = api.client.get("/api/v1/evidence/01NOPE/proof", headers=api.auth())
            assert_problem(missing, 404, "not-found")
            assert_problem(
                api.client.get("/api/v1/batches/99", headers=api.auth()), 404, "not-found"
            )
            assert api.client.get(f"/api/v1/evidence/{evidence_id}/proof").status_code == 401
    finally:
        services.close()


def test_custody_tampering_after_anchoring_is_detected(anchored: Api) -> None:
    ids = [capture(anchored)[0] for _ in range(3)]
    for evidence_id in ids:
        wait_anchored(anchored, evidence_id)
    ok = anchored.client.get("/api/v1/custody/verify", headers=anchored.auth("auditor")).json()
    assert ok["valid"] is True and ok["anchored_heads_checked"] >= 1 and ok["chain_checked"]

    anchored.services.settings.anchor_worker = False
    last = max(b.custody_seq for b in batches(anchored))
    # Delete the tail: the hash chain alone still links, but the anchored head is gone.
    with anchored.services.engine.begin() as conn:
        conn.execute(text("DELETE FROM custodyevent WHERE seq >= :s"), {"s": last})
    broken = anchored.client.get("/api/v1/custody/verify", headers=anchored.auth("auditor")).json()
    assert broken["valid"] is False
    assert "events were deleted" in broken["reason"]


def test_a_rewritten_custody_tail_is_detected(anchored: Api) -> None:
    from evidence_service.custody.log import event_body
    from evidence_service.verify.custody import link_hash

    ids = [capture(anchored)[0] for _ in range(2)]
    for evidence_id in ids:
        wait_anchored(anchored, evidence_id)
    last_batch = batches(anchored)[-1]
    # Rewrite the anchored head event and recompute its hash: the chain of hashes is whole
    # again, but it no longer ends where the anchor says.
    with Session(anchored.services.engine) as session:
        event = session.exec(
            select(CustodyEvent).where(CustodyEvent.seq == last_batch.custody_seq)
        ).one()
        assert event.prev_hash is not None
        event.actor_id = "forged"
        event.hash = link_hash(event.prev_hash, event_body(event))
        session.add(event)
        session.commit()
    with anchored.services.engine.begin() as conn:
        conn.execute(text("DELETE FROM custodyevent WHERE seq > :s"), {"s": last_batch.custody_seq})
    broken = anchored.client.get("/api/v1/custody/verify", headers=anchored.auth("auditor")).json()
    assert broken["valid"] is False
    assert broken["reason"] == (
        f"event {last_batch.custody_seq} differs from the head anchored in batch {last_batch.id}"
    )


def test_every_leaf_is_anchored_once(anchored: Api) -> None:
    ids = [capture(anchored)[0] for _ in range(5)]
    for evidence_id in ids:
        wait_anchored(anchored, evidence_id)
    with Session(anchored.services.engine) as session:
        leaves = session.exec(select(AnchorLeaf)).all()
    assert all(leaf.batch_id is not None for leaf in leaves)
    assert sorted(leaf.evidence_id for leaf in leaves if leaf.evidence_id) == sorted(ids)
    assert all(b.status == BatchStatus.anchored for b in batches(anchored))


def _no_chain() -> AnchorChain:
    raise AssertionError("the test never opens the chain")


@pytest.mark.parametrize("interval, tick", [(5.0, 1.0), (0.5, 0.2), (0.05, 0.2), (3.0, 0.6)])
def test_the_lead_worker_asks_at_most_once_a_second(
    tmp_path: Path, interval: float, tick: float
) -> None:
    settings = Settings(data_dir=tmp_path, anchor_interval=interval)
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        worker = AnchorWorker(engine=engine, settings=settings, open_chain=_no_chain)
        assert worker.tick == pytest.approx(tick)
    finally:
        engine.dispose()
