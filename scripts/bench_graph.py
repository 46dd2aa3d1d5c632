#!/usr/bin/env python3
"""Graph benchmark on PostgreSQL: a synthetic province, then the queries investigators run.

Generates (with COPY, progress bars) --evidence items (default 1,000,000), cases (1/5 of that),
parties (3/10) and about 3.2 edges per item, with a party tag on every item; then measures p50/p99
of: evidence lookup by id, tag search (party + time range, newest 50), 2-hop neighbourhood of a
case, shortest path party → case, and the evidence-list PDF of a 500-item case (issue + render).
Goals: lookup and tag search p99 <= 20 ms, 2-hop p99 <= 50 ms, 500-item list PDF <= 2 s.

Usage: python scripts/bench_graph.py [--evidence 1000000] [--samples 300] [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from rich.progress import Progress
from sqlalchemy import text
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evidence_service.access.identity import Actor  # noqa: E402
from evidence_service.access.models import Department, Role  # noqa: E402
from evidence_service.capture.models import Evidence  # noqa: E402
from evidence_service.capture.visibility import evidence_clause  # noqa: E402
from evidence_service.cases.evidence_lists import issue_list, pdf_document  # noqa: E402
from evidence_service.cases.graph import neighbourhood, shortest_path  # noqa: E402
from evidence_service.cases.search import EvidenceFilter, list_evidence  # noqa: E402
from evidence_service.core.config import Settings  # noqa: E402
from evidence_service.demo import seed_demo  # noqa: E402
from evidence_service.render.evidence_list_pdf import render_evidence_list_pdf  # noqa: E402
from evidence_service.render.seal_image import seal_png  # noqa: E402
from evidence_service.services import build_services  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
START = datetime(2024, 1, 1, tzinfo=UTC)
BIG_CASE_ITEMS = 500


def ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:020d}"[:26] for i in range(n)]


def copy_rows(
    conn: psycopg.Connection[Any],
    table: str,
    columns: list[str],
    rows: Iterator[tuple[Any, ...]],
    total: int,
    progress: Progress,
) -> None:
    task = progress.add_task(f"{table:<12}", total=total)
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for i, row in enumerate(rows, 1):
            copy.write_row(row)
            if i % 10000 == 0:
                progress.update(task, completed=i)
    progress.update(task, completed=total)


def generate(dsn: str, n: int, officer: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    evidence_ids = ids("01E", n)
    case_ids = ids("01C", n // 5)
    party_ids = ids("01P", n * 3 // 10)
    party_of_case = [rng.randrange(len(party_ids)) for _ in case_ids]
    # the first case holds BIG_CASE_ITEMS items; the rest are spread at random
    case_of_item = [0 if i < BIG_CASE_ITEMS else rng.randrange(1, len(case_ids)) for i in range(n)]
    dept, officer_id = officer["department_id"], officer["id"]
    now = datetime.now(UTC)
    with psycopg.connect(dsn) as conn, Progress() as progress:
        copy_rows(
            conn,
            "party",
            ["id", "kind", "name", "department_id", "created_at"],
            ((p, "organisation", f"餐饮店{i}", dept, now) for i, p in enumerate(party_ids)),
            len(party_ids),
            progress,
        )
        copy_rows(
            conn,
            '"case"',
            [
                "id",
                "department_id",
                "case_number",
                "kind",
                "title",
                "status",
                "opened_at",
                "created_by",
            ],
            (
                (c, dept, f"罚{i}", "penalty", f"案件{i}", "open", now, officer_id)
                for i, c in enumerate(case_ids)
            ),
            len(case_ids),
            progress,
        )

        def evidence_rows() -> Iterator[tuple[Any, ...]]:
            for i, e in enumerate(evidence_ids):
                at = START + timedelta(seconds=i * 60)
                digest = f"{i:064x}"
                statement = json.dumps({"evidence_id": e, "sha256": digest})
                yield (
                    e,
                    "documentary",
                    f"证据{i}",
                    "",
                    at,
                    at,
                    officer_id,
                    dept,
                    "[]",
                    "{}",
                    "00" * 32,
                    "application/pdf",
                    1000 + i,
                    digest,
                    digest,
                    json.dumps({"page_count": 1 + i % 5}),
                    statement,
                    digest,
                    f"evidence/bench/{e}",
                    True,
                    False,
                    at + timedelta(days=3653),
                )

        copy_rows(
            conn,
            "evidence",
            [
                "id",
                "port",
                "title",
                "description",
                "captured_at",
                "received_at",
                "officer_id",
                "department_id",
                "tags",
                "capture_metadata",
                "metadata_sha256",
                "media_type",
                "size",
                "sha256",
                "sm3",
                "extracted",
                "statement",
                "statement_sha256",
                "object_key",
                "finalized",
                "legal_hold",
                "retention_until",
            ],
            evidence_rows(),
            n,
            progress,
        )

        def edge_rows() -> Iterator[tuple[Any, ...]]:
            for i, e in enumerate(evidence_ids):
                yield ("belongs_to_case", "evidence", e, "case", case_ids[case_of_item[i]], now)
                yield ("captured_by", "evidence", e, "officer", officer_id, now)
                if i + 1 < n:
                    yield ("corroborates", "evidence", e, "evidence", evidence_ids[i + 1], now)
            for c, p in zip(case_ids, party_of_case, strict=True):
                yield ("concerns_party", "case", c, "party", party_ids[p], now)

        total_edges = n * 3 - 1 + len(case_ids)
        copy_rows(
            conn,
            "graphedge",
            ["kind", "source_kind", "source_id", "target_kind", "target_id", "created_at"],
            edge_rows(),
            total_edges,
            progress,
        )
        copy_rows(
            conn,
            "caseevidenceentry",
            ["case_id", "evidence_id", "position", "purpose"],
            ((case_ids[0], evidence_ids[i], i + 1, "证明违法事实") for i in range(BIG_CASE_ITEMS)),
            BIG_CASE_ITEMS,
            progress,
        )

        def tag_rows() -> Iterator[tuple[Any, ...]]:
            for i, e in enumerate(evidence_ids):
                party = party_of_case[case_of_item[i]]
                yield (e, "party", f"餐饮店{party}", now)

        copy_rows(
            conn,
            "evidencetag",
            ["evidence_id", "type", "value", "created_at"],
            tag_rows(),
            n,
            progress,
        )
        conn.execute("ANALYZE")
        conn.commit()
    return {
        "evidence": evidence_ids,
        "cases": case_ids,
        "parties": party_ids,
        "party_of_case": party_of_case,
        "edges": total_edges,
    }


def timings(fn: Callable[[], object], samples: int) -> tuple[float, float]:
    fn()
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--evidence", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    rng = random.Random(7)
    name = f"bench_graph_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    tmp = tempfile.TemporaryDirectory()
    settings = Settings(
        data_dir=Path(tmp.name),
        db_url=dsn.replace("postgresql://", "postgresql+psycopg://"),
        anchor_worker=False,
    )
    services = build_services(settings)
    try:
        officer = next(
            u
            for u in seed_demo(services.engine, settings.data_dir)["users"]
            if u["role"] == "officer"
        )
        started = time.perf_counter()
        data = generate(dsn, args.evidence, officer, rng)
        generation_s = time.perf_counter() - started
        n = args.evidence
        print(
            f"generated {n:,} items, {len(data['cases']):,} cases, {len(data['parties']):,} "
            f"parties, {data['edges']:,} edges, {n:,} tags in {generation_s:.0f} s"
        )
        engine = services.engine
        picks = [rng.randrange(n) for _ in range(args.samples + 1)]
        it = iter(picks * 2)

        def lookup() -> None:
            with Session(engine) as session:
                assert session.get(Evidence, data["evidence"][next(it) % n]) is not None

        searcher = Actor(officer["id"], officer["department_id"], Role.officer, officer["name"])

        def tag_search() -> None:
            case_index = rng.randrange(len(data["cases"]))
            party = data["party_of_case"][case_index]
            with Session(engine) as session:
                list_evidence(
                    session,
                    EvidenceFilter(
                        tag_type="party",
                        tag_value=f"餐饮店{party}",
                        received_from=START,
                        received_to=START + timedelta(days=800),
                        visible=evidence_clause(searcher),  # as the API narrows every search
                    ),
                    limit=50,
                    cursor=None,
                )

        def two_hop() -> None:
            case = data["cases"][rng.randrange(1, len(data["cases"]))]
            with Session(engine) as session:
                neighbourhood(session, case, hops=2, limit=300)

        def path() -> None:
            case_index = rng.randrange(1, len(data["cases"]))
            party = data["parties"][data["party_of_case"][case_index]]
            with Session(engine) as session:
                shortest_path(session, party, data["cases"][case_index], max_hops=4)

        def round_trip() -> None:  # the baseline: one query that reads nothing
            with Session(engine) as session:
                session.execute(text("SELECT 1")).one()

        baseline = timings(round_trip, args.samples)
        results = {
            "lookup by id": timings(lookup, args.samples),
            "tag search (party + time)": timings(tag_search, args.samples),
            "2-hop of a case": timings(two_hop, args.samples),
            "shortest path party->case": timings(path, max(20, args.samples // 10)),
        }
        actor = Actor(officer["id"], officer["department_id"], Role.officer, officer["name"])
        start = time.perf_counter()
        issued = issue_list(services.pki, data["cases"][0], actor=actor)
        with Session(engine) as session:
            document = pdf_document(session, issued, services.trees)
            department = session.get(Department, officer["department_id"])
        assert department is not None
        pdf = render_evidence_list_pdf(document, seal_png=seal_png(department))
        pdf_s = time.perf_counter() - start
        print(f"  {'baseline: SELECT 1 round trip':<28} p50 {baseline[0]:7.2f} ms")
        for label, (p50, p99) in results.items():
            ratio = p50 / baseline[0] if baseline[0] else float("nan")
            print(
                f"  {label:<28} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   p50 {ratio:6.1f}x baseline"
            )
        print(
            f"  evidence list PDF, {len(document.items)} items: {pdf_s:.2f} s "
            f"({len(pdf) // 1024} KiB, issue + seal + render)"
        )
        goals = {
            "lookup p99 <= 20 ms": results["lookup by id"][1] <= 20,
            "tag search p99 <= 20 ms": results["tag search (party + time)"][1] <= 20,
            "2-hop p99 <= 50 ms": results["2-hop of a case"][1] <= 50,
            "500-item list PDF <= 2 s": pdf_s <= 2,
        }
        print("\nsummary:")
        for goal, met in goals.items():
            print(f"  {'PASS' if met else 'MISS'}  {goal}")
        return 0 if all(goals.values()) else 1
    finally:
        services.close()
        tmp.cleanup()
        if not args.keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
