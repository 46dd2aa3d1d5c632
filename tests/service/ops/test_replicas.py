"""Three `evidence serve` replicas and two `evidence worker`s on one PostgreSQL database, one S3
bucket (moto) and one Hardhat node, as a province-wide deployment runs them.

Clients spread small captures and resumable uploads round-robin over the replicas (an upload's
chunks land on different replicas) and retry what fails on the next replica with the same
Idempotency-Key. One replica is SIGKILLed mid-run and restarted; the worker holding the anchoring
lock is SIGKILLed and the standby takes over (the takeover time is printed). At the end: every
capture is exactly one row, one object and one leaf; every batch root is anchored exactly once
(the registry's Anchored events); custody verifies; every proof verifies against the node, also
through each replica's /chain/rpc. Secrets reach the processes as files (EVIDENCE_*_FILE).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy import Connection, create_engine, func, text
from sqlmodel import Session, col, select
from web3 import HTTPProvider, Web3

from chain.artifact import ANCHORED_TOPIC
from evidence_service.anchoring.models import AnchorBatch, AnchorLeaf, ChainDeployment
from evidence_service.capture.models import DerivedObject, Evidence
from evidence_service.capture.reaper import reap
from evidence_service.core.config import Settings
from evidence_service.demo import seed_demo
from evidence_service.services import build_services
from evidence_service.verify.audit import load_pins
from evidence_service.verify.proof import ProofDocument
from evidence_service.verify.proof_steps import Content, proof_verdict
from tests import samples
from tests.fixtures.hardhat import HardhatNode
from tests.fixtures.live_server import LiveServer, free_port
from tests.fixtures.s3 import S3Endpoint

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
CLIENTS = 4
SMALL_PER_CLIENT = 10
UPLOADS_PER_CLIENT = 1
REQUEST_TIMEOUT = 30.0
#: Processes start slowly on a loaded 2-core machine (imports of web3 and py-evm).
STARTUP_SECONDS = 240.0
#: A replica killed mid-request, or restarting: move on to the next one.
RETRY_STATUSES = {502, 503, 504}


@dataclass
class Cluster:
    replicas: list[LiveServer]
    workers: list[subprocess.Popen[bytes] | None]
    worker_env: dict[str, str]
    worker_logs: list[Path]
    token: str
    auditor: str
    settings: Settings
    failovers: Counter[str] = field(default_factory=Counter)  # requests sent again elsewhere

    def auth(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def request(self, turn: int, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send to replica ``turn`` (round-robin); a replica that is down or answers 5xx while
        dying is skipped, and the same request (same Idempotency-Key) goes to the next."""
        for attempt in range(60):
            server = self.replicas[(turn + attempt) % len(self.replicas)]
            try:
                response = httpx.request(
                    method, server.url + path, timeout=REQUEST_TIMEOUT, **kwargs
                )
            except httpx.TransportError:
                self.failovers[method] += 1
                time.sleep(0.2)
                continue
            if response.status_code not in RETRY_STATUSES:
                return response
            self.failovers[method] += 1
            time.sleep(0.2)
        raise AssertionError(f"{method} {path}: no replica answered")

    def start_worker(self, index: int) -> None:
        with self.worker_logs[index].open("ab") as log:
            self.workers[index] = subprocess.Popen(
                [sys.executable, "-m", "evidence_service.cli", "worker"],
                env={**self.worker_env, "EVIDENCE_DATA_DIR": str(self.worker_logs[index].parent)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )


@dataclass
class Sent:
    """What the clients captured: one entry per capture, by content digest."""

    ids: dict[str, str] = field(default_factory=dict)  # sha256 -> evidence id
    sizes: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, data: bytes, evidence_id: str) -> None:
        digest = hashlib.sha256(data).hexdigest()
        with self.lock:
            assert digest not in self.ids, "each capture is sent once"
            self.ids[digest] = evidence_id
            self.sizes[digest] = len(data)


def secret_files(directory: Path, values: dict[str, str]) -> dict[str, str]:
    """Each secret in a mode-0600 file, as compose `secrets:` mount them; the *_FILE variables."""
    directory.mkdir(mode=0o700)
    env: dict[str, str] = {}
    for name, value in values.items():
        path = directory / name
        path.write_text(value + "\n")
        path.chmod(0o600)
        env[f"EVIDENCE_{name.upper()}_FILE"] = str(path)
    return env


