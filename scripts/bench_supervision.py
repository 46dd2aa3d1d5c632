#!/usr/bin/env python3
"""Supervision benchmark on PostgreSQL: every problem model over N enforcement records.

In a fresh database (created here, dropped at the end unless ``--keep``):

1. ``--api-share`` of the records (default 1%) cite evidence captured through the core's API
   of an app running in this process (httpx/TestClient, rate limits off), listed on a core
   case with a purpose (every tenth without), then read into the module's read models by an
   auditor's ``POST /api/v1/supervision/sync`` — the real path end to end;
2. N records (default 1,200,000; 11 cities, 40 departments) from ``demo.Generator`` with its
   planted problems (``--planted-share``), validated like an upload and written with
   PostgreSQL ``COPY``; every id a record cites gets a ``supervision_evidence`` row (a
   generated feed), every certificate number a register entry; the core-data problems are
   planted on ``--core-share`` more records, transfers and refusals (codes below);
3. a full run of every registered model (``clues/runner.py``: hits become clues), recall of
   the planted problems and hits on subjects nothing was planted in, per model;
4. 10,000 new records (and their evidence) and an incremental run;
5. the baseline: ``SELECT count(*)`` over the same tables, in the same run; each time printed
   against it as a ratio.

Usage: python scripts/bench_supervision.py [--records 50000] [--dsn postgresql://…/postgres]
           [--api-share 0.01] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evidence_service.modules.kit.db import make_engine  # noqa: E402
from evidence_service.modules.supervision import demo, indicators, records, schema  # noqa: E402
from evidence_service.modules.supervision.clues import core_models  # noqa: E402
from evidence_service.modules.supervision.config import DEFAULT_INDICATOR_WEIGHTS  # noqa: E402
from evidence_service.modules.supervision.models import (  # noqa: E402
    certificate,
    evidence,
    evidence_case,
    record,
    record_link,
    record_officer,
    refusal,
    transfer,
)

DEFAULT_DSN = os.environ.get(
    "EVIDENCE_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SECRET = b"bench-supervision-secret"
CHUNK = 20_000
TODAY = date.today()
CORE_CODES = (
    "capture_without_valid_certificate",
    "record_officer_certificate_invalid",
    "evidence_after_decision",
    "evidence_not_anchored",
    "unsigned_evidence",
    "record_cites_unknown_evidence",
    "evidence_without_purpose",
    "same_file_different_parties",
)
TABLES = (
    record,
    record_officer,
    record_link,
    evidence,
    evidence_case,
    certificate,
    transfer,
    refusal,
)


@dataclass
class Planted:
    """The subjects planted per model code (record ids, evidence ids, hashes, …)."""

    subjects: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, code: str, subject: str) -> None:
        self.subjects[code].add(subject)


def _t() -> float:
    return time.perf_counter()


def _copy(conn: psycopg.Connection[Any], table: Any, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    columns = ", ".join(c.name for c in table.columns)
    with conn.cursor() as cur, cur.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _sha(text_: str) -> str:
    return hashlib.sha256(text_.encode()).hexdigest()


def _at(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class Loader:
    """Generates and COPYs records, their evidence feed and the register, chunk by chunk."""

    def __init__(self, conn: psycopg.Connection[Any], seed: int, args: argparse.Namespace):
        self.conn = conn
        self.rnd = random.Random(seed + 7)
        self.departments = demo.synthetic_departments(40)
        self.gen = demo.Generator(seed, self.departments, args.planted_share)
        self.core_share = args.core_share
        self.planted = Planted()
        self.certs: dict[str, str] = {}  # cert_no → department
        self.bad_certs: set[str] = set()
        self.registered: set[str] = set()
        self.officers = {
            d.id: [f"OFF{d.id[-3:]}{k:02d}" for k in range(10)] for d in self.departments
        }
        self.record_planted: dict[str, list[str]] = {}  # demo's codes, by record id
        self.previous_clean: tuple[str, str, str | None] | None = None  # (record, sha, party)
        self.api_items: list[str] = []  # ids captured through the API, to cite
        self.loaded = 0
        self.now = datetime.now(UTC)
        self.batch_id = records.new_id()

    def start(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO supervision_batch (id, ingested_by, format, records, created_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                (self.batch_id, "bench", "demo", 0, self.now),
            )

    def chunk(self, count: int) -> None:
        raw, codes = [], []
        for _ in range(count):
            row, planted = self.gen.record()
            raw.append(row)
            codes.append(planted)
        valid = records.validate_rows(raw)
        recs, officers, links, items, cases = [], [], [], [], []
        rec_columns = [c.name for c in record.columns]
        for rec, planted in zip(valid, codes, strict=True):
            rid = records.new_id()
            values = records._row(rec, SECRET)
            values.update(
                id=rid,
                batch_id=self.batch_id,
                ingested_by="bench",
                created_at=self.now,
                updated_at=self.now,
                planted=json.dumps(planted) if planted else None,
            )
            if planted:
                self.record_planted[rid] = list(planted)
                for code in planted:
                    self.planted.add(code, rid)
            core_code = None
            if not planted and self.rnd.random() < self.core_share:
                core_code = self.rnd.choice(CORE_CODES)
                if core_code == "evidence_after_decision" and values.get("decision_on") is None:
                    core_code = "unsigned_evidence"
                if core_code == "same_file_different_parties" and self.previous_clean is None:
                    core_code = "unsigned_evidence"
            cert_nos = [o.cert_no for o in rec.officers]
            if core_code == "record_officer_certificate_invalid":
                cert_nos[-1] = f"8{len(self.bad_certs):010d}"  # never registered
                self.bad_certs.add(cert_nos[-1])
                self.planted.add(core_code, rid)
            for i, (officer, cert_no) in enumerate(zip(rec.officers, cert_nos, strict=True)):
                officers.append((rid, i, officer.name, cert_no))
                if cert_no and cert_no not in self.bad_certs:
                    self.certs.setdefault(cert_no, rec.department_id)
            evidence_ids = list(dict.fromkeys(rec.evidence_ids))
            document_ids = list(dict.fromkeys(rec.document_ids))
            # an item captured today cites nothing decided in the past: only undecided records
            if self.api_items and not planted and not core_code and not values.get("decision_on"):
                evidence_ids[0] = self.api_items.pop()  # captured through the API
                api_item = evidence_ids[0]
            else:
                api_item = None
            for role, ids in (("evidence", evidence_ids), ("document", document_ids)):
                links += [(rid, role, e) for e in ids]
            filed = values["filing_on"]
            decided = values.get("decision_on")
            if decided is not None and decided <= filed:  # a planted inverted record
                filed, span = decided - timedelta(days=1), 1
            else:
                span = max(1, (decided - filed).days) if decided else 10
            dept = rec.department_id
            for n, eid in enumerate(evidence_ids + document_ids):
                if eid == api_item:
                    continue
                if core_code == "record_cites_unknown_evidence" and n == 0:
                    self.planted.add(core_code, rid)
                    continue  # the core never had it
                captured = _at(filed + timedelta(days=self.rnd.randrange(span)))
                officer = self.rnd.choice(self.officers[dept])
                sha = _sha(eid)
                signed = True
                anchored = captured + timedelta(minutes=self.rnd.randrange(5, 600))
                if n == 0 and core_code:
                    if core_code == "capture_without_valid_certificate":
                        officer = f"BAD{dept[-3:]}"
                        self.planted.add(core_code, eid)
                    elif core_code == "evidence_after_decision":
                        captured = _at(decided + timedelta(days=2))
                        anchored = captured + timedelta(hours=1)
                        self.planted.add(core_code, rid)
                    elif core_code == "evidence_not_anchored":
                        anchored = captured + timedelta(hours=30)
                        self.planted.add(core_code, eid)
                    elif core_code == "unsigned_evidence":
                        signed = False
                        self.planted.add(core_code, eid)
                    elif core_code == "same_file_different_parties":
                        assert self.previous_clean is not None
                        sha = self.previous_clean[1]
                        self.planted.add(core_code, sha)
                        self.previous_clean = None
                items.append(
                    (
                        eid,
                        dept,
                        officer,
                        "documentary",
                        captured,
                        captured + timedelta(seconds=1),
                        sha,
                        signed,
                        anchored,
                        self.now,
                    )
                )
                if n == 0:
                    purpose = "证明违法事实"
                    if core_code == "evidence_without_purpose":
                        purpose = ""
                        self.planted.add(core_code, f"CASE{rid}/{eid}")
                    cases.append((eid, f"CASE{rid}", purpose))
            if not planted and not core_code and evidence_ids and evidence_ids[0] != api_item:
                self.previous_clean = (rid, _sha(evidence_ids[0]), values.get("party_digest"))
            recs.append(tuple(values.get(c) for c in rec_columns))
        _copy(self.conn, record, recs)
        _copy(self.conn, record_officer, officers)
        _copy(self.conn, record_link, links)
        _copy(self.conn, evidence, items)
        _copy(self.conn, evidence_case, cases)
        self.loaded += count

    def register_new(self) -> int:
        """Numbers first named by records loaded since the last call, valid 2020–2030."""
        start, end = date(2020, 1, 1), date(2030, 12, 31)
        fresh = [
            (no, "执法人员", dept, None, start, end, None, self.now, self.now)
            for no, dept in self.certs.items()
            if no not in self.registered
        ]
        self.registered.update(self.certs)
        _copy(self.conn, certificate, fresh)
        return len(fresh)

    def register(self) -> int:
        """The register: every number the records name (valid 2020–2030), each department's
        ten capturing officers, and one officer per department whose certificate expired."""
        rows: list[tuple[Any, ...]] = []
        start, end = date(2020, 1, 1), date(2030, 12, 31)
        count = self.register_new()
        for dept, officers in self.officers.items():
            for k, officer in enumerate(officers):
                no = f"7{dept[-3:]}{k:04d}"
                rows.append((no, "取证人员", dept, officer, start, end, None, self.now, self.now))
            bad = f"6{dept[-3:]}0000"
            old = date(2023, 12, 31)
            rows.append(
                (bad, "过期", dept, f"BAD{dept[-3:]}", start, old, None, self.now, self.now)
            )
        _copy(self.conn, certificate, rows)
        return count + len(rows)

    def transfers_and_refusals(self, count: int) -> None:
        rows = []
        for n in range(count):
            tid = f"T{n:025d}"
            court = n % 2 == 0
            plant = self.rnd.random() < 0.02
            sent = datetime.combine(TODAY, datetime.min.time(), UTC) - timedelta(
                days=30 if plant else self.rnd.randrange(1, 60), hours=2
            )
            status, decided = "pending", None
            if plant and court:
                self.planted.add("court_transfer_not_accepted", tid)
            elif court and sent < datetime.now(UTC) - timedelta(days=10):
                status, decided = "accepted", sent + timedelta(days=self.rnd.randrange(1, 10))
            kind = "court" if court else "penalty"
            rows.append(
                (tid, "SYN-000", "COURT", kind, status, sent, decided, json.dumps([]), self.now)
            )
        _copy(self.conn, transfer, rows)
        refusals = []
        start = datetime.combine(TODAY, datetime.min.time(), UTC)
        for n in range(count):
            actor = f"ACT{n:023d}"
            plant = self.rnd.random() < 0.02
            times = 6 if plant else self.rnd.randrange(1, 5)
            if plant:
                self.planted.add("repeated_refusals", actor)
            for k in range(times):
                at = start - timedelta(days=self.rnd.randrange(0, 6), minutes=k)
                refusals.append((len(refusals) + 1, at, actor, "SYN-000", "/api/v1/x", 404, 1))
            refusals.append(  # an old one, outside the window
                (len(refusals) + 1, start - timedelta(days=40), actor, "SYN-000", "/x", 404, 3)
            )
        _copy(self.conn, refusal, [(*r, self.now) for r in refusals])


#: Items the API captures per core case (each link answers the whole case, so one case of
#: 12,000 items would make the load quadratic; real cases hold tens).
ITEMS_PER_CASE = 50


def capture_through_api(url: str, count: int, data_dir: Path) -> tuple[list[str], float, Any]:
    """``count`` items captured by the core's API in this process, listed on a core case (every
    tenth without a purpose), then read into the read models by an auditor's sync."""
    from fastapi.testclient import TestClient

    from evidence_service.app import create_app
    from evidence_service.core.config import Settings
    from evidence_service.demo import seed_demo
    from evidence_service.services import build_services

    settings = Settings(data_dir=data_dir, db_url=url, anchor_worker=False, rate_limits=False)
    services = build_services(settings)
    seeded = seed_demo(services.engine, settings.data_dir, clock=services.clock, token_ttl_days=30)
    codes = {d["id"]: d["code"] for d in seeded["departments"]}
    token = {(codes[u["department_id"]], u["role"]): u["token"] for u in seeded["users"]}
    officer = {"Authorization": f"Bearer {token[('HZ-SCJG', 'officer')]}"}
    auditor = {"Authorization": f"Bearer {token[('ZJ-SFT', 'auditor')]}"}
    app = create_app(services=services)
    started = _t()
    ids: list[str] = []
    with TestClient(app) as client:
        case_ids: list[str] = []
        for n in range(count):
            if n % ITEMS_PER_CASE == 0:  # a case holds tens of items, as real ones do
                case = client.post(
                    "/api/v1/cases",
                    json={
                        "case_number": f"杭市监罚〔2026〕B{n // ITEMS_PER_CASE + 1}号",
                        "kind": "penalty",
                        "title": "bench",
                    },
                    headers=officer,
                )
                case.raise_for_status()
                case_ids.append(case.json()["id"])
            case_id = case_ids[-1]
            body = f"bench item {n} {uuid.uuid4()}".encode()
            answer = client.post(
                "/api/v1/evidence",
                data={"port": "documentary", "metadata": json.dumps({"title": f"bench {n}"})},
                files={"file": ("item.bin", io.BytesIO(body), "application/octet-stream")},
                headers=officer,
            )
            answer.raise_for_status()
            item = answer.json()
            ids.append(item["id"])
            purpose = "" if n % 10 == 0 else "证明违法事实"
            linked = client.post(
                f"/api/v1/cases/{case_id}/evidence",
                json={"evidence_id": item["id"], "purpose": purpose},
                headers=officer,
            )
            linked.raise_for_status()
        captured = _t() - started
        officer_id = client.get("/api/v1/me", headers=officer).json()["id"]
        dept = client.get("/api/v1/me", headers=officer).json()["department_id"]
        registered = client.post(
            "/api/v1/supervision/certificates",
            json=[
                {
                    "cert_no": "33010012345",
                    "holder": "张明",
                    "department_id": dept,
                    "officer_id": officer_id,
                    "valid_from": "2020-01-01",
                    "valid_to": "2030-12-31",
                }
            ],
            headers=officer,
        )
        assert registered.status_code in (200, 201), registered.text
        t0 = _t()
        while True:
            synced = client.post("/api/v1/supervision/sync", headers=auditor)
            synced.raise_for_status()
            if not any(f["more"] for f in synced.json()["feeds"].values()):
                break
        sync_s = _t() - t0
    services.close()
    purposeless = {f"{case_ids[n // ITEMS_PER_CASE]}/{i}" for n, i in enumerate(ids) if n % 10 == 0}
    return ids, captured, (sync_s, purposeless)


