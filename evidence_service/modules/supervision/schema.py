"""The module's schema: created at head on an empty database, refused when behind, upgraded by
``evidence db upgrade`` (which runs this chain after the core's).

The same rule as the core's (``core/db.py``), for the module's tables only: an empty database
gets every ``supervision_`` table at once and is stamped with the module's head in one
transaction; a database at another revision, or with the tables and no revision, is refused
before anything serves on it, naming ``evidence db upgrade``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from evidence_service.modules.supervision.db import write_transaction
from evidence_service.modules.supervision.models import metadata

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "supervision_alembic_version"
PREFIX = "supervision_"
UPGRADE_COMMAND = "evidence db upgrade"
SCHEMA_LOCK_KEY = 0x53555056  # "SUPV": one process creates an empty database's tables


class SupervisionSchemaError(RuntimeError):
    """The database is not at the module's schema revision (older, newer or unrecorded)."""


def ours(name: str | None) -> bool:
    return bool(name) and str(name).startswith(PREFIX) and name != VERSION_TABLE


@functools.cache
def script_directory() -> ScriptDirectory:
    return ScriptDirectory(
        str(MIGRATIONS_DIR), version_locations=[str(MIGRATIONS_DIR / "versions")]
    )


def head_revision() -> str:
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the first revision always ships
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR / 'versions'}")
    return head


def _context(conn: Connection) -> MigrationContext:
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})


def _recorded(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return ", ".join(sorted(rows)) or None


def ensure_schema(engine: Engine) -> None:
    """Create an empty database's module tables at head; open one at head; refuse the rest."""
    head = head_revision()
    where = engine.url.render_as_string(hide_password=True)
    with write_transaction(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
        revision = _recorded(conn)
        if revision == head:
            return
        if revision is not None:
            raise SupervisionSchemaError(
                f"the supervision module's tables in {where} are at revision {revision} and "
                f"this version needs {head}: run `{UPGRADE_COMMAND}` (after a backup), then "
                "start again"
            )
        if any(ours(name) for name in inspect(conn).get_table_names()):
            raise SupervisionSchemaError(
                f"the database at {where} has supervision tables but no module revision: run "
                f"`{UPGRADE_COMMAND}` (after a backup), then start again"
            )
        metadata.create_all(conn)
        _context(conn).stamp(script_directory(), head)


@dataclass(frozen=True)
class ModuleSchemaState:
    revision: str | None
    head: str

    @property
    def at_head(self) -> bool:
        return self.revision == self.head


def schema_state(engine: Engine) -> ModuleSchemaState:
    with engine.connect() as conn:
        return ModuleSchemaState(_recorded(conn), head_revision())


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    config.attributes["connection"] = connection
    return config


def upgrade_schema(engine: Engine) -> tuple[str | None, str]:
    """Run the module's chain to head: (the revision it started from, head). Tables without a
    revision are refused untouched (there is no unversioned past to recognise)."""
    with engine.connect() as connection:
        revision = _recorded(connection)
        present: Any = [n for n in inspect(connection).get_table_names() if ours(n)]
        connection.commit()
        if revision is None and present:
            raise SupervisionSchemaError(
                f"supervision tables without a module revision ({', '.join(sorted(present))}); "
                "left untouched"
            )
        if revision is not None:
            try:
                script_directory().get_revision(revision)
            except Exception as exc:
                raise SupervisionSchemaError(
                    f"the supervision module's tables are at revision {revision}, which this "
                    "version does not know (made by a newer one?)"
                ) from exc
        command.upgrade(_config(connection), "head")
        connection.commit()
    return revision, head_revision()
