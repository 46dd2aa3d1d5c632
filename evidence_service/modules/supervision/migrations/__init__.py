"""The supervision module's own Alembic chain (version table ``supervision_alembic_version``).

Beside the core's chain in the same database: each revision touches only ``supervision_``
tables, and ``evidence db upgrade`` runs both chains (``schema.py``).
"""
