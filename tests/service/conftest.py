"""Service-test fixtures: the service with its anchoring worker on each chain column."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.service import Api, running_api
from tests.service.anchoring_helpers import ANCHORED_BACKENDS, anchored_services


@pytest.fixture(params=ANCHORED_BACKENDS)
def anchored(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Api]:
    services = anchored_services(tmp_path, request, request.param)
    try:
        with running_api(services, request.param) as api:
            yield api
    finally:
        services.close()
