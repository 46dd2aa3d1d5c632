#!/usr/bin/env python3
"""Evidence package benchmark: build and stream a court package, then verify it offline.

(small) --items items of --item-kb KB (default 1,000 × 100 KB): build (manifest, seal, the ZIP
        streamed to disk, report included) goal <= 5 s; offline verification goal <= 2 s
        excluding file hashing, which is printed apart.
(large) --large-items items of --large-mb MB (default 10 × 500 MB): the ZIP streams with flat
        memory (peak RSS while streaming minus RSS before, goal <= 64 MiB); verified offline.

Items are written through the ingestor and the store directly (not over HTTP: capture speed is
bench_ingest.py's subject), on SQLite + local disk with the embedded chain and its anchoring
worker, all under one temp dir that is deleted at the end. Officer statements are signed
(custodial key), so verification checks every signature.

Usage: python scripts/bench_package.py [--only small,large] [--items 1000] [--item-kb 100]
       [--large-items 10] [--large-mb 500] [--tmp DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, col, func, select  # noqa: E402

import evidence_service.app  # noqa: E402,F401  (the package route runs inside the app)
from evidence_service.access.identity import Actor  # noqa: E402
from evidence_service.access.models import Department, Officer  # noqa: E402
from evidence_service.access.trust import service_pins  # noqa: E402
from evidence_service.anchoring.models import AnchorBatch, AnchorLeaf, BatchStatus  # noqa: E402
from evidence_service.capture.metadata import CaptureMetadata  # noqa: E402
from evidence_service.capture.models import Evidence  # noqa: E402
from evidence_service.core.clock import rfc3339  # noqa: E402
from evidence_service.core.config import Settings  # noqa: E402
from evidence_service.core.ids import new_id  # noqa: E402
from evidence_service.demo import seed_demo  # noqa: E402
from evidence_service.services import Services, build_services  # noqa: E402
from evidence_service.transfer.packages import (  # noqa: E402
    build_manifest,
    manifest_digest,
    stream_package,
)
from evidence_service.verify.package import package_verdict  # noqa: E402

MiB = 1024 * 1024
CHUNK = MiB
RSS_GOAL = 64 * MiB


def item_chunks(n: int, size: int) -> Iterator[bytes]:
    """``size`` bytes unique to item ``n``, generated a chunk at a time (never held whole)."""
    block = os.urandom(CHUNK)
    sent = 0
    while sent < size:
        part = block[: min(CHUNK, size - sent)]
        yield b"%016d" % (n * 1_000_003 + sent) + part[16:]
        sent += len(part)


def capture(services: Services, actor: Actor, count: int, size: int) -> list[str]:
    ids = []
    for n in range(count):
        evidence_id = new_id()
        received = services.ingestor.receive(evidence_id, "electronic", item_chunks(n, size))
        services.ingestor.record(
            evidence_id=evidence_id,
            actor=actor,
            port_id="electronic",
            metadata=CaptureMetadata(title=f"bench item {n + 1}"),
            filename=f"item-{n + 1}.bin",
            received=received,
            declared_sha256=None,
            idempotency_key=None,
            route="bench",
        )
        ids.append(evidence_id)
    return ids


def wait_anchored(services: Services, ids: list[str], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(services.engine) as session:
            done = session.exec(
                select(func.count())
                .select_from(AnchorLeaf)
                .join(AnchorBatch, AnchorBatch.id == AnchorLeaf.batch_id)  # type: ignore[arg-type]
                .where(
                    col(AnchorLeaf.evidence_id).in_(ids),
                    AnchorBatch.status == BatchStatus.anchored,
                )
            ).one()
        if done == len(ids):
            return
        time.sleep(0.2)
    raise SystemExit("items were not anchored in time")


class RssSampler:
    """Peak resident memory of this process while a block runs (sampled every 20 ms)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.before = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self.before = self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def make_package(services: Services, ids: list[str], actor: Actor, out: Path) -> dict[str, Any]:
    """Manifest, seal and the streamed ZIP written to ``out``; the timings and memory."""
    started = time.perf_counter()
    with Session(services.engine) as session:
        sender = session.get(Department, actor.department_id)
        court = session.exec(select(Department).where(Department.code == "HZ-XHFY")).one()
        assert sender is not None
        transfer = {
            "id": new_id(),
            "sender": {"id": sender.id, "name": sender.name, "code": sender.code},
            "recipient": {"id": court.id, "name": court.name, "code": court.code},
            "case": None,
            "created_at": rfc3339(services.clock()),
            "created_by": actor.officer_id,
        }
        manifest = build_manifest(session, ids, transfer=transfer)
    manifest_at = time.perf_counter()
    seal = services.pki.seal_digest(
        sender.id, manifest_digest(manifest), actor_id=actor.officer_id
    ).as_json()
    sealed_at = time.perf_counter()
    chunks = 0
    with RssSampler() as rss, out.open("wb") as sink:
        for chunk in stream_package(
            services, manifest, seal, department_id=sender.id, actor_id=actor.officer_id
        ):
            sink.write(chunk)
            chunks += 1
    done = time.perf_counter()
    return {
        "manifest_s": round(manifest_at - started, 3),
        "seal_s": round(sealed_at - manifest_at, 3),
        "stream_s": round(done - sealed_at, 3),
        "build_s": round(done - started, 3),
        "zip_bytes": out.stat().st_size,
        "chunks": chunks,
        "rss_before_mib": round(rss.before / MiB, 1),
        "rss_peak_mib": round(rss.peak / MiB, 1),
        "rss_growth_mib": round((rss.peak - rss.before) / MiB, 1),
        "rss_growth": rss.peak - rss.before,
    }


