#!/usr/bin/env python3
"""Intake benchmark: our HTTP server vs the direct path to the same store, in the same run.

(a) one large upload through `evidence serve` into MinioStore (moto S3 on loopback) vs the minio
    client's direct put_object of the same bytes to the same endpoint: throughput ratio (goal
    >= 0.8) and the server's peak RSS growth (goal <= 64 MiB);
(b) the same into LocalStore vs a plain local write computing SHA-256 + SM3 in one pass with the
    same Digester the store uses (goal >= 0.7: the ratio measures HTTP + framework overhead);
(c) many 100 KB `electronic` captures from concurrent clients, on SQLite and on PostgreSQL (each
    + LocalStore, rate limits off), against a minimal FastAPI endpoint in the same run that parses
    the same multipart form, hashes the file, writes + fsyncs it and inserts one row with a
    synchronous commit in its own database: captures/s, p50/p99 and the ratio (goal >= 0.5).

Usage: python scripts/bench_ingest.py [--size-mib 1024] [--small 2000] [--clients 8]
           [--only a|b|c] [--db sqlite|postgresql] [--workers N] [--rounds 4]
           [--against TREE] [--separate-worker]

``--workers N`` runs (c) with N server processes on both sides: the baseline under uvicorn's
workers and ``evidence serve`` with ``EVIDENCE_WORKERS=N``. In (c) both servers stay up and take
turns for ``--rounds`` rounds (2,000 captures: 500 a round each); the ratio printed is the
median of the rounds' ratios, so a machine whose speed drifts during the run (a noisy neighbour,
CPU steal) skews both sides alike. ``--against TREE`` adds the service of another source tree
(``git worktree add TREE <commit>``) to the turns and prints this tree's captures/s and CPU per
capture against it, round by round: how to measure a change when the machine's speed drifts
more between two runs than the change moves. ``--separate-worker`` runs each service of (c)
as docker-compose.yml deploys its API replicas: without the anchoring worker in the process
(``EVIDENCE_ANCHOR_WORKER=false``), beside an ``evidence worker`` that anchors and chains the
custody events; the worker's CPU counts as the service's.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import psutil
import psycopg
from fastapi import FastAPI, Form, UploadFile
from minio import Minio
from pydantic import SecretStr
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, event, insert

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
            log = getattr(proc, "log_path", None)
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            raise SystemExit(f"process exited early: {proc.args}\n{tail}")
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
    def __init__(self, env: dict[str, str], data_dir: Path, tree: Path = ROOT) -> None:
        # ``python -m`` in ``tree`` runs the service of that source tree
        serve = ["-m", "evidence_service.cli", "serve", "--port"]
        self._start(lambda port: [*serve, str(port)], env, data_dir, tree)

    def _start(
        self,
        arguments: Callable[[int], list[str]],
        env: dict[str, str] | None,
        data_dir: Path,
        cwd: Path,
    ) -> None:
        """Run ``python <arguments(port)>`` on a free port, logging to ``data_dir``, and wait
        until it answers /healthz (``env`` None: this process's environment)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(data_dir / "server.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, *arguments(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
        self.proc.log_path = Path(self.log.name)  # type: ignore[attr-defined]
        wait_http(self.url + "/healthz", self.proc)
        self.ps = psutil.Process(self.proc.pid)
        self.companions: list[subprocess.Popen[bytes]] = []  # an `evidence worker` beside it

    def add_worker(self, env: dict[str, str], tree: Path = ROOT) -> None:
        """Start an ``evidence worker`` with the service's settings, as a deployment runs one
        beside its API replicas; its CPU counts as the server's."""
        self.companions.append(
            subprocess.Popen(
                [sys.executable, "-m", "evidence_service.cli", "worker"],
                env=env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                cwd=tree,
            )
        )

    def cpu_seconds(self) -> float:
        """CPU seconds of the server's processes and of any worker beside it."""
        return process_tree_cpu(self.ps) + sum(
            process_tree_cpu(psutil.Process(c.pid)) for c in self.companions if c.poll() is None
        )

    def stop(self) -> None:
        for process in [*self.companions, self.proc]:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        self.log.close()


def start_server(
    settings: Settings, tree: Path = ROOT, *, separate_worker: bool = False
) -> tuple[Server, str]:
    services = build_services(settings)
    token = next(
        u["token"]
        for u in seed_demo(services.engine, settings.data_dir)["users"]
        if u["role"] == "officer"
    )
    services.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENCE_")}
    env.update(settings.as_env())
    if not separate_worker:
        return Server(env, settings.data_dir, tree), token
    server = Server({**env, "EVIDENCE_ANCHOR_WORKER": "false"}, settings.data_dir, tree)
    server.add_worker(env, tree)
    return server, token


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


SMALL_BYTES = 100_000
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class SmallRun:
    """One server's run of many small uploads: the figures printed derive from these."""

    latencies: tuple[float, ...]  # seconds, one per upload
    elapsed: float  # seconds
    cpu_s: float = 0.0  # the server processes' CPU time over the run

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000

    @property
    def cpu_ms(self) -> float:
        """The server's CPU time per capture."""
        return self.cpu_s / len(self.latencies) * 1000

    @classmethod
    def merged(cls, runs: list[SmallRun]) -> SmallRun:
        """Several rounds as one run: their captures over their summed time."""
        return cls(
            latencies=tuple(t for r in runs for t in r.latencies),
            elapsed=sum(r.elapsed for r in runs),
            cpu_s=sum(r.cpu_s for r in runs),
        )


def settle(server: Server, *, busy: float = 0.05, timeout: float = 60.0) -> None:
    """Wait until the server's processes use under ``busy`` of a CPU over half a second: what
    the service's worker still had to do for the previous round (anchoring, chaining custody
    events) is not left to slow the next round, whichever side it is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = server.cpu_seconds()
        time.sleep(0.5)
        if server.cpu_seconds() - before < busy * 0.5:
            return


def timed_run(server: Server, path: str, token: str | None, count: int, clients: int) -> SmallRun:
    """``count`` uploads, with the server's CPU time per upload."""
    before = server.cpu_seconds()
    run = post_many(server.url, path, token, count, clients)
    used = server.cpu_seconds() - before
    return dataclasses.replace(run, cpu_s=used)


def process_tree_cpu(process: psutil.Process) -> float:
    """CPU seconds (user + system) of a server process and its worker processes."""
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def post_many(url: str, path: str, token: str | None, count: int, clients: int) -> SmallRun:
    """``count`` uploads of the ``electronic`` form (100 KB file) from ``clients`` threads."""
    payloads = [os.urandom(SMALL_BYTES) for _ in range(16)]
    latencies: list[float] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def worker(n: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            for i in range(n):
                data = payloads[i % len(payloads)]
                t0 = time.perf_counter()
                r = client.post(
                    path,
                    data={"port": "electronic", "metadata": json.dumps({"title": f"r{i}"})},
                    files={"file": ("r.bin", data, "application/octet-stream")},
                )
                dt = time.perf_counter() - t0
                if r.status_code != 201:
                    raise SystemExit(f"small upload to {path} failed: {r.status_code} {r.text}")
                with lock:
                    latencies.append(dt)

    per_client = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, per_client))
    return SmallRun(tuple(latencies), time.perf_counter() - start)


