"""The module's schema (``kit/schema.py``): its ``inspection_`` tables, created at head on an
empty database, refused when behind, upgraded by ``evidence db upgrade`` after the core's chain.
"""

from __future__ import annotations

from pathlib import Path

from evidence_service.modules.inspection.models import metadata
from evidence_service.modules.kit.schema import ModuleSchema

SCHEMA = ModuleSchema(
    name="inspection",
    prefix="inspection_",
    migrations_dir=Path(__file__).resolve().parent / "migrations",
    metadata=metadata,
    lock_key=0x494E5350,  # "INSP"
)