@pytest.fixture
def cluster(
    tmp_path: Path,
    postgres_url: str,
    s3_endpoint: S3Endpoint,
    hardhat_node: HardhatNode,
) -> Iterator[Cluster]:
    secrets = {
        "key_passphrase": uuid.uuid4().hex,
        "pii_secret": uuid.uuid4().hex * 2,
        "chain_key": "0x" + hardhat_node.private_keys[1].hex(),
        "minio_secret_key": s3_endpoint.secret_key,
    }
    settings = Settings(
        data_dir=tmp_path / "seed",
        db_url=postgres_url,
        object_store="minio",
        minio_endpoint=s3_endpoint.endpoint,
        minio_access_key=s3_endpoint.access_key,
        minio_bucket=f"ev-{uuid.uuid4().hex[:20]}",
        chain_url=hardhat_node.url,
        anchor_worker=False,
        anchor_interval=1.0,
        rate_limit_public="100000/minute",
        **secrets,  # type: ignore[arg-type]
    )
    services = build_services(settings)  # the schema, the bucket
    seeded = seed_demo(services.engine, settings.data_dir, token_ttl_days=1, pki=services.pki)
    services.close()
    users = {u["role"]: u["token"] for u in reversed(seeded["users"])}
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENCE_")}
    plain = {
        k: v
        for k, v in settings.as_env().items()
        if k.removeprefix("EVIDENCE_").lower() not in secrets
    }
    env = {**inherited, **plain, **secret_files(tmp_path / "secrets", secrets)}
    replicas: list[LiveServer] = []
    for index in range(3):
        data_dir = tmp_path / f"api-{index + 1}"  # each replica its own: nothing shared there
        server_env = {**env, "EVIDENCE_DATA_DIR": str(data_dir)}
        replicas.append(LiveServer(server_env, free_port(), tmp_path / f"api-{index + 1}.log"))
    worker_logs = []
    for index in range(2):
        (tmp_path / f"worker-{index + 1}").mkdir()
        worker_logs.append(tmp_path / f"worker-{index + 1}" / "worker.log")
    built = Cluster(
        replicas, [None, None], env, worker_logs, users["officer"], users["auditor"], settings
    )
    try:
        for index in range(2):
            built.start_worker(index)
        start_replicas(replicas)
        yield built
    finally:
        for replica in replicas:
            replica.stop()
        for proc in built.workers:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


