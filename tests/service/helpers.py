"""Small helpers shared by the service tests."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from evidence_service.capture.models import DerivedObject, Evidence, PendingIntake
from evidence_service.custody.models import CustodyEvent
from tests.fixtures.service import Api


def upload(
    api: Api,
    port: str,
    data: bytes,
    *,
    metadata: dict[str, Any] | None = None,
    filename: str = "sample.bin",
    role: str = "officer",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    meta = metadata if metadata is not None else {"title": f"{port} sample"}
    return api.client.post(
        "/api/v1/evidence",
        data={"port": port, "metadata": json.dumps(meta, ensure_ascii=False)},
        files={"file": (filename, data, "application/octet-stream")},
        headers={**api.auth(role), **(headers or {})},
    )


def counts(api: Api) -> dict[str, int]:
    with Session(api.services.engine) as session:
        return {
            "evidence": session.exec(select(func.count()).select_from(Evidence)).one(),
            "derived": session.exec(select(func.count()).select_from(DerivedObject)).one(),
            "custody": session.exec(select(func.count()).select_from(CustodyEvent)).one(),
        }


def stored_keys(api: Api) -> list[str]:
    store = api.services.store
    return sorted(k for prefix in ("tmp/", "evidence/") for k, _ in store.list_keys(prefix))


def assert_nothing_written(api: Api, before: dict[str, int] | None = None) -> None:
    assert counts(api) == (before or {"evidence": 0, "derived": 0, "custody": 0})
    if before is None:
        assert stored_keys(api) == []


def intake_ids(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.exec(select(PendingIntake.id)).all())


def assert_no_intake_left(api: Api) -> None:
    """No intake row is left but those written ahead for ids not handed out yet
    (``capture/reserved.py``)."""
    assert intake_ids(api.services.engine) == api.services.ingestor.reserved.unused()


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith("/" + slug), body
    assert body["status"] == status
    assert body["detail"]
    return dict(body)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sm3(data: bytes) -> str:
    return hashlib.new("sm3", data).hexdigest()
