"""The refused-request log: a row for each 401, 403 and policy 404 with who, where and why
(none for answered calls), an anonymous flood folded into a row a minute, a failed write that
never changes the answer, the auditors' feed, and retention by the reaper."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete
from sqlmodel import Session, col, select

from evidence_service.access.refusals import RefusalRecorder, RefusedRequest
from evidence_service.capture.reaper import reap
from evidence_service.core.errors import PROBLEM_BASE
from evidence_service.services import build_services
from tests import samples
from tests.fixtures.service import Api, make_settings, running_api
from tests.service.helpers import assert_nothing_written, assert_problem, upload

A, B = "HZ-SCJG", "HZ-ZHZF"
REFUSALS = "/api/v1/feeds/refusals"


def rows(api: Api) -> list[RefusedRequest]:
    with Session(api.services.engine) as session:
        return list(session.exec(select(RefusedRequest).order_by(col(RefusedRequest.id))).all())


def clear(api: Api) -> None:
    with Session(api.services.engine) as session:
        session.execute(delete(RefusedRequest))
        session.commit()


def test_each_kind_of_refusal_is_recorded_with_who_where_and_why(api: Api) -> None:
    officer_b = api.person(B, "officer")
    item = upload(api, "documentary", samples.pdf(1), headers=api.auth_as(A, "officer")).json()
    api.client.get("/api/v1/evidence", headers=api.auth_as(A, "officer"))  # answered: no row
    api.client.get(f"/api/v1/evidence/{item['id']}", headers=api.auth_as(A, "officer"))
    assert rows(api) == []

    missing = api.client.get("/api/v1/evidence")
    assert_problem(missing, 401, "missing-token")
    bad = api.client.get("/api/v1/cases", headers={"Authorization": "Bearer nope"})
    assert_problem(bad, 401, "invalid-token")
    hidden = api.client.get(f"/api/v1/evidence/{item['id']}", headers=api.auth_as(B, "officer"))
    assert_problem(hidden, 404, "not-found")
    role = api.client.post("/api/v1/causes", json={}, headers=api.auth_as(B, "officer"))
    assert_problem(role, 403, "forbidden")

    no_token, bad_token, not_found, forbidden = rows(api)
    assert (no_token.status, no_token.method, no_token.route) == (401, "GET", "/api/v1/evidence")
    assert no_token.problem_type == PROBLEM_BASE + "missing-token"
    assert no_token.actor_id is None and no_token.department_id is None and no_token.count == 1
    assert no_token.request_id == missing.headers["X-Request-ID"]
    assert (bad_token.status, bad_token.route) == (401, "/api/v1/cases")
    assert bad_token.problem_type == PROBLEM_BASE + "invalid-token" and bad_token.token_id is None
    assert not_found.status == 404 and not_found.route == "/api/v1/evidence/{evidence_id}"
    assert not_found.problem_type == PROBLEM_BASE + "not-found"
    assert not_found.actor_id == officer_b["id"]
    assert not_found.department_id == officer_b["department_id"]
    assert not_found.token_id  # the bearer token the refused call came with
    assert not_found.request_id == hidden.headers["X-Request-ID"]
    assert (forbidden.status, forbidden.method, forbidden.route) == (403, "POST", "/api/v1/causes")
    assert forbidden.actor_id == officer_b["id"]

    assert api.client.get("/api/v1/nowhere").status_code == 404  # no route: not a policy refusal
    assert len(rows(api)) == 4


def test_refusals_of_a_capture_checked_in_its_own_thread_are_recorded_alike(api: Api) -> None:
    """One-request captures run the access check in the thread that reads the body
    (``policy.Rule.in_route``): the same answers, the same rows, nothing stored."""
    court = api.users["court"]

    def capture(headers: dict[str, str]) -> Any:
        return api.client.post(
            "/api/v1/evidence",
            data={"port": "electronic", "metadata": json.dumps({"title": "x"})},
            files={"file": ("a.bin", b"refused bytes" * 1000, "application/octet-stream")},
            headers=headers,
        )

    missing = capture({})
    assert_problem(missing, 401, "missing-token")
    bad = capture({"Authorization": "Bearer nope"})
    assert_problem(bad, 401, "invalid-token")
    role = capture(api.auth("court"))
    assert_problem(role, 403, "forbidden")

    no_token, bad_token, forbidden = rows(api)
    assert [(r.status, r.method, r.route) for r in (no_token, bad_token, forbidden)] == [
        (401, "POST", "/api/v1/evidence"),
        (401, "POST", "/api/v1/evidence"),
        (403, "POST", "/api/v1/evidence"),
    ]
    assert no_token.problem_type == PROBLEM_BASE + "missing-token" and no_token.actor_id is None
    assert bad_token.problem_type == PROBLEM_BASE + "invalid-token"
    assert [r.request_id for r in (no_token, bad_token, forbidden)] == [
        missing.headers["X-Request-ID"],
        bad.headers["X-Request-ID"],
        role.headers["X-Request-ID"],
    ]
    assert (forbidden.actor_id, forbidden.department_id) == (
        court["id"],
        court["department_id"],
    )
    assert_nothing_written(api)

    answered = upload(api, "electronic", b"kept")
    assert answered.status_code == 201, answered.text
    assert len(rows(api)) == 3  # an answered capture leaves no row


@pytest.fixture
def unlimited(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Api]:
    """The app without rate limits (``EVIDENCE_RATE_LIMITS=false``), which would otherwise
    answer a flood 429 before the policy sees it."""
    services = build_services(make_settings(tmp_path, "sqlite-local", request, rate_limits=False))
    try:
        with running_api(services, "sqlite-local") as running:
            yield running
    finally:
        services.close()


def test_an_anonymous_flood_adds_a_row_a_minute_not_a_row_a_request(unlimited: Api) -> None:
    api = unlimited
    for _ in range(150):
        assert api.client.get("/api/v1/cases").status_code == 401
    for _ in range(50):
        bad = {"Authorization": "Bearer forged"}
        assert api.client.get("/api/v1/cases", headers=bad).status_code == 401
    found = rows(api)
    missing = [r for r in found if r.problem_type.endswith("/missing-token")]
    invalid = [r for r in found if r.problem_type.endswith("/invalid-token")]
    assert 1 <= len(missing) <= 2 and sum(r.count for r in missing) == 150  # 2: a minute turned
    assert 1 <= len(invalid) <= 2 and sum(r.count for r in invalid) == 50

    for _ in range(3):  # a known caller's refusals stay one row each: they are the evidence
        api.client.post("/api/v1/causes", json={}, headers=api.auth_as(A, "officer"))
    assert [r.count for r in rows(api) if r.actor_id] == [1, 1, 1]


@pytest.mark.parametrize("backend", ["sqlite-local"])
def test_a_failed_write_never_changes_the_answer(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: RefusalRecorder, refusal: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(RefusalRecorder, "_insert", broken)
    with caplog.at_level(logging.ERROR, logger="evidence_service.access.refusals"):
        response = api.client.post("/api/v1/causes", json={}, headers=api.auth_as(A, "officer"))
    assert_problem(response, 403, "forbidden")
    assert "could not record the refusal" in caplog.text
    assert rows(api) == []


def feed(api: Api, headers: dict[str, str], **params: Any) -> tuple[list[dict[str, Any]], str]:
    response = api.client.get(REFUSALS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.text.splitlines()]
    end = lines.pop()
    assert end["end"] is True and response.headers["X-Next-Cursor"] == end["next_cursor"]
    return lines, end["next_cursor"]


@pytest.mark.parametrize("backend", ["sqlite-local"])
def test_only_auditors_and_admins_read_the_refusals_feed(api: Api) -> None:
    for role_dept in [(A, "officer"), (A, "reviewer"), ("HZ-CFK", "penalty"), ("HZ-XHFY", "court")]:
        response = api.client.get(REFUSALS, headers=api.auth_as(*role_dept))
        assert_problem(response, 403, "forbidden")
    assert_problem(api.client.get(REFUSALS), 401, "missing-token")
    refused = rows(api)
    assert len(refused) == 5  # the feed's own refusals are recorded like any other

    auditor = api.auth_as("ZJ-SFT", "auditor")
    first, cursor = feed(api, auditor, limit=3)
    rest, end = feed(api, auditor, after=cursor)
    assert [line["id"] for line in first + rest] == [r.id for r in refused]
    assert feed(api, auditor, after=end)[0] == []
    line = first[0]
    assert line["route"] == REFUSALS and line["status"] == 403 and line["count"] == 1
    assert line["type"].endswith("/forbidden") and line["actor_id"] == refused[0].actor_id
    assert set(line) >= {"at", "token_id", "department_id", "method", "request_id"}
    assert feed(api, api.auth_as("ZJ-SFT", "admin"))[0]
    too_many = api.client.get(REFUSALS, params={"limit": 100_001}, headers=auditor)
    assert_problem(too_many, 422, "invalid-request")


@pytest.mark.parametrize("backend", ["sqlite-local"])
def test_the_reaper_deletes_rows_past_their_retention(api: Api) -> None:
    clear(api)
    now = api.services.clock()
    days = api.services.settings.refused_request_retention_days
    with Session(api.services.engine) as session:
        for age in (days + 1, days - 1):
            session.add(
                RefusedRequest(
                    at=now - timedelta(days=age),
                    method="GET",
                    route="/api/v1/cases",
                    status=401,
                    problem_type=PROBLEM_BASE + "missing-token",
                )
            )
        session.commit()
    report = reap(api.services.ingestor, temp_ttl=timedelta(hours=1))
    assert report.refusals == 1
    assert [r.at.date() for r in rows(api)] == [(now - timedelta(days=days - 1)).date()]
