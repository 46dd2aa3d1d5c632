"""The record (案卷) and case-file review (案卷评查) pages over HTTP, on SQLite and PostgreSQL:
the record list and its filters, paging and department isolation; the office starts a review
from the record page, decides every reviewer item through the forms and a reviewer seals it
(the result captured and sealed in the test core), the page then showing the grade, the total
and the result PDF whose SHA-256 it shows; forms without the anti-forgery token, a
department's officer and bad decisions are refused with nothing written."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any, get_args

from sqlalchemy import insert, select

from evidence_service.modules.supervision.models import clue, clue_link, review, review_item
from evidence_service.modules.supervision.page_kit import CSRF_COOKIE
from evidence_service.modules.supervision.records import RecordIn, new_id
from evidence_service.modules.supervision.review_pages import KIND_NAMES
from tests.fixtures.service import Api
from tests.modules.supervision.helpers import (
    DEPT_A,
    DEPT_B,
    RECORDS,
    a_record,
    department_id,
    module_engine,
    office_officer,
)
from tests.modules.supervision.test_pages import form_token, get, sign_in
from tests.modules.supervision.test_review import (
    REVIEWS,
    evidence_read_model,
    ingest,
    office_reviewer,
)

PAGES = "/supervision/reviews"


def rows(api: Api) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every review and review item as stored: what a refused form must leave unchanged."""
    with module_engine(api).connect() as conn:
        reviews = conn.execute(select(review).order_by(review.c.id)).all()
        items = conn.execute(
            select(review_item).order_by(review_item.c.review_id, review_item.c.code)
        ).all()
    return [tuple(r) for r in reviews], [tuple(i) for i in items]


def post(api: Api, path: str, **data: str) -> Any:
    return api.client.post(path, data=data, follow_redirects=False)


