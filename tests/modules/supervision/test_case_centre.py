"""The case centre over HTTP, on SQLite and PostgreSQL: JSON and CSV batches, update on
re-post, whole-batch refusal with nothing written, department isolation, the office's and the
auditor's view, party identifiers kept only as HMAC, pagination."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from typing import Any

from sqlalchemy import select

from evidence_service.modules.supervision.models import record
from tests.fixtures.service import Api
from tests.modules.supervision.helpers import (
    DEPT_A,
    DEPT_B,
    ORG_ID,
    PERSON_ID,
    RECORDS,
    TABLES,
    a_record,
    counts,
    department_id,
    module_engine,
    office_officer,
)

CSV_HEADER = (
    "kind,department_id,case_number,title,city,procedure,filing,decision,notified_amount,"
    "decided_amount,party_kind,party_identifier,evidence_ids,officers\n"
)


def csv_line(dept: str, number: str, title: str = "无照经营") -> str:
    return (
        f"penalty,{dept},{number},{title},杭州,general,2026-02-01,2026-03-20,800.5,800.50,"
        f"organisation,{ORG_ID},01JEV1;01JEV2,王芳:33010022345;赵强:33010022346\n"
    )


def test_json_and_csv_batches_are_ingested_and_a_repost_updates(api: Api) -> None:
    a = department_id(api, DEPT_A)
    officer = api.auth_as(DEPT_A, "officer")
    first = api.client.post(
        RECORDS, json=[a_record(a), a_record(a, "杭市监罚〔2026〕2号")], headers=officer
    )
    assert first.status_code == 201, first.text
    assert (first.json()["created"], first.json()["updated"]) == (2, 0)
    one_id = first.json()["ids"][0]

    shown = api.client.get(f"{RECORDS}/{one_id}", headers=officer).json()
    assert shown["stages"]["filing"] == "2026-01-05" and shown["stages"]["service"] == "2026-03-03"
    assert shown["stages"]["hearing"] is None
    assert (shown["notified_amount"], shown["decided_amount"]) == ("5000.00", "5000.00")
    assert shown["officers"] == [
        {"name": "张明", "cert_no": "33010012345"},
        {"name": "李华", "cert_no": "33010012346"},
    ]
    assert shown["evidence_ids"] == ["01JEVIDENCE0000000000000001"]
    assert shown["document_ids"] == ["01JDOCUMENT0000000000000001"]
    assert shown["party"] == {"kind": "person", "masked": "1101**********002X"}

    again = api.client.post(
        RECORDS,
        json=[a_record(a, title="销售过期食品（更正）", officers=[{"name": "张明"}])],
        headers=officer,
    )
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["updated"], again.json()["ids"]) == (
        0,
        1,
        [one_id],
    )
    shown = api.client.get(f"{RECORDS}/{one_id}", headers=officer).json()
    assert shown["title"] == "销售过期食品（更正）"
    assert shown["officers"] == [{"name": "张明", "cert_no": None}]  # replaced, not added to
    assert counts(api)["supervision_record"] == 2

    body = (
        CSV_HEADER + csv_line(a, "杭市监罚〔2026〕3号") + csv_line(a, "杭市监罚〔2026〕2号", "改")
    )
    posted = api.client.post(
        RECORDS, content=body.encode(), headers={**officer, "Content-Type": "text/csv"}
    )
    assert posted.status_code == 201, posted.text
    assert (posted.json()["created"], posted.json()["updated"]) == (1, 1)
    csv_one = api.client.get(f"{RECORDS}/{posted.json()['ids'][0]}", headers=officer).json()
    assert csv_one["decided_amount"] == "800.50"
    assert csv_one["party"] == {"kind": "organisation", "masked": "9133**********U23P"}
    assert csv_one["evidence_ids"] == ["01JEV1", "01JEV2"]
    assert [o["cert_no"] for o in csv_one["officers"]] == ["33010022345", "33010022346"]
    assert counts(api) == {
        "supervision_batch": 3,
        "supervision_record": 3,
        "supervision_record_officer": 5,
        "supervision_record_link": 6,
    }


BAD_ROWS: list[dict[str, Any]] = [
    {"kind": "fine"},  # unknown kind
    {"stages": {"立案": "2026-02-30"}},  # no such date
    {"stages": {"filing": "05/01/2026"}},  # not ISO
    {"decided_amount": "-1"},  # negative
    {"stages": {"appeal": "2026-01-01"}},  # unknown stage
    {"core_case_id": "01J/../X"},  # an id with characters ids never have
    {"title": "长" * 201},  # too long
    {"party": {"kind": "person", "identifier": "110105194912310021"}},  # wrong check digit
    {"officers": [{"name": "张明", "cert_no": "3301 0012"}]},  # a space in a certificate no.
    {"planted": ["single_officer"]},  # demo-only column: not for callers
]


def test_a_batch_with_bad_rows_is_refused_whole_and_nothing_is_written(api: Api) -> None:
    a = department_id(api, DEPT_A)
    officer = api.auth_as(DEPT_A, "officer")
    rows = [a_record(a, "good-0")] + [
        a_record(a, f"bad-{i}", **bad) for i, bad in enumerate(BAD_ROWS, start=1)
    ]
    refused = api.client.post(RECORDS, json=rows, headers=officer)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"].endswith("/bad-records") and "nothing was written" in problem["detail"]
    assert sorted({e["row"] for e in problem["errors"]}) == list(range(1, len(BAD_ROWS) + 1))
    assert all(e["loc"].startswith(f"records[{e['row']}].") for e in problem["errors"])
    assert "110105194912310021" not in refused.text  # never echoed
    twice = api.client.post(RECORDS, json=[a_record(a), a_record(a)], headers=officer)
    assert twice.status_code == 422 and twice.json()["errors"][0]["row"] == 1
    unknown = api.client.post(RECORDS, json=[a_record("01NOSUCHDEPARTMENT")], headers=officer)
    assert unknown.status_code == 422 and "department" in unknown.text
    for body, kind, status in (
        (b"[]", "application/json", 422),
        (b'{"kind": "penalty"}', "application/json", 422),
        (b"<records/>", "application/xml", 415),
        (b"kind,colour\npenalty,red\n", "text/csv", 422),
        (CSV_HEADER.encode(), "text/csv", 422),
        ((CSV_HEADER + csv_line(a, "x\x07bell")).encode(), "text/csv", 422),
        (json.dumps([a_record(a, "x\x07bell")]).encode(), "application/json", 422),
        ((CSV_HEADER + csv_line(a, "x").replace("800.5", "-3")).encode(), "text/csv", 422),
    ):
        answer = api.client.post(RECORDS, content=body, headers={**officer, "Content-Type": kind})
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        for error in answer.json().get("errors") or []:  # the core's documented shape
            assert isinstance(error["loc"], str) and isinstance(error["msg"], str), error
    header = api.client.post(
        RECORDS,
        content=b"kind,colour\npenalty,red\n",
        headers={**officer, "Content-Type": "text/csv"},
    )
    assert [e["loc"] for e in header.json()["errors"]] == ["header"]
    state = api.client.app.state.supervision  # type: ignore[attr-defined]
    state.config = dataclasses.replace(state.config, max_batch_records=2)
    too_many = api.client.post(
        RECORDS, json=[a_record(a, f"n{i}") for i in range(3)], headers=officer
    )
    assert too_many.status_code == 413, too_many.text
    assert set(counts(api).values()) == {0}


def test_departments_see_and_ingest_only_their_own_the_office_all(api: Api) -> None:
    a, b = department_id(api, DEPT_A), department_id(api, DEPT_B)
    officer_a, officer_b = api.auth_as(DEPT_A, "officer"), api.auth_as(DEPT_B, "reviewer")
    mine = api.client.post(RECORDS, json=[a_record(a)], headers=officer_a)
    assert mine.status_code == 201, mine.text
    record_id = mine.json()["ids"][0]

    foreign = api.client.post(
        RECORDS, json=[a_record(b, "B-1"), a_record(a, "A-by-B")], headers=officer_b
    )
    assert foreign.status_code == 403, foreign.text
    assert foreign.json()["rows"] == [1] and foreign.json()["type"].endswith("/forbidden")
    assert counts(api)["supervision_record"] == 1
    assert api.client.get(f"{RECORDS}/{record_id}", headers=officer_b).status_code == 404
    assert api.client.get(f"{RECORDS}/NOSUCH", headers=officer_a).status_code == 404
    listed = api.client.get(RECORDS, params={"department_id": a}, headers=officer_b)
    assert listed.status_code == 200 and listed.json()["items"] == []

    office = office_officer(api)
    for_both = api.client.post(
        RECORDS, json=[a_record(b, "B-2"), a_record(a, "A-2")], headers=office
    )
    assert for_both.status_code == 201, for_both.text
    for who in (office, api.auth("auditor")):
        seen = api.client.get(RECORDS, headers=who).json()["items"]
        assert {r["department_id"] for r in seen} == {a, b} and len(seen) == 3
        assert api.client.get(f"{RECORDS}/{record_id}", headers=who).status_code == 200
    only_b = api.client.get(RECORDS, headers=officer_b).json()["items"]
    assert [r["case_number"] for r in only_b] == ["B-2"]
    # the core's policy table: a court or an admin never reaches the case centre; an auditor
    # reads but does not ingest
    for role in ("court", "admin"):
        assert api.client.get(RECORDS, headers=api.auth(role)).status_code == 403
    assert (
        api.client.post(RECORDS, json=[a_record(a)], headers=api.auth("auditor")).status_code == 403
    )
    assert api.client.get(RECORDS).status_code == 401


def test_party_identifiers_are_stored_only_as_hmac_and_found_by_it(api: Api) -> None:
    a = department_id(api, DEPT_A)
    officer = api.auth_as(DEPT_A, "officer")
    org = {"kind": "organisation", "identifier": ORG_ID.lower()}
    posted = api.client.post(
        RECORDS,
        json=[a_record(a), a_record(a, "org-1", party=org), a_record(a, "none", party=None)],
        headers=officer,
    )
    assert posted.status_code == 201, posted.text
    with module_engine(api).connect() as conn:
        dump = repr([conn.execute(select(t)).all() for t in TABLES])
    assert PERSON_ID not in dump and ORG_ID not in dump and ORG_ID.lower() not in dump
    secret = api.client.app.state.supervision.config.pii_secret  # type: ignore[attr-defined]
    expected = hmac.new(secret, f"resident_id\x00{PERSON_ID}".encode(), hashlib.sha256).hexdigest()
    with module_engine(api).connect() as conn:
        digests = set(conn.execute(select(record.c.party_digest)).scalars())
    assert expected in digests  # the core's digest of the same number (cases/pii.py)
    for number, case in ((PERSON_ID, "杭市监罚〔2026〕1号"), (ORG_ID, "org-1")):
        found = api.client.get(RECORDS, params={"party": number}, headers=officer).json()["items"]
        assert [r["case_number"] for r in found] == [case]
        assert number not in repr(found)
    assert api.client.get(RECORDS, params={"party": "12345"}, headers=officer).status_code == 422


def test_search_filters_and_pages_with_a_cursor(api: Api) -> None:
    a = department_id(api, DEPT_A)
    officer = api.auth_as(DEPT_A, "officer")
    rows = [
        a_record(
            a,
            f"P-{i}",
            city="宁波" if i % 2 else "杭州",
            kind="penalty" if i < 5 else "inspection",
            stages={"filing": f"2026-0{1 + i % 3}-10"},
        )
        for i in range(7)
    ]
    assert api.client.post(RECORDS, json=rows, headers=officer).status_code == 201
    seen: list[str] = []
    cursor = None
    sizes = []
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = api.client.get(RECORDS, params=params, headers=officer).json()
        sizes.append(len(page["items"]))
        seen += [r["case_number"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sizes == [3, 3, 1] and sorted(seen) == sorted(r["case_number"] for r in rows)

    def numbers(**params: object) -> list[str]:
        answer = api.client.get(RECORDS, params=params, headers=officer)
        assert answer.status_code == 200, answer.text
        return sorted(r["case_number"] for r in answer.json()["items"])

    assert numbers(city="宁波") == ["P-1", "P-3", "P-5"]
    assert numbers(kind="inspection") == ["P-5", "P-6"]
    assert numbers(filed_from="2026-02-01", filed_to="2026-02-28") == ["P-1", "P-4"]
    assert numbers(q="P-6") == ["P-6"]
    assert numbers(q="%") == []  # a LIKE wildcard is searched for as a character
    bad = api.client.get(RECORDS, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=officer)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