def run_all(engine: Engine, mode: str) -> tuple[float, dict[str, Any]]:
    """A run of every model through the runner; (seconds, the run)."""
    try:
        from evidence_service.modules.supervision.clues import runner
    except ImportError:  # pragma: no cover - before the runner exists: each find, summed
        runner = None
    started = _t()
    if runner is not None:
        answer = runner.run_models(engine, mode=mode, today=TODAY)  # type: ignore[arg-type]
        return _t() - started, answer
    from evidence_service.modules.supervision.clues.base import Scope

    hits = 0
    with engine.connect() as conn:
        for model in core_models.MODELS:
            hits += len(list(model.find(conn, Scope(today=TODAY))))
    return _t() - started, {"hits": hits}


def per_model_times(engine: Engine, since: datetime | None = None) -> dict[str, tuple[float, int]]:
    """Each registered model's ``find`` alone (full, or incremental from ``since``)."""
    from evidence_service.modules.supervision.clues import registry
    from evidence_service.modules.supervision.clues.base import Scope

    out = {}
    with engine.connect() as conn:
        for model in registry.MODELS:
            t0 = _t()
            hits = len(list(model.find(conn, Scope(today=TODAY, since=since))))
            out[model.code] = (_t() - t0, hits)
    return out


def baseline(engine: Engine) -> float:
    started = _t()
    with engine.connect() as conn:
        for table in TABLES:
            conn.execute(text(f"SELECT count(*) FROM {table.name}")).scalar()
    return _t() - started


