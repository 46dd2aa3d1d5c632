"""Case-file review (案卷评查) over HTTP, on SQLite and PostgreSQL: automatic items from the
record and the evidence read models, veto → 不合格 with 0, deductions capped, finalize only when
every item is decided, the sealed result captured in the core and its seal verified there,
department isolation, bad input refused with nothing written."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert, select

from evidence_service.modules.supervision import review as rv
from evidence_service.modules.supervision.models import (
    evidence,
    evidence_case,
    review,
    review_item,
)
from tests.fixtures.service import Api
from tests.modules.supervision.helpers import (
    DEPT_A,
    DEPT_B,
    OFFICE,
    RECORDS,
    a_record,
    department_id,
    module_engine,
    office_officer,
)

REVIEWS = "/api/v1/supervision/reviews"
CASE = "01JCASE00000000000000000001"
E1, E2 = "01JEVIDENCE0000000000000001", "01JEVIDENCE0000000000000002"
NOW = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


def office_reviewer(api: Api) -> dict[str, str]:
    """A reviewer of the supervision office: the role that seals with the office's seal."""
    created = api.client.post(
        "/api/v1/officers",
        json={"name": "钱进", "role": "reviewer", "department_id": department_id(api, OFFICE)},
        headers=api.auth("admin"),
    )
    assert created.status_code == 201, created.text
    token = api.client.post(
        f"/api/v1/officers/{created.json()['id']}/tokens",
        json={"kind": "service", "label": "supervision reviews"},
        headers=api.auth("admin"),
    ).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def ingest(api: Api, **over: Any) -> str:
    a = department_id(api, DEPT_A)
    body = a_record(a, evidence_ids=[E1, E2], **over)
    answer = api.client.post(RECORDS, json=[body], headers=api.auth_as(DEPT_A, "officer"))
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["ids"][0])


def evidence_read_model(api: Api, *, e2_anchored: bool) -> None:
    """E1 signed, anchored and listed with a purpose; E2 signed, anchored only if asked, and
    on the case's list without a purpose."""
    dept = department_id(api, DEPT_A)
    with module_engine(api).begin() as conn:
        for eid, anchored in ((E1, True), (E2, e2_anchored)):
            conn.execute(
                insert(evidence).values(
                    id=eid, department_id=dept, officer_id=None, port="documentary",
                    captured_at=NOW, received_at=NOW, sha256=eid.lower().ljust(64, '0'),
                    signed=True, anchored_at=NOW if anchored else None, synced_at=NOW,
                )
            )  # fmt: skip
        conn.execute(
            insert(evidence_case),
            [
                {"evidence_id": E1, "case_id": CASE, "purpose": "证明销售过期食品"},
                {"evidence_id": E2, "case_id": CASE, "purpose": ""},
            ],
        )


def items_of(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["code"]: item for item in answer["items"]}


def review_rows(api: Api) -> tuple[int, int]:
    with module_engine(api).connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(review)).scalar_one(),
            conn.execute(select(func.count()).select_from(review_item)).scalar_one(),
        )


def decide_reviewer_items(api: Api, review_id: str, who: dict[str, str], **deduct: int) -> None:
    shown = api.client.get(f"{REVIEWS}/{review_id}", headers=who).json()
    for item in shown["items"]:
        if item["auto"]:
            continue
        body: dict[str, Any]
        if item["section"] == "veto":
            body = {"passed": True, "note": "符合"}
        else:
            body = {"deducted": deduct.get(item["code"], 0), "note": "审阅"}
        answer = api.client.put(
            f"{REVIEWS}/{review_id}/items/{item['code']}", json=body, headers=who
        )
        assert answer.status_code == 200, answer.text


def test_automatic_items_are_decided_from_the_record_and_the_read_models(api: Api) -> None:
    record_id = ingest(api)
    evidence_read_model(api, e2_anchored=False)
    office = office_officer(api)
    started = api.client.post(REVIEWS, json={"record_id": record_id}, headers=office)
    assert started.status_code == 201, started.text
    body = started.json()
    assert (body["checklist"], body["status"], body["record_id"]) == ("penalty", "draft", record_id)
    items = items_of(body)
    assert items["officers_two"]["passed"] is True
    assert items["notice_before_decision"]["passed"] is True
    assert items["penalty_not_above_notice"]["passed"] is True
    assert (items["documents_present"]["passed"], items["documents_present"]["deducted"]) == (
        True,
        0,
    )
    assert items["stages_recorded"]["deducted"] == 0
    assert items["deadline_decision"]["deducted"] == 0  # 2026-01-05 → 2026-03-01: 55 days
    assert items["deadline_service"]["deducted"] == 0  # served 2 days after
    assert items["legal_review_major"]["deducted"] == 0  # ¥5,000 is not major
    # E2 is signed but not anchored: one fault of 5 points; and listed without a purpose: 2
    assert (items["evidence_anchored"]["passed"], items["evidence_anchored"]["deducted"]) == (
        False,
        5,
    )
    assert E2 in items["evidence_anchored"]["note"]
    assert items["evidence_list_complete"]["deducted"] == 2
    assert all(items[c]["passed"] is None for c in ("facts_clear", "reasoning", "discretion"))
    assert (body["score"], body["vetoed"]) == (93, False)
    assert set(body["undecided"]) == {c for c, i in items.items() if not i["auto"]}

    # a second review of the same record while one is open: 409, nothing written
    before = review_rows(api)
    again = api.client.post(REVIEWS, json={"record_id": record_id}, headers=office)
    assert again.status_code == 409 and review_rows(api) == before


