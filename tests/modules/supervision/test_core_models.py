"""The problem models over the core's read models (``clues/core_models.py``), on SQLite and
PostgreSQL: each finds exactly its planted subjects among near-miss clean rows (boundaries of
days, hours and counts), a clean data set gives no hit at all; the sync reads a cut stream and
resumes; the 执法证 register's routes; and one run end to end through the core's API."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import Engine, func, insert, select

from evidence_service.client import AsyncEvidenceClient
from evidence_service.modules.kit.db import make_engine
from evidence_service.modules.supervision import records, schema, sync
from evidence_service.modules.supervision.clues import core_models
from evidence_service.modules.supervision.clues.base import Hit, Scope
from evidence_service.modules.supervision.models import (
    certificate,
    evidence,
    evidence_case,
    refusal,
    transfer,
)
from evidence_service.modules.supervision.models import sync as sync_table
from tests import samples
from tests.fixtures.service import Api
from tests.modules.supervision.helpers import (
    DEPT_A,
    ORG_ID,
    PERSON_ID,
    RECORDS,
    a_record,
    department_id,
    module_engine,
)
from tests.service.helpers import assert_problem, upload

SECRET = b"test-secret"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
BY_CODE = {m.code: m for m in core_models.MODELS}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    schema.ensure_schema(eng)
    yield eng
    eng.dispose()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def put_evidence(engine: Engine, ident: str, **over: Any) -> None:
    row = {
        "id": ident,
        "department_id": "D1",
        "officer_id": "O1",
        "port": "documentary",
        "captured_at": at("2026-02-01T02:00:00"),
        "received_at": at("2026-02-01T02:00:01"),
        "sha256": hashlib.sha256(ident.encode()).hexdigest(),
        "signed": True,
        "anchored_at": at("2026-02-01T03:00:00"),
        "synced_at": NOW,
        **over,
    }
    if "received_at" not in over:
        row["received_at"] = row["captured_at"]
    with engine.begin() as conn:
        conn.execute(insert(evidence), [row])


def put_cert(engine: Engine, cert_no: str, **over: Any) -> None:
    row = {
        "cert_no": cert_no,
        "holder": "张明",
        "department_id": "D1",
        "officer_id": None,
        "valid_from": date(2025, 1, 1),
        "valid_to": date(2027, 12, 31),
        "revoked_on": None,
        "created_at": NOW,
        "updated_at": NOW,
        **over,
    }
    with engine.begin() as conn:
        conn.execute(insert(certificate), [row])


def ingest(engine: Engine, *rows: dict[str, Any]) -> list[str]:
    result = records.ingest(
        engine, records.validate_rows(list(rows)), secret=SECRET, ingested_by="tester", fmt="json"
    )
    return result.ids


def run(
    engine: Engine, code: str, today: date = date(2026, 3, 10), **params: Any
) -> dict[str, Hit]:
    scope = Scope(today=today, params=params)
    with engine.connect() as conn:
        return {h.subject: h for h in BY_CODE[code].find(conn, scope)}


def test_there_are_at_least_nine_models_with_distinct_codes() -> None:
    assert len(core_models.MODELS) >= 9
    assert len(BY_CODE) == len(core_models.MODELS)
    for model in core_models.MODELS:
        assert model.basis and model.name and model.description
        assert set(model.reads) <= {"records", "certificates", "evidence", "refusals", "transfers"}


# ------------------------------------------------------------------ each model


def test_capture_without_valid_certificate(engine: Engine) -> None:
    put_cert(
        engine, "C1", officer_id="O1", valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31)
    )
    put_cert(engine, "C2", officer_id="O2", valid_to=date(2025, 12, 31))
    put_cert(engine, "C3", officer_id="O3", revoked_on=date(2026, 2, 1))
    put_evidence(engine, "E1", captured_at=at("2026-03-01T02:00:00"))  # O1 valid: clean
    put_evidence(engine, "E2", officer_id="O2", captured_at=at("2026-03-01T02:00:00"))  # expired
    put_evidence(engine, "E3", officer_id="O3", captured_at=at("2026-03-01T02:00:00"))  # revoked
    put_evidence(engine, "E4", officer_id="O3", captured_at=at("2026-01-15T02:00:00"))  # before
    put_evidence(engine, "E5", officer_id="O4")  # no certificate at all
    put_evidence(engine, "E6", officer_id="O9", department_id="D9")  # D9 keeps no register
    # 17:00 UTC on 31 December is 1 January in Beijing: C1 has expired; 15:59 UTC has not
    put_evidence(engine, "E7", captured_at=at("2026-12-31T16:00:00"))
    put_evidence(engine, "E8", captured_at=at("2026-12-31T15:59:00"))
    put_evidence(engine, "E9", officer_id=None)

    hits = run(engine, "capture_without_valid_certificate")
    assert set(hits) == {"E2", "E3", "E5", "E7"}
    assert hits["E2"].facts["reason"] == "执法证已过期"
    assert hits["E3"].facts["reason"] == "执法证已吊销"
    assert hits["E5"].facts["reason"] == "未在执法证登记册中"
    assert hits["E7"].facts["captured_on"] == "2027-01-01"
    assert ("certificate", "C3") in hits["E3"].links and ("officer", "O3") in hits["E3"].links
    assert hits["E2"].department_id == "D1"

    # incremental: only items synced, or certificates changed, after ``since``
    later = NOW + timedelta(hours=1)
    with engine.connect() as conn:
        model = BY_CODE["capture_without_valid_certificate"]
        assert list(model.find(conn, Scope(today=date(2026, 3, 10), since=later))) == []


def test_record_officer_certificate_invalid(engine: Engine) -> None:
    put_cert(engine, "33010012345")
    put_cert(engine, "33010012346", valid_to=date(2026, 1, 4))  # the day before filing
    put_cert(engine, "33010012347", valid_to=date(2026, 1, 5))  # valid on the filing day
    put_cert(engine, "33010012348", revoked_on=date(2026, 1, 5))
    officers = lambda *pairs: [{"name": n, "cert_no": c} for n, c in pairs]  # noqa: E731
    bad, good, unknown, revoked, elsewhere = ingest(
        engine,
        a_record("D1", "杭市监罚〔2026〕1号"),  # second officer's certificate expired
        a_record(
            "D1",
            "杭市监罚〔2026〕2号",
            officers=officers(("张明", "33010012345"), ("王芳", "33010012347")),
        ),
        a_record(
            "D1",
            "杭市监罚〔2026〕3号",
            officers=officers(("张明", "33010012345"), ("刘洋", "33019999999")),
        ),
        a_record(
            "D1",
            "杭市监罚〔2026〕4号",
            officers=officers(("张明", "33010012345"), ("陈静", "33010012348")),
        ),
        a_record("D2", "杭综执罚〔2026〕1号", officers=officers(("赵强", "1"), ("周敏", "2"))),
    )
    hits = run(engine, "record_officer_certificate_invalid")
    assert set(hits) == {bad, unknown, revoked}
    assert hits[bad].facts["officers"] == [
        {"name": "李华", "cert_no": "33010012346", "reason": "执法证已过期"}
    ]
    assert hits[unknown].facts["officers"][0]["reason"] == "未在执法证登记册中"
    assert hits[revoked].facts["officers"][0]["reason"] == "执法证已吊销"
    assert ("record", bad) in hits[bad].links
    assert good not in hits and elsewhere not in hits


def test_evidence_after_decision(engine: Engine) -> None:
    late, on_time = ingest(
        engine,
        a_record("D1", "杭市监罚〔2026〕1号", evidence_ids=["E1", "E2"], document_ids=["E3"]),
        a_record("D1", "杭市监罚〔2026〕2号", evidence_ids=["E1"], document_ids=["E3"]),
    )
    # decision 2026-03-01: 15:00 UTC is 23:00 that day in Beijing, 16:00 UTC the next day
    put_evidence(engine, "E1", captured_at=at("2026-03-01T15:00:00"))
    put_evidence(engine, "E2", captured_at=at("2026-03-01T16:00:00"))
    put_evidence(engine, "E3", captured_at=at("2026-03-05T00:00:00"))  # a document: may be later
    hits = run(engine, "evidence_after_decision")
    assert set(hits) == {late}
    assert [x["evidence_id"] for x in hits[late].facts["late"]] == ["E2"]
    assert hits[late].facts["decision_on"] == "2026-03-01"
    assert ("evidence", "E2") in hits[late].links and on_time not in hits


def test_evidence_not_anchored(engine: Engine) -> None:
    # today 2026-03-10: unanchored items captured before 2026-03-09T00:00Z are overdue
    put_evidence(engine, "E1", captured_at=at("2026-03-08T12:00:00"), anchored_at=None)
    put_evidence(engine, "E2", captured_at=at("2026-03-09T12:00:00"), anchored_at=None)
    put_evidence(
        engine, "E3", captured_at=at("2026-03-01T00:00:00"), anchored_at=at("2026-03-01T23:00:00")
    )
    put_evidence(
        engine, "E4", captured_at=at("2026-03-01T00:00:00"), anchored_at=at("2026-03-02T01:00:00")
    )
    hits = run(engine, "evidence_not_anchored")
    assert set(hits) == {"E1", "E4"}
    assert hits["E4"].facts["hours"] == 25.0 and hits["E1"].facts["anchored_at"] is None
    assert set(run(engine, "evidence_not_anchored", anchor_within_hours=30)) == {"E1"}


def test_unsigned_evidence(engine: Engine) -> None:
    put_evidence(engine, "E1", signed=False)
    put_evidence(engine, "E2")
    put_evidence(engine, "E3", signed=False, synced_at=NOW + timedelta(days=1))
    assert set(run(engine, "unsigned_evidence")) == {"E1", "E3"}
    with engine.connect() as conn:
        since = Scope(today=date(2026, 3, 10), since=NOW + timedelta(hours=1))
        assert [h.subject for h in BY_CODE["unsigned_evidence"].find(conn, since)] == ["E3"]


def test_record_cites_unknown_evidence_only_once_synced(engine: Engine) -> None:
    missing, complete, other = ingest(
        engine,
        a_record("D1", "杭市监罚〔2026〕1号", evidence_ids=["E1", "GONE"], document_ids=[]),
        a_record("D1", "杭市监罚〔2026〕2号", evidence_ids=["E1"], document_ids=["E2"]),
        a_record("D2", "杭综执罚〔2026〕1号", evidence_ids=["NOWHERE"], document_ids=[]),
    )
    put_evidence(engine, "E1")
    put_evidence(engine, "E2")
    assert run(engine, "record_cites_unknown_evidence") == {}  # never synced: no judgement

    later = records.utcnow() + timedelta(seconds=1)
    with engine.begin() as conn:  # a department's own reading judges its own records only
        conn.execute(
            insert(sync_table), [{"feed": "evidence@D1", "cursor": "9", "synced_at": later}]
        )
    hits = run(engine, "record_cites_unknown_evidence")
    assert set(hits) == {missing}
    assert hits[missing].facts["missing"] == [{"role": "evidence", "id": "GONE"}]

    with engine.begin() as conn:  # an auditor's reading judges every department's
        conn.execute(
            insert(sync_table), [{"feed": "evidence@all", "cursor": "9", "synced_at": later}]
        )
    assert set(run(engine, "record_cites_unknown_evidence")) == {missing, other}
    assert complete not in run(engine, "record_cites_unknown_evidence")


def put_transfer(engine: Engine, ident: str, **over: Any) -> None:
    row = {
        "id": ident,
        "from_department_id": "D1",
        "to_department_id": "COURT",
        "to_kind": "court",
        "status": "pending",
        "sent_at": at("2026-03-01T02:00:00"),
        "decided_at": None,
        "evidence_ids": ["E1", "E2"],
        "synced_at": NOW,
        **over,
    }
    with engine.begin() as conn:
        conn.execute(insert(transfer), [row])


def test_court_transfer_not_accepted(engine: Engine) -> None:
    # today 2026-03-20, 15 days: pending since before 2026-03-05T00:00Z is overdue
    put_transfer(engine, "T1")  # pending 19 days
    put_transfer(engine, "T2", sent_at=at("2026-03-10T00:00:00"))  # pending 10 days
    put_transfer(engine, "T3", status="accepted", decided_at=at("2026-03-21T03:00:00"))  # 20 days
    put_transfer(engine, "T4", status="accepted", decided_at=at("2026-03-04T00:00:00"))
    put_transfer(engine, "T5", to_kind="penalty", sent_at=at("2026-01-01T00:00:00"))
    put_transfer(engine, "T6", status="rejected", decided_at=at("2026-03-30T00:00:00"))
    hits = run(engine, "court_transfer_not_accepted", today=date(2026, 3, 20))
    assert set(hits) == {"T1", "T3"}
    assert hits["T1"].facts["days"] == 18 and hits["T1"].department_id == "D1"
    assert hits["T3"].facts["days"] == 20
    assert ("transfer", "T1") in hits["T1"].links and ("evidence", "E2") in hits["T1"].links
    assert run(engine, "court_transfer_not_accepted", date(2026, 3, 20), court_accept_days=30) == {}


def test_evidence_without_purpose(engine: Engine) -> None:
    put_evidence(engine, "E1")
    put_evidence(engine, "E2", department_id="D2")
    with engine.begin() as conn:
        conn.execute(
            insert(evidence_case),
            [
                {"evidence_id": "E1", "case_id": "C1", "purpose": ""},
                {"evidence_id": "E1", "case_id": "C2", "purpose": "证明当事人销售过期食品"},
                {"evidence_id": "E2", "case_id": "C1", "purpose": "  "},
            ],
        )
    hits = run(engine, "evidence_without_purpose")
    assert set(hits) == {"C1/E1", "C1/E2"}
    assert hits["C1/E2"].department_id == "D2"
    assert hits["C1/E1"].links == (("case", "C1"), ("evidence", "E1"))


def test_same_file_different_parties(engine: Engine) -> None:
    shared, same_party, reused = (hashlib.sha256(x).hexdigest() for x in (b"s", b"t", b"u"))
    put_evidence(engine, "E1", sha256=shared)
    put_evidence(engine, "E2", sha256=shared)  # identical bytes captured twice
    put_evidence(engine, "E3", sha256=same_party)
    put_evidence(engine, "E4", sha256=reused)
    put_evidence(engine, "E5", sha256=hashlib.sha256(b"doc").hexdigest())
    person = {"kind": "person", "identifier": PERSON_ID}
    org = {"kind": "organisation", "identifier": ORG_ID}
    r1, r2, r3, r4 = ingest(
        engine,
        a_record("D1", "1号", party=person, evidence_ids=["E1", "E3", "E4"], document_ids=["E5"]),
        a_record("D2", "2号", party=org, evidence_ids=["E2"], document_ids=["E5"]),
        a_record("D1", "3号", party=person, evidence_ids=["E3"], document_ids=[]),
        a_record("D1", "4号", party=org, evidence_ids=["E4"], document_ids=[]),
    )
    hits = run(engine, "same_file_different_parties")
    assert set(hits) == {shared, reused}
    assert {ref for kind, ref in hits[shared].links if kind == "record"} == {r1, r2}
    assert {ref for kind, ref in hits[shared].links if kind == "evidence"} == {"E1", "E2"}
    assert {ref for kind, ref in hits[reused].links if kind == "record"} == {r1, r4}
    assert hits[shared].facts["parties"] == 2 and r3 not in {r for _, r in hits[shared].links}


def test_repeated_refusals(engine: Engine) -> None:
    def refused(ident: int, actor: str | None, when: str, count: int = 1) -> dict[str, Any]:
        return {
            "id": ident,
            "at": at(when),
            "actor_id": actor,
            "department_id": "D1",
            "route": f"/api/v1/evidence/{ident}",
            "status": 404,
            "count": count,
            "synced_at": NOW,
        }

    with engine.begin() as conn:
        conn.execute(
            insert(refusal),
            [
                refused(1, "OA", "2026-03-04T00:00:00", 3),  # first instant of the window
                refused(2, "OA", "2026-03-10T23:00:00", 2),
                refused(3, "OB", "2026-03-05T00:00:00", 4),
                refused(4, "OB", "2026-03-03T23:59:59", 10),  # before the window
                refused(5, None, "2026-03-05T00:00:00", 100),  # no token: nobody to flag
            ],
        )
    hits = run(engine, "repeated_refusals")  # today 2026-03-10, 7 days, at least 5
    assert set(hits) == {"OA"}
    assert hits["OA"].facts["refused"] == 5 and hits["OA"].facts["routes"] == 2
    assert hits["OA"].links == (("officer", "OA"),)
    assert set(run(engine, "repeated_refusals", refusal_window_days=8)) == {"OA", "OB"}
    assert run(engine, "repeated_refusals", refusal_min=6) == {}


def test_a_clean_data_set_gives_no_hit(engine: Engine) -> None:
    put_cert(engine, "33010012345", officer_id="O1")
    put_cert(engine, "33010012346", officer_id="O2")
    ingest(
        engine,
        a_record("D1", "1号", evidence_ids=["E1"], document_ids=["E2"]),
        a_record(
            "D1",
            "2号",
            party={"kind": "organisation", "identifier": ORG_ID},
            evidence_ids=["E2"],
            document_ids=[],
        ),
    )
    put_evidence(engine, "E1")
    put_evidence(engine, "E2", officer_id="O2")
    put_transfer(engine, "T1", status="accepted", decided_at=at("2026-03-02T00:00:00"))
    with engine.begin() as conn:
        conn.execute(
            insert(evidence_case), [{"evidence_id": "E1", "case_id": "C1", "purpose": "x"}]
        )
        conn.execute(
            insert(sync_table),
            [{"feed": "evidence@all", "cursor": "2", "synced_at": records.utcnow()}],
        )
    for code in BY_CODE:
        assert run(engine, code) == {}, code


# ------------------------------------------------------------------ the sync


def _page(lines: list[str], end: dict[str, Any] | None) -> str:
    body = "\n".join(lines) + "\n"
    if end is not None:
        import json

        body += json.dumps(end) + "\n"
    return body


def _evidence_line(n: int) -> str:
    import json

    return json.dumps(
        {
            "cursor": str(n),
            "id": f"E{n}",
            "port": "documentary",
            "department_id": "D1",
            "officer_id": "O1",
            "captured_at": "2026-03-01T00:00:00Z",
            "received_at": "2026-03-01T00:00:01Z",
            "sha256": "a" * 64,
            "signed": True,
            "anchored": False,
            "anchored_at": None,
            "case_ids": ["C1"],
            "case_links": [{"case_id": "C1", "purpose": "" if n % 2 else "证明"}],
            "tags": [],
        }
    )


def test_a_cut_stream_keeps_its_complete_lines_and_the_next_reading_resumes(
    engine: Engine,
) -> None:
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        after = request.url.params["after"]
        asked.append(after)
        if after == "0":  # two whole lines, a third cut in the middle, no end line
            text = "\n".join([_evidence_line(1), _evidence_line(2), _evidence_line(3)[:40]])
            return httpx.Response(200, text=text)
        if after == "2":
            end = {"end": True, "next_cursor": "3", "count": 1}
            return httpx.Response(200, text=_page([_evidence_line(3)], end))
        end = {"end": True, "next_cursor": after, "count": 0}
        return httpx.Response(200, text=_page([], end))

    async def read() -> sync.FeedResult:
        async def direct(fn: Any) -> Any:
            return fn()

        client = AsyncEvidenceClient("http://core", "t", transport=httpx.MockTransport(answer))
        async with client as core:
            return await sync.sync_feed(core, engine, "evidence", "evidence@all", run_sync=direct)

    result = anyio.run(read)
    assert asked == ["0", "2"]
    assert result.read == 3 and result.complete is False and result.cursor == "3"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(evidence)).scalar() == 3
        rows = conn.execute(select(evidence_case.c.evidence_id, evidence_case.c.purpose))
        purposes = {ident: purpose for ident, purpose in rows}
        assert purposes == {"E1": "", "E2": "证明", "E3": ""}
        assert conn.execute(select(sync_table.c.cursor)).scalar() == "3"
    again = anyio.run(read)  # drained: asks from the stored cursor, reads nothing
    assert asked[-1] == "3" and again.read == 0 and again.complete


# ------------------------------------------------------------------ the register's routes

CERTS = "/api/v1/supervision/certificates"


def cert(dept: str, number: str, **over: Any) -> dict[str, Any]:
    return {
        "cert_no": number,
        "holder": "张明",
        "department_id": dept,
        "valid_from": "2025-01-01",
        "valid_to": "2027-12-31",
        **over,
    }


@pytest.mark.parametrize("backend", ["sqlite-local"])
def test_the_register_is_all_or_nothing_and_each_department_keeps_its_own(api: Api) -> None:
    a, b = department_id(api, DEPT_A), department_id(api, "HZ-ZHZF")
    officer, other = api.auth_as(DEPT_A, "officer"), api.auth_as("HZ-ZHZF", "officer")
    created = api.client.post(
        CERTS, json=[cert(a, "33010012345"), cert(a, "33010012346")], headers=officer
    )
    assert created.status_code == 201, created.text
    assert created.json() == {
        "created": 2,
        "updated": 0,
        "cert_nos": ["33010012345", "33010012346"],
    }
    again = api.client.post(CERTS, json=[cert(a, "33010012345", holder="张明明")], headers=officer)
    assert again.status_code == 200 and again.json()["updated"] == 1

    for body, status in (
        ([cert(a, "33010012347"), cert(a, "bad no")], 422),  # one bad row refuses the batch
        ([cert(a, "33010012347", valid_to="2024-01-01")], 422),
        ([cert(a, "33010012347"), cert(a, "33010012347")], 422),
        ([cert(a, "33010012347", extra=1)], 422),
        ([cert("NO-SUCH-DEPT", "33010012347")], 422),
        ([], 422),
        ({"cert_no": "1"}, 422),
        ([cert(b, "33010012347")], 403),  # another department's
    ):
        slug = {422: "bad-records", 403: "forbidden"}[status]
        assert_problem(api.client.post(CERTS, json=body, headers=officer), status, slug)
    # a number registered to another department is theirs
    assert_problem(
        api.client.post(CERTS, json=[cert(b, "33010012345")], headers=other), 403, "forbidden"
    )
    assert_problem(
        api.client.post(CERTS, content=b"x", headers={**officer, "content-type": "text/csv"}),
        415,
        "wrong-media-type",
    )
    assert_problem(
        api.client.post(CERTS, json=[cert(a, "1")] * 5001, headers=officer), 413, "too-many-records"
    )
    assert_problem(
        api.client.post(
            CERTS, json=[cert(a, "33010099999")], headers=api.auth_as("ZJ-SFT", "auditor")
        ),
        403,
        "forbidden",
    )

    listed = api.client.get(CERTS, params={"limit": 1}, headers=officer).json()
    assert [c["cert_no"] for c in listed["items"]] == ["33010012345"]
    rest = api.client.get(CERTS, params={"cursor": listed["next_cursor"]}, headers=officer).json()
    assert [c["cert_no"] for c in rest["items"]] == ["33010012346"] and rest["next_cursor"] is None
    one = api.client.get(f"{CERTS}/33010012345", headers=officer)
    assert one.status_code == 200 and one.json()["holder"] == "张明明"
    assert_problem(api.client.get(f"{CERTS}/33010012345", headers=other), 404, "not-found")
    assert api.client.get(CERTS, headers=other).json()["items"] == []
    auditor = api.auth_as("ZJ-SFT", "auditor")
    assert len(api.client.get(CERTS, headers=auditor).json()["items"]) == 2
    expired = api.client.get(CERTS, params={"valid_on": "2028-01-01"}, headers=auditor)
    assert expired.json()["items"] == []
    with module_engine(api).connect() as conn:
        assert conn.execute(select(func.count()).select_from(certificate)).scalar() == 2


# ------------------------------------------------------------------ end to end


def test_end_to_end_capture_link_sync_and_find(api: Api) -> None:
    """Real captures through the core, a core case listing one item with and one without a
    purpose, a 执法证 that expired before the captures, a record citing one item and an id the
    core never had, refused requests: an auditor's sync over HTTP, then the models."""
    officer = api.auth_as(DEPT_A, "officer")
    items = []
    for n in range(2):
        response = upload(api, "documentary", samples.pdf(n + 1), headers=officer)
        assert response.status_code == 201, response.text
        items.append(response.json())
    case = api.client.post(
        "/api/v1/cases",
        json={"case_number": "杭市监罚〔2026〕9号", "kind": "penalty", "title": "销售过期食品"},
        headers=officer,
    )
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    for item, purpose in ((items[0], "证明当事人销售过期食品"), (items[1], "")):
        linked = api.client.post(
            f"/api/v1/cases/{case_id}/evidence",
            json={"evidence_id": item["id"], "purpose": purpose},
            headers=officer,
        )
        assert linked.status_code in (200, 201), linked.text
    a = department_id(api, DEPT_A)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    registered = api.client.post(
        CERTS,
        json=[
            cert(a, "33010012345", officer_id=items[0]["officer_id"], valid_to=yesterday),
            cert(a, "33010012346"),
        ],
        headers=officer,
    )
    assert registered.status_code == 201, registered.text
    ingested = api.client.post(
        RECORDS,
        json=[
            a_record(
                a, evidence_ids=[items[0]["id"], "01JNEVERCAPTURED0000000000"], document_ids=[]
            )
        ],
        headers=officer,
    )
    assert ingested.status_code == 201, ingested.text
    record_id = ingested.json()["ids"][0]
    for _ in range(5):  # the refusals feed is oversight's: each try is a logged refusal
        assert_problem(api.client.get("/api/v1/feeds/refusals", headers=officer), 403, "forbidden")

    worker = api.client.post("/api/v1/supervision/sync", headers=officer)
    assert worker.status_code == 200, worker.text
    assert worker.json()["scope"] == a
    assert worker.json()["feeds"]["refusals"]["skipped"] == "forbidden"
    assert worker.json()["feeds"]["evidence"]["read"] == 2

    auditor = api.auth_as("ZJ-SFT", "auditor")
    synced = api.client.post("/api/v1/supervision/sync", headers=auditor)
    assert synced.status_code == 200, synced.text
    feeds = synced.json()["feeds"]
    assert synced.json()["scope"] == "all"
    assert feeds["evidence"]["read"] == 2 and feeds["evidence"]["complete"]
    assert feeds["refusals"]["read"] >= 5 and feeds["refusals"]["skipped"] is None
    assert feeds["transfers"]["read"] == 0
    again = api.client.post("/api/v1/supervision/sync", headers=auditor).json()["feeds"]
    assert again["evidence"]["read"] == 0  # resumed from its cursor

    engine = module_engine(api)
    today = date.today()
    found = {
        m.code: {h.subject: h for h in run_all(engine, m.code, today)} for m in core_models.MODELS
    }
    assert set(found["evidence_without_purpose"]) == {f"{case_id}/{items[1]['id']}"}
    assert set(found["capture_without_valid_certificate"]) == {items[0]["id"], items[1]["id"]}
    assert (
        found["capture_without_valid_certificate"][items[0]["id"]].facts["reason"] == "执法证已过期"
    )
    assert set(found["record_cites_unknown_evidence"]) == {record_id}
    assert found["record_cites_unknown_evidence"][record_id].facts["missing"] == [
        {"role": "evidence", "id": "01JNEVERCAPTURED0000000000"}
    ]
    assert set(found["evidence_after_decision"]) == {record_id}  # decided 2026-03-01
    officer_id = items[0]["officer_id"]
    assert set(found["repeated_refusals"]) == {officer_id}
    assert found["unsigned_evidence"] == {} and found["court_transfer_not_accepted"] == {}
    assert found["evidence_not_anchored"] == {}  # captured today: not overdue yet


