"""Fixtures of the operations tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidence_service.services import build_services
from tests.fixtures.service import Api, make_settings, running_api


@pytest.fixture
def make_api(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Start the service on SQLite and local disk with the given settings (probe uncached)."""
    opened: list[Any] = []

    def start(**values: Any) -> Api:
        where = tmp_path / f"api{len(opened)}"  # each its own data dir and database
        services = build_services(make_settings(where, "sqlite-local", request, **values))
        context = running_api(services, "sqlite-local")
        opened.append((context, services))
        api = context.__enter__()
        api.client.app.state.ops_probe.cache_seconds = 0  # type: ignore[attr-defined]
        return api

    yield start
    for context, services in reversed(opened):
        context.__exit__(None, None, None)
        services.close()
