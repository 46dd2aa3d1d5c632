"""Alembic's environment for the module's chain: the connection ``schema.py`` hands over.

Only the module's tables are compared (the core's, in the same database, belong to the core's
chain), and the version is kept in ``supervision_alembic_version``.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from evidence_service.modules.supervision.db import UTCDateTime
from evidence_service.modules.supervision.models import metadata
from evidence_service.modules.supervision.schema import VERSION_TABLE, ours


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write ``UTCDateTime`` as the plain type it stores, so a revision never depends on it."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return type_ != "table" or ours(name)


handed_over = context.config.attributes.get("connection")
if handed_over is None or context.is_offline_mode():
    raise SystemExit("run the module's migrations through `evidence db upgrade`")
context.configure(
    connection=handed_over,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    include_name=include_name,
    render_item=render_item,
    compare_type=True,
    render_as_batch=handed_over.dialect.name == "sqlite",
    transaction_per_migration=True,
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
