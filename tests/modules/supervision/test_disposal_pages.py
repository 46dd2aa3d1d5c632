"""The disposal centre's pages over HTTP, on SQLite and PostgreSQL: the list with its filters
and lights; the supervised department's side of a general disposal — it signs for the notice
and sends its written report through one form, which captures the file in the core, transfers
it to the office and registers the reply — with every refusal (no anti-forgery token, the
notice not signed for, the wrong role, an empty or oversized file) writing nothing."""

from __future__ import annotations

import hashlib
import re

from evidence_service.modules.supervision.disposal_pages import MAX_REPORT_BYTES
from tests.fixtures.service import Api
from tests.modules.supervision.helpers import DEPT_A, DEPT_B, OFFICE, department_id
from tests.modules.supervision.test_disposal import DECISION, Office, a_clue, written
from tests.modules.supervision.test_pages import form_token, get, sign_in

REPORT = "关于超期案件的整改报告：已补作处罚决定并送达。".encode()


def _version(page: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found, "the page carries no version"
    return found.group(1)


def rectifying(api: Api, office: Office) -> str:
    """A general disposal of department A whose sealed notice was sent (state rectifying)."""
    did = office.open("general")["id"]
    for action, body in (("assign", {}), ("investigate", {}), ("decide", DECISION)):
        assert office.act(did, office.officer, action=action, **body).status_code == 200
    sent = office.act(did, office.reviewer, action="send_notice")
    assert sent.status_code == 200, sent.text
    return str(did)


def _core_counts(api: Api, headers: dict[str, str]) -> tuple[int, int]:
    """What the department sent: its evidence and its outgoing transfers, as the core lists."""
    evidence = api.client.get("/api/v1/evidence", params={"limit": 200}, headers=headers)
    out = api.client.get("/api/v1/transfers", params={"direction": "out"}, headers=headers)
    return len(evidence.json()["items"]), len(out.json()["items"])


def test_the_department_signs_for_the_notice_and_sends_its_report(api: Api) -> None:
    office = Office(api)
    did = rectifying(api, office)
    page_path = f"/supervision/disposals/{did}"
    dept = api.auth_as(DEPT_A, "reviewer")
    try:
        # the office sees it waiting for the department, without the department's forms
        sign_in(api, office.reviewer)
        page = get(api, page_path).text
        assert 'data-testid="awaiting-reply"' in page and "report-form" not in page
        # its link to the notice works with the session's cookie (a link sends no token)
        notice = api.client.get(f"{page_path}/notice.pdf")
        assert notice.status_code == 200 and notice.content.startswith(b"%PDF-")
        sealed = api.client.get(f"/api/v1/supervision/disposals/{did}", headers=office.reviewer)
        assert hashlib.sha256(notice.content).hexdigest() == sealed.json()["notice_sha256"]
        assert f'href="{page_path}/notice.pdf"' in page

        sign_in(api, dept)
        page = get(api, page_path).text
        token, version = form_token(page), _version(page)
        assert 'data-status="pending"' in page and 'data-testid="accept-notice"' in page
        assert 'data-testid="report-form"' not in page  # signing comes first
        before = _core_counts(api, dept)
        # a report before signing for the notice: refused, nothing captured
        early = api.client.post(
            f"{page_path}/report",
            data={"csrf": token, "version": version},
            files={"file": ("report.txt", REPORT, "text/plain")},
            follow_redirects=False,
        )
        assert early.status_code == 409 and "签收" in early.text, early.text
        assert _core_counts(api, dept) == before
        # signing without the page's token: refused; with it: the transfer is accepted
        forged = api.client.post(f"{page_path}/notice/accept", data={"version": version})
        assert forged.status_code == 403
        signed = api.client.post(
            f"{page_path}/notice/accept",
            data={"csrf": token, "version": version},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        page = get(api, page_path).text
        assert 'data-status="accepted"' in page and 'data-testid="report-form"' in page

        # an empty file, a missing file, a forged form: 4xx and nothing captured or moved
        before = _core_counts(api, dept)  # the notice it received is now among its items
        state_before = written(api)
        for data, files, status in (
            ({"csrf": token, "version": version}, {"file": ("r.txt", b"", "text/plain")}, 422),
            ({"csrf": token, "version": version}, None, 422),
            ({"version": version}, {"file": ("r.txt", REPORT, "text/plain")}, 403),
        ):
            answer = api.client.post(f"{page_path}/report", data=data, files=files)
            assert answer.status_code == status, answer.text
        assert _core_counts(api, dept) == before and written(api) == state_before

        sent = api.client.post(
            f"{page_path}/report",
            data={"csrf": token, "version": version, "note": "已整改到位"},
            files={"file": ("整改报告.txt", REPORT, "text/plain")},
            follow_redirects=False,
        )
        assert sent.status_code == 303, sent.text
        detail = api.client.get(f"/api/v1/supervision/disposals/{did}", headers=dept).json()
        assert detail["state"] == "replied"
        evidence = api.client.get(f"/api/v1/evidence/{detail['reply_evidence_id']}", headers=dept)
        assert evidence.json()["sha256"] == hashlib.sha256(REPORT).hexdigest()
        assert evidence.json()["port"] == "documentary"
        back = api.client.get(f"/api/v1/transfers/{detail['reply_transfer_id']}", headers=dept)
        assert back.json()["to_department"]["id"] == department_id(api, OFFICE)
        assert [s["note"] for s in detail["steps"] if s["action"] == "reply"] == ["已整改到位"]
        assert _core_counts(api, dept) == (before[0] + 1, before[1] + 1)
        # the same form sent again (a double click) captures and transfers nothing more
        again = api.client.post(
            f"{page_path}/report",
            data={"csrf": token, "version": version},
            files={"file": ("整改报告.txt", REPORT, "text/plain")},
        )
        assert again.status_code in (409, 412)
        assert _core_counts(api, dept) == (before[0] + 1, before[1] + 1)

        # the office reads the report's link and closes the disposal from its page
        sign_in(api, office.reviewer)
        page = get(api, page_path).text
        assert f'href="/evidence/{detail["reply_evidence_id"]}"' in page
        closed = api.client.post(
            f"{page_path}/actions",
            data={
                "action": "close", "note": "整改到位，结案", "version": _version(page),
                "csrf": form_token(page),
            },
            follow_redirects=False,
        )  # fmt: skip
        assert closed.status_code == 303
        assert 'data-state="closed"' in get(api, page_path).text
    finally:
        api.client.cookies.clear()


def test_only_the_departments_reviewers_answer_and_the_report_is_bounded(api: Api) -> None:
    office = Office(api)
    did = rectifying(api, office)
    page_path = f"/supervision/disposals/{did}"
    try:
        for who in (api.auth_as(DEPT_A, "officer"), api.auth_as(DEPT_B, "reviewer")):
            sign_in(api, who)
            answer = api.client.get(page_path)
            assert "report-form" not in answer.text and "accept-notice" not in answer.text
        sign_in(api, api.auth_as(DEPT_A, "officer"))
        get(api, page_path)  # sets the page's anti-forgery cookie, though it shows no form
        token = api.client.cookies.get("evd_sup_csrf")
        refused = api.client.post(f"{page_path}/notice/accept", data={"csrf": token})
        assert refused.status_code == 403
        # a body beyond the report's limit is refused before it is read (413)
        big = api.client.post(
            f"{page_path}/report",
            content=b"x",
            headers={
                "Content-Type": "multipart/form-data; boundary=b",
                "Content-Length": str(MAX_REPORT_BYTES + 128 * 1024),
            },
        )
        assert big.status_code == 413
        assert written(api)[2][-1] == ("rectifying", 5)
    finally:
        api.client.cookies.clear()


def test_the_disposal_list_filters_and_shows_lights(api: Api) -> None:
    office = Office(api)
    simple = office.open("simple", clue_id=a_clue(api, DEPT_B))["id"]
    general = office.open("general")["id"]
    try:
        sign_in(api, office.officer)
        page = get(api, "/supervision/disposals").text
        for did in (simple, general):
            assert f'href="/supervision/disposals/{did}"' in page
        assert 'data-light="green"' in page
        only = get(api, "/supervision/disposals", procedure="simple").text
        assert simple in only and general not in only
        by_dept = get(api, "/supervision/disposals", department_id=department_id(api, DEPT_A))
        assert general in by_dept.text and simple not in by_dept.text
        assert "no-disposals" in get(api, "/supervision/disposals", overdue="1").text
        for bad in ({"state": "bogus"}, {"procedure": "x"}, {"cursor": "%%%"}):
            answer = api.client.get("/supervision/disposals", params=bad)
            assert answer.status_code == 422, bad
        # a department sees its own disposals only
        sign_in(api, api.auth_as(DEPT_A, "officer"))
        mine = get(api, "/supervision/disposals").text
        assert general in mine and simple not in mine
        sign_in(api, api.auth("admin"))
        assert api.client.get("/supervision/disposals").status_code == 403
    finally:
        api.client.cookies.clear()


def test_a_warning_is_sent_and_acknowledged_through_the_pages(api: Api) -> None:
    office = Office(api)
    try:
        sign_in(api, office.officer)
        clue_id = a_clue(api)
        page = get(api, f"/supervision/clues/{clue_id}").text
        opened = api.client.post(
            f"/supervision/clues/{clue_id}/disposal",
            data={"procedure": "warning", "csrf": form_token(page)},
            follow_redirects=False,
        )
        assert opened.status_code == 303, opened.text
        page_path = opened.headers["location"]
        page = get(api, page_path).text
        assert 'data-testid="action-warn"' in page
        warned = api.client.post(
            f"{page_path}/actions",
            data={
                "action": "warn", "note": "请关注办案期限，立案后 90 日内作出决定",
                "version": _version(page), "csrf": form_token(page),
            },
            follow_redirects=False,
        )  # fmt: skip
        assert warned.status_code == 303, warned.text
        assert 'data-state="warned"' in get(api, page_path).text

        # the department's officer sees the warning and acknowledges it from the same page
        sign_in(api, api.auth_as(DEPT_A, "officer"))
        page = get(api, page_path).text
        assert "请关注办案期限" in page and 'data-testid="action-acknowledge"' in page
        assert 'data-testid="action-close"' not in page  # closing is the office's
        done = api.client.post(
            f"{page_path}/actions",
            data={"action": "acknowledge", "version": _version(page), "csrf": form_token(page)},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        page = get(api, page_path).text
        assert 'data-state="closed"' in page and "确认收到预警" in page
        # another department sees nothing of it
        sign_in(api, api.auth_as(DEPT_B, "officer"))
        assert api.client.get(page_path).status_code == 404
    finally:
        api.client.cookies.clear()
