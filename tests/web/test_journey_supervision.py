"""Journey: an officer of the supervision office signs in, runs the problem models from the
clue centre, finds the clue a late penalty decision left, opens it, disposes of it by the
simple procedure (简易程序) closing it with a reason, sees the disposal closed, and reads the
cockpit's table."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.live_server import LiveServer
from tests.modules.supervision.helpers import DEPT_A, OFFICE, a_record
from tests.web.conftest import check_accessibility, screenshot

MODEL_NAME = "超期作出处罚决定"  # decision_after_90_days
CASE_NUMBER = "杭市监罚〔2026〕77号"


def office_token(web_server: LiveServer) -> str:
    """A new officer of the supervision office (the demo has only its auditor and admin), and
    a record of department A whose decision came 147 days after the case was filed."""
    admin = web_server.auth("admin")
    with httpx.Client(base_url=web_server.url, timeout=30) as http:
        departments = {
            d["code"]: d["id"] for d in http.get("/api/v1/departments", headers=admin).json()
        }
        created = http.post(
            "/api/v1/officers",
            json={"name": "郑洁", "role": "officer", "department_id": departments[OFFICE]},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        token = http.post(
            f"/api/v1/officers/{created.json()['id']}/tokens",
            json={"kind": "service", "label": "supervision office"},
            headers=admin,
        ).json()["token"]
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
    return str(token)


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