def refused(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert 'data-testid="problem-detail"' in answer.text
    return str(answer.text)


def clue_on(api: Api, record_id: str, summary: str) -> str:
    """A clue as a run leaves it, linked to the record."""
    clue_id, now = new_id(), datetime.now(UTC)
    with module_engine(api).begin() as conn:
        conn.execute(
            insert(clue).values(
                id=clue_id, model="decision_after_90_days", subject=f"record:{record_id}",
                department_id=department_id(api, DEPT_A), severity="medium", status="open",
                summary=summary, facts={}, first_run_id=new_id(), last_run_id=new_id(),
                opened_at=now, last_seen_at=now,
            )
        )  # fmt: skip
        conn.execute(insert(clue_link).values(clue_id=clue_id, kind="record", ref=record_id))
    return clue_id


def ingest_for(api: Api, dept_code: str, *bodies: dict[str, Any]) -> list[str]:
    answer = api.client.post(RECORDS, json=list(bodies), headers=api.auth_as(dept_code, "officer"))
    assert answer.status_code == 201, answer.text
    return [str(i) for i in answer.json()["ids"]]


def started(api: Api, record_id: str) -> str:
    """A review started through the record page's form; its id."""
    page = get(api, f"/supervision/records/{record_id}").text
    assert 'data-testid="start-review-submit"' in page
    answer = post(api, PAGES, record_id=record_id, csrf=form_token(page))
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(r"/supervision/reviews/([0-9A-Z]{26})", answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


def test_the_pages_name_every_record_kind() -> None:
    assert set(KIND_NAMES) == set(get_args(RecordIn.model_fields["kind"].annotation))


def test_the_record_list_filters_pages_and_keeps_departments_apart(api: Api) -> None:
    a, b = department_id(api, DEPT_A), department_id(api, DEPT_B)
    fine = a_record(a, "杭市监罚〔2026〕7号", title="无照经营")
    permit = a_record(a, "杭市监许〔2026〕8号", kind="permit", title="食品经营许可",
                      stages={"filing": "2026-05-02", "closing": "2026-05-09"})  # fmt: skip
    fine_id, permit_id = ingest_for(api, DEPT_A, fine, permit)
    (theirs,) = ingest_for(api, DEPT_B, a_record(b, "杭综执罚〔2026〕9号", title="占道经营"))
    clue_id = clue_on(api, fine_id, "立案后 120 日未作出决定")
    try:
        api.client.cookies.clear()
        login = api.client.get("/supervision/records?kind=penalty", follow_redirects=False)
        assert login.status_code == 303
        assert login.headers["location"] == "/login?next=%2Fsupervision%2Frecords%3Fkind%3Dpenalty"

        sign_in(api, office_officer(api))
        page = get(api, "/supervision/records").text
        for record_id in (fine_id, permit_id, theirs):
            assert f'href="/supervision/records/{record_id}"' in page
        assert "无照经营" in page and "2026-01-05" in page and "2026-03-01" in page
        assert 'data-testid="filter-department"' in page  # the office filters by department

        def shown(**params: str) -> set[str]:
            html = get(api, "/supervision/records", **params).text
            return {rid for rid in (fine_id, permit_id, theirs) if rid in html}

        assert shown(q="无照") == {fine_id}
        assert shown(q="杭市监许") == {permit_id}
        assert shown(kind="permit") == {permit_id}
        assert shown(department_id=b) == {theirs}
        assert shown(filed_from="2026-05-01") == {permit_id}
        assert shown(filed_to="2026-01-31") == {fine_id, theirs}
        for bad in (
            {"kind": "bogus"},
            {"filed_from": "2026-02-30"},
            {"filed_to": "5/1/2026"},
            {"filed_from": "2026-06-01", "filed_to": "2026-01-01"},
            {"cursor": "not-a-cursor"},
        ):
            refused(api.client.get("/supervision/records", params=bad), 422)

        one = get(api, f"/supervision/records/{fine_id}").text
        assert "杭市监罚〔2026〕7号" in one and "5000.00 元" in one
        assert "张明（执法证号 33010012345）" in one and "李华（执法证号 33010012346）" in one
        assert "11010519491231002X" not in one and "****" in one  # the party as stored: masked
        assert "立案 · 2026-01-05" in one and "送达 · 2026-03-03" in one
        assert 'href="/evidence/01JDOCUMENT0000000000000001"' in one
        assert 'href="/evidence/01JEVIDENCE0000000000000001"' in one
        assert 'href="/cases/01JCASE00000000000000000001"' in one
        assert f'href="/supervision/clues/{clue_id}"' in one
        assert 'data-testid="start-review-submit"' in one  # an office worker may review

        # a department sees its own records only: no department filter, another's is 404
        sign_in(api, api.auth_as(DEPT_B, "officer"))
        page = get(api, "/supervision/records").text
        assert theirs in page and fine_id not in page and permit_id not in page
        assert 'data-testid="filter-department"' not in page
        assert fine_id not in get(api, "/supervision/records", department_id=a).text
        refused(api.client.get(f"/supervision/records/{fine_id}"), 404)
        own = get(api, f"/supervision/records/{theirs}").text
        assert "占道经营" in own and 'data-testid="start-review"' not in own
    finally:
        api.client.cookies.clear()


def test_the_record_list_pages_by_fifty(api: Api) -> None:
    a = department_id(api, DEPT_A)
    ids = ingest_for(api, DEPT_A, *(a_record(a, f"杭市监罚〔2025〕{n}号") for n in range(52)))
    try:
        sign_in(api, api.auth_as(DEPT_A, "officer"))
        first = get(api, "/supervision/records", kind="penalty").text
        assert first.count('data-testid="record-link"') == 50
        found = re.search(r'href="(/supervision/records\?[^"]+)" data-testid="next-page"', first)
        assert found and "kind=penalty" in found.group(1)
        second = api.client.get(found.group(1).replace("&amp;", "&")).text
        assert second.count('data-testid="record-link"') == 2
        assert 'data-testid="next-page"' not in second
        on_pages = re.findall(r'href="/supervision/records/([0-9A-Z]{26})"', first + second)
        assert sorted(on_pages) == sorted(ids)
    finally:
        api.client.cookies.clear()


def test_the_office_reviews_a_record_through_the_forms_and_seals_it(api: Api) -> None:
    record_id = ingest(api)
    evidence_read_model(api, e2_anchored=True)
    office, reviewer = office_officer(api), office_reviewer(api)
    try:
        sign_in(api, office)
        review_id = started(api, record_id)
        page = get(api, f"{PAGES}/{review_id}").text
        assert 'data-testid="review-status" data-status="draft"' in page
        token = form_token(page)
        shown = api.client.get(f"{REVIEWS}/{review_id}", headers=office).json()
        mine = [i for i in shown["items"] if not i["auto"]]
        for item in shown["items"]:
            assert f'data-testid="item-{item["code"]}"' in page
            assert (f'data-testid="decide-{item["code"]}"' in page) is not item["auto"]
        assert 'data-testid="passed-facts_clear-yes"' in page
        assert 'data-testid="deducted-reasoning"' in page
        assert 'data-testid="finalize-submit"' not in page  # undecided items, and no sealer

        # the record page now links the open review and offers no second start; one sent
        # anyway is the API's 409, shown as a page, nothing written
        record_page = get(api, f"/supervision/records/{record_id}").text
        assert f'href="/supervision/reviews/{review_id}"' in record_page
        assert 'data-testid="start-review"' not in record_page
        before = rows(api)
        detail = refused(post(api, PAGES, record_id=record_id, csrf=token), 409)
        assert review_id in detail and rows(api) == before

        for item in mine:
            code = item["code"]
            form: dict[str, str] = {"csrf": token, "note": f"审阅 {code}"}
            if item["section"] == "veto":
                form["passed"] = "yes"
            else:
                form["deducted"] = "3" if code == "reasoning" else "0"
            answer = post(api, f"{PAGES}/{review_id}/items/{code}", **form)
            assert answer.status_code == 303, (code, answer.text)
            assert answer.headers["location"] == f"{PAGES}/{review_id}#item-{code}"
        page = get(api, f"{PAGES}/{review_id}").text
        # 100 − 2 (E2 on the case's list without a purpose) − 3 (reasoning)
        assert 'data-testid="review-total">95<' in page
        assert 'data-testid="review-grade">优秀（暂定）<' in page
        assert "审阅 reasoning" in page and "✗ 扣 3 分" in page
        # an office officer decides but does not seal
        assert 'data-testid="finalize-submit"' not in page
        before = rows(api)
        refused(post(api, f"{PAGES}/{review_id}/finalize", csrf=token), 403)
        assert rows(api) == before

        sign_in(api, reviewer)
        page = get(api, f"{PAGES}/{review_id}").text
        assert 'data-testid="finalize-submit"' in page
        done = post(api, f"{PAGES}/{review_id}/finalize", csrf=form_token(page))
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"{PAGES}/{review_id}"
        page = get(api, f"{PAGES}/{review_id}").text
        assert 'data-testid="review-status" data-status="final"' in page
        assert 'data-testid="review-total">95<' in page
        assert 'data-testid="review-grade">优秀<' in page
        assert 'data-testid="decide-' not in page and 'data-testid="finalize-submit"' not in page
        final = api.client.get(f"{REVIEWS}/{review_id}", headers=reviewer).json()
        assert f'href="/evidence/{final["result_evidence_id"]}"' in page
        digest = re.search(r'data-testid="result-sha256">([0-9a-f]{64})<', page)
        assert digest and digest.group(1) == final["result_sha256"]
        link = re.search(r'href="([^"]+)" data-testid="result-pdf"', page)
        assert link and link.group(1) == f"{PAGES}/{review_id}/result.pdf"
        pdf = api.client.get(link.group(1))  # the session's cookie: a link sends no token
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        assert hashlib.sha256(pdf.content).hexdigest() == digest.group(1)
        assert final["result_seal"]["seal_code"] in page

        # the list shows it; the status filter narrows it
        listed = get(api, PAGES).text
        assert f'href="{PAGES}/{review_id}"' in listed and "95" in listed
        assert review_id in get(api, PAGES, status="final").text
        assert review_id not in get(api, PAGES, status="draft").text
        refused(api.client.get(PAGES, params={"status": "open"}), 422)
        refused(api.client.get(PAGES, params={"cursor": "../x"}), 422)
        # the record page: its review, final, and a new review may start again
        record_page = get(api, f"/supervision/records/{record_id}").text
        assert "已定稿 · 优秀（95 分）" in record_page
        assert 'data-testid="start-review-submit"' in record_page
    finally:
        api.client.cookies.clear()


def test_forms_without_the_anti_forgery_token_write_nothing(api: Api) -> None:
    record_id = ingest(api)
    office = office_officer(api)
    try:
        sign_in(api, office)
        token = form_token(get(api, f"/supervision/records/{record_id}").text)
        for data, headers in (
            ({"record_id": record_id}, {}),
            ({"record_id": record_id, "csrf": "forged" * 4}, {}),
            ({"record_id": record_id, "csrf": token}, {"Origin": "https://evil.example"}),
            ({"record_id": record_id, "csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
        ):
            answer = api.client.post(PAGES, data=data, headers=headers, follow_redirects=False)
            refused(answer, 403)
        assert rows(api) == ([], [])

        review_id = started(api, record_id)
        before = rows(api)
        for path, data in (
            (f"{PAGES}/{review_id}/items/facts_clear", {"passed": "no"}),
            (f"{PAGES}/{review_id}/items/reasoning", {"deducted": "5", "csrf": "x" * 32}),
            (f"{PAGES}/{review_id}/finalize", {}),
        ):
            refused(post(api, path, **data), 403)
        assert rows(api) == before
    finally:
        api.client.cookies.clear()


def test_a_department_officer_and_an_auditor_see_no_forms_and_cannot_write(api: Api) -> None:
    record_id = ingest(api)
    try:
        sign_in(api, office_officer(api))
        review_id = started(api, record_id)
        before = rows(api)
        for who in (api.auth_as(DEPT_A, "officer"), api.auth("auditor")):
            sign_in(api, who)
            record_page = get(api, f"/supervision/records/{record_id}").text
            assert f'href="{PAGES}/{review_id}"' in record_page
            assert 'data-testid="start-review"' not in record_page
            page = get(api, f"{PAGES}/{review_id}").text
            assert 'data-testid="review-status" data-status="draft"' in page
            assert '<form method="post"' not in page
            token = api.client.cookies.get(CSRF_COOKIE)  # the page's token, though no form
            assert token
            refused(post(api, PAGES, record_id=record_id, csrf=token), 403)
            refused(post(api, f"{PAGES}/{review_id}/items/facts_clear",
                         passed="yes", csrf=token), 403)  # fmt: skip
            refused(post(api, f"{PAGES}/{review_id}/finalize", csrf=token), 403)
        assert rows(api) == before
        # another department's officer: the review is not there at all
        sign_in(api, api.auth_as(DEPT_B, "officer"))
        refused(api.client.get(f"{PAGES}/{review_id}"), 404)
        assert review_id not in get(api, PAGES).text
    finally:
        api.client.cookies.clear()


def test_bad_decisions_are_refused_with_nothing_changed(api: Api) -> None:
    record_id = ingest(api)
    try:
        sign_in(api, office_officer(api))
        review_id = started(api, record_id)
        token = form_token(get(api, f"{PAGES}/{review_id}").text)
        before = rows(api)
        url = f"{PAGES}/{review_id}/items"
        for code, data, status in (
            ("reasoning", {"deducted": "11"}, 422),  # the item is worth 10
            ("reasoning", {"deducted": "-1"}, 422),
            ("reasoning", {"deducted": "abc"}, 422),
            ("reasoning", {"deducted": "2.5"}, 422),
            ("reasoning", {}, 422),  # a scored item needs its points off
            ("facts_clear", {}, 422),  # a veto item needs passed
            ("facts_clear", {"passed": "maybe"}, 422),
            ("facts_clear", {"passed": "yes", "deducted": "2"}, 422),
            ("officers_two", {"passed": "no"}, 409),  # the data decides it
            ("no_such_item", {"passed": "yes"}, 404),
        ):
            refused(post(api, f"{url}/{code}", csrf=token, **data), status)
        for data in ({"deducted": "1000"}, {"passed": "yes", "note": "x" * 1001}):
            code = "reasoning" if "deducted" in data else "facts_clear"
            too_long = post(api, f"{url}/{code}", csrf=token, **data)  # past the field's size
            assert too_long.status_code == 422, too_long.text
        refused(post(api, f"{PAGES}/01JNOSUCHREVIEW0000000000/items/facts_clear",
                     passed="yes", csrf=token), 404)  # fmt: skip
        refused(post(api, f"{PAGES}/{review_id}/finalize", csrf=token), 403)  # not a sealer
        refused(post(api, PAGES, record_id="a b", csrf=token), 422)
        refused(post(api, PAGES, record_id="01JNOSUCHRECORD0000000000", csrf=token), 404)
        assert rows(api) == before
    finally:
        api.client.cookies.clear()
