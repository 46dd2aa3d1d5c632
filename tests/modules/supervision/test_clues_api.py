"""The clue centre over HTTP, on SQLite and PostgreSQL: the model list, runs on demand that
never duplicate a clue, a clue that closes itself when its record is corrected and opens again
when the problem comes back, department isolation, 422 with nothing written for an unknown
model, cursor pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from evidence_service.modules.supervision.clues import registry
from evidence_service.modules.supervision.models import clue, cockpit_refresh, run
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

BASE = "/api/v1/supervision"
ABOVE = "penalty_above_notice"


def _count(api: Api, table: Any) -> int:
    with module_engine(api).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _run(api: Api, who: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = api.client.post(f"{BASE}/runs", json={"models": None, **body}, headers=who)
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "done"
    return answer.json()  # type: ignore[no-any-return]


def _clues(api: Api, who: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    answer = api.client.get(f"{BASE}/clues", params=params, headers=who)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]  # type: ignore[no-any-return]


def test_every_model_is_listed_with_its_legal_basis(api: Api) -> None:
    listed = api.client.get(f"{BASE}/models", headers=api.auth_as(DEPT_A, "officer"))
    assert listed.status_code == 200, listed.text
    assert [m["code"] for m in listed.json()] == [m.code for m in registry.MODELS]
    for model in listed.json():
        assert model["name"] and model["basis"].startswith("《")
        assert model["severity"] in ("high", "medium", "low")
    assert api.client.get(f"{BASE}/models").status_code == 401


def test_a_rerun_keeps_one_clue_which_closes_when_corrected_and_reopens(api: Api) -> None:
    a = department_id(api, DEPT_A)
    officer = api.auth_as(DEPT_A, "officer")
    office = office_officer(api)
    posted = api.client.post(
        RECORDS,
        json=[a_record(a, "X-1", decided_amount="6000"), a_record(a, "X-2")],
        headers=officer,
    )
    assert posted.status_code == 201, posted.text
    bad_id, good_id = posted.json()["ids"]

    first = _run(api, office)
    assert first["mode"] == "full" and first["trigger"] == "demand" and first["opened"] >= 1
    found = _clues(api, office, model=ABOVE)
    assert len(found) == 1
    one = found[0]
    assert (one["status"], one["subject"], one["department_id"]) == ("open", bad_id, a)
    assert one["links"]["record"] == [bad_id]
    assert one["links"]["evidence"] == [
        "01JDOCUMENT0000000000000001",
        "01JEVIDENCE0000000000000001",
    ]
    assert one["links"]["case"] == ["01JCASE00000000000000000001"]
    assert one["facts"]["decided_amount"] == "6000.00" and one["basis"].endswith("第六十二条")
    assert _clues(api, office, record_id=good_id) == []  # the clean record raised nothing
    with module_engine(api).connect() as conn:  # the cockpit's summary was rebuilt after it
        summary = conn.execute(select(cockpit_refresh.c.refreshed_at)).scalar_one()
    assert summary is not None

    second = _run(api, office)
    again = _clues(api, office, model=ABOVE)
    assert [c["id"] for c in again] == [one["id"]] and second["opened"] == 0
    assert again[0]["last_run_id"] == second["id"] and again[0]["first_run_id"] == first["id"]
    assert _count(api, clue) == first["hits"] == second["hits"]

    fixed = api.client.post(RECORDS, json=[a_record(a, "X-1")], headers=officer)
    assert fixed.status_code == 200, fixed.text
    third = _run(api, office, mode="incremental")
    assert third["mode"] == "incremental" and third["closed"] == 1
    closed = api.client.get(f"{BASE}/clues/{one['id']}", headers=office).json()
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert _clues(api, office, model=ABOVE, status="open") == []

    broken = api.client.post(
        RECORDS, json=[a_record(a, "X-1", decided_amount="7000")], headers=officer
    )
    assert broken.status_code == 200, broken.text
    fourth = _run(api, office, mode="incremental")
    assert fourth["opened"] == 1
    reopened = _clues(api, office, model=ABOVE)
    assert [c["id"] for c in reopened] == [one["id"]]
    assert reopened[0]["status"] == "open" and reopened[0]["closed_at"] is None
    assert reopened[0]["facts"]["decided_amount"] == "7000.00"

    shown = api.client.get(f"{BASE}/runs/{fourth['id']}", headers=officer)
    assert shown.status_code == 200 and shown.json()["opened"] == 1
    assert shown.json()["started_by"] is not None
    assert api.client.get(f"{BASE}/runs/NOSUCHRUN", headers=officer).status_code == 404


def test_a_department_sees_only_its_own_clues(api: Api) -> None:
    a, b = department_id(api, DEPT_A), department_id(api, DEPT_B)
    officer_a, officer_b = api.auth_as(DEPT_A, "officer"), api.auth_as(DEPT_B, "officer")
    office, auditor = office_officer(api), api.auth("auditor")
    posted = api.client.post(
        RECORDS, json=[a_record(a, "A-1", decided_amount="9000")], headers=officer_a
    )
    assert posted.status_code == 201, posted.text
    # only the office's workers and auditors start runs
    refused = api.client.post(f"{BASE}/runs", json={"models": None}, headers=officer_a)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert _count(api, run) == 0
    _run(api, auditor)
    clue_id = _clues(api, office, model=ABOVE)[0]["id"]
    for who in (officer_a, office, auditor):
        assert [c["id"] for c in _clues(api, who, model=ABOVE)] == [clue_id]
        assert api.client.get(f"{BASE}/clues/{clue_id}", headers=who).status_code == 200
    assert _clues(api, officer_b) == []
    assert _clues(api, officer_b, department_id=a) == []
    assert api.client.get(f"{BASE}/clues/{clue_id}", headers=officer_b).status_code == 404
    assert _clues(api, auditor, department_id=b) == []
    for role in ("court", "admin"):
        assert api.client.get(f"{BASE}/clues", headers=api.auth(role)).status_code == 403


def test_an_unknown_model_or_a_bad_body_is_refused_with_nothing_written(api: Api) -> None:
    office = office_officer(api)
    unknown = api.client.post(
        f"{BASE}/runs", json={"models": [ABOVE, "no_such_model"]}, headers=office
    )
    assert unknown.status_code == 422, unknown.text
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert "no_such_model" in unknown.json()["detail"]
    for body in (
        {},  # "every model" is said with null, never implied
        {"models": None, "mode": "sometimes"},
        {"models": ["x" * 65]},
        {"models": [ABOVE] * 101},
        {"models": None, "extra": 1},
    ):
        refused = api.client.post(f"{BASE}/runs", json=body, headers=office)
        assert refused.status_code == 422, (body, refused.text)
    assert (_count(api, run), _count(api, clue)) == (0, 0)
    bad_cursor = api.client.get(f"{BASE}/clues", params={"cursor": "bm9wZQ"}, headers=office)
    assert bad_cursor.status_code == 422
    assert api.client.get(f"{BASE}/clues", params={"limit": 501}, headers=office).status_code == 422
    assert (
        api.client.get(f"{BASE}/clues", params={"status": "maybe"}, headers=office).status_code
        == 422
    )


def test_clues_and_runs_come_in_cursor_pages_and_filter(api: Api) -> None:
    a = department_id(api, DEPT_A)
    office = office_officer(api)
    rows = [a_record(a, f"Y-{n}", decided_amount=str(6000 + n)) for n in range(3)]
    posted = api.client.post(RECORDS, json=rows, headers=office)
    assert posted.status_code == 201, posted.text
    _run(api, office, models=[ABOVE])
    _run(api, office, models=[ABOVE, "time_barred"])
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params: dict[str, Any] = {"limit": 2, "model": ABOVE}
        if cursor:
            params["cursor"] = cursor
        page = api.client.get(f"{BASE}/clues", params=params, headers=office).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3 and cursor is None
    assert seen == sorted(seen)
    one = posted.json()["ids"][1]
    by_record = _clues(api, office, record_id=one)
    assert [c["subject"] for c in by_record] == [one]
    assert len(_clues(api, office, evidence_id="01JEVIDENCE0000000000000001")) == 3
    assert len(_clues(api, office, severity="high", status="open")) == 3
    assert _clues(api, office, severity="low") == []

    runs = api.client.get(f"{BASE}/runs", params={"limit": 1}, headers=office).json()
    assert runs["items"][0]["models"] == [ABOVE, "time_barred"]  # newest first
    rest = api.client.get(
        f"{BASE}/runs", params={"limit": 1, "cursor": runs["next_cursor"]}, headers=office
    ).json()
    assert rest["items"][0]["models"] == [ABOVE] and rest["next_cursor"] is None