def raw_copy(services: Services, ids: list[str], out: Path) -> float:
    """The baseline, in the same run: the items' bytes read from the store and written to one
    file with no ZIP, manifest or proofs — what streaming a package cannot beat."""
    with Session(services.engine) as session:
        keys = [
            e.object_key for e in session.exec(select(Evidence).where(col(Evidence.id).in_(ids)))
        ]
    started = time.perf_counter()
    with out.open("wb") as sink:
        for key in keys:
            for chunk in services.store.get(key):
                sink.write(chunk)
    elapsed = time.perf_counter() - started
    out.unlink()
    return elapsed


def with_baseline(built: dict[str, Any], baseline_s: float) -> dict[str, Any]:
    ratio = built["stream_s"] / baseline_s if baseline_s else float("nan")
    return {
        **built,
        "baseline_raw_copy_s": round(baseline_s, 3),
        "stream_vs_raw_copy": f"{ratio:.2f}x",
    }


def verify(services: Services, path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    verdict = package_verdict(path, w3=services.chain_reader(), pins=service_pins(services))
    total = time.perf_counter() - started
    if not verdict.valid:
        problems = [c.as_json() for c in verdict.problems()[:5]]
        raise SystemExit(f"the package did not verify: {json.dumps(problems, indent=2)}")
    return {
        "verify_s": round(total, 3),
        "hashing_s": round(verdict.hashing_seconds, 3),
        "checks_s": round(verdict.checking_seconds, 3),
        "hashed_mib": round(verdict.hashed_bytes / MiB, 1),
        "checks": len(verdict.checks),
    }


def part_small(
    services: Services, actor: Actor, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    started = time.perf_counter()
    ids = capture(services, actor, args.items, args.item_kb * 1024)
    captured = time.perf_counter() - started
    wait_anchored(services, ids)
    baseline = raw_copy(services, ids, work / "small.raw")
    built = with_baseline(make_package(services, ids, actor, work / "small.zip"), baseline)
    checked = verify(services, work / "small.zip")
    (work / "small.zip").unlink()
    return {
        "items": f"{args.items} × {args.item_kb} KB",
        "capture_s (ingestor, not HTTP)": round(captured, 2),
        **{k: v for k, v in built.items() if k != "rss_growth"},
        **checked,
        "goals": {
            f"build <= 5 s ({built['build_s']} s)": built["build_s"] <= 5,
            f"verify excluding hashing <= 2 s ({checked['checks_s']} s)": checked["checks_s"] <= 2,
        },
    }


def part_large(
    services: Services, actor: Actor, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    started = time.perf_counter()
    ids = capture(services, actor, args.large_items, args.large_mb * MiB)
    captured = time.perf_counter() - started
    wait_anchored(services, ids)
    baseline = raw_copy(services, ids, work / "large.raw")
    built = with_baseline(make_package(services, ids, actor, work / "large.zip"), baseline)
    checked = verify(services, work / "large.zip")
    (work / "large.zip").unlink()
    growth = built.pop("rss_growth")
    return {
        "items": f"{args.large_items} × {args.large_mb} MB",
        "capture_s (ingestor, not HTTP)": round(captured, 2),
        **built,
        **checked,
        "goals": {
            f"flat memory while streaming: RSS growth <= 64 MiB ({growth / MiB:.1f} MiB)": (
                growth <= RSS_GOAL
            ),
        },
    }


PARTS: dict[str, Callable[[Services, Actor, Path, argparse.Namespace], dict[str, Any]]] = {
    "small": part_small,
    "large": part_large,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="small,large")
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--item-kb", type=int, default=100)
    parser.add_argument("--large-items", type=int, default=10)
    parser.add_argument("--large-mb", type=int, default=500)
    parser.add_argument("--tmp", type=Path, default=None, help="where the temp dir goes")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-package-", dir=args.tmp))
    print(f"work dir {work} (deleted at the end); items written through the ingestor, not HTTP")
    missed = 0
    try:
        settings = Settings(data_dir=work / "data", anchor_worker=True)  # batches every 5 s
        services = build_services(settings)
        seeded = seed_demo(services.engine, settings.data_dir)
        user = next(u for u in seeded["users"] if u["role"] == "officer")
        with Session(services.engine) as session:
            officer = session.get(Officer, user["id"])
            assert officer is not None
            actor = Actor(officer.id, officer.department_id, officer.role, officer.name)
        services.pki.issue(officer.id)  # custodial key: statements are signed
        worker = services.anchor_worker()
        worker.start()
        try:
            for name in args.only.split(","):
                result = PARTS[name](services, actor, work, args)
                goals = result.pop("goals")
                print(f"\n[{name}]")
                for key, value in result.items():
                    print(f"  {key:<32} {value}")
                for goal, met in goals.items():
                    print(f"  goal {'MET ' if met else 'MISSED'} {goal}")
                    missed += not met
        finally:
            worker.stop()
            services.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'all goals met' if not missed else f'{missed} goal(s) missed'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
