"""Request ids on every answer and problem, and JSON logs that never hold a secret."""

from __future__ import annotations

import io
import json
import logging
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from evidence_service.api.request_ids import MAX_REQUEST_ID
from evidence_service.core.logs import REQUEST_ID, configure_logging
from tests.fixtures.live_server import make_live_server
from tests.fixtures.service import Api

ULID_LENGTH = 26
RESIDENT_ID = "11010519491231002X"  # the GB 11643 example number


def test_a_safe_request_id_is_kept_and_anything_else_replaced(api: Api) -> None:
    kept = api.client.get("/api/v1/ports", headers={"X-Request-ID": "trace-7.a_B"})
    assert kept.headers["X-Request-ID"] == "trace-7.a_B"
    made = api.client.get("/api/v1/ports").headers["X-Request-ID"]
    assert len(made) == ULID_LENGTH and made.isalnum()
    for unsafe in ("a b", "x" * (MAX_REQUEST_ID + 1), "id\u00e9".encode(), "<script>", ""):
        answer = api.client.get("/api/v1/ports", headers={"X-Request-ID": unsafe})
        replaced = answer.headers["X-Request-ID"]
        assert len(replaced) == ULID_LENGTH and replaced.isalnum(), unsafe


def test_every_problem_names_its_request(make_api: Any) -> None:
    api = make_api(rate_limit_public="3/minute", max_json_body_bytes=16 * 1024)
    officer = api.auth()
    answers = {
        "401": api.client.get("/api/v1/me"),
        "404 route": api.client.get("/no/such/route"),
        "404 record": api.client.get(
            "/api/v1/evidence/01JZZZZZZZZZZZZZZZZZZZZZZZ", headers=officer
        ),
        "422": api.client.get("/api/v1/evidence?limit=0", headers=officer),
        "413 before routing": api.client.post(
            "/api/v1/cases",
            content=b"{" + b" " * 20_000 + b"}",
            headers={**officer, "Content-Type": "application/json"},
        ),
        "400 before routing": api.client.post(
            "/api/v1/cases",
            content=b"[" * 5000,
            headers={**officer, "Content-Type": "application/json"},
        ),
    }
    for _ in range(3):
        api.client.get("/api/v1/trust")
    answers["429 before routing"] = api.client.get("/api/v1/trust")
    for name, answer in answers.items():
        assert answer.status_code == int(name[:3]), (name, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json"), name
        request_id = answer.headers["X-Request-ID"]
        assert answer.json()["request_id"] == request_id, name
    ids = {answer.headers["X-Request-ID"] for answer in answers.values()}
    assert len(ids) == len(answers)  # one per request


@pytest.fixture
def logged_server(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    server = make_live_server(tmp_path, request, "sqlite-local", rate_limits=False)
    server.start()  # its stderr is a file: JSON lines
    yield server
    server.stop()


def test_logs_are_json_with_request_ids_and_no_secret(logged_server: Any) -> None:
    server = logged_server
    url = server.url
    admin, officer = server.auth("admin"), server.auth("officer")
    officer_id = server.users["officer"]["id"]
    with httpx.Client(base_url=url, timeout=30) as client:
        issued = client.post(f"/api/v1/officers/{officer_id}/enrolment", headers=admin)
        assert issued.status_code == 201, issued.text
        code = issued.json()["code"]
        enrolled = client.post("/api/v1/auth/enrol", json={"code": code, "label": "phone"})
        assert enrolled.status_code == 201, enrolled.text
        new_token = enrolled.json()["token"]
        mine = client.get("/api/v1/me", headers={"Authorization": f"Bearer {new_token}"})
        assert mine.status_code == 200
        spent = client.post("/api/v1/auth/enrol", json={"code": code})  # a refusal quotes no code
        assert spent.status_code in (400, 401), spent.text
        party = client.post(
            "/api/v1/parties",
            json={
                "kind": "person",
                "name": "张三",
                "identifier_kind": "resident_id",
                "identifier": RESIDENT_ID,
            },
            headers=officer,
        )
        assert party.status_code == 201, party.text
        found = client.get(
            "/api/v1/parties",
            params={"identifier_kind": "resident_id", "identifier": RESIDENT_ID},
            headers=officer,
        )
        assert found.status_code == 200 and len(found.json()) == 1
        wrong = f"ev_{secrets.token_urlsafe(32)}"
        refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {wrong}"})
        assert refused.status_code == 401
        traced = client.get(
            f"/api/v1/evidence/{party.json()['id']}", headers={**officer, "X-Request-ID": "trace-1"}
        )
        assert traced.status_code == 404
    server.stop()
    text = server.log.read_text(encoding="utf-8")
    secrets_sent = {
        "the admin's token": server.users["admin"]["token"],
        "the officer's token": server.users["officer"]["token"],
        "the enrolment code": code,
        "the enrolled token": new_token,
        "a refused token": wrong,
        "the ID number": RESIDENT_ID,
        "the ID number, lower case": RESIDENT_ID.lower(),
    }
    leaked = [name for name, secret in secrets_sent.items() if secret in text]
    assert not leaked, leaked
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # all JSON
    access = [line for line in lines if line["logger"] == "evidence_service.access"]
    assert len(access) >= 9
    by_id = {line["request_id"]: line for line in access}
    for answer in (issued, enrolled, mine, party, found, refused):
        line = by_id[answer.headers["X-Request-ID"]]
        assert line["status"] == answer.status_code
        assert line["route"] == answer.request.url.path or "{" in line["route"]
    trace = by_id["trace-1"]
    assert trace["route"] == "/api/v1/evidence/{evidence_id}" and trace["status"] == 404
    assert trace["actor_id"] == officer_id and trace["http_method"] == "GET"
    assert by_id[found.headers["X-Request-ID"]]["route"] == "/api/v1/parties"
    assert by_id[mine.headers["X-Request-ID"]]["actor_id"] == officer_id


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream_type", [io.StringIO, Terminal])
def test_json_off_a_terminal_and_text_on_one(stream_type: type[io.StringIO]) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = stream_type()
    try:
        configure_logging(stream=stream)
        token = REQUEST_ID.set("trace-9")
        try:
            logging.getLogger("evidence_service.test").info("inside %s", "a request")
        finally:
            REQUEST_ID.reset(token)
        logging.getLogger("evidence_service.test").warning("outside")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    inside, outside = stream.getvalue().splitlines()
    if stream_type is Terminal:
        assert inside.endswith("INFO    evidence_service.test [trace-9] inside a request")
        assert outside.endswith("WARNING evidence_service.test [-] outside")
    else:
        first, second = json.loads(inside), json.loads(outside)
        assert first["message"] == "inside a request" and first["request_id"] == "trace-9"
        assert first["level"] == "INFO" and first["logger"] == "evidence_service.test"
        assert second["request_id"] == "-" and second["level"] == "WARNING"
