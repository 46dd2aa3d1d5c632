"""Enforcement supervision (数字化行政执法监督), the first business module beside the core.

Built so far: the case centre — enforcement records ingested as JSON or CSV batches, searched
across departments by the supervision office, each department seeing its own
(``docs/modules/supervision.md``); the clue centre — problem models run on schedule and on
demand, their hits kept as clues (``clues/``, ``docs/modules/supervision-clues.md``). The
app installs it with :func:`install`; the CLI runs its migrations with :func:`upgrade_schema`
and its demo data with ``demo.py``.
"""

from __future__ import annotations

from fastapi import FastAPI

from evidence_service.modules.kit.db import make_engine
from evidence_service.modules.kit.pages import install_page_handlers
from evidence_service.modules.kit.schema import SchemaState
from evidence_service.modules.supervision import schema
from evidence_service.modules.supervision.api import router
from evidence_service.modules.supervision.clues.api import router as clues_router
from evidence_service.modules.supervision.config import SupervisionConfig
from evidence_service.modules.supervision.disposal_api import router as disposal_router
from evidence_service.modules.supervision.disposal_pages import BODY_LIMITS, disposal_pages_router
from evidence_service.modules.supervision.page_kit import problem_page
from evidence_service.modules.supervision.pages import pages_router
from evidence_service.modules.supervision.problems import install_problem_handler
from evidence_service.modules.supervision.register_api import register_router
from evidence_service.modules.supervision.review_api import router as review_router
from evidence_service.modules.supervision.review_pages import review_pages_router
from evidence_service.modules.supervision.schema import SCHEMA, SupervisionSchemaError
from evidence_service.modules.supervision.state import SupervisionState

__all__ = [
    "BODY_LIMITS",
    "SCHEMA",
    "SupervisionConfig",
    "SupervisionSchemaError",
    "install",
    "open_schema",
    "schema_state",
    "upgrade_schema",
]


def install(app: FastAPI, config: SupervisionConfig) -> SupervisionState:
    """Open the module's tables (created at head on an empty database; an outdated one
    raises SupervisionSchemaError naming ``evidence db upgrade``) and add its routes."""
    schema.SCHEMA.ensure_at(config.db_url)
    state = SupervisionState(config, make_engine(config.db_url), core_app=app)
    app.state.supervision = state
    install_problem_handler(app, page=problem_page)
    install_page_handlers(app)
    app.include_router(router)
    app.include_router(clues_router)
    app.include_router(disposal_router)
    app.include_router(register_router)
    app.include_router(review_router)
    app.include_router(pages_router)
    app.include_router(review_pages_router)
    app.include_router(disposal_pages_router)
    return state


def open_schema(db_url: str) -> None:
    """What :func:`install` checks first, for the CLI before it serves: the module's tables
    at head (made on an empty database), else SupervisionSchemaError."""
    schema.SCHEMA.ensure_at(db_url)


def upgrade_schema(db_url: str) -> tuple[str | None, str]:
    """``evidence db upgrade`` for the module's chain: (from revision, head)."""
    return schema.SCHEMA.upgrade_at(db_url)


def schema_state(db_url: str) -> SchemaState:
    """``evidence db current`` for the module's chain."""
    return schema.SCHEMA.state_at(db_url)
