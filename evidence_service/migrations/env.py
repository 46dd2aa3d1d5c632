"""Alembic's environment: migrate the connection :mod:`.commands` hands over.

The caller opens the database (``core.db.make_engine``) and passes one connection in
``config.attributes["connection"]``; there is no ``alembic.ini`` and no URL here. Each revision
commits on its own (a failure leaves the database at the last revision that finished), SQLite
alters tables in batch (copy and move), and autogenerate compares column types.

Revisions are written with plain SQLAlchemy types, never the application's: ``UTCDateTime`` is
``sa.DateTime(timezone=True)`` (what it stores) and SQLModel's ``AutoString`` is ``sa.String``,
so an old revision keeps working whatever later code does to those classes.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from evidence_service import services  # noqa: F401  (registers every wing's tables)
from evidence_service.core.db import UTCDateTime


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write the application's column types as the plain SQLAlchemy types they store."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


#: Tables of the business modules (``evidence_service/modules/``) share the database but have
#: their own chains (e.g. ``supervision_alembic_version``): never the core's to create or drop.
#: (The core imports no module, so their prefixes are named here; catering's is reserved.)
MODULE_TABLE_PREFIXES = ("supervision_", "inspection_", "catering_")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return type_ != "table" or not (name or "").startswith(MODULE_TABLE_PREFIXES)


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        include_name=include_name,
        transaction_per_migration=True,
        transactional_ddl=True,  # SQLite too: make_engine leaves BEGIN to SQLAlchemy
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run `evidence db upgrade`")
handed_over = context.config.attributes.get("connection")
if handed_over is None:
    raise SystemExit("run migrations through `evidence db upgrade` (it opens the database)")
run_migrations(handed_over)
