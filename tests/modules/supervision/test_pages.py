"""The clue centre's and the disposal centre's pages over HTTP, on SQLite and PostgreSQL: the
clue list shows a planted clue's model, legal basis and evidence links; a department sees
only its own clues; no session → 303 to /login; a form without the page's anti-forgery token
(or sent from another site) → 403 with nothing written; the forms open a disposal and take it
to closed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select

from evidence_service.modules.supervision.clues import registry
from evidence_service.modules.supervision.models import clue, clue_link, run
from evidence_service.modules.supervision.records import new_id
from tests.fixtures.service import Api
from tests.modules.supervision.helpers import (
    DEPT_A,
    DEPT_B,
    department_id,
    module_engine,
    office_officer,
)
from tests.modules.supervision.test_disposal import written

MODEL = "decision_after_90_days"
EVIDENCE = "01JEVIDENCE0000000000000001"


def plant(api: Api, dept_code: str, summary: str) -> str:
    """A clue as a run leaves it, linked to a record and an evidence item."""
    clue_id, now = new_id(), datetime.now(UTC)
    with module_engine(api).begin() as conn:
        conn.execute(
            insert(clue).values(
                id=clue_id, model=MODEL, subject=f"record:{clue_id}",
                department_id=department_id(api, dept_code), severity="medium", status="open",
                summary=summary, facts={"days": 120}, first_run_id=new_id(),
                last_run_id=new_id(), opened_at=now, last_seen_at=now,
            )
        )  # fmt: skip
        conn.execute(
            insert(clue_link),
            [
                {"clue_id": clue_id, "kind": "record", "ref": f"REC-{clue_id}"},
                {"clue_id": clue_id, "kind": "evidence", "ref": EVIDENCE},
            ],
        )
    return clue_id


def _count(api: Api, table: Any) -> int:
    with module_engine(api).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def sign_in(api: Api, headers: dict[str, str]) -> None:
    """The session cookie the web app sets: the person's token (here a service token)."""
    api.client.cookies.clear()
    api.client.cookies.set("evd_session", headers["Authorization"].removeprefix("Bearer "))


def form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page carries no anti-forgery field"
    return found.group(1)


def get(api: Api, path: str, **params: Any) -> Any:
    answer = api.client.get(path, params=params, follow_redirects=False)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    return answer


def test_the_clue_list_shows_model_basis_and_evidence(api: Api) -> None:
    mine = plant(api, DEPT_A, "立案后 120 日未作出决定（甲）")
    theirs = plant(api, DEPT_B, "立案后 130 日未作出决定（乙）")
    model = registry.BY_CODE[MODEL]
    try:
        sign_in(api, office_officer(api))
        page = get(api, "/supervision/clues").text
        for clue_id in (mine, theirs):
            assert f'href="/supervision/clues/{clue_id}"' in page
            assert f"REC-{clue_id}" in page
        assert model.name in page and model.basis in page
        assert f'href="/evidence/{EVIDENCE}"' in page
        assert 'action="/supervision/runs"' in page  # the office runs the models
        # the filters narrow the list
        narrowed = get(api, "/supervision/clues", department_id=department_id(api, DEPT_B)).text
        assert theirs in narrowed and mine not in narrowed
        assert mine not in get(api, "/supervision/clues", severity="high").text
        one = get(api, f"/supervision/clues/{mine}").text
        assert model.basis in one and f'href="/evidence/{EVIDENCE}"' in one
        assert f'action="/supervision/clues/{mine}/disposal"' in one

        # a department's officer sees only its own clues, and no run button
        sign_in(api, api.auth_as(DEPT_A, "officer"))
        page = get(api, "/supervision/clues").text
        assert mine in page and theirs not in page
        assert 'action="/supervision/runs"' not in page
        assert api.client.get(f"/supervision/clues/{theirs}").status_code == 404
        assert 'action="/supervision/clues/' not in get(api, f"/supervision/clues/{mine}").text
    finally:
        api.client.cookies.clear()


def test_without_a_session_the_pages_send_to_login(api: Api) -> None:
    clue_id = plant(api, DEPT_A, "x")
    api.client.cookies.clear()
    for path in ("/supervision/clues?status=open", f"/supervision/clues/{clue_id}"):
        answer = api.client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=%2Fsupervision%2Fclues")
    api.client.cookies.set("evd_session", "not-a-token")
    try:
        answer = api.client.post(
            f"/supervision/clues/{clue_id}/disposal",
            data={"procedure": "simple"},
            follow_redirects=False,
        )
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    finally:
        api.client.cookies.clear()
    assert written(api)[:2] == (0, 0)


