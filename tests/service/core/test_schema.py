"""A database made by an older version is refused at start-up, naming what it lacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

import evidence_service.services  # noqa: F401  (registers every wing's tables)
from evidence_service.core.db import SchemaOutdatedError, create_schema, make_engine


def test_a_table_missing_a_column_stops_start_up(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    create_schema(engine)
    create_schema(engine)  # an up-to-date database starts again and again
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE evidence DROP COLUMN disposed_at"))
    with pytest.raises(SchemaOutdatedError, match=r"lacks evidence\.disposed_at;"):
        create_schema(engine)
    engine.dispose()
