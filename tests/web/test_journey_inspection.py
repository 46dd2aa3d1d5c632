"""Journey of a joint inspection (综合查一次) with two departments, in the browser: a warning
opens from signals; the comprehensive enforcement office drafts the task on the warnings page,
inviting the market regulator; both agree a date in the online consultation; each records its
findings (citing evidence its officer captured through the core); both reviewers share their
evidence, the office's reviewer makes the record and the regulator's reviewer co-signs it; the
result is published. Meanwhile a double-random draw runs on the live server's chain and its
public page shows the inputs digest, the block and the result. Evidence is captured through
the core's API here (the capture page has its own journeys)."""

from __future__ import annotations

import csv
import io
import time
from datetime import date, timedelta
from typing import Any

import httpx

from tests.fixtures.live_server import LiveServer
from tests.modules.inspection.test_plan import code
from tests.web.conftest import check_accessibility, screenshot
from tests.web.test_journey_supervision import person_token

API = "/api/v1/inspection"
OFFICE, MARKET = "HZ-ZHZF", "HZ-SCJG"
RISK = ["high", "medium_high", "medium", "medium", "low", "low", "low", "medium_low"]


def setup(server: LiveServer) -> dict[str, Any]:
    """The departments mapped, a directory and roster, and signals that warn 嘉禾小厨."""
    people = {
        (dept, role): person_token(server, dept, role, f"{dept}-{role}")
        for dept in (OFFICE, MARKET)
        for role in ("officer", "reviewer")
    }
    bearer = {k: {"Authorization": f"Bearer {v}"} for k, v in people.items()}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        ids = {
            d["code"]: d["id"]
            for d in http.get("/api/v1/departments", headers=server.auth("admin")).json()
        }
        for dept, kind, lead in ((OFFICE, "ecology", True), (MARKET, "market_regulation", False)):
            done = http.put(
                f"{API}/departments/{ids[dept]}",
                json={"kind": kind, "coordinator": lead},
                headers=server.auth("admin"),
            )
            assert done.status_code == 200, done.text
        rows = io.StringIO()
        out = csv.writer(rows)
        out.writerow(["credit_code", "name", "address", "industry", "scale", "risk_class"])
        for n, risk in enumerate(RISK, start=1):
            name = "嘉禾小厨" if n == 1 else f"南湖餐馆{n}"
            out.writerow([code(n), name, "嘉兴市南湖区", "餐饮", "small", risk])
        sent = http.post(
            f"{API}/enterprises",
            content=rows.getvalue().encode(),
            headers={**bearer[(OFFICE, "officer")], "Content-Type": "text/csv"},
        )
        assert sent.status_code == 200, sent.text
        roster = [
            {"officer_id": f"{p}-{i}", "department_id": ids[d], "cert_no": f"3304{p}{i:03d}"}
            for d, p in ((OFFICE, "ZF"), (MARKET, "SJ"))
            for i in range(1, 4)
        ]
        assert http.post(f"{API}/inspectors", json=roster, headers=bearer[(OFFICE, "officer")])
        day = (date.today() - timedelta(days=2)).isoformat() + "T09:00:00+08:00"
        signals = [
            {"credit_code": code(1), "kind": k, "severity": 3, "at": day, "source": "12345",
             "ref": f"J-{k}"}
            for k in ("penalty", "hotline", "petition")
        ]  # fmt: skip
        posted = http.post(
            f"{API}/signals", json={"signals": signals}, headers=bearer[(MARKET, "officer")]
        )
        assert len(posted.json()["warnings_opened"]) == 1, posted.text
        draw = http.post(
            f"{API}/draws",
            json={
                "task": "南湖区 2026 年度餐饮联合抽查",
                "scenario": "restaurant",
                "departments": [ids[OFFICE], ids[MARKET]],
            },
            headers=bearer[(OFFICE, "officer")],
        )
        assert draw.status_code == 202, draw.text
    return {"people": people, "ids": ids, "draw_id": draw.json()["draw_id"]}


def sign_in(page: Any, token: str, path: str) -> None:
    page.context.clear_cookies()
    page.goto(path)
    page.get_by_test_id("login-token").fill(token)
    page.get_by_test_id("login-token-submit").click()
    page.wait_for_url(f"**{path}")


