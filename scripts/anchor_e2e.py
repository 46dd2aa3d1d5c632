"""Parts (d) and (e) of scripts/bench_anchor.py: anchoring end to end on a real chain.

(d) --statements statements (default 100,000) are written as fast as the database takes them
    (evidence rows + pending leaves, as the capture transaction writes them) while the anchoring
    worker runs; measured: seconds from the last statement's commit to every statement's proof
    carrying an anchor (goal <= interval + 2 s), batches, gas per item; a sample of proofs is
    verified against the chain.
(e) single items captured through a real `evidence serve` at 50/s for --e-seconds (default 60);
    per item, anchor latency = the time its batch's anchor was recorded - its receipt time;
    p50/p95 reported (with the default 5 s interval a batch closes ≤ 5 s after its first item).

Chains: `embedded` (SQLite + the embedded py-evm chain, the default of `evidence serve`) and
`hardhat` (PostgreSQL + a Hardhat 3 node on loopback started here via scripts/hardhat_node).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import func, insert, select
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evidence_service.anchoring.models import (  # noqa: E402
    AnchorBatch,
    AnchorLeaf,
    BatchStatus,
    ChainDeployment,
    LeafKind,
)
from evidence_service.anchoring.proofs import build_proof  # noqa: E402
from evidence_service.capture.models import Evidence  # noqa: E402
from evidence_service.core.clock import rfc3339, utcnow  # noqa: E402
from evidence_service.core.config import Settings  # noqa: E402
from evidence_service.demo import seed_demo  # noqa: E402
from evidence_service.services import build_services  # noqa: E402
from evidence_service.verify.proof import ProofDocument  # noqa: E402
from evidence_service.verify.proof_steps import Content, proof_verdict  # noqa: E402
from evidence_service.verify.statement import CaptureStatement  # noqa: E402

HARDHAT_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # dev account 0
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CHUNK = 2000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def hardhat_node() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tempfile.mktemp(prefix="bench-hardhat-", suffix=".log"), "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "hardhat_node"), str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
                if httpx.post(url, json=body, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"Hardhat did not start; see {log.name}")
            time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    name = f"bench_anchor_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@contextlib.contextmanager
def chain_settings(chain: str, tmp: Path, **extra: Any) -> Iterator[Settings]:
    values: dict[str, Any] = {"data_dir": tmp / "data", "anchor_worker": False, **extra}
    if chain == "embedded":
        yield Settings(**values)
        return
    with hardhat_node() as url, postgres_database() as db_url:
        yield Settings(**values, chain_url=url, chain_key=HARDHAT_KEY, db_url=db_url)


def synthetic_rows(n: int, start: int, officer: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    now = utcnow()
    evidence, leaves = [], []
    for i in range(start, start + n):
        evidence_id = f"01BENCH{i:019d}"
        digest = hashlib.sha256(b"bench item %d" % i).hexdigest()
        statement = CaptureStatement(
            evidence_id=evidence_id,
            port="electronic",
            sha256=digest,
            sm3=digest,
            size=12 + len(str(i)),
            media_type="application/octet-stream",
            captured_at=rfc3339(now),
            received_at=rfc3339(now),
            officer_id=officer["id"],
            department_id=officer["department_id"],
            metadata_sha256="00" * 32,
        )
        evidence.append(
            {
                "id": evidence_id,
                "port": "electronic",
                "title": f"bench {i}",
                "description": "",
                "captured_at": now,
                "received_at": now,
                "officer_id": officer["id"],
                "department_id": officer["department_id"],
                "tags": [],
                "capture_metadata": {},
                "metadata_sha256": "00" * 32,
                "media_type": "application/octet-stream",
                "size": statement.size,
                "sha256": digest,
                "sm3": digest,
                "extracted": {},
                "statement": statement.as_json(),
                "statement_sha256": statement.sha256_hex(),
                "object_key": f"evidence/bench/{evidence_id}",
                "finalized": True,
            }
        )
        leaves.append(
            {
                "kind": LeafKind.statement,
                "evidence_id": evidence_id,
                "leaf_hash": statement.leaf_hash().hex(),
                "created_at": now,
            }
        )
    return evidence, leaves


def anchored_statements(session: Session) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(AnchorLeaf)
            .join(AnchorBatch, AnchorBatch.id == AnchorLeaf.batch_id)  # type: ignore[arg-type]
            .where(
                AnchorLeaf.kind == LeafKind.statement, AnchorBatch.status == BatchStatus.anchored
            )
        ).scalar_one()
    )


def run_d(chain: str, n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, chain_settings(chain, Path(tmp)) as settings:
        services = build_services(settings)
        seeded = seed_demo(services.engine, settings.data_dir)
        officer = next(u for u in seeded["users"] if u["role"] == "officer")
        worker = services.anchor_worker()
        worker.start()
        try:
            while True:  # the registry is deployed before the clock starts
                with Session(services.engine) as session:
                    if session.execute(select(func.count()).select_from(ChainDeployment)).scalar():
                        break
                time.sleep(0.05)
            started = time.perf_counter()
            for start in range(0, n, CHUNK):
                rows, leaves = synthetic_rows(min(CHUNK, n - start), start, officer)
                with services.engine.begin() as conn:
                    conn.execute(insert(Evidence), rows)
                    conn.execute(insert(AnchorLeaf), leaves)
            last = time.perf_counter()
            while True:
                with Session(services.engine) as session:
                    if anchored_statements(session) == n:
                        break
                time.sleep(0.05)
            done = time.perf_counter()
            with Session(services.engine) as session:
                batches = session.execute(select(AnchorBatch)).scalars().all()
                sample = [f"01BENCH{i:019d}" for i in range(0, n, max(1, n // 50))]
                items = [session.get(Evidence, i) for i in sample]
            w3 = services.chain_reader()
            valid = 0
            for item in items:
                assert item is not None
                proof = ProofDocument.from_json(build_proof(services.engine, item, services.trees))
                valid += proof_verdict(proof, Content(item.sha256, item.size), w3=w3).valid
        finally:
            worker.stop()
            services.close()
    gas = sum(b.gas_used or 0 for b in batches)
    latency = done - last
    interval = settings.anchor_interval
    print(
        f"    {chain:<8}: {n:,} statements written in {last - started:.1f} s; all anchored "
        f"{latency:.2f} s after the last (goal <= {interval + 2:.0f} s); {len(batches)} batches "
        f"(max {max(b.tree_size for b in batches):,} leaves); gas {gas:,} = "
        f"{gas / n:.2f} per item; sampled proofs valid {valid}/{len(items)}"
    )
    return {
        "latency_s": latency,
        "batches": len(batches),
        "gas_per_item": gas / n,
        "goals": {
            f"(d) {chain}: anchored <= interval + 2 s after the last statement": latency
            <= interval + 2,
            f"(d) {chain}: sampled proofs verify": valid == len(items),
        },
    }


def run_e(chain: str, seconds: float, rate: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        chain_settings(chain, Path(tmp), anchor_worker=True) as settings,
    ):
        services = build_services(settings)
        seeded = seed_demo(services.engine, settings.data_dir)
        services.close()
        token = next(u for u in seeded["users"] if u["role"] == "officer")["token"]
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENCE_")}
        env.update(settings.as_env())
        env["EVIDENCE_ANCHOR_WORKER"] = "true"
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "evidence_service.cli", "serve", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url + "/api/v1/trust").json()["contract"]:
                        break
                except (httpx.TransportError, ValueError):
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)
            count = int(seconds * rate)
            late = 0
            with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
                start = time.monotonic()
                for i in range(count):
                    pause = start + i / rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    else:
                        late += 1
                    response = client.post(
                        url + "/api/v1/evidence",
                        data={"port": "electronic", "metadata": '{"title":"latency"}'},
                        files={"file": ("reading.bin", os.urandom(1024))},
                    )
                    response.raise_for_status()
                sent_s = time.monotonic() - start
            services = build_services(settings)
            try:
                wait_until = time.monotonic() + settings.anchor_interval + 60
                while True:
                    with Session(services.engine) as session:
                        if anchored_statements(session) == count:
                            break
                    if time.monotonic() > wait_until:
                        raise SystemExit("not everything was anchored in time")
                    time.sleep(0.2)
                with Session(services.engine) as session:
                    pairs = session.execute(
                        select(Evidence.received_at, AnchorBatch.anchored_at)
                        .join(AnchorLeaf, AnchorLeaf.evidence_id == Evidence.id)  # type: ignore[arg-type]
                        .join(AnchorBatch, AnchorBatch.id == AnchorLeaf.batch_id)  # type: ignore[arg-type]
                    ).all()
            finally:
                services.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies = sorted((anchored - received) / timedelta(seconds=1) for received, anchored in pairs)
    p50 = statistics.median(latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"    {chain:<8}: {count} items at {count / sent_s:.1f}/s over {sent_s:.0f} s "
        f"({late} sent late); anchor latency p50 {p50:.2f} s, p95 {p95:.2f} s, "
        f"max {latencies[-1]:.2f} s (interval {settings.anchor_interval:.0f} s)"
    )
    return {"p50_s": p50, "p95_s": p95, "goals": {}}
