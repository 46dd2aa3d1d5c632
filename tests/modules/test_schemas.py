"""Each module's own Alembic chain builds exactly its models, on SQLite and PostgreSQL:
upgraded from empty by the chain, or created at head on an empty database, autogenerate finds
nothing left to write either way (the core's tables, and the other modules', are not its
concern)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from evidence_service.app import MODULE_SCHEMAS
from evidence_service.modules.kit.db import make_engine
from evidence_service.modules.kit.schema import ModuleSchema


def _pending_diff(schema: ModuleSchema, engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": lambda name, type_, _: type_ != "table" or schema.ours(name),
            },
        )
        return list(compare_metadata(context, schema.metadata))


@pytest.mark.parametrize("schema", MODULE_SCHEMAS, ids=lambda s: s.name)
@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_each_modules_migrations_build_exactly_its_models(
    schema: ModuleSchema, dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if dialect == "sqlite":
        urls = [f"sqlite:///{tmp_path / 'migrated.db'}", f"sqlite:///{tmp_path / 'created.db'}"]
    else:
        urls = [request.getfixturevalue("postgres_url")] * 2
    head = schema.head()
    migrated = make_engine(urls[0])
    try:
        assert schema.upgrade(migrated) == (None, head)
        assert schema.state(migrated).at_head
        assert _pending_diff(schema, migrated) == []
        if dialect == "postgresql":  # one database per test: start it afresh
            with migrated.begin() as conn:
                for table in reversed(schema.metadata.sorted_tables):
                    conn.execute(text(f"DROP TABLE {table.name}"))
                conn.execute(text(f"DROP TABLE {schema.version_table}"))
    finally:
        migrated.dispose()
    created = make_engine(urls[1])
    try:
        schema.ensure(created)
        assert schema.state(created).at_head
        assert _pending_diff(schema, created) == []
        schema.ensure(created)  # at head: opens again
    finally:
        created.dispose()