def evaluate(engine: Engine, planted: Planted) -> list[tuple[str, int, int, int, int]]:
    """Per model: planted, found of them, hits in all, hits on unplanted subjects."""
    clues: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with engine.connect() as conn:
        for model, clue_id, subject in conn.execute(
            text("SELECT model, id, subject FROM supervision_clue WHERE status = 'open'")
        ):
            clues[model][clue_id].add(subject)
        for model, clue_id, ref in conn.execute(
            text(
                "SELECT c.model, c.id, l.ref FROM supervision_clue c JOIN supervision_clue_link l"
                " ON l.clue_id = c.id WHERE c.status = 'open' AND l.kind = 'record'"
            )
        ):
            clues[model][clue_id].add(ref)
    rows = []
    for code in sorted(set(clues) | set(planted.subjects)):
        want = planted.subjects.get(code, set())
        # a clue is about a planted problem if its subject, or a record it links, was planted
        named = clues.get(code, {})
        got = set().union(*named.values()) if named else set()
        false = sum(1 for refs in named.values() if not refs & want)
        rows.append((code, len(want), len(want & got), len(named), false))
    return rows


def _cockpit_in_fresh_process(url: str, base_s: float) -> None:
    engine = make_engine(url)
    try:
        cockpit_p99(engine, base_s)
    finally:
        engine.dispose()


