"""The module's schema (``kit/schema.py``): its ``catering_`` tables, created at head on an
empty database, refused when behind, upgraded by ``evidence db upgrade`` after the core's chain.
"""

from __future__ import annotations

from pathlib import Path

from evidence_service.modules.catering.models import metadata
from evidence_service.modules.kit.schema import ModuleSchema

SCHEMA = ModuleSchema(
    name="catering",
    prefix="catering_",
    migrations_dir=Path(__file__).resolve().parent / "migrations",
    metadata=metadata,
    lock_key=0x43415445,  # "CATE"
)
