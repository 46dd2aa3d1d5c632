"""Rate limits per route class: addresses without a token, person tokens, bulk senders; shared
through Redis by several replicas; 429 problem+json with Retry-After."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from evidence_service.services import build_services
from tests import samples
from tests.fixtures.service import Api, make_settings, running_api
from tests.service.helpers import assert_problem, upload

REDIS_DB = 15  # a database of its own on the Redis every session runs on 127.0.0.1:6379


@contextmanager
def limited_api(tmp_path: Path, request: pytest.FixtureRequest, **limits: Any) -> Iterator[Api]:
    settings = make_settings(tmp_path, "sqlite-local", request, **limits)
    services = build_services(settings)
    try:
        with running_api(services, "sqlite-local") as api:
            yield api
    finally:
        services.close()


def assert_limited(response: Any) -> None:
    assert_problem(response, 429, "rate-limited")
    assert int(response.headers["retry-after"]) >= 1


def test_an_address_without_a_token_is_limited_but_health_checks_never(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with limited_api(tmp_path, request, rate_limit_public="5/minute") as api:
        answers = [api.client.get("/api/v1/trust").status_code for _ in range(5)]
        assert answers == [200] * 5
        assert_limited(api.client.get("/api/v1/trust"))
        assert_limited(api.client.post("/api/v1/seals/verify", json={}))
        assert all(api.client.get("/healthz").status_code == 200 for _ in range(20))
        # A signed-in caller is counted per token, not per address.
        assert api.client.get("/api/v1/trust", headers=api.auth()).status_code == 200


def test_enrolment_codes_cannot_be_guessed_quickly(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with limited_api(tmp_path, request, rate_limit_enrol="3/minute") as api:
        for _ in range(3):
            guess = api.client.post("/api/v1/auth/enrol", json={"code": "enr_guess"})
            assert_problem(guess, 401, "invalid-enrolment-code")
        assert_limited(api.client.post("/api/v1/auth/enrol", json={"code": "enr_guess"}))


def test_a_person_token_is_limited_on_ordinary_routes_not_on_capture(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with limited_api(
        tmp_path, request, rate_limit_signed_in="4/minute", rate_limit_bulk="1000/minute"
    ) as api:
        for _ in range(4):
            assert api.client.get("/api/v1/me", headers=api.auth()).status_code == 200
        limited = api.client.get("/api/v1/me", headers=api.auth())
        assert_limited(limited)
        # Capture is the bulk class: the same token keeps capturing.
        for i in range(3):
            captured = upload(api, "documentary", samples.pdf(), filename=f"{i}.pdf")
            assert captured.status_code == 201, captured.text
        # Another officer's token has its own count.
        assert api.client.get("/api/v1/me", headers=api.auth("reviewer")).status_code == 200


def test_device_tokens_are_bulk_senders_everywhere(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with limited_api(
        tmp_path, request, rate_limit_signed_in="2/minute", rate_limit_bulk="1000/minute"
    ) as api:
        device = api.client.post(
            f"/api/v1/officers/{api.users['officer']['id']}/tokens",
            json={"kind": "device", "label": "gateway"},
            headers=api.auth("admin"),
        ).json()["token"]
        answers = [
            api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {device}"})
            for _ in range(10)
        ]
        assert [a.status_code for a in answers] == [200] * 10


def test_bytes_sent_to_be_hashed_anonymously_are_limited_as_they_are_read(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with limited_api(tmp_path, request, rate_limit_public_bytes_mib="3/minute") as api:
        item = upload(api, "documentary", samples.pdf()).json()
        proof = api.client.get(f"/api/v1/evidence/{item['id']}/proof", headers=api.auth()).json()
        big = b"\0" * (2 * 1024 * 1024)

        def check() -> Any:
            return api.client.post(
                "/api/v1/verify",
                files={
                    "proof": (None, json.dumps(proof)),
                    "file": ("f.bin", big, "application/octet-stream"),
                },
            )

        first = check()
        assert first.status_code == 200 and first.json()["failure"] == "content-mismatch"
        assert_limited(check())  # 2 MiB more would pass the 3 MiB a minute


def test_replicas_share_their_counts_through_redis(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    client.flushdb()
    shared = {
        "rate_limit_storage": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "rate_limit_public": "4/minute",
    }
    with (
        limited_api(tmp_path / "a", request, **shared) as one,
        limited_api(tmp_path / "b", request, **shared) as two,
    ):
        assert [one.client.get("/api/v1/ports").status_code for _ in range(2)] == [200, 200]
        assert [two.client.get("/api/v1/ports").status_code for _ in range(2)] == [200, 200]
        assert_limited(one.client.get("/api/v1/ports"))
        assert_limited(two.client.get("/api/v1/ports"))
    assert any(b"address" in key for key in client.keys("*"))
    client.flushdb()


def test_limits_can_be_switched_off(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    with limited_api(tmp_path, request, rate_limits=False, rate_limit_public="1/minute") as api:
        assert all(api.client.get("/api/v1/trust").status_code == 200 for _ in range(5))