@contextlib.contextmanager
def scratch_database(kind: str, tmp: Path, name: str) -> Iterator[str]:
    """A fresh SQLAlchemy URL: a SQLite file under ``tmp``, or a PostgreSQL database created
    for the run and dropped after it."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / (name + '.db')}"
        return
    database = f"bench_{name}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# -- the baseline: a minimal endpoint doing the irreducible work of a capture ----------------------


def baseline_app(db_url: str, objects: Path) -> Any:
    """Parse the multipart form, hash the file (SHA-256 + SM3, one pass), write and fsync it
    (file and directory), insert one row with a synchronous commit, answer 201."""
    if db_url.startswith("sqlite"):
        engine = create_engine(
            db_url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8
        )

        @event.listens_for(engine, "connect")
        def _sqlite(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

    else:
        engine = create_engine(db_url, pool_size=10)

        @event.listens_for(engine, "connect")
        def _pg(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cur:
                cur.execute("SET synchronous_commit = on")
            dbapi_conn.commit()

    meta = MetaData()
    items = Table(
        "items",
        meta,
        Column("id", String(32), primary_key=True),
        Column("port", String(32)),
        Column("metadata", String),
        Column("sha256", String(64)),
        Column("sm3", String(64)),
        Column("size", Integer),
        Column("object_key", String(200)),
    )
    meta.create_all(engine)
    objects.mkdir(parents=True, exist_ok=True)
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/capture", status_code=201)
    def capture(
        port: Annotated[str, Form()], metadata: Annotated[str, Form()], file: UploadFile
    ) -> dict[str, Any]:
        json.loads(metadata)
        item_id = os.urandom(16).hex()
        final = objects / item_id
        temp = objects / f".{item_id}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with Digester() as digester:
            try:
                while block := file.file.read(BLOCK):
                    digester.update(block)
                    os.write(fd, block)
                os.fsync(fd)
            finally:
                os.close(fd)
            digests = digester.result()
        os.link(temp, final)
        os.unlink(temp)
        dir_fd = os.open(objects, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        with engine.begin() as conn:
            conn.execute(
                insert(items).values(
                    id=item_id,
                    port=port,
                    metadata=metadata,
                    sha256=digests.sha256,
                    sm3=digests.sm3,
                    size=digests.size,
                    object_key=item_id,
                )
            )
        return {"id": item_id, "sha256": digests.sha256, "size": digests.size}

    return app


def baseline_from_env() -> Any:
    """The baseline app in a uvicorn worker process (``--workers``)."""
    return baseline_app(os.environ["BENCH_DB_URL"], Path(os.environ["BENCH_OBJECTS"]))


def serve_baseline(port: int, db_url: str, objects: Path, workers: int) -> None:
    """The baseline's server process: uvicorn with the options ``evidence serve`` uses."""
    import uvicorn

    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "log_level": "info",
        "timeout_graceful_shutdown": 5,
    }
    if workers == 1:
        uvicorn.run(baseline_app(db_url, objects), **options)
        return
    baseline_app(db_url, objects)  # creates the table once, before the workers start
    os.environ.update(BENCH_DB_URL=db_url, BENCH_OBJECTS=str(objects))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    uvicorn.run("bench_ingest:baseline_from_env", factory=True, workers=workers, **options)


