"""The auditor's page: only auditors and admins; the audit trail CSV holds every custody event
of the period with links that recompute the chain."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from signing.jcs import canonicalize
from tests.fixtures.service import Api


def sign_in(api: Api, role: str) -> None:
    api.client.cookies.clear()
    token = api.users[role]["token"]
    assert api.client.post("/login", data={"token": token}).status_code == 303


def today() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def test_only_auditors_and_admins(web: Api) -> None:
    sign_in(web, "officer")
    assert web.client.get("/audit").status_code == 403
    trail = web.client.get("/audit/trail.csv", params={"from": today(), "to": today()})
    assert trail.status_code == 403
    sign_in(web, "auditor")
    page = web.client.get("/audit")
    assert page.status_code == 200 and 'data-testid="audit-check"' in page.text


def test_trail_has_every_event_of_the_period_and_chains(web: Api) -> None:
    ids = []
    for n in range(3):
        made = web.client.post(
            "/api/v1/evidence",
            headers=web.auth("officer"),
            data={"port": "electronic", "metadata": json.dumps({"title": f"t{n}"})},
            files={"file": ("a.txt", f"audit {n}".encode(), "text/plain")},
        )
        assert made.status_code == 201
        ids.append(made.json()["id"])
    log = web.client.get("/api/v1/custody/verify", headers=web.auth("auditor"))
    assert log.status_code == 200 and log.json()["valid"] is True
    sign_in(web, "auditor")
    trail = web.client.get("/audit/trail.csv", params={"from": today(), "to": today()})
    assert trail.status_code == 200
    assert trail.headers["content-type"].startswith("text/csv")
    assert "attachment" in trail.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(trail.text)))
    captured = {r["evidence_id"] for r in rows if r["action"] == "captured"}
    assert set(ids) <= captured
    seqs = [int(r["seq"]) for r in rows]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    for row in rows:  # each row's hash follows from its body and prev_hash
        body = {
            "seq": int(row["seq"]),
            "evidence_id": row["evidence_id"] or None,
            "action": row["action"],
            "actor_id": row["actor_id"] or None,
            "department_id": row["department_id"] or None,
            "at": row["at_utc"],
            "details": json.loads(row["details"]),
        }
        digest = hashlib.sha256(bytes.fromhex(row["prev_hash"]) + canonicalize(body)).hexdigest()
        assert digest == row["hash"]
    for earlier, later in zip(rows, rows[1:], strict=False):
        if int(later["seq"]) == int(earlier["seq"]) + 1:
            assert later["prev_hash"] == earlier["hash"]
    yesterday = (datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)).isoformat()
    empty = web.client.get("/audit/trail.csv", params={"from": yesterday, "to": yesterday})
    assert list(csv.DictReader(io.StringIO(empty.text))) == []


def test_a_bad_or_too_long_period_is_refused_on_the_page(web: Api) -> None:
    sign_in(web, "auditor")
    reversed_ = web.client.get("/audit/trail.csv", params={"from": today(), "to": "2000-01-01"})
    assert reversed_.status_code == 422 and 'data-testid="audit-error"' in reversed_.text
    long = web.client.get("/audit/trail.csv", params={"from": "2020-01-01", "to": "2021-01-01"})
    assert long.status_code == 422
    nonsense = web.client.get("/audit/trail.csv", params={"from": "x", "to": "y"})
    assert nonsense.status_code == 422
