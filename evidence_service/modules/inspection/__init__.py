"""Joint inspection (综合查一次): departments inspect an enterprise together, once.

The pure pieces (``docs/modules/inspection.md``): the double-random draw of ``draw/1``
(:mod:`.draw`, ``docs/draw-format.md``) and its verifier (:mod:`.draw_verify`, ``evidence
inspection verify-draw``); the 统一社会信用代码 check (``kit/credit_code.py``); the directory and
roster as validated rows (:mod:`.directory`); the scenario library (:mod:`.scenarios`); the
risk score (:mod:`.risk`); a draw planned from the directory (:mod:`.plan`) and run through the
core (:mod:`.publish`). Installed into the app by :func:`install`: its tables (:mod:`.models`,
its own Alembic chain) and its routes under ``/api/v1/inspection/``.
"""

from __future__ import annotations

from fastapi import FastAPI

from evidence_service.modules.inspection.api import BODY_LIMITS, router
from evidence_service.modules.inspection.config import InspectionConfig
from evidence_service.modules.inspection.draws_api import router as draws_router
from evidence_service.modules.inspection.pages import KIT, pages_router
from evidence_service.modules.inspection.schema import SCHEMA
from evidence_service.modules.inspection.state import InspectionState
from evidence_service.modules.inspection.tasks_api import router as tasks_router
from evidence_service.modules.inspection.visits_api import router as visits_router
from evidence_service.modules.kit.db import make_engine
from evidence_service.modules.kit.pages import install_page_handlers
from evidence_service.modules.kit.problems import install_problem_handler

__all__ = ["BODY_LIMITS", "SCHEMA", "InspectionConfig", "install"]


def install(app: FastAPI, config: InspectionConfig) -> InspectionState:
    """Open the module's tables (created at head on an empty database; an outdated one raises
    ModuleSchemaError naming ``evidence db upgrade``) and add its routes."""
    SCHEMA.ensure_at(config.db_url)
    state = InspectionState(config, make_engine(config.db_url), core_app=app)
    app.state.inspection = state
    install_problem_handler(app, page=KIT.problem_page)
    install_page_handlers(app)
    app.include_router(router)
    app.include_router(tasks_router)
    app.include_router(draws_router)
    app.include_router(visits_router)
    app.include_router(pages_router)
    return state
