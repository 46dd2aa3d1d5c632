#!/usr/bin/env python3
"""Custody log benchmark on PostgreSQL: appends vs plain inserts, the sequencer, the checks.

Runs in a database of its own on --dsn (created, and dropped at the end).

(a) appends through the project's own path — ``record_event``: one write transaction per
    event, as a request records one — with 1 and 8 writer threads, vs plain inserts of the
    same rows by the same threads, each in its own transaction (``INSERT`` through SQLAlchemy
    Core, no ORM, no custody code): appends/s and the ratio (goal >= 0.8 with 8 writers).
    For reference, the append as it was before the sequencer (custody lock, read the head,
    insert the chained row, in the same transaction) is measured too. Plain and append run
    twice each, in mirrored order, and the better run of each counts (the load drifts).
(b) the sequencer: --integrate pending events chained by ``integrate_pending``, events/s.
(c) with --verify-events N: a log of N chained events (precomputed and loaded with COPY) with
    an anchored head every --batch-every events, then the incremental check from a checkpoint
    near the end (``verify_custody``) and the full walk (the background job's runner, run in
    this thread). Chain reads are left out (no node): both figures are the database walk,
    the hash chain and the anchored heads against their Merkle trees.

Usage: python scripts/bench_custody.py [--appends 3000] [--integrate 50000]
                                       [--verify-events 1000000] [--dsn postgresql://…]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chain.merkle import leaf_hash  # noqa: E402
from evidence_service import services  # noqa: E402,F401  (registers every wing's tables)
from evidence_service.anchoring.batches import custody_head_leaf_data  # noqa: E402
from evidence_service.anchoring.custody_anchors import (  # noqa: E402
    Checkpoint,
    save_checkpoint,
    verify_custody,
)
from evidence_service.anchoring.custody_jobs import JobRunner  # noqa: E402
from evidence_service.anchoring.proofs import TreeCache  # noqa: E402
from evidence_service.core.clock import rfc3339  # noqa: E402
from evidence_service.core.db import (  # noqa: E402
    create_schema,
    lock_custody_chain,
    make_engine,
    session_scope,
)
from evidence_service.custody.log import (  # noqa: E402
    CustodyAction,
    chain_head,
    event_body,
    record_event,
)
from evidence_service.custody.models import CustodyEvent, CustodyVerifyJob  # noqa: E402
from evidence_service.custody.sequencer import integrate_pending  # noqa: E402
from evidence_service.verify.custody import GENESIS_HASH, link_hash  # noqa: E402
from signing.jcs import canonicalize  # noqa: E402

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
EVIDENCE = "01JD" + "0" * 21 + "{k}"
ACTOR = "01JDACT0R00000000000000000"
DEPARTMENT = "01JDDEPT000000000000000000"


def row(k: int, i: int) -> dict[str, Any]:
    """The event writer ``k`` records the ``i``-th time (the same rows for every path)."""
    return {
        "evidence_id": EVIDENCE.format(k=k % 10),
        "action": CustodyAction.viewed.value,
        "actor_id": ACTOR,
        "department_id": DEPARTMENT,
        "details": {"request": i, "writer": k},
    }


def clock() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------ (a) appends


def append_sequenced(engine: Engine, k: int, i: int) -> None:
    record_event(engine, clock=clock, **row(k, i))


def insert_plain(engine: Engine, k: int, i: int) -> None:
    table = CustodyEvent.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(insert(table).values(at=clock(), **row(k, i)))


def append_locked(engine: Engine, k: int, i: int) -> None:
    """The append before the sequencer: lock the chain, read its head, write the link."""
    with session_scope(engine) as session:
        lock_custody_chain(session)
        head = chain_head(session)
        event = CustodyEvent(seq=head.seq + 1, at=clock(), prev_hash=head.hash, **row(k, i))
        event.hash = link_hash(head.hash, event_body(event))
        session.add(event)
        session.flush()


def rate(
    engine: Engine, how: Callable[[Engine, int, int], None], total: int, writers: int
) -> float:
    """Appends/s of ``writers`` threads doing ``total`` appends between them."""
    each = total // writers
    start = threading.Barrier(writers + 1)

    def work(k: int) -> None:
        start.wait()
        for i in range(each):
            how(engine, k, i)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return each * writers / (time.perf_counter() - began)


def empty(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE custodyevent, custodycheckpoint, custodyverifyjob"))
        conn.execute(text("TRUNCATE anchorleaf, anchorbatch RESTART IDENTITY CASCADE"))


def part_a(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for writers in (1, 8):
        figures: dict[str, float] = {}
        # plain and append twice, in mirrored order (the machine's load drifts): best of two
        for name, how in (
            ("plain", insert_plain),
            ("append", append_sequenced),
            ("locked", append_locked),
            ("append", append_sequenced),
            ("plain", insert_plain),
        ):
            empty(engine)
            rate(engine, how, min(200, args.appends), writers)  # warm the pool and caches
            empty(engine)
            figures[name] = max(figures.get(name, 0.0), rate(engine, how, args.appends, writers))
        out[f"{writers}w"] = {
            "plain_inserts_per_s": round(figures["plain"]),
            "appends_per_s": round(figures["append"]),
            "ratio": round(figures["append"] / figures["plain"], 2),
            "locked_appends_per_s (before the sequencer)": round(figures["locked"]),
        }
    ratio8 = out["8w"]["ratio"]
    out["goals"] = {f"appends >= 0.8x plain inserts with 8 writers ({ratio8})": ratio8 >= 0.8}
    return out


# ------------------------------------------------------------------------------ (b) sequencer


def part_b(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    empty(engine)
    table = CustodyEvent.__table__  # type: ignore[attr-defined]
    rows = [{**row(i % 8, i), "at": T0 + timedelta(milliseconds=i)} for i in range(args.integrate)]
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(table), rows[start : start + 5000])
    began = time.perf_counter()
    chained = integrate_pending(engine)
    seconds = time.perf_counter() - began
    assert chained == args.integrate
    return {
        "events": chained,
        "seconds": round(seconds, 2),
        "events_per_s": round(chained / seconds),
    }


# ------------------------------------------------------------------------------ (c) checks


def body_jcs(seq: int, k: int, at: str) -> bytes:
    """JCS of the body of event ``seq`` (this fixed shape, keys sorted), written directly:
    checked against ``signing.jcs.canonicalize`` on a sample in :func:`load_log`."""
    evidence = EVIDENCE.format(k=k)
    return (
        f'{{"action":"viewed","actor_id":"{ACTOR}","at":"{at}",'
        f'"department_id":"{DEPARTMENT}","details":{{"n":{seq}}},'
        f'"evidence_id":"{evidence}","seq":{seq}}}'
    ).encode()


def load_log(dsn: str, n: int, batch_every: int) -> tuple[float, list[tuple[int, str, int]]]:
    """COPY ``n`` chained events (and an anchored head every ``batch_every``); seconds taken
    and the heads (seq, hash, batch id)."""
    heads: list[tuple[int, str, int]] = []
    began = time.perf_counter()
    prev = GENESIS_HASH
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE custodyevent DROP CONSTRAINT IF EXISTS custodyevent_hash_key")
        for index in ("ux_custody_seq", "ix_custody_evidence_seq", "ix_custody_pending"):
            cur.execute(f"DROP INDEX IF EXISTS {index}")
        columns = (
            "id, seq, evidence_id, action, actor_id, department_id, at, details, prev_hash, hash"
        )
        with cur.copy(f"COPY custodyevent ({columns}) FROM STDIN") as copy:
            for seq in range(1, n + 1):
                k = seq % 10
                if seq == 1 or seq % 100 == 0:  # a new second every 100 events
                    at_dt = T0 + timedelta(seconds=seq // 100)
                    at = rfc3339(at_dt)
                jcs = body_jcs(seq, k, at)
                if seq % 100_003 == 1:  # the hand-written JCS is the real one
                    body = json.loads(jcs)
                    assert canonicalize(body) == jcs, jcs
                link = hashlib.sha256(bytes.fromhex(prev) + jcs).hexdigest()
                copy.write_row(
                    (seq, seq, EVIDENCE.format(k=k), "viewed", ACTOR, DEPARTMENT, at_dt,
                     f'{{"n": {seq}}}', prev, link)
                )  # fmt: skip
                prev = link
                if seq % batch_every == 0 or seq == n:
                    heads.append((seq, link, len(heads) + 1))
        cur.execute("ALTER TABLE custodyevent ADD CONSTRAINT custodyevent_hash_key UNIQUE (hash)")
        cur.execute("CREATE UNIQUE INDEX ux_custody_seq ON custodyevent (seq)")
        cur.execute("CREATE INDEX ix_custody_evidence_seq ON custodyevent (evidence_id, seq)")
        cur.execute("CREATE INDEX ix_custody_pending ON custodyevent (id) WHERE seq IS NULL")
        cur.execute("SELECT setval('custodyevent_id_seq', %s)", (n,))
        for seq, link, batch_id in heads:
            leaf = leaf_hash(custody_head_leaf_data(seq, link)).hex()
            cur.execute(
                "INSERT INTO anchorbatch (id, status, root, tree_size, custody_seq, custody_head,"
                " closed_at, attempts, anchored_at) VALUES (%s, 'anchored', %s, 1, %s, %s, %s, 0,"
                " %s)",
                (batch_id, leaf, seq, link, T0, T0),
            )
            cur.execute(
                "INSERT INTO anchorleaf (kind, leaf_hash, batch_id, leaf_index, created_at)"
                " VALUES ('custody_head', %s, %s, 0, %s)",
                (leaf, batch_id, T0),
            )
        conn.commit()
        cur.execute("ANALYZE custodyevent")
    return time.perf_counter() - began, heads


def part_c(engine: Engine, dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    n = args.verify_events
    empty(engine)
    load_seconds, heads = load_log(dsn, n, args.batch_every)
    # a checkpoint near the end: the anchored head before the last one
    seq, link, batch_id = heads[-2] if len(heads) > 1 else (0, GENESIS_HASH, 0)
    if seq:
        save_checkpoint(engine, Checkpoint(seq, link, batch_id, T0))
    began = time.perf_counter()
    report = verify_custody(engine, trees=TreeCache(), w3=None, now=clock())
    incremental = time.perf_counter() - began
    assert report.valid and report.events == n, report
    with session_scope(engine) as session:
        job = CustodyVerifyJob(status="queued", active=1, created_at=clock())
        session.add(job)
        session.flush()
        job_id = job.id
    assert job_id is not None
    runner = JobRunner(engine, job_id, trees=TreeCache(), reader=lambda: None, clock=clock)
    assert runner.claim(clock())
    began = time.perf_counter()
    runner.run()
    full = time.perf_counter() - began
    with session_scope(engine) as session:
        done = session.get(CustodyVerifyJob, job_id)
        assert done is not None and done.result is not None, done
        assert done.status == "done" and done.result["valid"], done.result
        checked = done.events_checked
    return {
        "events": n,
        "anchored_heads": len(heads),
        "load_seconds (COPY)": round(load_seconds, 1),
        "incremental": {
            "from_seq": seq,
            "events_checked": report.events_checked,
            "anchored_heads_checked": report.batches_checked,
            "seconds": round(incremental, 3),
        },
        "full_walk_job": {
            "events_checked": checked,
            "anchored_heads_checked": done.result["anchored_heads_checked"],
            "seconds": round(full, 1),
            "events_per_s": round(checked / full),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--appends", type=int, default=3000, help="appends per measurement")
    parser.add_argument("--integrate", type=int, default=50_000)
    parser.add_argument("--verify-events", type=int, default=0)
    parser.add_argument("--batch-every", type=int, default=10_000)
    parser.add_argument("--only", default="a,b,c", help="parts to run (c needs --verify-events)")
    args = parser.parse_args()
    name = f"bench_custody_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = args.dsn.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    results: dict[str, Any] = {}
    try:
        create_schema(engine)
        parts = set(args.only.split(","))
        if "a" in parts:
            results["a_appends"] = part_a(engine, args)
            print(json.dumps({"a_appends": results["a_appends"]}, indent=2), flush=True)
        if "b" in parts:
            results["b_sequencer"] = part_b(engine, args)
            print(json.dumps({"b_sequencer": results["b_sequencer"]}, indent=2), flush=True)
        if "c" in parts and args.verify_events:
            results["c_checks"] = part_c(engine, dsn, args)
            print(json.dumps({"c_checks": results["c_checks"]}, indent=2), flush=True)
    finally:
        engine.dispose()
        with psycopg.connect(args.dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    goals = results.get("a_appends", {}).get("goals", {})
    for goal, met in goals.items():
        print(("MET     " if met else "MISSED  ") + goal)
    sys.exit(0 if all(goals.values()) else 1)


if __name__ == "__main__":
    main()