def capture(server: LiveServer, token: str) -> str:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        made = http.post(
            "/api/v1/evidence",
            data={"port": "documentary", "metadata": '{"title": "后厨现场照片"}'},
            files={"file": ("site.txt", "后厨现场情况".encode(), "text/plain")},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text
        return str(made.json()["id"])


def record_findings(page: Any, evidence_id: str, *, bad_first: bool) -> None:
    """The department's result on each of its items (the page keeps every form until the
    record is made); the first cites the evidence, and is non-compliant if ``bad_first``."""
    total = page.get_by_test_id("finding-form").count()
    assert total > 0
    for n in range(total):
        one = page.get_by_test_id("finding-form").nth(n)
        bad = bad_first and n == 0
        one.get_by_test_id("finding-result").select_option("non_compliant" if bad else "compliant")
        if n == 0:
            one.get_by_test_id("finding-note").fill("油烟净化设施未正常使用" if bad else "")
            one.get_by_test_id("finding-evidence").fill(evidence_id)
        with page.expect_navigation():
            one.get_by_test_id("finding-submit").click()
    assert page.get_by_test_id("item-finding").count() >= total


def test_a_joint_inspection_from_warning_to_published_record(
    page: Any, web_server: LiveServer
) -> None:
    made = setup(web_server)
    people, ids = made["people"], made["ids"]

    # The office drafts the task from the warning, inviting the market regulator.
    sign_in(page, people[(OFFICE, "officer")], "/inspection/warnings")
    warning = page.get_by_test_id("warning").first
    assert "嘉禾小厨" in warning.inner_text()
    assert check_accessibility(page) == []
    warning.get_by_test_id("draft-scenario").select_option("restaurant")
    warning.get_by_test_id("draft-department").check()
    warning.get_by_test_id("draft-submit").click()
    page.wait_for_url("**/inspection/tasks/*")
    task_url = page.url
    assert page.get_by_test_id("task-state").get_attribute("data-state") == "consulting"
    assert check_accessibility(page) == []
    day = (date.today() + timedelta(days=3)).isoformat()
    page.get_by_test_id("propose-date").fill(day)
    page.get_by_test_id("propose-submit").click()
    page.wait_for_load_state()

    # The regulator agrees the same date: the task is scheduled.
    sign_in(page, people[(MARKET, "officer")], task_url.removeprefix(web_server.url))
    page.get_by_test_id("propose-date").fill(day)
    page.get_by_test_id("propose-submit").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=task-state]').dataset.state === 'scheduled'"
    )
    assert page.get_by_test_id("task-date").inner_text() == day

    # Findings, each department on its own items, citing its officer's evidence.
    for dept, bad in ((MARKET, True), (OFFICE, False)):
        token = people[(dept, "officer")]
        evidence_id = capture(web_server, token)
        sign_in(page, token, task_url.removeprefix(web_server.url))
        record_findings(page, evidence_id, bad_first=bad)
    assert page.get_by_test_id("task-state").get_attribute("data-state") == "visited"

    # Both reviewers share their evidence; the office's makes the record, the regulator's signs.
    for dept in (MARKET, OFFICE):
        sign_in(page, people[(dept, "reviewer")], task_url.removeprefix(web_server.url))
        page.get_by_test_id("share-submit").click()
        page.wait_for_load_state()
    page.get_by_test_id("record-submit").click()
    page.wait_for_selector("[data-testid=record-state][data-state=signing]")
    sign_in(page, people[(MARKET, "reviewer")], task_url.removeprefix(web_server.url))
    page.get_by_test_id("approve-submit").click()
    page.wait_for_selector("[data-testid=record-state][data-state=signed]")
    assert check_accessibility(page) == []
    page.get_by_test_id("result-link").click()
    page.wait_for_url("**/inspection/results/*")
    assert "嘉禾小厨" in page.get_by_test_id("result-enterprise").inner_text()
    assert page.get_by_test_id("result-non-compliant").inner_text() == "1"
    assert "油烟净化设施未正常使用" not in page.content()  # no note in the publicity
    assert check_accessibility(page) == []
    screenshot(page, "inspection-result")

    # The draw published by now (or soon): its public page; then the task board with its tasks.
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=web_server.url, timeout=30) as http:
        while http.get(f"{API}/draws/{made['draw_id']}").status_code != 200:
            assert time.monotonic() < deadline, "the draw did not publish in time"
            time.sleep(1)
    page.context.clear_cookies()
    page.goto(f"/inspection/draws/{made['draw_id']}")
    assert page.get_by_test_id("draw-state").get_attribute("data-state") == "published"
    assert len(page.get_by_test_id("draw-digest").inner_text()) == 64
    assert page.get_by_test_id("selected-row").count() >= 1
    assert check_accessibility(page) == []
    screenshot(page, "inspection-draw")
    sign_in(page, people[(OFFICE, "officer")], "/inspection/tasks")
    assert page.get_by_test_id("task-card").count() >= 2  # the drawn ones and ours
    assert page.get_by_test_id("column-recorded").get_by_test_id("task-card").count() == 1
    assert check_accessibility(page) == []
    screenshot(page, "inspection-task-board")
    assert ids[OFFICE]