def start_replicas(replicas: list[LiveServer], timeout: float = STARTUP_SECONDS) -> None:
    """Start them all at once and wait until each answers /healthz."""
    for server in replicas:
        with server.log.open("ab") as log:
            server.proc = subprocess.Popen(
                [sys.executable, "-m", "evidence_service.cli", "serve", "--port", str(server.port)],
                env=server.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def healthy(server: LiveServer) -> bool:
        assert server.proc is not None
        if server.proc.poll() is not None:
            raise AssertionError(f"a replica exited: {server.log.read_text()[-2000:]}")
        try:
            return httpx.get(server.url + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for("the replicas to start", lambda: all(healthy(s) for s in replicas), timeout, 0.2)


# -- the clients -------------------------------------------------------------------------------
def capture_small(cluster: Cluster, turn: int, data: bytes, key: str) -> str:
    response = cluster.request(
        turn,
        "POST",
        "/api/v1/evidence",
        data={"port": "documentary", "metadata": json.dumps({"title": key})},
        files={"file": ("doc.pdf", data, "application/pdf")},
        headers=cluster.auth(**{"Idempotency-Key": key}),
    )
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


def video(size: int) -> bytes:
    head = samples.mp4(64 * 1024)
    return head + os.urandom(size - len(head))


def capture_resumable(cluster: Cluster, turn: int, data: bytes, key: str) -> str:
    """Chunks of 5 MiB, each to the next replica; a lost chunk resumes at HEAD's offset."""
    created = cluster.request(
        turn,
        "POST",
        "/api/v1/uploads",
        json={
            "port": "remote_video",
            "metadata": {"title": key},
            "filename": "call.mp4",
            "total_size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        headers=cluster.auth(**{"Idempotency-Key": key}),
    )
    assert created.status_code == 201, created.text
    path = f"/api/v1/uploads/{created.json()['id']}"
    offset = 0
    while offset < len(data):
        turn += 1
        chunk = data[offset : offset + 5 * MiB]
        response = cluster.request(
            turn,
            "PATCH",
            path,
            content=chunk,
            headers=cluster.auth(
                **{
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                }
            ),
        )
        if response.status_code == 200:
            offset = int(response.headers["upload-offset"])
        else:  # 409: another attempt of this chunk got there first; ask where to resume
            assert response.status_code == 409, response.text
            head = cluster.request(turn + 1, "HEAD", path, headers=cluster.auth())
            offset = int(head.headers["upload-offset"])
    deadline = time.monotonic() + 60
    while True:
        turn += 1
        done = cluster.request(
            turn,
            "POST",
            path + "/complete",
            headers=cluster.auth(**{"Idempotency-Key": key + "-complete"}),
        )
        if done.status_code in (200, 201):
            return str(done.json()["id"])
        # 409 "completing": a completion on a killed replica holds its claim until the lease
        # runs out; then this one takes it over.
        assert done.status_code == 409 and time.monotonic() < deadline, done.text
        time.sleep(1)


def run_client(cluster: Cluster, index: int, sent: Sent, progress: Counter[str]) -> None:
    turn = index
    for n in range(SMALL_PER_CLIENT + UPLOADS_PER_CLIENT):
        turn += 1
        key = f"client-{index}-{n}"
        if n == SMALL_PER_CLIENT // 2:
            data = video(10 * MiB + 100_000)
            evidence_id = capture_resumable(cluster, turn, data, key)
        else:
            data = samples.pdf() + os.urandom(100_000)
            evidence_id = capture_small(cluster, turn, data, key)
        sent.add(data, evidence_id)
        progress["done"] += 1


# -- what the database and the chain hold ------------------------------------------------------
def anchoring_lock_holder(cluster: Cluster) -> int | None:
    """The index of the worker whose connection holds the anchoring advisory lock."""
    with database(cluster) as conn:
        ports = conn.execute(
            text(
                "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ).scalars()
        held = set(ports)
    for index, proc in enumerate(cluster.workers):
        if proc is None or proc.poll() is not None:
            continue
        local = {c.laddr.port for c in psutil.Process(proc.pid).net_connections(kind="tcp")}
        if local & held:
            return index
    return None


@contextmanager
def database(cluster: Cluster) -> Iterator[Connection]:
    """A short-lived connection to the cluster's database."""
    engine = create_engine(cluster.settings.resolved_db_url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def wait_for(what: str, check: Callable[[], bool], timeout: float, step: float = 0.05) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(step)
    return time.monotonic() - started


def max_anchored_batch(session: Session) -> int:
    anchored = session.exec(
        select(func.max(AnchorBatch.id)).where(col(AnchorBatch.tx_hash).is_not(None))
    ).one()
    return int(anchored or 0)


def test_replicas_lose_and_duplicate_nothing(cluster: Cluster, hardhat_node: HardhatNode) -> None:
    started = time.monotonic()
    services = build_services(cluster.settings)  # the test's own view of the database and bucket
    sent, progress = Sent(), Counter[str]()
    errors: list[BaseException] = []

    def client(index: int) -> None:
        try:
            run_client(cluster, index, sent, progress)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    total = CLIENTS * (SMALL_PER_CLIENT + UPLOADS_PER_CLIENT)

    # A replica dies mid-run (SIGKILL: no goodbye) and comes back.
    wait_for("a third of the captures", lambda: progress["done"] >= total // 3, 120)
    cluster.replicas[1].kill()
    time.sleep(1.5)
    start_replicas([cluster.replicas[1]])

    # The worker holding the anchoring lock dies; the standby takes over.
    holder = None

    def found_holder() -> bool:
        nonlocal holder
        holder = anchoring_lock_holder(cluster)
        return holder is not None

    wait_for("a worker to hold the lock", found_holder, 60, step=0.2)
    assert holder is not None
    wait_for("an anchor by the first worker", lambda: _anchored_after(services, 0), 60)
    standby = 1 - holder
    victim = cluster.workers[holder]
    assert victim is not None
    killed_at = time.monotonic()
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    with Session(services.engine) as session:
        anchored_before = max_anchored_batch(session)
    lock_taken = wait_for(
        "the standby to take the lock", lambda: anchoring_lock_holder(cluster) == standby, 30
    )
    probe = samples.pdf() + os.urandom(1000)  # something to anchor, should the clients be done
    sent.add(probe, capture_small(cluster, 0, probe, "takeover-probe"))
    wait_for("the standby's first anchor", lambda: _anchored_after(services, anchored_before), 60)
    first_anchor = time.monotonic() - killed_at
    print(
        f"\nworker takeover: lock taken {lock_taken:.2f} s after SIGKILL, "
        f"first anchor by the standby {first_anchor:.2f} s after SIGKILL"
    )
    cluster.start_worker(holder)  # back, as the standby now

    for thread in threads:
        thread.join(timeout=240)
    assert not errors, errors
    assert len(sent.ids) == total + 1  # and the probe

    # Everything anchored: no pending leaf, no batch waiting.
    def all_anchored() -> bool:
        with Session(services.engine) as session:
            pending = session.exec(
                select(func.count())
                .select_from(AnchorLeaf)
                .where(col(AnchorLeaf.batch_id).is_(None))
            ).one()
            waiting = session.exec(
                select(func.count())
                .select_from(AnchorBatch)
                .where(col(AnchorBatch.tx_hash).is_(None))
            ).one()
        return pending == 0 and waiting == 0

    wait_for("every leaf anchored", all_anchored, 90, step=0.3)

    # What a killed request left half-done (an intake without its row) is the reaper's.
    reap(services.ingestor, temp_ttl=timedelta(0))
    with Session(services.engine) as session:
        rows = session.exec(select(Evidence)).all()
        derived = session.exec(select(DerivedObject)).all()
        leaves = session.exec(select(AnchorLeaf).where(col(AnchorLeaf.evidence_id).is_not(None)))
        leaf_of = Counter(leaf.evidence_id for leaf in leaves)
        batches = session.exec(select(AnchorBatch)).all()
        deployment = session.exec(select(ChainDeployment)).one()
    # One row per capture, the one the client was given; one leaf each, in an anchored batch.
    assert sorted(r.sha256 for r in rows) == sorted(sent.ids)
    assert {r.sha256: r.id for r in rows} == sent.ids
    assert all(r.finalized for r in rows)
    assert leaf_of == Counter({r.id: 1 for r in rows})
    # One object per capture (plus its derived files), holding exactly its bytes.
    keys = {key for key, _ in services.store.list_keys("evidence/")}
    assert keys == {r.object_key for r in rows} | {d.object_key for d in derived}
    assert not list(services.store.list_keys("tmp/"))
    for row in rows:
        digest = hashlib.sha256()
        for chunk in services.store.get(row.object_key):
            digest.update(chunk)
        assert digest.hexdigest() == row.sha256 and row.size == sent.sizes[row.sha256]
    # Each batch root anchored exactly once, by the registry's own events.
    logs = hardhat_node.rpc(
        "eth_getLogs",
        [
            {
                "address": deployment.contract,
                "fromBlock": "0x0",
                "toBlock": "latest",
                "topics": ["0x" + ANCHORED_TOPIC.hex()],
            }
        ],
    )
    on_chain = Counter(log["topics"][1].removeprefix("0x") for log in logs)
    assert on_chain == Counter(b.root for b in batches)
    assert all(b.tx_hash for b in batches)

    # Custody verifies (the log's integration by the worker may lag a moment behind).
    def custody_valid() -> bool:
        answer = cluster.request(
            0,
            "GET",
            "/api/v1/custody/verify",
            headers={"Authorization": f"Bearer {cluster.auditor}"},
        )
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["valid"])

    wait_for("custody to verify", custody_valid, 30, step=0.5)

    # Every proof verifies with the verifier, against the node and through each replica's relay.
    trust = cluster.request(0, "GET", "/api/v1/trust").json()
    trust_file = Path(cluster.replicas[0].log).with_name("trust.json")
    trust_file.write_text(json.dumps(trust))
    pins = load_pins(trust_file, None, None)
    assert pins.contracts == {deployment.contract}
    readers = [Web3(HTTPProvider(hardhat_node.url))] + [
        Web3(HTTPProvider(r.url + "/api/v1/chain/rpc")) for r in cluster.replicas
    ]
    for n, row in enumerate(rows):
        proof = cluster.request(
            n, "GET", f"/api/v1/evidence/{row.id}/proof", headers=cluster.auth()
        )
        assert proof.status_code == 200, proof.text
        verdict = proof_verdict(
            ProofDocument.from_json(proof.content),
            Content(row.sha256),
            w3=readers[n % len(readers)],
            pins=pins,
        )
        assert verdict.valid, verdict.as_json()

    # /chain/rpc answers on each replica: reads relayed, writes refused.
    for replica in cluster.replicas:
        answer = httpx.post(
            replica.url + "/api/v1/chain/rpc",
            json=[
                {"jsonrpc": "2.0", "id": "a", "method": "eth_chainId"},
                {"jsonrpc": "2.0", "id": "b", "method": "eth_sendRawTransaction", "params": []},
            ],
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        chain_id, write = answer.json()
        assert chain_id == {"jsonrpc": "2.0", "id": "a", "result": hex(hardhat_node.chain_id)}
        assert write["id"] == "b" and write["error"]["code"] == -32601
    services.close()
    print(
        f"replicas test: {len(rows)} captures ({CLIENTS * UPLOADS_PER_CLIENT} resumable) in "
        f"{time.monotonic() - started:.1f} s; requests sent again to another replica: "
        f"{dict(cluster.failovers)}"
    )


def _anchored_after(services: Any, batch_id: int) -> bool:
    with Session(services.engine) as session:
        return max_anchored_batch(session) > batch_id
