"""The API on PostgreSQL outlives its database connections being killed (a restarted or
failed-over server): at most one request fails, with 503 ``database-unavailable``, never 500;
a pool that sat idle is pinged first and fails nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from evidence_service.capture.models import Evidence
from evidence_service.core import db
from evidence_service.services import build_services
from tests.fixtures.service import Api, make_settings, running_api
from tests.service.helpers import assert_problem, upload


@pytest.fixture
def pg_api(tmp_path: Path, postgres_url: str, request: pytest.FixtureRequest) -> Iterator[Api]:
    settings = make_settings(tmp_path, "sqlite-local", request, db_url=postgres_url)
    services = build_services(settings)
    with running_api(services, "sqlite-local") as api:
        yield api
    services.close()


def kill_connections(admin_dsn: str, database: str) -> int:
    """pg_terminate_backend every session on ``database``; how many there were."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchone()
    assert killed is not None
    return int(killed[0])


def rows(api: Api) -> int:
    with Session(api.services.engine) as session:
        return int(session.execute(select(func.count()).select_from(Evidence)).scalar_one())


def test_a_killed_connection_fails_one_request_with_503(
    pg_api: Api, postgres_admin_dsn: str
) -> None:
    assert upload(pg_api, "electronic", b"before").status_code == 201
    database = pg_api.services.engine.url.database
    assert database and kill_connections(postgres_admin_dsn, database) >= 1

    answers = [upload(pg_api, "electronic", f"after {i}".encode()) for i in range(4)]
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {201, 503} and statuses.count(503) <= 1, statuses
    for refused in (a for a in answers if a.status_code == 503):
        body = assert_problem(refused, 503, "database-unavailable")
        assert refused.headers["retry-after"] == "1" and body["request_id"]
    assert statuses[-1] == 201
    # Exactly the acknowledged captures exist: the refused one wrote nothing.
    assert rows(pg_api) == 1 + statuses.count(201)


def test_an_idle_pool_is_pinged_and_nothing_fails(
    tmp_path: Path,
    postgres_url: str,
    postgres_admin_dsn: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db, "PG_PING_AFTER_IDLE_SECONDS", 0.0)  # every checkout counts as idle
    settings = make_settings(tmp_path, "sqlite-local", request, db_url=postgres_url)
    services = build_services(settings)
    try:
        with running_api(services, "sqlite-local") as api:
            assert upload(api, "electronic", b"before").status_code == 201
            database = api.services.engine.url.database
            assert database and kill_connections(postgres_admin_dsn, database) >= 1
            answers = [upload(api, "electronic", f"after {i}".encode()) for i in range(3)]
            assert [a.status_code for a in answers] == [201, 201, 201]
            assert rows(api) == 4
    finally:
        services.close()
