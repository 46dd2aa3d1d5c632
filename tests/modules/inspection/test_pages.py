"""The joint-inspection pages over HTTP: from a warning to a co-signed, published record by
forms alone — the office drafts the task on the warnings page, both departments agree a date,
each records its findings, reviewers share and sign — and the task board, the feedback page,
the public result. Without a session a page sends to /login; a form without the page's
anti-forgery token is refused with nothing written; the public pages need no sign-in."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from tests.fixtures.service import Api
from tests.modules.inspection.helpers import (
    API,
    MARKET,
    OFFICE,
    an_enterprise,
    counts,
    department_id,
    map_departments,
    write_directory,
)
from tests.modules.inspection.test_signals_api import a_signal
from tests.modules.inspection.test_visit import captured

ENTERPRISE = an_enterprise(1, "high", name="南湖小馆")


def sign_in(api: Api, dept: str, role: str) -> None:
    api.client.cookies.clear()
    token = api.auth_as(dept, role)["Authorization"].removeprefix("Bearer ")
    api.client.cookies.set("evd_session", token)


def page(api: Api, path: str) -> str:
    answer = api.client.get(path, follow_redirects=False)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


def form(api: Api, path: str, html: str, **fields: Any) -> Any:
    token = re.search(r'name="csrf" value="([^"]+)"', html)
    assert token, "the page carries no anti-forgery field"
    sent = api.client.post(path, data={"csrf": token.group(1), **fields}, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    return sent.headers["location"]


def version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found
    return found.group(1)


def test_from_a_warning_to_a_published_record_by_forms(api: Api) -> None:
    map_departments(api)
    write_directory(api, [ENTERPRISE])
    penalty = a_signal(1, "P-1", kind="penalty", source="penalty-system")
    posted = api.client.post(
        f"{API}/signals",
        json={"signals": [penalty, a_signal(1, "H-1")]},
        headers=api.auth_as(MARKET, "officer"),
    )
    (warning_id,) = posted.json()["warnings_opened"]
    market = department_id(api, MARKET)
    try:
        sign_in(api, OFFICE, "officer")
        warnings = page(api, "/inspection/warnings")
        assert "南湖小馆" in warnings and "行政处罚" in warnings
        task_url = form(
            api,
            f"/inspection/warnings/{warning_id}/task",
            warnings,
            scenario="restaurant",
            departments=[market],
        )
        task_id = task_url.rsplit("/", 1)[1]
        task = page(api, task_url)
        assert 'data-state="consulting"' in task and "杭州市市场监督管理局" in task

        day = (date.today() + timedelta(days=7)).isoformat()
        form(api, f"{task_url}/actions", task, action="propose_date", on=day, version=version(task))
        sign_in(api, MARKET, "officer")
        task = page(api, task_url)
        form(api, f"{task_url}/actions", task, action="propose_date", on=day, version=version(task))
        task = page(api, task_url)
        assert 'data-state="scheduled"' in task and day in task

        board = page(api, "/inspection/tasks")
        assert f'data-task="{task_id}"' in board and 'data-testid="column-scheduled"' in board

        # findings: each department its own items, one citing evidence
        for dept in (MARKET, OFFICE):
            sign_in(api, dept, "officer")
            task = page(api, task_url)
            codes = re.findall(r'action="/inspection/tasks/[^/]+/findings/([^"]+)"', task)
            assert codes
            photo = captured(api, dept)
            for n, code in enumerate(codes):
                form(
                    api,
                    f"{task_url}/findings/{code}",
                    task,
                    result="non_compliant" if (dept, n) == (MARKET, 0) else "compliant",
                    note="",
                    evidence_ids=photo if n == 0 else "",
                    follow_up="rectification",
                )
        for dept in (MARKET, OFFICE):
            sign_in(api, dept, "reviewer")
            form(api, f"{task_url}/share", page(api, task_url))
        sign_in(api, OFFICE, "reviewer")
        form(api, f"{task_url}/record", page(api, task_url))
        sign_in(api, MARKET, "reviewer")
        task = page(api, task_url)
        assert 'data-state="signing"' in task
        form(api, f"{task_url}/record/approve", task)
        task = page(api, task_url)
        assert 'data-state="signed"' in task and 'data-testid="result-link"' in task

        feedback = page(api, "/inspection/feedback")
        assert 'data-testid="joint-visits">1<' in feedback
        api.client.cookies.clear()
        public = page(api, f"/inspection/results/{task_id}")
        assert "南湖小馆" in public and 'data-testid="result-non-compliant">1<' in public
        assert photo not in public  # no evidence id, no inspector, no note
    finally:
        api.client.cookies.clear()


def test_pages_need_a_session_and_forms_need_the_token(api: Api) -> None:
    map_departments(api)
    api.client.cookies.clear()
    gone = api.client.get("/inspection/tasks", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login?next=")
    sign_in(api, OFFICE, "officer")
    try:
        forged = api.client.post(
            "/inspection/warnings/01JZZZZZZZZZZZZZZZZZZZZZZZ/task",
            data={"csrf": "not-the-pages", "scenario": "restaurant", "departments": ["x"]},
            follow_redirects=False,
        )
        assert forged.status_code == 403
        assert "anti-forgery" in forged.text and forged.headers["content-type"].startswith(
            "text/html"
        )
        assert counts(api)["inspection_task"] == 0
        missing = api.client.get("/inspection/tasks/01JZZZZZZZZZZZZZZZZZZZZZZZ")
        assert missing.status_code == 404 and 'data-testid="problem"' in missing.text
    finally:
        api.client.cookies.clear()
    draws = page(api, "/inspection/draws")
    assert 'data-testid="no-draws"' in draws
    assert api.client.get("/inspection/draws/NOPE").status_code == 404
    assert api.client.get("/inspection/results/01JZZZZZZZZZZZZZZZZZZZZZZZ").status_code == 404
