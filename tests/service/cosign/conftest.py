"""The API on a service clock the tests move (``timed``), for requests that expire."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence_service.services import build_services
from tests.fixtures.s3 import FakeClock
from tests.fixtures.service import Api, make_settings, running_api


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def timed(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest, clock: FakeClock
) -> Iterator[Api]:
    """The API whose service clock is ``clock``."""
    services = build_services(make_settings(tmp_path, backend, request), clock=clock)
    try:
        with running_api(services, backend) as api:
            yield api
    finally:
        services.close()