def cockpit_p99(engine: Engine, base_s: float, rounds: int = 200) -> None:
    """The cockpit's figures at each level, ``rounds`` times after one summary rebuild: the
    query behind ``GET /api/v1/supervision/cockpit``, in process (the route adds the ASGI
    hop and its two calls to the core for who calls, a few milliseconds)."""
    started = _t()
    cells = indicators.refresh_summary(engine, now=datetime.now(UTC))
    rebuild_s = _t() - started
    print(f"\ncockpit summary rebuilt: {cells:,} cells in {rebuild_s:.2f} s")
    # A served cockpit reads a summary autovacuum has long analysed; right after the bulk load
    # it may still be at work on the big tables, so settle the summary's statistics first.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE supervision_cockpit_cell"))
    weights = dict(DEFAULT_INDICATOR_WEIGHTS)
    for level in indicators.LEVELS:
        query = indicators.CockpitQuery(level=level, period=None, department_id=None, limit=1000)
        times = []
        for _ in range(rounds):
            began = _t()
            indicators.cockpit(engine, query, weights)
            times.append(_t() - began)
        times.sort()
        p50, p99 = times[len(times) // 2], times[min(len(times) - 1, int(0.99 * len(times)))]
        verdict = "ok" if p99 <= 0.2 else "OVER"
        print(
            f"cockpit p99 ({level:10}) {1000 * p99:8.1f} ms  {p99 / base_s:8.3f}x baseline  "
            f"goal 200 ms {verdict}  (p50 {1000 * p50:.1f} ms, max {1000 * times[-1]:.1f} ms)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_200_000)
    parser.add_argument("--dsn", default=DEFAULT_DSN, help="an admin DSN of the server")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--planted-share", type=float, default=0.015)
    parser.add_argument("--core-share", type=float, default=0.005)
    parser.add_argument("--api-share", type=float, default=0.01)
    parser.add_argument("--incremental", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)

    name = f"bench_supervision_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = args.dsn.rsplit("/", 1)[0]
    url = base.replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    raw_dsn = f"{base}/{name}"
    print(f"database {name}; {args.records:,} records; today {TODAY}")
    engine = make_engine(url)
    report: list[tuple[str, float]] = []
    try:
        schema.ensure_schema(engine)
        api_ids: list[str] = []
        api_purposeless: set[str] = set()
        api_count = round(args.records * args.api_share)
        if api_count:
            with tempfile.TemporaryDirectory() as tmp:
                api_ids, seconds, (sync_s, api_purposeless) = capture_through_api(
                    url, api_count, Path(tmp)
                )
            print(
                f"API: {api_count:,} captures + case links in {seconds:.1f} s "
                f"({api_count / seconds:.0f}/s); auditor sync {sync_s:.2f} s"
            )
        with psycopg.connect(raw_dsn) as conn:
            loader = Loader(conn, args.seed, args)
            loader.api_items = list(api_ids)
            for code_subject in api_purposeless:
                loader.planted.add("evidence_without_purpose", code_subject)
            loader.start()
            t0 = _t()
            done = 0
            while done < args.records:
                step = min(CHUNK, args.records - done)
                loader.chunk(step)
                done += step
            gen_load = _t() - t0
            certs = loader.register()
            loader.transfers_and_refusals(max(100, args.records // 100))
            conn.execute(
                "INSERT INTO supervision_sync (feed, cursor, synced_at) VALUES "
                "('evidence@all', '0', %s) ON CONFLICT (feed) DO UPDATE SET synced_at = "
                "excluded.synced_at",
                (datetime.now(UTC),),
            )
            conn.commit()
            conn.autocommit = True
            t1 = _t()
            conn.execute("ANALYZE")
            analyze = _t() - t1
        print(
            f"generated, validated and COPYed {args.records:,} records in {gen_load:.1f} s "
            f"({args.records / gen_load:,.0f}/s); {certs:,} certificates; ANALYZE {analyze:.1f} s"
        )
        base_s = baseline(engine)
        with engine.connect() as conn:
            sizes = {
                t.name: conn.execute(text(f"SELECT count(*) FROM {t.name}")).scalar()
                for t in TABLES
            }
        print(
            "rows: "
            + ", ".join(f"{k.removeprefix('supervision_')} {v:,}" for k, v in sizes.items())
        )
        full_s, full_run = run_all(engine, "full")
        report.append(("full run, every model", full_s))
        print(f"full run: {full_s:.2f} s, {full_run.get('hits')} hits")
        rows = evaluate(engine, loader.planted)
        print(f"\n{'model':40} {'planted':>8} {'found':>8} {'recall':>7} {'hits':>8} {'false':>6}")
        total_false = 0
        for code, want, got, hits, false in rows:
            recall = f"{got / want:.0%}" if want else "-"
            total_false += false
            print(f"{code:40} {want:8,} {got:8,} {recall:>7} {hits:8,} {false:6,}")
        print(f"false hits in all: {total_false:,}")

        # incremental: 10,000 new records through the ordinary ingest, their evidence synced now
        with psycopg.connect(raw_dsn) as conn:
            loader.conn = conn
            loader.now = datetime.now(UTC) + timedelta(seconds=1)
            loader.batch_id = records.new_id()
            loader.start()
            loader.chunk(args.incremental)
            loader.register_new()  # their officers' certificates, registered as they come
            conn.execute(  # as a sync that read their evidence would leave it
                "UPDATE supervision_sync SET synced_at = %s WHERE feed = 'evidence@all'",
                (loader.now,),
            )
            conn.commit()
        inc_s, inc_run = run_all(engine, "incremental")
        report.append((f"incremental run after {args.incremental:,} records", inc_s))
        print(
            f"incremental run: {inc_s:.2f} s, mode {inc_run.get('mode')}, "
            f"{inc_run.get('hits')} hits"
        )

        full_times = per_model_times(engine)
        inc_times = per_model_times(engine, since=loader.now - timedelta(milliseconds=1))
        print(f"\n{'per model (find only)':40} {'full':>8} {'hits':>8} {'incr.':>8} {'hits':>6}")
        for code, (seconds, hits) in sorted(full_times.items(), key=lambda x: -x[1][0]):
            inc, inc_hits = inc_times[code]
            print(f"  {code:38} {seconds:7.2f}s {hits:8,} {inc:7.2f}s {inc_hits:6,}")
        print(f"\nbaseline SELECT count(*) over {len(TABLES)} tables: {base_s:.3f} s")
        goals = {"full run, every model": 60.0}
        for what, seconds in report:
            goal = goals.get(what, 5.0)
            verdict = "ok" if seconds <= goal else "OVER"
            print(
                f"{what:45} {seconds:8.2f} s  {seconds / base_s:8.1f}x baseline  "
                f"goal {goal:.0f} s {verdict}"
            )
        # In a process of its own, as a server answers it: this one holds the generator's
        # millions of objects, whose full garbage collections would land in the timings.
        timing = multiprocessing.get_context("spawn").Process(
            target=_cockpit_in_fresh_process, args=(url, base_s)
        )
        sys.stdout.flush()
        timing.start()
        timing.join()
    finally:
        engine.dispose()
        if not args.keep:
            with psycopg.connect(args.dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
