"""The service's schema migrations (Alembic), shipped inside the package.

``versions/`` holds one revision per schema change, oldest first: ``0001_baseline`` is exactly
the schema of commit 1a5f9fb (the last version without migrations), then one revision per change
since. They run programmatically (``evidence db upgrade``, :mod:`.commands`) with the script
location set from this folder, so no ``alembic.ini`` is needed at run time.

Only this module is light enough for ``core.db`` to import on every start: the head revision
it names is what a database must be stamped with before the service opens it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic.script import ScriptDirectory

#: The folder Alembic runs (env.py, script.py.mako, versions/).
MIGRATIONS_DIR = Path(__file__).resolve().parent


@functools.cache
def script_directory() -> ScriptDirectory:
    """The revisions shipped with this version (read once per process)."""
    return ScriptDirectory(
        str(MIGRATIONS_DIR), version_locations=[str(MIGRATIONS_DIR / "versions")]
    )


def head_revision() -> str:
    """The revision a database made or upgraded by this version is stamped with."""
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the baseline always ships
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR / 'versions'}")
    return head
