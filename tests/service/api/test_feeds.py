"""The evidence feed (GET /api/v1/feeds/evidence): NDJSON lines in arrival order, cursors
that page without gaps or duplicates and keep their place while items arrive, a department's
own items (and every department's for an auditor), bounded limits, and a page of thousands read
in a handful of queries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlmodel import Session, select

from evidence_service.access.models import Officer
from evidence_service.anchoring.models import AnchorBatch, AnchorLeaf, BatchStatus, LeafKind
from evidence_service.capture.models import Evidence, EvidenceTag
from evidence_service.cases.models import Case, CaseEvidenceEntry
from evidence_service.custody.models import CustodyEvent
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, sha256, upload

A, B = "HZ-SCJG", "HZ-ZHZF"
FEED = "/api/v1/feeds/evidence"


def read_feed(
    api: Api, headers: dict[str, str], **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    response = api.client.get(FEED, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    end = lines.pop()
    assert end["end"] is True and end["count"] == len(lines)
    assert response.headers["X-Next-Cursor"] == end["next_cursor"]
    return lines, end, end["next_cursor"]


def capture(api: Api, dept: str, title: str) -> dict[str, Any]:
    response = upload(
        api,
        "documentary",
        samples.pdf(1),
        metadata={"title": title},
        headers=api.auth_as(dept, "officer"),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_pages_follow_arrival_order_without_gaps_or_duplicates(api: Api) -> None:
    officer = api.auth_as(A, "officer")
    items = [capture(api, A, f"item {n}") for n in range(5)]
    seen: list[str] = []
    cursor = "0"
    for _ in range(4):
        lines, end, cursor = read_feed(api, officer, after=cursor, limit=2)
        seen += [line["id"] for line in lines]
        if not lines:
            break
    assert seen == [item["id"] for item in items]
    assert end["count"] == 0 and cursor == end["next_cursor"]  # drained: the cursor stays put

    late = capture(api, A, "late")  # arrives after the reader caught up
    lines, _, after_late = read_feed(api, officer, after=cursor)
    assert [line["id"] for line in lines] == [late["id"]]
    assert int(after_late) > int(cursor)
    again, _, _ = read_feed(api, officer, after=cursor)  # the same cursor reads the same page
    assert again == lines

    first = read_feed(api, officer, limit=1)[0][0]
    assert first["id"] == items[0]["id"]
    assert first["sha256"] == sha256(samples.pdf(1))
    assert first["port"] == "documentary" and first["department_id"] == items[0]["department_id"]
    assert first["officer_id"] == items[0]["officer_id"]
    assert first["received_at"] == items[0]["received_at"]
    assert first["signed"] is True and first["anchored"] is False and first["batch_id"] is None
    assert first["case_ids"] == [] and first["tags"] == []


def test_a_department_reads_its_own_and_an_auditor_every_department(api: Api) -> None:
    mine = capture(api, A, "A's")
    theirs = capture(api, B, "B's")
    ids = lambda role_dept: [line["id"] for line in read_feed(api, api.auth_as(*role_dept))[0]]  # noqa: E731
    assert ids((A, "officer")) == [mine["id"]]
    assert ids((A, "reviewer")) == [mine["id"]]
    assert ids((B, "officer")) == [theirs["id"]]
    assert ids(("ZJ-SFT", "auditor")) == [mine["id"], theirs["id"]]
    assert ids(("HZ-XHFY", "court")) == []  # nothing transferred to the court
    assert_problem(api.client.get(FEED, headers=api.auth("admin")), 403, "forbidden")
    assert_problem(api.client.get(FEED), 401, "missing-token")


@pytest.mark.parametrize("backend", ["sqlite-local"])
@pytest.mark.parametrize(
    "params",
    [{"limit": 100_001}, {"limit": 0}, {"after": -1}, {"after": "abc"}, {"after": 2**63}],
)
def test_limits_and_cursors_out_of_bounds_are_refused(api: Api, params: dict[str, Any]) -> None:
    response = api.client.get(FEED, params=params, headers=api.auth_as(A, "officer"))
    assert_problem(response, 422, "invalid-request")


@pytest.mark.parametrize("backend", ["sqlite-local"])
def test_the_largest_page_is_allowed(api: Api) -> None:
    lines, end, cursor = read_feed(api, api.auth_as(A, "officer"), limit=100_000)
    assert lines == [] and cursor == "0"


def bulk_items(api: Api, dept_code: str, count: int) -> list[str]:
    """``count`` items of ``dept_code`` written straight to the tables (captured events
    pending, as a capture leaves them), the first ten anchored, tagged and in a case."""
    engine = api.services.engine
    dept = next(d for d in api.departments if d["code"] == dept_code)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with Session(engine) as session:
        officer = session.exec(
            select(Officer).where(Officer.department_id == dept["id"], Officer.role == "officer")
        ).one()
        ids = [f"01K{dept_code[-2:]}{n:021d}" for n in range(count)]
        session.execute(
            insert(Evidence),
            [
                {
                    "id": ident,
                    "port": "documentary",
                    "title": "bulk",
                    "description": "",
                    "captured_at": now,
                    "received_at": now + timedelta(seconds=n),
                    "officer_id": officer.id,
                    "department_id": dept["id"],
                    "tags": [],
                    "capture_metadata": {},
                    "metadata_sha256": "0" * 64,
                    "media_type": "application/pdf",
                    "size": 1,
                    "sha256": f"{n:064x}",
                    "sm3": "0" * 64,
                    "extracted": {},
                    "statement": {},
                    "statement_sha256": "0" * 64,
                    "signature": None,
                    "object_key": ident,
                    "finalized": True,
                    "legal_hold": False,
                }
                for n, ident in enumerate(ids)
            ],
        )
        session.execute(
            insert(CustodyEvent),
            [
                {
                    "evidence_id": ident,
                    "action": "captured",
                    "actor_id": officer.id,
                    "department_id": dept["id"],
                    "at": now,
                    "details": {},
                }
                for ident in ids
            ],
        )
        batch = AnchorBatch(
            status=BatchStatus.anchored,
            root="ab" * 32,
            tree_size=10,
            custody_seq=0,
            custody_head="00" * 32,
            closed_at=now,
            anchored_at=now + timedelta(minutes=1),
        )
        session.add(batch)
        session.flush()
        for n, ident in enumerate(ids[:10]):
            session.add(
                AnchorLeaf(
                    kind=LeafKind.statement,
                    evidence_id=ident,
                    leaf_hash=f"{n:064x}",
                    batch_id=batch.id,
                    leaf_index=n,
                    created_at=now,
                )
            )
            session.add(EvidenceTag(evidence_id=ident, type="free", value="bulk", created_at=now))
        case = Case(
            id="01KCASE" + "0" * 19,
            department_id=dept["id"],
            case_number="BULK-1",
            kind="inspection",
            title="bulk",
            status="open",
            opened_at=now,
            created_by=officer.id,
        )
        session.add(case)
        session.flush()
        for n, ident in enumerate(ids[:10]):
            session.add(CaseEvidenceEntry(case_id=case.id, evidence_id=ident, position=n))
        session.commit()
    return ids


@pytest.mark.parametrize("backend", ["sqlite-local"])
def test_a_page_of_thousands_is_read_in_a_few_queries(api: Api) -> None:
    ids = bulk_items(api, A, 3000)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(api.services.engine, "before_cursor_execute", count)
    try:
        lines, end, cursor = read_feed(api, api.auth_as(A, "officer"), limit=2500)
    finally:
        event.remove(api.services.engine, "before_cursor_execute", count)
    assert [line["id"] for line in lines] == ids[:2500]
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) < 40, reads  # a batch of 1000 takes four reads, whatever its size
    assert lines[0]["anchored"] is True and lines[0]["batch_id"] is not None
    assert lines[0]["anchored_at"] and lines[0]["case_ids"] == ["01KCASE" + "0" * 19]
    assert lines[0]["tags"] == [{"type": "free", "value": "bulk"}]
    assert lines[10]["anchored"] is False and lines[10]["case_ids"] == []
    rest, _, _ = read_feed(api, api.auth_as(A, "officer"), after=cursor)
    assert [line["id"] for line in rest] == ids[2500:]
    assert read_feed(api, api.auth_as(B, "officer"))[0] == []


# ------------------------------------------------------------------ case links and transfers


def test_each_case_link_carries_the_purpose_given_on_the_list(api: Api) -> None:
    item = capture(api, A, "linked")
    cases = []
    for number, purpose in (
        ("杭市监罚〔2026〕1号", "证明当事人销售过期食品"),
        ("杭市监罚〔2026〕2号", ""),
    ):
        case = api.client.post(
            "/api/v1/cases",
            json={"case_number": number, "kind": "penalty", "title": number},
            headers=api.auth(),
        )
        assert case.status_code == 201, case.text
        body = (
            {"evidence_id": item["id"], "purpose": purpose}
            if purpose
            else {"evidence_id": item["id"]}
        )
        linked = api.client.post(
            f"/api/v1/cases/{case.json()['id']}/evidence", json=body, headers=api.auth()
        )
        assert linked.status_code in (200, 201), linked.text
        cases.append((case.json()["id"], purpose))
    lines, _, _ = read_feed(api, api.auth_as(A, "officer"))
    line = next(line for line in lines if line["id"] == item["id"])
    expected = sorted(({"case_id": c, "purpose": p} for c, p in cases), key=lambda x: x["case_id"])
    assert line["case_links"] == expected
    assert line["case_ids"] == [link["case_id"] for link in expected]


TRANSFERS = "/api/v1/feeds/transfers"


def read_transfers(
    api: Api, headers: dict[str, str], **params: Any
) -> tuple[list[dict[str, Any]], str]:
    response = api.client.get(TRANSFERS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    end = lines.pop()
    assert end["end"] is True and end["count"] == len(lines)
    assert response.headers["X-Next-Cursor"] == end["next_cursor"]
    return lines, end["next_cursor"]


def send(api: Api, to_code: str, item: str) -> dict[str, Any]:
    to = next(d["id"] for d in api.departments if d["code"] == to_code)
    response = api.client.post(
        "/api/v1/transfers",
        json={"to_department_id": to, "evidence_ids": [item]},
        headers=api.auth_as(A, "reviewer"),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_the_transfers_feed_gives_each_end_its_own_and_the_auditor_all(api: Api) -> None:
    first, second = capture(api, A, "one"), capture(api, A, "two")
    to_court = send(api, "HZ-XHFY", first["id"])
    to_b = send(api, B, second["id"])
    accepted = api.client.post(
        f"/api/v1/transfers/{to_b['id']}/accept", headers=api.auth_as(B, "reviewer")
    )
    assert accepted.status_code == 200, accepted.text

    lines, cursor = read_transfers(api, api.auth_as("ZJ-SFT", "auditor"))
    assert [line["id"] for line in lines] == sorted([to_court["id"], to_b["id"]])
    by_id = {line["id"]: line for line in lines}
    court = by_id[to_court["id"]]
    assert court["to_kind"] == "court" and court["status"] == "pending"
    assert court["decided_at"] is None and court["evidence_ids"] == [first["id"]]
    assert court["from_department_id"] == first["department_id"]
    assert court["sent_at"]
    other = by_id[to_b["id"]]
    assert other["to_kind"] == "inspection" and other["status"] == "accepted"
    assert other["decided_at"] and other["evidence_ids"] == [second["id"]]
    assert cursor == lines[-1]["id"]

    # each end sees its own; a department at neither end sees nothing
    ids = lambda headers: [line["id"] for line in read_transfers(api, headers)[0]]  # noqa: E731
    assert ids(api.auth_as(A, "officer")) == sorted([to_court["id"], to_b["id"]])
    assert ids(api.auth_as(B, "officer")) == [to_b["id"]]
    assert ids(api.auth_as("HZ-XHFY", "court")) == [to_court["id"]]
    assert ids(api.auth_as("HZ-CFK", "penalty")) == []

    # pages: one line each, then drained with the cursor staying put
    page1, c1 = read_transfers(api, api.auth_as("ZJ-SFT", "auditor"), limit=1)
    page2, c2 = read_transfers(api, api.auth_as("ZJ-SFT", "auditor"), after=c1, limit=1)
    page3, c3 = read_transfers(api, api.auth_as("ZJ-SFT", "auditor"), after=c2)
    assert [p["id"] for p in page1 + page2] == [line["id"] for line in lines]
    assert page3 == [] and c3 == c2

    assert_problem(api.client.get(TRANSFERS, headers=api.auth("admin")), 403, "forbidden")
    assert_problem(api.client.get(TRANSFERS), 401, "missing-token")


@pytest.mark.parametrize("backend", ["sqlite-local"])
@pytest.mark.parametrize(
    "params",
    [{"limit": 10_001}, {"limit": 0}, {"after": ""}, {"after": "01K-"}, {"after": "A" * 27}],
)
def test_transfer_feed_bounds_are_refused(api: Api, params: dict[str, Any]) -> None:
    response = api.client.get(TRANSFERS, params=params, headers=api.auth_as(A, "officer"))
    assert_problem(response, 422, "invalid-request")