def run_all(engine: Engine, code: str, today: date) -> list[Hit]:
    with engine.connect() as conn:
        return list(BY_CODE[code].find(conn, Scope(today=today)))


def test_the_transfers_reading_starts_again_before_the_oldest_pending_one(engine: Engine) -> None:
    import json

    state = {"T1": "pending"}
    asked: list[str] = []

    def line(ident: str, status: str) -> str:
        return json.dumps(
            {
                "id": ident,
                "from_department_id": "D1",
                "to_department_id": "COURT",
                "to_kind": "court",
                "status": status,
                "sent_at": "2026-03-01T00:00:00Z",
                "decided_at": None if status == "pending" else "2026-03-02T00:00:00Z",
                "evidence_ids": ["E1"],
            }
        )

    def answer(request: httpx.Request) -> httpx.Response:
        after = request.url.params["after"]
        asked.append(after)
        lines = [line(i, s) for i, s in (("T1", state["T1"]), ("T2", "accepted")) if i > after]
        cursor = "T2" if lines else after
        end = {"end": True, "next_cursor": cursor, "count": len(lines)}
        return httpx.Response(200, text=_page(lines, end))

    async def read() -> sync.FeedResult:
        async def direct(fn: Any) -> Any:
            return fn()

        client = AsyncEvidenceClient("http://core", "t", transport=httpx.MockTransport(answer))
        async with client as core:
            return await sync.sync_feed(core, engine, "transfers", "transfers@all", run_sync=direct)

    first = anyio.run(read)
    assert first.read == 2 and first.cursor == "T2"
    state["T1"] = "accepted"  # decided since: the next reading must see it
    second = anyio.run(read)
    assert asked == ["0", "0"] and second.cursor == "T2"
    with engine.connect() as conn:
        rows = conn.execute(select(transfer.c.id, transfer.c.status))
        statuses = {ident: status for ident, status in rows}
    assert statuses == {"T1": "accepted", "T2": "accepted"}
    anyio.run(read)  # nothing pending now: from the stored cursor
    assert asked[-1] == "T2"


