"""A database of each kind with this version's schema, for the sequencer's own tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from evidence_service import services  # noqa: F401  (registers every wing's tables)
from evidence_service.core.db import create_schema, make_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'custody.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    made = make_engine(url)
    create_schema(made)
    try:
        yield made
    finally:
        made.dispose()
