"""Catering smart management (餐饮服务业智管平台): restaurants' oil-fume, grease-trap and gas
monitors as anchored evidence, alarms, and the index of each restaurant.

The pure pieces (``docs/modules/catering.md``): the HJ 212-2017 frame codec and its CRC
variants (:mod:`.hj212`), the factor table (:mod:`.factors`), a frame's validation and the
signed envelope (:mod:`.validation`), one device-hour as one document (:mod:`.hour_batch`), GB
18483 limits and size classes (:mod:`.limits`), the alarm rules (:mod:`.alarms`), the index and
grades (:mod:`.index`), the registry's rows (:mod:`.registry`) and a device simulator
(:mod:`.simulate`). Installed into the app by :func:`install`: its tables (:mod:`.models`, its
own Alembic chain), the frame sink (:mod:`.frames`), the MQTT subscriber (:mod:`.mqtt`), the
rounds that capture each ended hour through the core (:mod:`.hours`), and its routes under
``/api/v1/catering/``.
"""

from __future__ import annotations

from fastapi import FastAPI

from evidence_service.modules.catering.api import BODY_LIMITS, router
from evidence_service.modules.catering.config import CateringConfig
from evidence_service.modules.catering.factors import load_factors
from evidence_service.modules.catering.feedback_api import router as feedback_router
from evidence_service.modules.catering.frames import FrameSink
from evidence_service.modules.catering.limits import Limits
from evidence_service.modules.catering.pages import KIT as PAGES_KIT
from evidence_service.modules.catering.pages import pages_router
from evidence_service.modules.catering.problems_api import router as problems_router
from evidence_service.modules.catering.schema import SCHEMA
from evidence_service.modules.catering.state import CateringState
from evidence_service.modules.kit.db import make_engine
from evidence_service.modules.kit.pages import install_page_handlers
from evidence_service.modules.kit.problems import install_problem_handler

__all__ = ["BODY_LIMITS", "SCHEMA", "CateringConfig", "Limits", "install"]


def install(app: FastAPI, config: CateringConfig) -> CateringState:
    """Open the module's tables (created at head on an empty database; an outdated one raises
    ModuleSchemaError naming ``evidence db upgrade``) and add its routes. The background work
    starts with :meth:`CateringState.start`, from the app's lifespan."""
    SCHEMA.ensure_at(config.db_url)
    engine = make_engine(config.db_url)
    factors = load_factors(config.factors_file)
    sink = FrameSink(
        engine,
        factors=factors,
        limits=config.limits,
        roles=factors.rules(),
        rectify_days=config.rectify_days,
    )
    state = CateringState(config, engine, core_app=app, factors=factors, sink=sink)
    app.state.catering = state
    install_problem_handler(app)
    app.include_router(router)
    app.include_router(problems_router)
    install_problem_handler(app, page=PAGES_KIT.problem_page)
    install_page_handlers(app)
    app.include_router(feedback_router)
    app.include_router(pages_router)
    return state
