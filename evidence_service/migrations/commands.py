"""Upgrade a database to this version's schema, and say where it stands.

``evidence db upgrade`` and ``evidence db current`` call these. A database made before
migrations shipped (tables, no ``alembic_version``) is recognised by its tables and columns: each
revision's schema is built in a throwaway in-memory SQLite database, and the oldest revision
whose table and column names equal the database's exactly is stamped before upgrading from there
(a 1a5f9fb database matches ``0001_baseline``). Anything else is refused with the difference,
untouched.

On SQLite, foreign-key enforcement is off while revisions run (a batch ALTER copies a table,
drops it and renames the copy, which enforcement would stop for any referenced table) and
``PRAGMA foreign_key_check`` must come back empty before the upgrade reports success.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, StaticPool, create_engine, inspect

from evidence_service.core.db import SchemaOutdatedError
from evidence_service.migrations import MIGRATIONS_DIR, head_revision, script_directory

#: Table and column names, the fingerprint a database without a revision is recognised by.
Fingerprint = dict[str, frozenset[str]]


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands: its revision (None: none recorded) and this version's head."""

    revision: str | None
    head: str

    @property
    def at_head(self) -> bool:
        return self.revision == self.head


@dataclass(frozen=True)
class UpgradeResult:
    """From which revision an upgrade started (``recognised``: stamped from the fingerprint of
    a database without one; ``None`` with ``empty``: nothing there), and where it ended."""

    from_revision: str | None
    to_revision: str
    recognised: str | None = None
    empty: bool = False


def alembic_config(connection: Connection) -> Config:
    """Alembic's configuration, without an ini file: the shipped scripts, this connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s")  # versions/0005_short_name.py
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    config.attributes["connection"] = connection
    return config


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection to run revisions on (SQLite: foreign keys off, checked at the end)."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        raw: Any = connection.connection.driver_connection  # sqlite3.Connection here
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")  # outside any transaction, or ignored
        try:
            yield connection
            if sqlite:
                broken = raw.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise SchemaOutdatedError(f"foreign keys broken by the upgrade: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def schema_state(engine: Engine) -> SchemaState:
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    return SchemaState(revision, head_revision())


def upgrade_database(engine: Engine) -> UpgradeResult:
    """Bring the database to the head revision; recognise one made before migrations."""
    head = head_revision()
    with migration_connection(engine) as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        present = _fingerprint(connection)
        connection.commit()
        config = alembic_config(connection)
        recognised = None
        if revision is None and present:
            recognised = recognise(present)
            command.stamp(config, recognised)
        elif revision is not None:
            _require_known(revision, engine)
        command.upgrade(config, "head")
        connection.commit()
    return UpgradeResult(revision, head, recognised=recognised, empty=not present)


def write_revision(engine: Engine, message: str, rev_id: str) -> Path:
    """Autogenerate a revision into ``versions/`` from the models' difference with the
    database (which must be at head: upgrade a scratch database first)."""
    state = schema_state(engine)
    if not state.at_head:
        raise SchemaOutdatedError(
            f"the database is at {state.revision or 'no revision'}, not {state.head}: run "
            "`evidence db upgrade` on it first, so the new revision holds only the models' changes"
        )
    with engine.connect() as connection:
        written = command.revision(
            alembic_config(connection), message=message, autogenerate=True, rev_id=rev_id
        )
    scripts = written if isinstance(written, list) else [written]
    return Path(scripts[0].path) if scripts and scripts[0] is not None else MIGRATIONS_DIR


def recognise(present: Fingerprint) -> str:
    """The oldest revision whose tables and columns are exactly ``present`` (a later one with
    the same names may still change data, so it runs)."""
    known = revision_fingerprints()
    matches = [revision for revision, fingerprint in known if fingerprint == present]
    if matches:
        return matches[0]
    baseline = known[0][1]
    missing = sorted(
        f"{table}.{column}"
        for table, columns in baseline.items()
        for column in columns - present.get(table, frozenset())
    )
    extra = sorted(set(present) - set(known[-1][1]))
    raise SchemaOutdatedError(
        "the database has tables but no schema revision, and they match no revision of this "
        f"version (against 0001_baseline it lacks {', '.join(missing[:10]) or 'nothing'}; "
        f"tables unknown even at head: {', '.join(extra[:10]) or 'none'}); it was left untouched"
    )


def revision_fingerprints() -> list[tuple[str, Fingerprint]]:
    """Each revision, oldest first, with the table and column names it leaves."""
    scratch = create_engine("sqlite://", poolclass=StaticPool)
    revisions = [r.revision for r in reversed(list(script_directory().walk_revisions()))]
    fingerprints = []
    try:
        with scratch.connect() as connection:
            config = alembic_config(connection)
            for revision in revisions:
                command.upgrade(config, revision)
                connection.commit()
                fingerprints.append((revision, _fingerprint(connection)))
    finally:
        scratch.dispose()
    return fingerprints


def _fingerprint(connection: Connection) -> Fingerprint:
    inspector = inspect(connection)
    return {
        table: frozenset(column["name"] for column in inspector.get_columns(table))
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }


def _require_known(revision: str, engine: Engine) -> None:
    try:
        script_directory().get_revision(revision)
    except CommandError as exc:
        raise SchemaOutdatedError(
            f"the database at {engine.url.render_as_string(hide_password=True)} is at schema "
            f"revision {revision}, which this version does not know (made by a newer one?)"
        ) from exc


__all__ = [
    "SchemaState",
    "UpgradeResult",
    "alembic_config",
    "recognise",
    "schema_state",
    "upgrade_database",
    "write_revision",
]