def test_a_failed_veto_item_fails_the_file_with_zero_and_the_result_is_sealed(api: Api) -> None:
    record_id = ingest(api, officers=[{"name": "张明", "cert_no": "33010012345"}])
    evidence_read_model(api, e2_anchored=True)
    office, reviewer = office_officer(api), office_reviewer(api)
    started = api.client.post(REVIEWS, json={"record_id": record_id}, headers=office).json()
    review_id = started["id"]
    assert items_of(started)["officers_two"]["passed"] is False  # art. 42: one officer
    assert (started["vetoed"], started["score"]) == (True, 0)

    # finalize refuses while reviewer items are undecided: 409, still a draft, nothing captured
    early = api.client.post(f"{REVIEWS}/{review_id}/finalize", headers=reviewer)
    assert early.status_code == 409, early.text
    assert "facts_clear" in early.json()["detail"]
    shown = api.client.get(f"{REVIEWS}/{review_id}", headers=office).json()
    assert (shown["status"], shown["result_evidence_id"]) == ("draft", None)

    decide_reviewer_items(api, review_id, office, reasoning=3)
    # an office officer works the items but does not seal: only reviewers finalize
    refused = api.client.post(f"{REVIEWS}/{review_id}/finalize", headers=office)
    assert refused.status_code == 403, refused.text
    final = api.client.post(f"{REVIEWS}/{review_id}/finalize", headers=reviewer)
    assert final.status_code == 200, final.text
    done = final.json()
    assert (done["status"], done["grade"], done["score"], done["vetoed"]) == (
        "final", "不合格", 0, True,
    )  # fmt: skip
    # 80 − 3 (reasoning) − 2 (E2 listed without a purpose): shown, though the total is 0
    assert done["presentation"] == 20 and done["content"] == 75

    pdf = api.client.get(f"{REVIEWS}/{review_id}/result.pdf", headers=office)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    digest = hashlib.sha256(pdf.content).hexdigest()
    assert digest == done["result_sha256"] == pdf.headers["X-Content-SHA256"]
    # the same bytes as captured in the core, as the reviewing officer, on the documentary port
    item = api.client.get(f"/api/v1/evidence/{done['result_evidence_id']}", headers=reviewer)
    assert item.status_code == 200, item.text
    assert (item.json()["sha256"], item.json()["port"]) == (digest, "documentary")
    # the office's seal over that digest verifies in the core
    verdict = api.client.post(
        "/api/v1/seals/verify", json={"record": done["result_seal"], "digest": digest}
    )
    assert verdict.status_code == 200, verdict.text
    assert verdict.json()["valid"] is True, verdict.json()
    assert done["result_seal"]["department_id"] == department_id(api, OFFICE)

    # final is final
    put = api.client.put(
        f"{REVIEWS}/{review_id}/items/reasoning", json={"deducted": 0}, headers=office
    )
    assert put.status_code == 409
    assert api.client.post(f"{REVIEWS}/{review_id}/finalize", headers=reviewer).status_code == 409


def test_a_clean_file_grades_excellent_and_the_auditor_reads_it(api: Api) -> None:
    record_id = ingest(api)
    evidence_read_model(api, e2_anchored=True)
    office, reviewer = office_officer(api), office_reviewer(api)
    review_id = api.client.post(REVIEWS, json={"record_id": record_id}, headers=office).json()["id"]
    decide_reviewer_items(api, review_id, office, discretion=5)
    done = api.client.post(f"{REVIEWS}/{review_id}/finalize", headers=reviewer).json()
    # 100 − 2 (E2 without a purpose) − 5 (discretion)
    assert (done["status"], done["score"], done["grade"]) == ("final", 93, "优秀")
    auditor = api.client.get(f"{REVIEWS}/{review_id}", headers=api.auth("auditor"))
    assert auditor.status_code == 200 and auditor.json()["grade"] == "优秀"
    listed = api.client.get(REVIEWS, params={"status": "final"}, headers=api.auth("auditor"))
    assert [r["id"] for r in listed.json()["items"]] == [review_id]


