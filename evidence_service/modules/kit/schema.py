"""A module's schema: created at head on an empty database, refused when behind, upgraded by
``evidence db upgrade`` (which runs each module's chain after the core's).

The same rule as the core's (``core/db.py``), for one module's tables only (their names begin
with the module's prefix): an empty database gets every table at once and is stamped with the
module's head in one transaction; a database at another revision, or with the tables and no
revision, is refused before anything serves on it, naming ``evidence db upgrade``. Each module
keeps its version in its own table (``<prefix>alembic_version``) and its chain in its own
``migrations/`` folder, whose ``env.py`` calls :func:`run_migrations`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, inspect, text

from evidence_service.modules.kit.db import UTCDateTime, make_engine, write_transaction

UPGRADE_COMMAND = "evidence db upgrade"


class ModuleSchemaError(RuntimeError):
    """The database is not at the module's schema revision (older, newer or unrecorded)."""


@dataclass(frozen=True)
class SchemaState:
    revision: str | None
    head: str

    @property
    def at_head(self) -> bool:
        return self.revision == self.head


@dataclass(frozen=True, eq=False)
class ModuleSchema:
    """One module's tables and their chain."""

    name: str  # "supervision": how messages name the module
    prefix: str  # "supervision_": its tables' names begin so
    migrations_dir: Path
    metadata: MetaData
    lock_key: int  # PostgreSQL advisory lock: one process creates an empty database's tables

    @property
    def version_table(self) -> str:
        return f"{self.prefix}alembic_version"

    def ours(self, name: str | None) -> bool:
        return bool(name) and str(name).startswith(self.prefix) and name != self.version_table

    @functools.cached_property
    def scripts(self) -> ScriptDirectory:
        versions = str(self.migrations_dir / "versions")
        return ScriptDirectory(str(self.migrations_dir), version_locations=[versions])

    def head(self) -> str:
        head = self.scripts.get_current_head()
        if head is None:  # pragma: no cover - the first revision always ships
            raise RuntimeError(f"no migrations found in {self.migrations_dir / 'versions'}")
        return head

    def _recorded(self, conn: Connection) -> str | None:
        if not inspect(conn).has_table(self.version_table):
            return None
        rows = conn.execute(text(f"SELECT version_num FROM {self.version_table}")).scalars()
        return ", ".join(sorted(rows.all())) or None

    def ensure(self, engine: Engine) -> None:
        """Create an empty database's module tables at head; open one at head; refuse the
        rest."""
        head = self.head()
        where = engine.url.render_as_string(hide_password=True)
        with write_transaction(engine) as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": self.lock_key})
            revision = self._recorded(conn)
            if revision == head:
                return
            if revision is not None:
                raise ModuleSchemaError(
                    f"the {self.name} module's tables in {where} are at revision {revision} "
                    f"and this version needs {head}: run `{UPGRADE_COMMAND}` (after a backup), "
                    "then start again"
                )
            if any(self.ours(name) for name in inspect(conn).get_table_names()):
                raise ModuleSchemaError(
                    f"the database at {where} has {self.name} tables but no module revision: "
                    f"run `{UPGRADE_COMMAND}` (after a backup), then start again"
                )
            self.metadata.create_all(conn)
            MigrationContext.configure(conn, opts={"version_table": self.version_table}).stamp(
                self.scripts, head
            )

    def ensure_at(self, db_url: str) -> None:
        """:meth:`ensure` on a database URL, for the app and the CLI before they serve."""
        engine = make_engine(db_url)
        try:
            self.ensure(engine)
        finally:
            # Give back the connection the check used: an app that never serves a module
            # request (most apps a test builds) then holds none; the pool reconnects on demand.
            engine.dispose()

    def upgrade_at(self, db_url: str) -> tuple[str | None, str]:
        """``evidence db upgrade`` for the module's chain: (from revision, head)."""
        engine = make_engine(db_url)
        try:
            return self.upgrade(engine)
        finally:
            engine.dispose()

    def state_at(self, db_url: str) -> SchemaState:
        """``evidence db current`` for the module's chain."""
        engine = make_engine(db_url)
        try:
            return self.state(engine)
        finally:
            engine.dispose()

    def state(self, engine: Engine) -> SchemaState:
        with engine.connect() as conn:
            return SchemaState(self._recorded(conn), self.head())

    def _config(self, connection: Connection) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.migrations_dir))
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", str(self.migrations_dir / "versions"))
        config.attributes["connection"] = connection
        return config

    def upgrade(self, engine: Engine) -> tuple[str | None, str]:
        """Run the module's chain to head: (the revision it started from, head). Tables
        without a revision are refused untouched (there is no unversioned past to
        recognise)."""
        with engine.connect() as connection:
            revision = self._recorded(connection)
            present: Any = [n for n in inspect(connection).get_table_names() if self.ours(n)]
            connection.commit()
            if revision is None and present:
                raise ModuleSchemaError(
                    f"{self.name} tables without a module revision "
                    f"({', '.join(sorted(present))}); left untouched"
                )
            if revision is not None:
                try:
                    self.scripts.get_revision(revision)
                except Exception as exc:
                    raise ModuleSchemaError(
                        f"the {self.name} module's tables are at revision {revision}, which "
                        "this version does not know (made by a newer one?)"
                    ) from exc
            command.upgrade(self._config(connection), "head")
            connection.commit()
        return revision, self.head()


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write ``UTCDateTime`` as the plain type it stores, so a revision never depends on it."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(schema: ModuleSchema) -> None:
    """The body of a module's ``migrations/env.py``: run its chain on the connection
    :meth:`ModuleSchema.upgrade` hands over, comparing only the module's tables."""
    from alembic import context

    handed_over = context.config.attributes.get("connection")
    if handed_over is None or context.is_offline_mode():
        raise SystemExit(f"run the {schema.name} module's migrations through `{UPGRADE_COMMAND}`")

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return type_ != "table" or schema.ours(name)

    context.configure(
        connection=handed_over,
        target_metadata=schema.metadata,
        version_table=schema.version_table,
        include_name=include_name,
        render_item=_render_item,
        compare_type=True,
        render_as_batch=handed_over.dialect.name == "sqlite",
        transaction_per_migration=True,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()
