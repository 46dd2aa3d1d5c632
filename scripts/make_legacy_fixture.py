"""Make tests/fixtures/legacy_1a5f9fb/: data written by commit 1a5f9fb, the last version
without schema migrations, for the upgrade tests (tests/service/core/test_migrations.py).

It must run the OLD code, from a worktree of that commit, with no venv of its own (the packages
installed today are new enough for it; this was checked when the fixture was made)::

    git worktree add /tmp/wt1a5 1a5f9fb
    PYTHONPATH=/tmp/wt1a5 python3 scripts/make_legacy_fixture.py \
        --out tests/fixtures/legacy_1a5f9fb --pg postgresql+psycopg://postgres@127.0.0.1:5432
    git worktree remove /tmp/wt1a5

Two data sets, each a data dir of that version with its own object store (``objects/``) and
embedded chain (``chain/``), and the key passphrase and PII secret files that version wrote:

- ``sqlite/``: the database is the data dir's ``evidence.db``;
- ``postgres/``: the database lived in PostgreSQL (a scratch database, dropped afterwards) and is
  kept as ``postgres.sql``, a plain ``pg_dump --no-owner --no-privileges``.

Each is filled through that version's own API (its TestClient, demo users and anchoring
worker): captures on two ports, views and downloads, a case with an issued evidence list, a
transfer accepted (with its receipt), one rejected, one withdrawn, and every leaf anchored.
``manifest.json`` records what exists as the old API showed it: every table's row count, each
evidence's digest and exported proof, the evidence list, the transfers, the custody head.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import create_engine, func, select, text
from sqlmodel import Session, SQLModel

import evidence_service

A, B, PENALTY, COURT = "HZ-SCJG", "HZ-ZHZF", "HZ-CFK", "HZ-XHFY"


class Old:
    """That version's app and its demo users."""

    def __init__(self, client: TestClient, seeded: dict[str, Any]) -> None:
        self.client = client
        self.departments = {d["code"]: d["id"] for d in seeded["departments"]}
        codes = {d["id"]: d["code"] for d in seeded["departments"]}
        self.users = {(codes[u["department_id"]], u["role"]): u for u in seeded["users"]}

    def auth(self, code: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.users[(code, role)]['token']}"}

    def call(self, method: str, path: str, auth: dict[str, str], **kw: Any) -> Any:
        response = self.client.request(method, path, headers=auth, **kw)
        if response.status_code >= 300:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def capture(self, code: str, port: str, data: bytes, name: str, title: str) -> str:
        body = self.call(
            "POST",
            "/api/v1/evidence",
            self.auth(code, "officer"),
            data={"port": port, "metadata": json.dumps({"title": title}, ensure_ascii=False)},
            files={"file": (name, data, "application/octet-stream")},
        )
        return str(body["id"])


def png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, 120, 200)).save(out, "PNG")
    return out.getvalue()


def csv(n: int) -> bytes:
    rows = [f"2026-11-2{n % 10} 0{h}:00,冷库{n},{-18 + h * 0.5:.1f}" for h in range(8)]
    return ("time,place,celsius\n" + "\n".join(rows) + "\n").encode()


def fill(old: Old) -> dict[str, Any]:
    """Everything the fixture holds, made through the old API; returns what was made."""
    officer_a, reviewer_a = old.auth(A, "officer"), old.auth(A, "reviewer")
    penalty, court = old.auth(PENALTY, "penalty"), old.auth(COURT, "court")
    ids = [
        old.capture(A, "electronic", csv(n), f"温度记录-{n}.csv", f"电子数据 {n}") for n in range(4)
    ]
    ids.append(old.capture(A, "physical", png(40), "现场照片.png", "现场照片"))
    ids.append(old.capture(B, "electronic", csv(9), "巡查记录.csv", "综合执法 电子数据"))
    old.call("GET", f"/api/v1/evidence/{ids[0]}", officer_a)
    old.client.get(f"/api/v1/evidence/{ids[0]}/content", headers=officer_a).raise_for_status()

    case = old.call(
        "POST",
        "/api/v1/cases",
        officer_a,
        json={"case_number": "杭市监罚〔2026〕7号", "kind": "penalty", "title": "冷库温度超标"},
    )
    for evidence_id, purpose in ((ids[1], "证明温度超标"), (ids[0], "证明记录连续")):
        old.call(
            "POST",
            f"/api/v1/cases/{case['id']}/evidence",
            officer_a,
            json={"evidence_id": evidence_id, "purpose": purpose},
        )
    issued = old.call("POST", f"/api/v1/cases/{case['id']}/evidence-lists", reviewer_a)

    def send(body: dict[str, Any]) -> str:
        return str(old.call("POST", "/api/v1/transfers", reviewer_a, json=body)["id"])

    accepted = send({"to_department_id": old.departments[PENALTY], "case_id": case["id"]})
    old.call("POST", f"/api/v1/transfers/{accepted}/accept", penalty)
    old.client.get(f"/api/v1/evidence/{ids[1]}/content", headers=penalty).raise_for_status()
    rejected = send({"to_department_id": old.departments[COURT], "evidence_ids": [ids[2]]})
    old.call("POST", f"/api/v1/transfers/{rejected}/reject", court, json={"reason": "证据不全"})
    withdrawn = send({"to_department_id": old.departments[PENALTY], "evidence_ids": [ids[3]]})
    old.call("POST", f"/api/v1/transfers/{withdrawn}/withdraw", reviewer_a, json={"reason": "发错"})
    return {
        "evidence_ids": ids,
        "case_id": case["id"],
        "list_id": issued["id"],
        "transfers": {"accepted": accepted, "rejected": rejected, "withdrawn": withdrawn},
    }