def test_departments_see_only_their_own_reviews_and_never_write(api: Api) -> None:
    record_id = ingest(api)
    office = office_officer(api)
    review_id = api.client.post(REVIEWS, json={"record_id": record_id}, headers=office).json()["id"]
    own = api.auth_as(DEPT_A, "officer")
    other = api.auth_as(DEPT_B, "officer")
    assert api.client.get(f"{REVIEWS}/{review_id}", headers=own).status_code == 200
    assert api.client.get(f"{REVIEWS}/{review_id}", headers=other).status_code == 404
    assert api.client.get(REVIEWS, headers=other).json()["items"] == []
    assert [r["id"] for r in api.client.get(REVIEWS, headers=own).json()["items"]] == [review_id]
    before = review_rows(api)
    # a department does not review itself, nor does an auditor decide
    assert api.client.post(REVIEWS, json={"record_id": record_id}, headers=own).status_code == 403
    put = {"passed": True}
    assert (
        api.client.put(f"{REVIEWS}/{review_id}/items/facts_clear", json=put, headers=own)
    ).status_code == 403
    assert (
        api.client.put(
            f"{REVIEWS}/{review_id}/items/facts_clear", json=put, headers=api.auth("auditor")
        )
    ).status_code == 403
    assert review_rows(api) == before
    pdf = api.client.get(f"{REVIEWS}/{review_id}/result.pdf", headers=own)
    assert pdf.status_code == 409  # a draft has no result yet


def test_bad_input_is_refused_with_nothing_written(api: Api) -> None:
    record_id = ingest(api)
    office = office_officer(api)
    missing = api.client.post(
        REVIEWS, json={"record_id": "01JNOSUCHRECORD0000000000"}, headers=office
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    for bad in (
        {"record_id": "a b"},
        {"record_id": record_id, "extra": 1},
        {},
        {"record_id": "x" * 65},
    ):
        answer = api.client.post(REVIEWS, json=bad, headers=office)
        assert answer.status_code == 422, (bad, answer.text)
    assert review_rows(api) == (0, 0)

    review_id = api.client.post(REVIEWS, json={"record_id": record_id}, headers=office).json()["id"]
    before = api.client.get(f"{REVIEWS}/{review_id}", headers=office).json()
    url = f"{REVIEWS}/{review_id}/items"
    cases = [
        ("reasoning", {"deducted": 11}, 422),  # the item is worth 10
        ("reasoning", {"deducted": -1}, 422),
        ("reasoning", {"passed": True, "deducted": 3}, 422),  # contradicts itself
        ("facts_clear", {"deducted": 2}, 422),  # a veto item takes passed
        ("facts_clear", {"passed": True, "note": "x" * 1001}, 422),
        ("facts_clear", {"passed": "maybe"}, 422),
        ("no_such_item", {"passed": True}, 404),
        ("officers_two", {"passed": False}, 409),  # the data decides it
    ]
    for code, body, status in cases:
        answer = api.client.put(f"{url}/{code}", json=body, headers=office)
        assert answer.status_code == status, (code, body, answer.text)
    assert api.client.get(f"{REVIEWS}/{review_id}", headers=office).json() == before
    nobody = api.client.put(f"{REVIEWS}/01JNOSUCHREVIEW0000000000/items/facts_clear",
                            json={"passed": True}, headers=office)  # fmt: skip
    assert nobody.status_code == 404
    bad_status = api.client.get(REVIEWS, params={"status": "open"}, headers=office)
    assert bad_status.status_code == 422


def test_deductions_are_capped_per_item_and_sections_never_go_below_zero() -> None:
    items = rv.items_of("penalty")
    facts = rv.CaseFacts(
        kind="penalty", procedure="general",
        stages={"filing": date(2026, 1, 1), "decision": date(2026, 6, 1), "service": None},
        notified_fen=None, decided_fen=None, cert_nos=["1", "2"],
        evidence_ids=[f"E{i}" for i in range(6)], document_ids=[], core_case_id=None,
    )  # fmt: skip
    rules = rv.Rules(today=date(2026, 7, 1))
    assert items["evidence_anchored"].verdict(facts, rules).deducted == 15  # 6 × 5, capped
    assert items["evidence_list_complete"].verdict(facts, rules).deducted == 10
    assert items["stages_recorded"].verdict(facts, rules).deducted == 4  # 2 missing × 2
    assert items["deadline_decision"].verdict(facts, rules).deducted == 10  # 151 days
    assert items["deadline_service"].verdict(facts, rules).deducted == 10
    # a stored deduction above an item's points counts as its points only; never below zero
    decided = [rv.Decided(code, False, 500) for code in items if items[code].section != "veto"]
    decided += [rv.Decided(code, True, 0) for code in items if items[code].section == "veto"]
    result = rv.score("penalty", decided)
    assert (result.presentation, result.content, result.total, result.grade) == (0, 0, 0, "不合格")
    veto = [rv.Decided("facts_clear", False, 0)]
    assert rv.score("penalty", veto).total == 0 and rv.score("penalty", veto).vetoed
    assert rv.grade_of(90, False) == "优秀" and rv.grade_of(89, False) == "合格"
    assert rv.grade_of(59, False) == "不合格" and rv.grade_of(100, True) == "不合格"
