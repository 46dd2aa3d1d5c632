"""Alembic's environment for the module's chain (``kit/schema.py``): the connection the schema
hands over; only the ``supervision_`` tables are compared, the version kept in
``supervision_alembic_version``."""

from __future__ import annotations

from evidence_service.modules.kit.schema import run_migrations
from evidence_service.modules.supervision.schema import SCHEMA

run_migrations(SCHEMA)
