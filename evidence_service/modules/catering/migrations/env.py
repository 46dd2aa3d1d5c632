"""Alembic's environment for the module's chain (``kit/schema.py``): the connection the schema
hands over; only the ``catering_`` tables are compared, the version kept in
``catering_alembic_version``."""

from __future__ import annotations

from evidence_service.modules.catering.schema import SCHEMA
from evidence_service.modules.kit.schema import run_migrations

run_migrations(SCHEMA)