def test_a_form_without_the_anti_forgery_proof_writes_nothing(api: Api) -> None:
    clue_id = plant(api, DEPT_A, "立案后 120 日未作出决定")
    try:
        sign_in(api, office_officer(api))
        token = form_token(get(api, f"/supervision/clues/{clue_id}").text)
        target = f"/supervision/clues/{clue_id}/disposal"
        refused = [
            api.client.post(target, data={"procedure": "simple"}),
            api.client.post(target, data={"procedure": "simple", "csrf": "forged" * 4}),
            api.client.post(
                target,
                data={"procedure": "simple", "csrf": token},
                headers={"Origin": "https://evil.example"},
            ),
            api.client.post(
                target,
                data={"procedure": "simple", "csrf": token},
                headers={"Sec-Fetch-Site": "cross-site"},
            ),
        ]
        for answer in refused:
            assert answer.status_code == 403, answer.text
        assert written(api)[:2] == (0, 0)
        ran = api.client.post("/supervision/runs", data={}, follow_redirects=False)
        assert ran.status_code == 403
        assert _count(api, run) == 0
        # with the token the office's run goes through and the list reports it
        ran = api.client.post("/supervision/runs", data={"csrf": token}, follow_redirects=False)
        assert ran.status_code == 303 and ran.headers["location"].startswith(
            "/supervision/clues?ran="
        )
        assert _count(api, run) == 1
        assert "问题模型已运行" in api.client.get(ran.headers["location"]).text
        # a department's officer may not run the models, token or not
        sign_in(api, api.auth_as(DEPT_A, "officer"))
        mine = api.client.get("/supervision/clues")
        assert 'action="/supervision/runs"' not in mine.text
        refused = api.client.post("/supervision/runs", data={"csrf": token}, follow_redirects=False)
        assert refused.status_code == 403 and _count(api, run) == 1
    finally:
        api.client.cookies.clear()


def test_the_forms_open_a_disposal_and_close_it(api: Api) -> None:
    clue_id = plant(api, DEPT_A, "立案后 120 日未作出决定")
    try:
        sign_in(api, office_officer(api))
        token = form_token(get(api, f"/supervision/clues/{clue_id}").text)
        bad = api.client.post(
            f"/supervision/clues/{clue_id}/disposal",
            data={"procedure": "bogus", "csrf": token},
            follow_redirects=False,
        )
        assert bad.status_code == 422 and written(api)[:2] == (0, 0)
        opened = api.client.post(
            f"/supervision/clues/{clue_id}/disposal",
            data={"procedure": "simple", "note": "简易处置", "csrf": token},
            headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
            follow_redirects=False,
        )
        assert opened.status_code == 303, opened.text
        location = opened.headers["location"]
        assert location.startswith("/supervision/disposals/")
        count, steps, states = written(api)
        assert (count, steps, [s for s, _ in states]) == (1, 1, ["open"])
        page = get(api, location).text
        assert 'data-state="open"' in page and 'data-testid="action-close"' in page
        version = re.search(r'name="version" value="(\d+)"', page)
        assert version
        # closing without the reason the procedure needs: refused, nothing written
        missing = api.client.post(
            f"{location}/actions",
            data={"action": "close", "version": version.group(1), "csrf": token},
            follow_redirects=False,
        )
        assert missing.status_code == 422, missing.text
        assert [s for s, _ in written(api)[2]] == ["open"]
        closed = api.client.post(
            f"{location}/actions",
            data={
                "action": "close",
                "note": "已当面提醒",
                "version": version.group(1),
                "csrf": token,
            },
            follow_redirects=False,
        )
        assert closed.status_code == 303, closed.text
        assert [s for s, _ in written(api)[2]] == ["closed"]
        page = get(api, location).text
        assert 'data-state="closed"' in page and "已当面提醒" in page
        assert 'data-testid="action-' not in page
        # the list shows the clue's disposal and its state
        assert "简易程序 · 已关闭" in get(api, "/supervision/clues").text
        # a stale version (the form of an older page) is refused
        stale = api.client.post(
            f"{location}/actions",
            data={"action": "close", "note": "again", "version": "1", "csrf": token},
            follow_redirects=False,
        )
        assert stale.status_code in (409, 412)
    finally:
        api.client.cookies.clear()


def test_the_web_apps_navigation_leads_to_the_clue_centre_for_who_may_read_it(api: Api) -> None:
    try:
        for role, shown in (("officer", True), ("auditor", True), ("admin", False)):
            sign_in(api, api.auth(role))
            home = api.client.get("/", headers={"Accept-Language": "zh-CN"})
            assert home.status_code == 200, home.text
            assert ('href="/supervision/clues"' in home.text) is shown, role
            assert ("执法监督" in home.text) is shown, role
    finally:
        api.client.cookies.clear()
