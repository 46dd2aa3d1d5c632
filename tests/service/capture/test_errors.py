"""Every bad input gets a problem+json with a stable type, and nothing is written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from evidence_service.app import create_app
from evidence_service.demo import seed_demo
from evidence_service.services import build_services
from tests import samples
from tests.fixtures.service import Api, make_settings
from tests.service.helpers import assert_problem, counts, sha256, stored_keys, upload

NOTHING = {"evidence": 0, "derived": 0, "custody": 0}


def _assert_clean(api: Api) -> None:
    assert counts(api) == NOTHING
    assert stored_keys(api) == []


def test_hash_mismatch_keeps_nothing(api: Api) -> None:
    data = samples.pdf()
    response = upload(api, "documentary", data, headers={"X-Content-SHA256": "ab" * 32})
    body = assert_problem(response, 422, "hash-mismatch")
    assert body["received"] == sha256(data)
    _assert_clean(api)


def test_matching_declared_hash_is_accepted(api: Api) -> None:
    data = samples.pdf()
    response = upload(api, "documentary", data, headers={"X-Content-SHA256": sha256(data).upper()})
    assert response.status_code == 201


def test_unknown_port(api: Api) -> None:
    assert_problem(upload(api, "telepathy", b"hello"), 422, "unknown-port")
    _assert_clean(api)


@pytest.mark.parametrize(
    "metadata",
    [
        "not json",
        json.dumps(["a list"]),
        json.dumps({"description": "no title"}),
        json.dumps({"title": "x", "captured_at": "2026-11-27 09:00"}),
        json.dumps({"title": "x", "location": {"lat": 95}}),
        json.dumps({"title": "x", "unexpected": 1}),
        json.dumps({"title": "x", "tags": [{"type": "mood", "value": "bad"}]}),
    ],
)
def test_bad_metadata(api: Api, metadata: str) -> None:
    response = api.client.post(
        "/api/v1/evidence",
        data={"port": "documentary", "metadata": metadata},
        files={"file": ("a.pdf", samples.pdf(), "application/pdf")},
        headers=api.auth(),
    )
    assert_problem(response, 422, "bad-metadata")
    _assert_clean(api)


def test_decompression_bomb(api: Api) -> None:
    assert_problem(upload(api, "physical", samples.png_bomb_header()), 422, "decompression-bomb")
    _assert_clean(api)


@pytest.mark.parametrize("filename", ["../../etc/passwd", "a/b.pdf", "..\\win.ini", "x\x00.pdf"])
def test_path_traversal_in_filename(api: Api, filename: str) -> None:
    assert_problem(
        upload(api, "documentary", samples.pdf(), filename=filename), 422, "path-traversal"
    )
    _assert_clean(api)


def test_missing_and_invalid_token(api: Api) -> None:
    form = {
        "data": {"port": "documentary", "metadata": '{"title": "x"}'},
        "files": {"file": ("a.pdf", samples.pdf(), "application/pdf")},
    }
    missing = api.client.post("/api/v1/evidence", **form)
    assert_problem(missing, 401, "missing-token")
    assert missing.headers["www-authenticate"] == "Bearer"
    invalid = api.client.post(
        "/api/v1/evidence", headers={"Authorization": "Bearer evd_nope"}, **form
    )
    assert_problem(invalid, 401, "invalid-token")
    assert_problem(api.client.get("/api/v1/evidence"), 401, "missing-token")
    _assert_clean(api)


def test_role_that_may_not_capture(api: Api) -> None:
    assert_problem(upload(api, "documentary", samples.pdf(), role="court"), 403, "forbidden")
    _assert_clean(api)


def post_raw(api: Api, body: bytes, boundary: str) -> httpx.Response:
    """POST a hand-made multipart body (to send what a well-behaved client never would)."""
    return api.client.post(
        "/api/v1/evidence",
        content=body,
        headers={**api.auth(), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


def test_truncated_multipart_body(api: Api) -> None:
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="port"\r\n\r\ndocumentary\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
        '{"title": "cut"}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + samples.pdf()[:200]  # no closing boundary
    assert_problem(post_raw(api, body, boundary), 400, "truncated-upload")
    _assert_clean(api)


def test_file_before_fields_is_refused(api: Api) -> None:
    boundary = "B0"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'
        ).encode()
        + samples.pdf()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    assert_problem(post_raw(api, body, boundary), 400, "bad-request")
    _assert_clean(api)


def test_idempotent_replay_and_conflict(api: Api) -> None:
    data = samples.pdf()
    key = {"Idempotency-Key": "capture-0001"}
    first = upload(api, "documentary", data, headers=key)
    assert first.status_code == 201
    again = upload(api, "documentary", data, headers=key)
    assert again.status_code == 201
    assert again.json() == first.json()  # the same item as it stands now: finalized
    assert again.json()["finalized"] is True
    before = counts(api)
    assert before["evidence"] == 1
    conflict = upload(api, "documentary", samples.pdf(pages=2), headers=key)
    assert_problem(conflict, 422, "idempotency-conflict")
    other_meta = upload(api, "documentary", data, headers=key, metadata={"title": "changed"})
    assert_problem(other_meta, 422, "idempotency-conflict")
    assert counts(api) == before
    assert len([k for k in stored_keys(api) if k.startswith("tmp/")]) == 0


def test_an_idempotency_key_over_255_characters_is_refused(api: Api) -> None:
    too_long = {"Idempotency-Key": "k" * 256}
    response = upload(api, "documentary", samples.pdf(), headers=too_long)
    body = assert_problem(response, 422, "invalid-request")
    assert body["errors"][0]["loc"] == "header.idempotency-key"
    _assert_clean(api)
    longest = {"Idempotency-Key": "k" * 255}
    assert upload(api, "documentary", samples.pdf(), headers=longest).status_code == 201


@pytest.mark.parametrize("role", ["court", "admin"])
def test_a_role_that_may_not_capture_is_refused(api: Api, role: str) -> None:
    response = upload(api, "documentary", samples.pdf(), role=role)
    assert_problem(response, 403, "forbidden")
    _assert_clean(api)


@pytest.fixture
def small_api(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Api]:
    settings = make_settings(tmp_path, backend, request, max_upload_bytes=50_000)
    services = build_services(settings)
    seeded = seed_demo(services.engine, settings.data_dir)
    users = {u["role"]: u for u in reversed(seeded["users"])}
    with TestClient(create_app(services=services)) as client:
        yield Api(client, services, users, seeded["departments"], backend)
    services.close()


def test_oversize_upload(small_api: Api) -> None:
    data = samples.wav(seconds=5)  # 80 kB > 50 kB limit
    body = assert_problem(upload(small_api, "audiovisual", data), 413, "oversize")
    assert body["limit"] == 50_000
    _assert_clean(small_api)
