"""The problem list over HTTP, on both backends: a sustained exceedance opens a problem; past
its deadline, with the alarm still open, it is queued, and a reviewer transfers the anchored
device-hours to the enforcement department in one request; the restaurant rectifies with its
key (the file captured through the core) and the problem closes; exceeding again reopens it;
an inspection's findings open problems; the alarm reaches joint inspection as a signal."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import select

from evidence_service.modules.catering import models as m
from tests.fixtures.service import Api
from tests.modules.catering.helpers import (
    API,
    CREDIT_CODE,
    DEPARTMENT,
    a_frame,
    minutes_ago,
    module_engine,
    post_frame,
    register,
)

ENFORCEMENT = "HZ-ZHZF"
SUSTAINED = "sustained-exceedance"


def exceed(api: Api, start: datetime, minutes: int = 30, value: str = "1.50") -> None:
    for minute in range(minutes):
        done = post_frame(api, a_frame(start + timedelta(minutes=minute), value))
        assert done.status_code == 200, done.text


def with_service_token(api: Api) -> Any:
    state = api.client.app.state.catering  # type: ignore[attr-defined]
    token = api.auth_as(DEPARTMENT, "officer")["Authorization"].removeprefix("Bearer ")
    state.config = dataclasses.replace(
        state.config, service_token=token, enforcement_department=ENFORCEMENT
    )
    return state


def problems_of(api: Api, kind: str | None = None, **params: Any) -> list[dict[str, Any]]:
    got = api.client.get(
        f"{API}/problems", params=params, headers=api.auth_as(DEPARTMENT, "officer")
    )
    assert got.status_code == 200, got.text
    return [p for p in got.json()["items"] if kind is None or p["kind"] == kind]


def test_an_alarm_opens_a_problem_that_is_queued_transferred_rectified_and_reopened(
    api: Api,
) -> None:
    restaurant_id = register(api)
    state = with_service_token(api)
    start = (minutes_ago(0) - timedelta(hours=3)).replace(minute=0)
    exceed(api, start)
    [problem] = problems_of(api)
    assert (problem["kind"], problem["state"], problem["title"]) == (
        "sustained-exceedance",
        "open",
        "油烟持续超标",
    )
    # the deadline passes with the alarm still open: the round queues it, captures the hours
    # and posts the alarm to joint inspection (the device, silent since, is now offline too)
    later = datetime.now(UTC) + timedelta(days=8)
    report = anyio.run(lambda: state.round(now=later))
    assert report.queued == 1
    assert report.signalled == 1
    assert all(h.error is None for h in report.hours) and report.hours
    assert [p["kind"] for p in problems_of(api, state="open")] == [
        "offline",
        "sustained-exceedance",
    ]
    [queued] = problems_of(api, queued="true")
    assert queued["id"] == problem["id"]
    detail = api.client.get(
        f"{API}/problems/{problem['id']}", headers=api.auth_as(DEPARTMENT, "officer")
    ).json()
    assert detail["evidence_ids"] == [h.evidence_id for h in report.hours]
    # an officer may not transfer; the department's reviewer does, in one request
    refused = api.client.post(
        f"{API}/problems/{problem['id']}/transfer",
        json={},
        headers=api.auth_as(DEPARTMENT, "officer"),
    )
    assert refused.status_code == 403
    sent = api.client.post(
        f"{API}/problems/{problem['id']}/transfer",
        json={},
        headers=api.auth_as(DEPARTMENT, "reviewer"),
    )
    assert sent.status_code == 200, sent.text
    transfer = api.client.get(
        f"/api/v1/transfers/{sent.json()['transfer_id']}",
        headers=api.auth_as(ENFORCEMENT, "reviewer"),
    )
    assert transfer.status_code == 200, transfer.text
    sent_ids = [item["evidence_id"] for item in transfer.json()["items"]]
    assert sorted(sent_ids) == sorted(detail["evidence_ids"])
    again = api.client.post(
        f"{API}/problems/{problem['id']}/transfer",
        json={},
        headers=api.auth_as(DEPARTMENT, "reviewer"),
    )
    assert again.status_code == 409
    # the restaurant rectifies with its key
    key = api.client.post(
        f"{API}/restaurants/{restaurant_id}/key", headers=api.auth_as(DEPARTMENT, "officer")
    ).json()["key"]
    photo = b"\xff\xd8\xff\xe0 rectified purifier " + bytes(200)
    wrong = api.client.post(
        f"{API}/problems/{problem['id']}/rectification",
        headers={"X-Restaurant-Key": "cyk_wrong"},
        files={"file": ("fixed.jpg", photo, "image/jpeg")},
        data={"note": "已清洗净化器"},
    )
    assert wrong.status_code == 401
    assert problems_of(api, SUSTAINED)[0]["state"] == "open"
    fixed = api.client.post(
        f"{API}/problems/{problem['id']}/rectification",
        headers={"X-Restaurant-Key": key},
        files={"file": ("fixed.jpg", photo, "image/jpeg")},
        data={"note": "已清洗净化器"},
    )
    assert fixed.status_code == 200, fixed.text
    item = api.client.get(
        f"/api/v1/evidence/{fixed.json()['rectification_evidence_id']}/content",
        headers=api.auth_as(DEPARTMENT, "officer"),
    )
    assert item.content == photo
    [closed] = problems_of(api, SUSTAINED)
    assert closed["state"] == "closed"
    assert closed["rectification_note"] == "已清洗净化器"
    # the readings fall back under the limit (the alarm clears), then exceed again: reopened
    quiet = start + timedelta(minutes=30)
    exceed(api, quiet, minutes=12, value="0.40")
    exceed(api, quiet + timedelta(minutes=12), minutes=30, value="1.60")
    [reopened] = problems_of(api, SUSTAINED)
    assert (reopened["id"], reopened["state"], reopened["reopened"]) == (problem["id"], "open", 1)
    assert reopened["escalation"] is None


def test_an_inspections_findings_open_problems_and_score_it(api: Api) -> None:
    restaurant_id = register(api)
    done = api.client.post(
        f"{API}/inspections",
        json={
            "restaurant_id": restaurant_id,
            "inspected_on": (datetime.now(UTC) - timedelta(days=1)).date().isoformat(),
            "findings": [
                {"item": "后厨地面油污", "points": 6},
                {"item": "从业人员未戴帽", "points": 4, "critical": False},
                {"item": "记录完整", "points": 0},
            ],
        },
        headers=api.auth_as(DEPARTMENT, "officer"),
    )
    assert done.status_code == 200, done.text
    assert done.json()["score"] == 90
    assert done.json()["grade"] == "优秀"
    titles = sorted(p["title"] for p in problems_of(api))
    assert titles == ["从业人员未戴帽", "后厨地面油污"]
    # bad input writes nothing: an unknown evidence id, a future date, another department
    before = len(problems_of(api))
    for body, headers, status in (
        (
            {"restaurant_id": restaurant_id, "inspected_on": "2026-01-01", "evidence_ids": ["X"]},
            api.auth_as(DEPARTMENT, "officer"),
            422,
        ),
        (
            {"restaurant_id": restaurant_id, "inspected_on": "2999-01-01"},
            api.auth_as(DEPARTMENT, "officer"),
            422,
        ),
        (
            {
                "restaurant_id": restaurant_id,
                "inspected_on": "2026-01-01",
                "findings": [{"item": "x", "points": 5}],
            },
            api.auth_as(ENFORCEMENT, "officer"),
            403,
        ),
    ):
        refused = api.client.post(f"{API}/inspections", json=body, headers=headers)
        assert refused.status_code == status, refused.text
    assert len(problems_of(api)) == before
    with module_engine(api).connect() as conn:
        assert conn.execute(select(m.inspection.c.score)).scalars().all() == [90.0]
    assert CREDIT_CODE  # the restaurant the helpers register


def test_a_rectification_is_refused_before_the_service_identity_is_asked_for(api: Api) -> None:
    """Without a service token the module cannot capture a rectification (503), but only a
    restaurant whose key opens the problem learns that: others get 404 or 401."""
    restaurant_id = register(api)
    start = (minutes_ago(0) - timedelta(hours=3)).replace(minute=0)
    exceed(api, start)
    [problem] = problems_of(api, SUSTAINED)
    photo = {"file": ("fixed.jpg", b"\xff\xd8\xff photo", "image/jpeg")}
    unknown = api.client.post(f"{API}/problems/NOSUCH/rectification", files=photo)
    assert unknown.status_code == 404
    no_key = api.client.post(f"{API}/problems/{problem['id']}/rectification", files=photo)
    assert no_key.status_code == 401
    key = api.client.post(
        f"{API}/restaurants/{restaurant_id}/key", headers=api.auth_as(DEPARTMENT, "officer")
    ).json()["key"]
    unconfigured = api.client.post(
        f"{API}/problems/{problem['id']}/rectification",
        files=photo,
        headers={"X-Restaurant-Key": key},
    )
    assert unconfigured.status_code == 503
    assert unconfigured.json()["type"].endswith("/not-configured")
    assert problems_of(api, SUSTAINED)[0]["state"] == "open"


def test_a_reviewer_transfers_a_queued_problem_with_one_click(api: Api) -> None:
    """The problem list's 一键移送 button, for a reviewer of the restaurant's department."""
    import re

    from tests.modules.catering.test_pages import page, sign_in

    register(api)
    state = with_service_token(api)
    start = (minutes_ago(0) - timedelta(hours=3)).replace(minute=0)
    exceed(api, start)
    anyio.run(lambda: state.round(now=datetime.now(UTC) + timedelta(days=8)))
    sign_in(api, DEPARTMENT, "officer")  # an officer sees the mark, not the button
    listed = page(api, "/catering/problems")
    assert 'data-testid="queued">待移送' in listed and "transfer-submit" not in listed
    sign_in(api, DEPARTMENT, "reviewer")
    listed = page(api, "/catering/problems")
    action = re.search(r'action="(/catering/problems/[^"]+/transfer)"', listed).group(1)  # type: ignore[union-attr]
    token = re.search(r'name="csrf" value="([^"]+)"', listed).group(1)  # type: ignore[union-attr]
    forged = api.client.post(action, data={"csrf": "forged"}, follow_redirects=False)
    assert forged.status_code in (400, 403)
    assert problems_of(api, SUSTAINED)[0]["escalation"] == "queued"
    done = api.client.post(action, data={"csrf": token}, follow_redirects=False)
    assert done.status_code == 303, done.text
    [sent] = problems_of(api, SUSTAINED)
    assert sent["escalation"] == "transferred" and sent["transfer_id"]
    assert "已移送" in page(api, "/catering/problems")
