"""Journeys of the supervision office: an officer runs the problem models from the clue centre,
finds the clue a late penalty decision left, disposes of it by the simple procedure (简易程序)
and reads the cockpit; a clue disposed of by the general procedure (一般程序) through the sealed
notice, which the supervised department signs for and answers with its written report."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from tests.fixtures.live_server import LiveServer
from tests.modules.supervision.helpers import DEPT_A, OFFICE, a_record
from tests.web.conftest import check_accessibility, screenshot

MODEL_NAME = "超期作出处罚决定"  # decision_after_90_days
CASE_NUMBER = "杭市监罚〔2026〕77号"
REPORT = "关于杭市监罚〔2026〕77号案件超期的整改报告。".encode()


def person_token(web_server: LiveServer, department: str, role: str, name: str) -> str:
    """A new person of ``department`` (by code) and a token for them."""
    admin = web_server.auth("admin")
    with httpx.Client(base_url=web_server.url, timeout=30) as http:
        departments = {
            d["code"]: d["id"] for d in http.get("/api/v1/departments", headers=admin).json()
        }
        created = http.post(
            "/api/v1/officers",
            json={"name": name, "role": role, "department_id": departments[department]},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        return str(
            http.post(
                f"/api/v1/officers/{created.json()['id']}/tokens",
                json={"kind": "service", "label": f"supervision journey {role}"},
                headers=admin,
            ).json()["token"]
        )


def office_token(web_server: LiveServer) -> str:
    """A new officer of the supervision office (the demo has only its auditor and admin), and
    a record of department A whose decision came 147 days after the case was filed."""
    token = person_token(web_server, OFFICE, "officer", "郑洁")
    with httpx.Client(base_url=web_server.url, timeout=30) as http:
        departments = {
            d["code"]: d["id"]
            for d in http.get("/api/v1/departments", headers=web_server.auth("admin")).json()
        }
        late = a_record(
            departments[DEPT_A],
            CASE_NUMBER,
            stages={"立案": "2026-01-05", "notice": "2026-05-20", "decision": "2026-06-01"},
        )
        sent = http.post(
            "/api/v1/supervision/records",
            json=[late],
            headers={"Authorization": f"Bearer {token}"},
        )
        assert sent.status_code == 201, sent.text
    return token


def sign_in(page: Any, token: str, path: str) -> None:
    """Sign in (a fresh session) with ``token`` and land on ``path``."""
    page.context.clear_cookies()
    page.goto(path)
    page.get_by_test_id("login-token").fill(token)
    page.get_by_test_id("login-token-submit").click()
    page.wait_for_url(f"**{path}")


def wait_state(page: Any, state: str) -> None:
    page.wait_for_function(
        "s => document.querySelector('[data-testid=disposal-state]').dataset.state === s", arg=state
    )


def test_the_office_disposes_of_a_clue(page: Any, web_server: LiveServer) -> None:
    token = office_token(web_server)
    page.goto("/supervision/clues")
    assert "/login?next=" in page.url
    page.get_by_test_id("login-token").fill(token)
    page.get_by_test_id("login-token-submit").click()
    page.wait_for_url("**/supervision/clues")
    assert page.get_by_test_id("no-clues").is_visible()

    # Run the models now: the late decision becomes a clue in the list.
    page.get_by_test_id("run-models").click()
    page.wait_for_url("**/supervision/clues?ran=*")
    assert "问题模型已运行" in page.get_by_test_id("run-result").inner_text()
    row = page.locator("tr[data-clue]", has_text=MODEL_NAME).first
    assert "第六十条" in row.inner_text()
    assert check_accessibility(page) == []
    screenshot(page, "supervision-clues")

    # Open it and dispose of it by the simple procedure, closing it with the reason.
    row.get_by_test_id("clue-link").click()
    page.wait_for_url("**/supervision/clues/*")
    assert MODEL_NAME in page.get_by_test_id("clue-model").inner_text()
    assert check_accessibility(page) == []
    page.get_by_test_id("procedure-simple").check()
    page.get_by_test_id("open-note").fill("情节轻微，简易处置")
    page.get_by_test_id("open-disposal-submit").click()
    page.wait_for_url("**/supervision/disposals/*")
    assert page.get_by_test_id("disposal-state").get_attribute("data-state") == "open"
    assert page.get_by_test_id("disposal-procedure").inner_text() == "简易程序"
    assert check_accessibility(page) == []
    page.get_by_test_id("close-note").fill("已约谈承办人，决定书已补正")
    page.get_by_test_id("close-submit").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=disposal-state]').dataset.state === 'closed'"
    )
    assert page.get_by_test_id("disposal-state").inner_text() == "已关闭"
    assert "已约谈承办人" in page.get_by_test_id("disposal-steps").inner_text()
    assert page.get_by_test_id("disposal-actions").count() == 0
    screenshot(page, "supervision-disposal")

    # The cockpit's table.
    page.get_by_test_id("nav-cockpit").click()
    page.wait_for_url("**/supervision/cockpit")
    table = page.get_by_test_id("cockpit-table")
    assert table.is_visible()
    assert "合计" in table.inner_text()
    assert check_accessibility(page) == []
    screenshot(page, "supervision-cockpit")


def test_a_sealed_notice_is_signed_for_and_answered(page: Any, web_server: LiveServer) -> None:
    officer = office_token(web_server)
    reviewer = person_token(web_server, OFFICE, "reviewer", "孙伟")
    department = person_token(web_server, DEPT_A, "reviewer", "周敏")

    # The office's officer finds the clue, opens a general disposal, investigates and decides.
    sign_in(page, officer, "/supervision/clues")
    page.get_by_test_id("run-models").click()
    page.wait_for_url("**/supervision/clues?ran=*")
    page.locator("tr[data-clue]", has_text=MODEL_NAME).first.get_by_test_id("clue-link").click()
    page.wait_for_url("**/supervision/clues/*")
    page.get_by_test_id("procedure-general").check()
    page.get_by_test_id("open-disposal-submit").click()
    page.wait_for_url("**/supervision/disposals/*")
    disposal = page.url.split("/supervision/disposals/")[1]
    for action, state in (("assign", "assigned"), ("investigate", "investigating")):
        page.get_by_test_id(f"{action}-submit").click()
        wait_state(page, state)
    page.get_by_test_id("decide-facts").fill(f"{CASE_NUMBER}立案后 147 日方作出处罚决定。")
    page.get_by_test_id("decide-basis").fill("《中华人民共和国行政处罚法》第六十条")
    page.get_by_test_id("decide-decision").fill("责令说明超期原因并建立办案期限预警。")
    page.get_by_test_id("decide-days").fill("15")
    page.get_by_test_id("decide-submit").click()
    wait_state(page, "decided")
    assert page.get_by_test_id("action-send_notice").count() == 0  # reviewers seal and send

    # The office's reviewer seals and sends the notice: it is captured and transferred.
    sign_in(page, reviewer, f"/supervision/disposals/{disposal}")
    page.get_by_test_id("send_notice-submit").click()
    wait_state(page, "rectifying")
    assert page.get_by_test_id("notice-pdf").is_visible()
    assert page.get_by_test_id("awaiting-reply").is_visible()

    # The department finds it in its disposal list, signs for the notice, sends its report.
    sign_in(page, department, "/supervision/disposals")
    page.locator(f"tr[data-disposal='{disposal}']").get_by_test_id("disposal-link").click()
    page.wait_for_url(f"**/supervision/disposals/{disposal}")
    assert page.get_by_test_id("notice-status").get_attribute("data-status") == "pending"
    assert check_accessibility(page) == []
    page.get_by_test_id("accept-notice-submit").click()
    page.wait_for_selector("[data-testid=report-form]")
    assert page.get_by_test_id("notice-status").get_attribute("data-status") == "accepted"
    page.get_by_test_id("report-file").set_input_files(
        {"name": "整改报告.txt", "mimeType": "text/plain", "buffer": REPORT}
    )
    page.get_by_test_id("report-note").fill("已说明超期原因，预警已上线")
    page.get_by_test_id("report-submit").click()
    wait_state(page, "replied")
    screenshot(page, "supervision-reply")

    # The office closes the disposal, accepting the report (captured in the core) as it does.
    sign_in(page, reviewer, f"/supervision/disposals/{disposal}")
    evidence_id = page.get_by_test_id("reply-evidence").inner_text().strip()
    page.get_by_test_id("close-note").fill("整改到位，结案")
    page.get_by_test_id("close-submit").click()
    wait_state(page, "closed")
    steps = page.get_by_test_id("disposal-steps").inner_text()
    assert "已说明超期原因" in steps and "整改到位" in steps
    with httpx.Client(base_url=web_server.url, timeout=30) as http:
        held = http.get(
            f"/api/v1/evidence/{evidence_id}", headers={"Authorization": f"Bearer {reviewer}"}
        )
    assert held.status_code == 200, held.text
    assert held.json()["sha256"] == hashlib.sha256(REPORT).hexdigest()


def test_the_office_reviews_a_case_file(page: Any, web_server: LiveServer) -> None:
    """A reviewer of the office finds the late case among the records, reviews its file item by
    item, and finalizes: the result is a sealed PDF held in the core."""
    office_token(web_server)  # the record
    reviewer = person_token(web_server, OFFICE, "reviewer", "孙伟")
    sign_in(page, reviewer, "/supervision/records")
    page.get_by_test_id("filter-q").fill(CASE_NUMBER)
    page.get_by_test_id("filter-submit").click()
    page.wait_for_url("**/supervision/records?*")
    page.get_by_test_id("record-link").first.click()
    page.wait_for_url("**/supervision/records/*")
    assert CASE_NUMBER in page.locator("h1").inner_text()
    assert check_accessibility(page) == []
    page.get_by_test_id("start-review-submit").click()
    page.wait_for_url("**/supervision/reviews/*")
    review_url = page.url.split("#")[0]
    # the data decided its automatic items: the decision came 147 days after filing
    assert page.get_by_test_id("item-deadline_decision").get_attribute("data-passed") == "no"

    # Every item the data cannot decide, decided by the reviewer through its form.
    undecided = page.locator("tr[data-passed=''] form")
    decided = 0
    while undecided.count():
        form = undecided.first
        code = form.get_attribute("data-testid").removeprefix("decide-")
        if form.get_by_test_id(f"passed-{code}-yes").count():
            form.get_by_test_id(f"passed-{code}-yes").check()
        else:
            form.get_by_test_id(f"deducted-{code}").fill("1" if code == "reasoning" else "0")
        form.get_by_test_id(f"decide-{code}-submit").click()
        page.wait_for_function(
            "c => document.querySelector(`[data-testid=item-${c}]`).dataset.passed !== ''",
            arg=code,
        )
        decided += 1
    assert decided >= 8
    assert check_accessibility(page) == []
    provisional = page.get_by_test_id("review-total").inner_text()
    assert provisional.isdigit() and int(provisional) <= 90  # 10 off for the late decision
    page.get_by_test_id("finalize-submit").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=review-status]').dataset.status === 'final'"
    )
    assert page.url.startswith(review_url)
    assert page.get_by_test_id("review-total").inner_text() == provisional
    assert "暂定" not in page.get_by_test_id("review-grade").inner_text()
    screenshot(page, "supervision-review")
    digest = page.get_by_test_id("result-sha256").inner_text().strip()
    pdf = page.context.request.get(page.get_by_test_id("result-pdf").get_attribute("href"))
    assert pdf.status == 200 and hashlib.sha256(pdf.body()).hexdigest() == digest
    assert "印章" in page.get_by_test_id("result-seal").inner_text()
