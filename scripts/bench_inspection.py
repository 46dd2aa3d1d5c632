#!/usr/bin/env python3
"""Joint-inspection benchmark on PostgreSQL: the risk score of a province, a draw, its check.

In a fresh database (created here, dropped at the end unless ``--keep``), with the module's
tables made by ``SCHEMA.ensure``:

1. generated with a fixed seed and written with PostgreSQL ``COPY``: ``--enterprises`` (valid
   统一社会信用代码 over ten GB/T 2260 regions; risk classes high 1 %, medium-high 5 %,
   medium 20 %, medium-low 34 %, low 40 %), ``--inspectors`` over eight departments (a few
   conflicts of interest each) and ``--signals`` of the six kinds over the last two years,
   severity 1–3, loaded in the order they arrived (by time). Who a signal is about follows a
   heavy tail (Pareto), as complaints do: most enterprises have a few, some have thousands,
   and 1–3 % end up warned;
2. the baseline: the signals read in credit-code order (``SELECT credit_code, kind, at,
   severity … ORDER BY credit_code, at``, streamed and counted), the read alone;
3. risk: ``signals.refresh_all`` in a write transaction — every enterprise scored from every
   signal and the warnings opened (goal ≤ 30 s), with its ratio to the baseline;
4. draw: the plan from the stored directory (``draws.plan_from_directory``: two departments,
   one inspector each, the default ratios) and ``compute_result`` seeded by a block hash
   (goal ≤ 2 s for both);
5. verify: the draw's ``DRAW.json`` (``publish.draw_document``, its commitment a leaf among
   1,000 others) parsed and checked by ``draw_verify.verify_draw`` — every step of §6, the
   chain's answers given by a stand-in that knows the one anchor (goal ≤ 2 s; what a node
   adds is ``bench_draw.py``'s subject, on an embedded chain);
6. incremental: ``--incremental-rounds`` posts of 1,000 new signals about 500 enterprises
   through ``signals.record`` (stored, their enterprises scored again, warnings opened).

Goals are printed with PASS or MISS, not asserted: the exit status is 0 (as
``bench_supervision.py``).

Usage: python scripts/bench_inspection.py [--enterprises 100000] [--inspectors 5000]
           [--signals 1000000] [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--keep]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eth_utils.address import to_checksum_address  # noqa: E402

from chain.anchor_check import AnchorClaim  # noqa: E402
from chain.errors import VerificationError  # noqa: E402
from chain.merkle import MerkleTree, leaf_hash  # noqa: E402
from evidence_service.modules.inspection import models as m  # noqa: E402
from evidence_service.modules.inspection import publish, signals  # noqa: E402
from evidence_service.modules.inspection.common import new_id  # noqa: E402
from evidence_service.modules.inspection.draw import (  # noqa: E402
    Commitment,
    compute_result,
    document_leaf,
)
from evidence_service.modules.inspection.draw_document import DrawDocument  # noqa: E402
from evidence_service.modules.inspection.draw_verify import verify_draw  # noqa: E402
from evidence_service.modules.inspection.draws import (  # noqa: E402
    plan_from_directory,
    read_directory,
    year_of,
)
from evidence_service.modules.inspection.plan import (  # noqa: E402
    DEFAULT_RATIOS,
    DrawTarget,
    plan_draw,
)
from evidence_service.modules.inspection.risk import (  # noqa: E402
    RISK_CLASSES,
    SIGNAL_KINDS,
    RiskSettings,
)
from evidence_service.modules.inspection.schema import SCHEMA  # noqa: E402
from evidence_service.modules.kit.credit_code import (  # noqa: E402
    check_character,
    is_valid,
    organisation_check_character,
)
from evidence_service.modules.kit.db import make_engine, write_transaction  # noqa: E402

DEFAULT_DSN = os.environ.get(
    "EVIDENCE_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
GOALS = {"risk": 30.0, "draw": 2.0, "verify": 2.0}
#: GB/T 2260 codes of Zhejiang's eleven cities but one: the registering authority's region
REGIONS = (
    "330100",
    "330200",
    "330300",
    "330400",
    "330500",
    "330600",
    "330700",
    "330800",
    "330900",
    "331000",
)
CLASS_SHARES = (1, 5, 20, 34, 40)  # per cent, in RISK_CLASSES' order
KIND_SHARES = (35, 25, 8, 7, 5, 20)  # per cent, in SIGNAL_KINDS' order
SOURCES = dict(
    zip(SIGNAL_KINDS, ("12345", "grid", "petition", "inspection", "penalty", "iot"), strict=True)
)
SEVERITY_SHARES = (60, 30, 10)  # 1 minor, 2 serious, 3 grave
#: Pareto shape of how signals fall on enterprises: 1.5 leaves ~1.7 % warned at 10 a head
PARETO_ALPHA = 1.5
DEPARTMENTS = tuple(f"BENCH-DEPT-{d:02d}" for d in range(1, 9))
INDUSTRIES = (
    "餐饮",
    "食品销售",
    "药品零售",
    "危化品经营",
    "建筑施工",
    "娱乐场所",
    "宾馆",
    "加工制造",
)
SCALES = ("micro", "small", "medium", "large")
SPECIALITIES = ("food", "drugs", "fire", "safety", "environment", "labour", "quality", "tax")
TWO_YEARS_S = 730 * 86_400
CHAIN_ID = 1337
TARGET_BLOCK = 1_000
ANCHOR_BLOCK = 990
POSTED_BY = "01JBENCHPOSTER000000000000"

T = TypeVar("T")


def _t() -> float:
    return time.perf_counter()


def timed(run: Callable[[], T]) -> tuple[float, T]:
    started = _t()
    answer = run()
    return _t() - started, answer


def credit_code(n: int, region: str) -> str:
    """A valid 统一社会信用代码 numbered ``n`` (below 10⁸), registered in ``region``: the
    organisation code is a bijection of ``n``, so codes do not sort by number."""
    organisation = f"{(n * 7919 + 1_234_567) % 100_000_000:08d}"
    first17 = "91" + region + organisation + organisation_check_character(organisation)
    return first17 + check_character(first17)


# -- generation and loading ------------------------------------------------------------------


@dataclass
class Directory:
    codes: list[str]
    cumulative: list[float]  # running sum of each enterprise's activity (who signals are about)


def _copy(conn: psycopg.Connection[Any], table: Any, rows: Sequence[tuple[Any, ...]]) -> None:
    columns = ", ".join(c.name for c in table.columns)
    with conn.cursor() as cur, cur.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load_enterprises(
    conn: psycopg.Connection[Any], rnd: random.Random, count: int, now: datetime
) -> Directory:
    classes = rnd.choices(RISK_CLASSES, weights=CLASS_SHARES, k=count)
    codes, rows = [], []
    for n, risk_class in enumerate(classes):
        region = REGIONS[n % len(REGIONS)]
        code = credit_code(n, region)
        codes.append(code)
        rows.append(
            (
                code,
                f"企业{n}",
                f"浙江省{region}某路{n % 997}号",
                rnd.choice(INDUSTRIES),
                rnd.choice(SCALES),
                risk_class,
                region,
                120 + rnd.random() * 2,
                28 + rnd.random() * 3,
                now,
            )
        )
    assert all(map(is_valid, codes)) and len(set(codes)) == count, "a bad or repeated code"
    _copy(conn, m.enterprise, rows)
    activity = [rnd.paretovariate(PARETO_ALPHA) for _ in range(count)]
    return Directory(codes, list(itertools.accumulate(activity)))


def load_inspectors(
    conn: psycopg.Connection[Any], rnd: random.Random, count: int, codes: list[str], now: datetime
) -> int:
    """``count`` officers spread over DEPARTMENTS, each with 0–4 conflicts of interest."""
    rows, conflicts = [], 0
    for n in range(count):
        department = DEPARTMENTS[n % len(DEPARTMENTS)]
        theirs = sorted(set(rnd.sample(codes, rnd.randrange(5))))
        conflicts += len(theirs)
        rows.append(
            (
                f"OFF-{n:06d}",
                department,
                f"3300{n:08d}",
                json.dumps(rnd.sample(SPECIALITIES, 2)),
                json.dumps(theirs),
                now,
            )
        )
    _copy(conn, m.inspector, rows)
    return conflicts


def load_signals(
    conn: psycopg.Connection[Any],
    rnd: random.Random,
    count: int,
    directory: Directory,
    now: datetime,
) -> None:
    """``count`` signals in the order they arrived: time, then enterprise by activity."""
    picks = rnd.choices(directory.codes, cum_weights=directory.cumulative, k=count)
    kinds = rnd.choices(SIGNAL_KINDS, weights=KIND_SHARES, k=count)
    severities = rnd.choices((1, 2, 3), weights=SEVERITY_SHARES, k=count)
    ages = sorted((rnd.random() * TWO_YEARS_S for _ in range(count)), reverse=True)
    rows = []
    for n, (code, kind, severity, age) in enumerate(
        zip(picks, kinds, severities, ages, strict=True)
    ):
        at = now - timedelta(seconds=age)
        rows.append(
            (
                f"BS{n:024d}",
                code,
                kind,
                severity,
                at,
                SOURCES[kind],
                f"B{n}",
                None,
                POSTED_BY,
                at + timedelta(minutes=5),
            )
        )
    _copy(conn, m.signal, rows)


# -- the timings -----------------------------------------------------------------------------


def baseline(engine: Engine) -> tuple[float, int]:
    """The signals in credit-code order, streamed and counted: the read ``refresh_all`` does,
    without its scoring and writing."""
    started = _t()
    rows = 0
    with engine.connect() as conn:
        result = conn.execute(
            text(
                "SELECT credit_code, kind, at, severity FROM inspection_signal"
                " ORDER BY credit_code, at"
            ).execution_options(yield_per=10_000)
        )
        for _ in result:
            rows += 1
    return _t() - started, rows


def refresh(engine: Engine, now: datetime) -> tuple[float, list[str]]:
    def run() -> list[str]:
        with write_transaction(engine) as conn:
            return signals.refresh_all(conn, now=now, settings=RiskSettings())

    return timed(run)


class StandInChain:
    """What §6 asks of a chain, answered for the one anchor made here: the steps that read
    the chain cost a lookup, so the time is the verifier's own (parse, JCS, Merkle path,
    recomputed result)."""

    def __init__(self, anchor: dict[str, Any], root: bytes, block_hash: bytes) -> None:
        self.anchor, self.root, self.target_hash = anchor, root, block_hash

    def chain_id(self) -> int:
        return CHAIN_ID

    def anchored_at(self, registry: str, root: bytes) -> int:
        same = registry.lower() == self.anchor["contract"].lower() and root == self.root
        return ANCHOR_BLOCK if same else 0

    def block_hash(self, number: int) -> bytes | None:
        return self.target_hash if number == TARGET_BLOCK else None

    def verify_anchor(self, claim: AnchorClaim) -> None:
        if claim.root != self.root or claim.tx_hash != self.anchor["tx_hash"]:
            raise VerificationError("not the anchor this chain holds")


@dataclass(frozen=True)
class DrawRun:
    read_s: float
    plan_draw_s: float
    plan_s: float
    compute_s: float
    commitment: dict[str, Any]
    result: dict[str, Any]
    left_out: int
    block_hash: bytes


def draw(engine: Engine, rnd: random.Random, now: datetime) -> DrawRun:
    """Plan from the stored directory (two departments, one inspector each) and draw."""
    departments = list(DEPARTMENTS[:2])
    target = DrawTarget(
        draw_id=new_id(),  # a ULID, as the service's
        task="bench: 双随机 joint inspection",
        chain_id=CHAIN_ID,
        registry=to_checksum_address("0x" + rnd.randbytes(20).hex()),
        target_block=TARGET_BLOCK,
    )
    with engine.connect() as conn:  # the parts of the plan, alone
        read_s, (enterprises, inspectors) = timed(lambda: read_directory(conn, departments))
    plan_draw_s, _ = timed(
        lambda: plan_draw(target, enterprises, inspectors, departments, per_department=1)
    )
    plan_s, plan = timed(
        lambda: plan_from_directory(
            engine,
            target,
            departments,
            per_department=1,
            ratios=DEFAULT_RATIOS,
            annual_cap=2,
            year=year_of(now, "Asia/Shanghai"),
        )
    )
    block_hash = rnd.randbytes(32)
    compute_s, result = timed(
        lambda: compute_result(Commitment.from_json(plan.commitment), block_hash)
    )
    return DrawRun(
        read_s,
        plan_draw_s,
        plan_s,
        compute_s,
        plan.commitment,
        result,
        len(plan.left_out),
        block_hash,
    )


def published(run: DrawRun, rnd: random.Random) -> tuple[bytes, StandInChain]:
    """DRAW.json as the service publishes it: the commitment a leaf among 1,000 others."""
    leaves = [leaf_hash(b"other %d" % i) for i in range(1000)] + [document_leaf(run.commitment)]
    tree = MerkleTree.from_leaf_hashes(leaves)
    anchor = {
        "chain_id": CHAIN_ID,
        "contract": run.commitment["registry"],
        "tx_hash": "0x" + rnd.randbytes(32).hex(),
        "block_number": ANCHOR_BLOCK,
        "block_hash": "0x" + rnd.randbytes(32).hex(),
        "block_timestamp": 1_780_000_000,
        "batch_id": 1,
    }
    merkle = {
        "hash": "sha256-rfc9162",
        "leaf_index": 1000,
        "tree_size": tree.size,
        "leaf_hash": leaves[1000].hex(),
        "path": [h.hex() for h in tree.inclusion_proof(1000)],
        "root": tree.root.hex(),
    }
    document = publish.draw_document(run.commitment, merkle, anchor, run.block_hash)
    assert document["result"] == run.result
    data = json.dumps(document, ensure_ascii=False).encode()
    return data, StandInChain(anchor, tree.root, run.block_hash)


def verify(data: bytes, chain: StandInChain) -> tuple[float, bool, str]:
    seconds, verdict = timed(lambda: verify_draw(DrawDocument.from_json(data), chain))
    problem = verdict.first_problem
    return seconds, verdict.valid, problem.detail if problem else verdict.steps[-1].detail


def incremental(
    engine: Engine, rnd: random.Random, directory: Directory, now: datetime, round_: int
) -> tuple[float, int, int]:
    """1,000 new signals about 500 enterprises (chosen as signals fall: by activity)."""
    chosen: set[str] = set()
    while len(chosen) < 500:
        chosen.update(rnd.choices(directory.codes, cum_weights=directory.cumulative, k=500))
    codes = sorted(chosen)[:500]
    items = [
        signals.SignalIn(
            credit_code=code,
            kind=rnd.choices(SIGNAL_KINDS, weights=KIND_SHARES)[0],
            severity=rnd.choices((1, 2, 3), weights=SEVERITY_SHARES)[0],
            at=now - timedelta(seconds=rnd.randrange(1, 86_400)),
            source="12345",
            ref=f"INC-{round_}-{n}",
        )
        for n, code in enumerate(codes * 2)
    ]

    def run() -> signals.Posted:
        with write_transaction(engine) as conn:
            return signals.record(
                conn, items, posted_by=POSTED_BY, now=now, settings=RiskSettings()
            )

    seconds, posted = timed(run)
    return seconds, len(posted.created), len(posted.opened)


def verdict(what: str, seconds: float) -> str:
    goal = GOALS[what]
    return f"goal ≤ {goal:g} s  {'PASS' if seconds <= goal else 'MISS'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--inspectors", type=int, default=5_000)
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--incremental-rounds", type=int, default=3)
    parser.add_argument("--dsn", default=DEFAULT_DSN, help="an admin DSN of the server")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)

    name = f"bench_inspection_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = args.dsn.rsplit("/", 1)[0]
    url = base.replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    now = datetime.now(UTC).replace(microsecond=0)
    rnd = random.Random(args.seed)
    print(
        f"database {name}; {args.enterprises:,} enterprises, {args.inspectors:,} inspectors, "
        f"{args.signals:,} signals; now {now.isoformat()}"
    )
    engine = make_engine(url)
    try:
        SCHEMA.ensure(engine)
        started = _t()
        with psycopg.connect(f"{base}/{name}") as conn:
            directory = load_enterprises(conn, rnd, args.enterprises, now)
            conflicts = load_inspectors(conn, rnd, args.inspectors, directory.codes, now)
            load_signals(conn, rnd, args.signals, directory, now)
            conn.commit()
            conn.autocommit = True
            analyze_s, _ = timed(lambda: conn.execute("VACUUM ANALYZE"))
        print(
            f"generated and COPYed in {_t() - started:.1f} s ({len(DEPARTMENTS)} departments, "
            f"{conflicts:,} conflicts of interest); VACUUM ANALYZE {analyze_s:.1f} s"
        )

        base_s, base_rows = baseline(engine)
        print(f"\nbaseline: {base_rows:,} signals read in credit-code order in {base_s:.2f} s")
        risk_s, opened = refresh(engine, now)
        share = len(opened) / max(1, args.enterprises)
        print(
            f"risk: refresh_all {risk_s:.2f} s  {risk_s / base_s:.1f}x baseline  "
            f"{verdict('risk', risk_s)}; {len(opened):,} warnings opened ({share:.2%})"
        )

        run = draw(engine, rnd, now)
        population = sum(len(s["population"]) for s in run.commitment["strata"])
        per_class = ", ".join(
            f"{s['name']} {s['k']:,}/{len(s['population']):,}" for s in run.commitment["strata"]
        )
        draw_s = run.plan_s + run.compute_s
        print(
            f"\ndraw: plan {run.plan_s:.2f} s + compute {run.compute_s:.2f} s = {draw_s:.2f} s  "
            f"{draw_s / base_s:.2f}x baseline  {verdict('draw', draw_s)}"
        )
        print(
            f"  the plan's parts alone: read_directory {run.read_s:.2f} s, "
            f"plan_draw {run.plan_draw_s:.2f} s"
        )
        print(
            f"  population {population:,} ({run.left_out:,} left out), "
            f"{len(run.result['selected']):,} selected ({per_class}); "
            f"pools {', '.join(str(len(p)) for p in run.commitment['pools'].values())}, "
            f"{len(run.commitment['conflicts']):,} conflicts named"
        )

        data, chain = published(run, rnd)
        verify_s, valid, detail = verify(data, chain)
        print(
            f"verify: DRAW.json ({len(data) / 1e6:.1f} MB) parsed and checked in {verify_s:.2f} s"
            f"  {verify_s / base_s:.2f}x baseline  {verdict('verify', verify_s)}; "
            f"{'valid' if valid else 'INVALID'}: {detail}"
        )

        print()
        for round_ in range(1, args.incremental_rounds + 1):
            later = now + timedelta(minutes=round_)
            inc_s, created, warned = incremental(engine, rnd, directory, later, round_)
            print(
                f"incremental {round_}: signals.record of {created:,} signals about 500 "
                f"enterprises {inc_s:.2f} s; {warned} warnings opened"
            )
        print(f"\n{'goal':48} {'seconds':>8} {'baseline':>9}")
        for what, label, seconds in (
            ("risk", f"risk: refresh_all over {args.signals:,} signals", risk_s),
            ("draw", "draw: plan from the directory + compute_result", draw_s),
            ("verify", "verify: DRAW.json, every step of §6", verify_s),
        ):
            print(f"{label:48} {seconds:8.2f} {seconds / base_s:8.2f}x  {verdict(what, seconds)}")
    finally:
        engine.dispose()
        if not args.keep:
            with psycopg.connect(args.dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
