"""A database of each kind with this version's schema, for the sequencer's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from evidence_service import services  # noqa: F401  (registers every wing's tables)
from evidence_service.core.db import create_schema, make_engine


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    create_schema(made)
    try:
        yield made
    finally:
        made.dispose()