def wait_all_anchored(old: Old, made: dict[str, Any], timeout: float = 180.0) -> None:
    """Until every proof, the evidence list and the transfers' manifests are anchored."""
    auditor = old.auth("ZJ-SFT", "auditor")
    deadline = time.monotonic() + timeout
    while True:
        pending = [
            e
            for e in made["evidence_ids"]
            if old.call("GET", f"/api/v1/evidence/{e}/proof", auditor)["anchor"] is None
        ]
        if old.call("GET", f"/api/v1/evidence-lists/{made['list_id']}", auditor)["anchor"] is None:
            pending.append(made["list_id"])
        for tid in made["transfers"].values():
            transfer = old.call("GET", f"/api/v1/transfers/{tid}", auditor)
            if transfer["manifest_anchor"]["state"] != "anchored":
                pending.append(tid)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"not anchored within {timeout}s: {pending}")
        time.sleep(0.3)


def export(old: Old, made: dict[str, Any], engine: Any) -> dict[str, Any]:
    """What the old API shows, for the upgrade test to compare against."""
    auditor = old.auth("ZJ-SFT", "auditor")
    reviewer_a = old.auth(A, "reviewer")
    evidence = {}
    for evidence_id in made["evidence_ids"]:
        row = old.call("GET", f"/api/v1/evidence/{evidence_id}", auditor)
        evidence[evidence_id] = {
            "sha256": row["sha256"],
            "size": row["size"],
            "port": row["port"],
            "proof": old.call("GET", f"/api/v1/evidence/{evidence_id}/proof", auditor),
            "custody_events": len(
                old.call("GET", f"/api/v1/evidence/{evidence_id}/custody", auditor)
            ),
        }
    transfers = {
        outcome: old.call("GET", f"/api/v1/transfers/{tid}", reviewer_a)
        for outcome, tid in made["transfers"].items()
    }
    with Session(engine) as session:
        counts = {
            table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }
    return {
        "departments": old.departments,
        "users": {f"{code}/{role}": u["id"] for (code, role), u in old.users.items()},
        "case_id": made["case_id"],
        "evidence": evidence,
        "evidence_list": old.call("GET", f"/api/v1/evidence-lists/{made['list_id']}", auditor),
        "transfers": transfers,
        "custody_verify": old.call("GET", "/api/v1/custody/verify", auditor),
        "row_counts": counts,
    }


def make_data_set(data_dir: Path, db_url: str | None) -> dict[str, Any]:
    from evidence_service.app import create_app
    from evidence_service.demo import seed_demo
    from evidence_service.services import build_services

    # 1a5f9fb's flat module, importable only from its worktree
    settings_class = importlib.import_module("evidence_service.config").Settings

    data_dir.mkdir(parents=True)
    settings = settings_class(
        data_dir=data_dir,
        db_url=db_url,
        anchor_worker=True,
        anchor_interval=0.3,
    )
    services = build_services(settings)
    try:
        seeded = seed_demo(services.engine, data_dir)
        with TestClient(create_app(services=services)) as client:
            old = Old(client, seeded)
            made = fill(old)
            wait_all_anchored(old, made)
            return export(old, made, services.engine)
    finally:
        services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pg", required=True, help="PostgreSQL server URL (no database)")
    args = parser.parse_args()
    here = Path(evidence_service.__file__).resolve().parent.parent
    commit = subprocess.run(
        ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not commit.startswith("1a5f9fb"):
        raise SystemExit(f"run with PYTHONPATH=<a worktree of 1a5f9fb>, not {here} at {commit}")
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)

    manifest: dict[str, Any] = {"commit": commit, "made_with": sys.version.split()[0]}
    manifest["sqlite"] = make_data_set(args.out / "sqlite", None)

    scratch = f"legacy_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{args.pg}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    try:
        manifest["postgres"] = make_data_set(args.out / "postgres", f"{args.pg}/{scratch}")
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "--no-privileges", "--format=plain",
             "--dbname", f"{args.pg.replace('+psycopg', '')}/{scratch}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        (args.out / "postgres" / "postgres.sql").write_text(dump)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()

    (args.out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    )
    os.sync()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
