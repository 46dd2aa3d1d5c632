"""The module as a separate deployment: its own app, reaching a real ``evidence serve``
process at ``core_base_url`` over HTTP with the caller's own token (the in-process path, over
the ASGI transport, is what every other test here uses)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from evidence_service.modules import supervision
from tests.fixtures.live_server import LiveServer
from tests.modules.supervision.helpers import RECORDS, a_record


def test_a_separate_deployment_asks_the_core_at_its_url(live_server: LiveServer) -> None:
    data_dir = Path(live_server.env["EVIDENCE_DATA_DIR"])
    config = supervision.SupervisionConfig(
        db_url=f"sqlite:///{data_dir / 'evidence.db'}",
        pii_secret=b"s" * 32,
        core_base_url=live_server.url,
    )
    app = FastAPI()
    state = supervision.install(app, config)
    officer = live_server.users["officer"]
    auth = {"Authorization": f"Bearer {officer['token']}"}
    try:
        with TestClient(app) as client:
            posted = client.post(RECORDS, json=[a_record(officer["department_id"])], headers=auth)
            assert posted.status_code == 201, posted.text
            listed = client.get(RECORDS, headers=auth).json()["items"]
            assert [r["id"] for r in listed] == posted.json()["ids"]
            court = client.get(RECORDS, headers=live_server.auth("court"))
            assert court.status_code == 403  # no core policy in front: the module checks roles
            stranger = client.get(RECORDS, headers={"Authorization": "Bearer nope"})
            assert stranger.status_code == 401
            assert stranger.headers["content-type"] == "application/problem+json"
    finally:
        state.close()