def test_same_file_incremental_looks_at_what_changed(engine: Engine) -> None:
    shared = hashlib.sha256(b"s").hexdigest()
    put_evidence(engine, "E1", sha256=shared)
    put_evidence(engine, "E2", sha256=shared)
    org = {"kind": "organisation", "identifier": ORG_ID}
    ingest(
        engine,
        a_record("D1", "1号", evidence_ids=["E1"], document_ids=[]),
        a_record("D2", "2号", party=org, evidence_ids=["E2"], document_ids=[]),
    )
    model = BY_CODE["same_file_different_parties"]
    with engine.connect() as conn:
        before = Scope(today=date(2026, 3, 10), since=NOW - timedelta(days=1))
        assert [h.subject for h in model.find(conn, before)] == [shared]
        after = Scope(today=date(2026, 3, 10), since=records.utcnow() + timedelta(seconds=1))
        assert list(model.find(conn, after)) == []


def test_an_incremental_run_after_a_sync_runs_the_models_that_read_the_synced_feed(
    engine: Engine,
) -> None:
    """The sync keeps one cursor per scope (``evidence@all``); a run must still know that the
    ``evidence`` read model changed, or models over it would sit out every incremental run."""
    from evidence_service.modules.supervision.clues import runner

    first = runner.run_models(engine, codes=["unsigned_evidence"], now=NOW)
    assert (first["mode"], first["hits"]) == ("full", 0)
    later = NOW + timedelta(hours=1)
    put_evidence(engine, "EV-UNSIGNED", signed=False, synced_at=later)
    with engine.begin() as conn:
        conn.execute(
            insert(sync_table), [{"feed": "evidence@all", "cursor": "7", "synced_at": later}]
        )
    second = runner.run_models(
        engine, codes=["unsigned_evidence"], mode="incremental", now=later + timedelta(minutes=1)
    )
    assert (second["mode"], second["hits"], second["opened"]) == ("incremental", 1, 1)
