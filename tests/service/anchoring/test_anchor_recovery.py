"""Nothing lost, nothing twice: chain outages, a crash between mining and recording, one leader."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlmodel import Session
from web3 import Web3

from chain.anchor_check import ANCHORED_TOPIC
from evidence_service.anchoring.batches import close_batch
from evidence_service.anchoring.chain_link import ensure_registry, open_anchor_chain
from evidence_service.anchoring.models import AnchorBatch, BatchStatus
from evidence_service.core.clock import utcnow
from evidence_service.services import Services
from tests.fixtures.service import running_api
from tests.service.anchoring.test_anchoring import capture
from tests.service.anchoring_helpers import (
    ANCHORED_BACKENDS,
    anchored_services,
    batches,
    proof_of,
    wait_anchored,
)


def anchored_logs_for(w3: Web3, contract: str, root_hex: str) -> list[object]:
    return list(
        w3.eth.get_logs(
            {
                "address": Web3.to_checksum_address(contract),
                "fromBlock": 0,
                "toBlock": "latest",
                "topics": ["0x" + ANCHORED_TOPIC.hex(), "0x" + root_hex],
            }
        )
    )


@pytest.mark.parametrize("param", ANCHORED_BACKENDS)
def test_a_root_mined_before_a_crash_is_recorded_not_sent_again(
    tmp_path: Path, request: pytest.FixtureRequest, param: str
) -> None:
    services = anchored_services(tmp_path, request, param, anchor_worker=False)
    try:
        with running_api(services, param.rsplit("-", 1)[0]) as api:
            evidence_id, _ = capture(api)
            batch = close_batch(services.engine, max_leaves=100, now=utcnow())
            assert batch is not None and batch.id is not None
            # The worker sent the anchor, it was mined, then the process died before recording.
            chain = open_anchor_chain(services.settings)
            try:
                ensure_registry(services.engine, chain, services.settings, now=utcnow())
                mined = chain.anchor(bytes.fromhex(batch.root), batch.tree_size, batch.id)
            finally:
                chain.close()
            worker = services.anchor_worker()
            try:
                assert worker.step() is True
                proof = proof_of(api, evidence_id)
                assert proof["anchor"]["tx_hash"] == mined.tx_hash
                assert proof["anchor"]["block_number"] == mined.block_number
                reader = services.chain_reader()
                assert reader is not None
                logs = anchored_logs_for(reader, mined.contract, batch.root)
                assert len(logs) == 1  # recognised via anchoredAt, not anchored twice
            finally:
                worker.release()
    finally:
        services.close()


@pytest.mark.parametrize("backend", ["sqlite-local", "postgres-minio"])
def test_only_one_worker_anchors_at_a_time(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    services = anchored_services(tmp_path, request, f"{backend}-embedded", anchor_worker=False)
    try:
        first, second = services.anchor_worker(), services.anchor_worker()
        try:
            assert first.step() is True
            assert second.step() is False  # stands by; did not open the chain
            assert services.chain_holder.get() is not None
            first.release()
            assert second.step() is True  # takes over
        finally:
            first.release()
            second.release()
    finally:
        services.close()


def test_a_stopped_node_loses_nothing(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    node = request.getfixturevalue("hardhat_node")
    services = anchored_services(
        tmp_path,
        request,
        "postgres-minio-hardhat",
        chain_timeout_seconds=1.0,
        anchor_interval=0.3,
    )
    try:
        with running_api(services, "postgres-minio") as api:
            before, _ = capture(api)
            wait_anchored(api, before)
            node.pause()
            try:
                during = [capture(api)[0] for _ in range(3)]
                deadline = time.monotonic() + 30
                while not any(b.attempts > 0 for b in batches(api)):
                    assert time.monotonic() < deadline, "the worker never tried"
                    time.sleep(0.1)
                stuck = [b for b in batches(api) if b.status == BatchStatus.closed]
                assert len(stuck) == 1  # no new batches pile up behind the unanchored one
                assert stuck[0].last_error
                assert all(proof_of(api, i)["anchor"] is None for i in during)
                after = capture(api)[0]  # captures keep working while the chain is down
            finally:
                node.resume()
            proofs = [wait_anchored(api, i, timeout=90) for i in [*during, after]]
            reader = services.chain_reader()
            assert reader is not None
            for batch in batches(api):
                assert batch.status == BatchStatus.anchored
                assert batch.contract is not None
                assert len(anchored_logs_for(reader, batch.contract, batch.root)) == 1
            assert all(p["anchor"]["block_number"] > 0 for p in proofs)
    finally:
        services.close()


SLOW_INTERVAL = 2.0


def test_worker_reports_an_unreachable_node_and_keeps_leaves(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from tests.fixtures.live_server import free_port

    services: Services = anchored_services(
        tmp_path,
        request,
        "sqlite-local-embedded",
        anchor_worker=False,
        chain_url=f"http://127.0.0.1:{free_port()}",
        chain_key="0x" + "11" * 32,
        chain_timeout_seconds=0.5,
        # long enough that a signed capture (the officer's first: a certificate is issued too)
        # on a loaded machine cannot already make the batch due before the first step
        anchor_interval=SLOW_INTERVAL,
    )
    try:
        with running_api(services, "sqlite-local") as api:
            evidence_id, _ = capture(api)
            worker = services.anchor_worker()
            try:
                assert worker.step() is True
                assert proof_of(api, evidence_id)["merkle"] is None  # not due yet: pending
                time.sleep(SLOW_INTERVAL + 0.1)
                assert worker.step() is True
                assert worker.last_error is not None and "chain" in worker.last_error
                with Session(services.engine) as session:
                    batch = session.get(AnchorBatch, 1)
                # the tree is built (proofs get their path) but nothing claims an anchor
                assert batch is not None and batch.status == BatchStatus.closed
                proof = proof_of(api, evidence_id)
                assert proof["merkle"] is not None and proof["anchor"] is None
            finally:
                worker.release()
    finally:
        services.close()
