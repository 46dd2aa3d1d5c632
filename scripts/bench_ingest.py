#!/usr/bin/env python3
"""Intake benchmark: our HTTP server vs the direct path to the same store, in the same run.

(a) one large upload through `evidence serve` into MinioStore (moto S3 on loopback) vs the minio
    client's direct put_object of the same bytes to the same endpoint: throughput ratio (goal
    >= 0.8) and the server's peak RSS growth (goal <= 64 MiB);
(b) the same into LocalStore vs a plain local write computing SHA-256 + SM3 in one pass with the
    same Digester the store uses (goal >= 0.7: the ratio measures HTTP + framework overhead);
(c) many 100 KB uploads from concurrent clients: uploads/s (goal >= 200/s) and p50/p99 latency.

Usage: python scripts/bench_ingest.py [--size-mib 1024] [--small 2000] [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
from minio import Minio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evidence_service.core.config import Settings  # noqa: E402
from evidence_service.demo import seed_demo  # noqa: E402
from evidence_service.services import build_services  # noqa: E402
from storage.digest import Digester  # noqa: E402

MiB = 1024 * 1024
BLOCK = MiB


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process exited early: {proc.args}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def media_stream(total: int) -> Iterator[bytes]:
    """An MP4 head followed by pseudo-random blocks (generated once, reused)."""
    head = bytearray(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")
    head += (total - len(head)).to_bytes(4, "big") + b"mdat"
    block = os.urandom(BLOCK)
    yield bytes(head)
    sent = len(head)
    while sent < total:
        n = min(BLOCK, total - sent)
        yield block[:n] if n < BLOCK else block
        sent += n


class Server:
    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(data_dir / "server.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "evidence_service.cli", "serve", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        wait_http(self.url + "/healthz", self.proc)
        self.ps = psutil.Process(self.proc.pid)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()


def start_server(settings: Settings) -> tuple[Server, str]:
    services = build_services(settings)
    token = next(
        u["token"]
        for u in seed_demo(services.engine, settings.data_dir)["users"]
        if u["role"] == "officer"
    )
    services.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENCE_")}
    return Server({**env, **settings.as_env()}, settings.data_dir), token


def upload_through_server(server: Server, token: str, total: int) -> tuple[float, int, dict]:
    boundary = "benchboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="port"\r\n\r\naudiovisual\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
        '{"title": "benchmark recording"}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from media_stream(total)
        yield tail

    baseline = server.ps.memory_info().rss
    peak = baseline
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, server.ps.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    response = httpx.post(
        server.url + "/api/v1/evidence",
        content=body(),
        timeout=3600,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + total + len(tail)),
        },
    )
    elapsed = time.perf_counter() - start
    stop.set()
    sampler.join()
    if response.status_code != 201:
        raise SystemExit(f"upload failed: {response.status_code} {response.text}")
    return elapsed, peak - baseline, response.json()


def report(name: str, ours: float, base: float, total: int, goal: float) -> float:
    ratio = base / ours
    print(
        f"  {name}: server {total / MiB / ours:8.1f} MiB/s ({ours:6.2f} s)   "
        f"baseline {total / MiB / base:8.1f} MiB/s ({base:6.2f} s)   "
        f"ratio {ratio:.2f} (goal >= {goal}) {'OK' if ratio >= goal else 'MISSED'}"
    )
    return ratio


def bench_minio(tmp: Path, total: int) -> None:
    port = free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}", moto)
        settings = Settings(
            data_dir=tmp / "minio-data",
            object_store="minio",
            minio_endpoint=f"127.0.0.1:{port}",
            minio_access_key="bench",
            minio_secret_key="bench-secret",
            minio_bucket="bench-evidence",
        )
        server, token = start_server(settings)
        try:
            ours, growth, body = upload_through_server(server, token, total)
        finally:
            server.stop()
        client = Minio(
            f"127.0.0.1:{port}", access_key="bench", secret_key="bench-secret", secure=False
        )
        client.make_bucket("bench-direct")

        class Reader:
            def __init__(self) -> None:
                self.it = media_stream(total)
                self.buf = b""

            def read(self, n: int = -1) -> bytes:
                while len(self.buf) < n or n < 0:
                    try:
                        self.buf += next(self.it)
                    except StopIteration:
                        break
                out, self.buf = (self.buf, b"") if n < 0 else (self.buf[:n], self.buf[n:])
                return out

        start = time.perf_counter()
        client.put_object("bench-direct", "direct", Reader(), length=-1, part_size=16 * MiB)
        base = time.perf_counter() - start
        print(f"(a) {total // MiB} MiB into MinioStore via moto S3 (sha256 {body['sha256'][:12]}…)")
        report("throughput", ours, base, total, 0.8)
        print(
            f"  server peak RSS growth: {growth / MiB:.1f} MiB (goal <= 64) "
            f"{'OK' if growth <= 64 * MiB else 'MISSED'}"
        )
    finally:
        moto.terminate()
        moto.wait(timeout=30)


def bench_local(tmp: Path, total: int) -> None:
    settings = Settings(data_dir=tmp / "local-data")
    server, token = start_server(settings)
    try:
        ours, growth, body = upload_through_server(server, token, total)
    finally:
        server.stop()
    target = tmp / "plain.bin"
    start = time.perf_counter()
    with Digester() as digester, open(target, "wb") as fh:
        for block in media_stream(total):
            digester.update(block)
            fh.write(block)
        fh.flush()
        os.fsync(fh.fileno())
        digests = digester.result()
    os.replace(target, tmp / "plain.final")
    base = time.perf_counter() - start
    assert digests.size == total
    print(f"(b) {total // MiB} MiB into LocalStore vs plain write + SHA-256 + SM3 in one pass")
    report("throughput", ours, base, total, 0.7)
    print(f"  server peak RSS growth: {growth / MiB:.1f} MiB")


def bench_small(tmp: Path, count: int, clients: int, size: int = 100_000) -> None:
    settings = Settings(data_dir=tmp / "small-data")
    server, token = start_server(settings)
    payloads = [os.urandom(size) for _ in range(16)]
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            for i in range(n):
                data = payloads[i % len(payloads)]
                t0 = time.perf_counter()
                r = client.post(
                    "/api/v1/evidence",
                    data={"port": "electronic", "metadata": json.dumps({"title": f"r{i}"})},
                    files={"file": ("r.bin", data, "application/octet-stream")},
                )
                dt = time.perf_counter() - t0
                if r.status_code != 201:
                    raise SystemExit(f"small upload failed: {r.status_code} {r.text}")
                with lock:
                    latencies.append(dt)

    try:
        per_client = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(worker, per_client))
        elapsed = time.perf_counter() - start
    finally:
        server.stop()
    latencies.sort()
    rate = count / elapsed
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    database = "PostgreSQL" if settings.resolved_db_url.startswith("postgresql") else "SQLite"
    print(
        f"(c) {count} uploads of {size // 1000} KB from {clients} clients "
        f"({database} + LocalStore, {settings.workers} worker process(es))"
    )
    print(
        f"  {rate:.0f} uploads/s (goal >= 200) {'OK' if rate >= 200 else 'MISSED'}   "
        f"p50 {p50:.1f} ms   p99 {p99:.1f} ms   total {elapsed:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--only", choices=["a", "b", "c"], action="append")
    args = parser.parse_args()
    total = args.size_mib * MiB
    only = set(args.only or ["a", "b", "c"])
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        if "a" in only:
            bench_minio(tmp, total)
        if "b" in only:
            bench_local(tmp, total)
        if "c" in only:
            bench_small(tmp, args.small, args.clients)


if __name__ == "__main__":
    main()
