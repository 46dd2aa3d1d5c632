"""The house issue: the models moved into one wing per domain; the schema did not change.

Commit 2dacbca moved the flat ``models.py`` of 1a5f9fb into the wings' ``models`` modules with
the same table names, columns, types, indexes and enum values (autogenerate against a database
at ``0001_baseline`` finds nothing until the hardening issue's commits). This revision marks
that point, so a database made by any version of the house issue is recognised as this one.

Revision ID: 0002_house
Revises: 0001_baseline
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0002_house"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
