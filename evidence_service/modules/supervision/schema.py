"""The module's schema (``kit/schema.py``): its ``supervision_`` tables, created at head on an
empty database, refused when behind, upgraded by ``evidence db upgrade`` after the core's chain.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from evidence_service.modules.kit.schema import ModuleSchema, ModuleSchemaError, SchemaState
from evidence_service.modules.supervision.models import metadata

SCHEMA = ModuleSchema(
    name="supervision",
    prefix="supervision_",
    migrations_dir=Path(__file__).resolve().parent / "migrations",
    metadata=metadata,
    lock_key=0x53555056,  # "SUPV"
)
VERSION_TABLE = SCHEMA.version_table
SupervisionSchemaError = ModuleSchemaError


def ours(name: str | None) -> bool:
    return SCHEMA.ours(name)


def head_revision() -> str:
    return SCHEMA.head()


def ensure_schema(engine: Engine) -> None:
    SCHEMA.ensure(engine)


def schema_state(engine: Engine) -> SchemaState:
    return SCHEMA.state(engine)


def upgrade_schema(engine: Engine) -> tuple[str | None, str]:
    return SCHEMA.upgrade(engine)