class BaselineServer(Server):
    def __init__(self, db_url: str, data_dir: Path, workers: int = 1) -> None:  # noqa: D107
        data_dir.mkdir(parents=True, exist_ok=True)
        script = str(Path(__file__).resolve())
        objects = data_dir / "objects"
        self._start(
            lambda port: [script, "--baseline-server", f"{port},{workers},{db_url},{objects}"],
            None,
            data_dir,
            ROOT,
        )


def bench_small(
    tmp: Path,
    count: int,
    clients: int,
    kind: str,
    workers: int = 1,
    rounds: int = 4,
    against: Path | None = None,
    separate_worker: bool = False,
) -> float:
    """Baseline and service up side by side, same payloads, clients and database kind; they take
    turns in ``rounds`` rounds (baseline first in odd rounds, service first in even ones), so a
    machine that slows down mid-run slows both. Returns the median of the rounds' ratios.

    ``against``: another source tree (a ``git worktree`` of an earlier commit) whose service
    takes its turns too, in its own database, so that a change is measured against the tree
    before it in the same run: the ratio of the two services per round is printed as well."""
    database = "PostgreSQL" if kind == "postgresql" else "SQLite"
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(scratch_database(kind, tmp, f"baseline_{kind}"))
        baseline = BaselineServer(url, tmp / f"baseline-{kind}", workers)
        stack.callback(baseline.stop)
        trees = {"service ": ROOT, **({"against ": against} if against is not None else {})}
        sides: dict[str, tuple[Server | BaselineServer, str, str | None]] = {
            "baseline": (baseline, "/capture", None)
        }
        for name, tree in trees.items():
            label = name.strip()
            url = stack.enter_context(scratch_database(kind, tmp, f"{label}_{kind}"))
            settings = Settings(
                data_dir=tmp / f"small-{label}-{kind}",
                db_url=url,
                rate_limits=False,
                workers=workers,
                # a shared (explicit) database wants the secrets every replica would share
                key_passphrase=SecretStr(secrets.token_urlsafe(24)),
                pii_secret=SecretStr(secrets.token_urlsafe(24)),
            )
            service, token = start_server(settings, tree, separate_worker=separate_worker)
            stack.callback(service.stop)
            sides[name] = (service, "/api/v1/evidence", token)
        for server, path, key in sides.values():  # warm-up
            post_many(server.url, path, key, min(count, 50), clients)
        runs: dict[str, list[SmallRun]] = {name: [] for name in sides}
        per_round = [count // rounds + (1 if i < count % rounds else 0) for i in range(rounds)]
        for index, n in enumerate(per_round):
            order = list(sides) if index % 2 == 0 else list(reversed(sides))
            for name in order:
                server, path, key = sides[name]
                for other, _, _ in sides.values():
                    settle(other)
                runs[name].append(timed_run(server, path, key, n, clients))
    pairs = zip(runs["baseline"], runs["service "], strict=True)
    ratios = sorted(ours.rate / base.rate for base, ours in pairs)
    ratio = statistics.median(ratios)
    print(
        f"(c) {count} captures of {SMALL_BYTES // 1000} KB (electronic) from {clients} clients, "
        f"{database} + LocalStore, {workers} server process(es) on each side"
        f"{' (the service beside an `evidence worker`)' if separate_worker else ''}, "
        f"{rounds} alternating rounds"
    )
    for name, parts in runs.items():
        run = SmallRun.merged(parts)
        print(
            f"  {name} {run.rate:6.0f} captures/s   p50 {run.p50_ms:6.1f} ms   "
            f"p99 {run.p99_ms:6.1f} ms   server CPU {run.cpu_ms:5.1f} ms/capture   "
            f"total {run.elapsed:5.1f} s"
        )
    print(f"  ratio per round {' '.join(f'{r:.2f}' for r in ratios)} (sorted)")
    print(f"  ratio {ratio:.2f}, the median (goal >= 0.5) {'OK' if ratio >= 0.5 else 'MISSED'}")
    if against is not None:
        print(f"  against the service of {against}, in the same turns:")
        old_new = list(zip(runs["against "], runs["service "], strict=True))
        for what, of in (("captures/s", "rate"), ("server CPU per capture", "cpu_ms")):
            changes = sorted(getattr(new, of) / getattr(old, of) for old, new in old_new)
            print(
                f"    {what}, this tree / that one, per round: "
                f"{' '.join(f'{c:.2f}' for c in changes)} (sorted), median "
                f"{statistics.median(changes):.3f}"
            )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--only", choices=["a", "b", "c"], action="append")
    parser.add_argument(
        "--db", choices=["sqlite", "postgresql"], action="append", help="databases of (c)"
    )
    parser.add_argument("--workers", type=int, default=1, help="server processes of (c)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds of (c)")
    parser.add_argument(
        "--against", type=Path, help="(c): also run the service of this source tree, in turn"
    )
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="(c): the service without its in-process anchoring worker, beside an `evidence "
        "worker` process (whose CPU counts as the service's), as docker-compose.yml deploys it",
    )
    parser.add_argument("--baseline-server", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        port, workers, db_url, objects = args.baseline_server.split(",", 3)
        serve_baseline(int(port), db_url, Path(objects), int(workers))
        return
    total = args.size_mib * MiB
    only = set(args.only or ["a", "b", "c"])
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        if "a" in only:
            bench_minio(tmp, total)
        if "b" in only:
            bench_local(tmp, total)
        if "c" in only:
            for kind in args.db or ["sqlite", "postgresql"]:
                bench_small(
                    tmp,
                    args.small,
                    args.clients,
                    kind,
                    args.workers,
                    args.rounds,
                    args.against,
                    args.separate_worker,
                )


if __name__ == "__main__":
    main()
