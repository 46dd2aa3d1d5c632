"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import anyio
from fastapi import Depends, FastAPI

from evidence_service.access.refusals import RefusalRecorder
from evidence_service.anchoring.gauges import AnchoringGauges
from evidence_service.anchoring.health import ChainProbe, OpsProbe
from evidence_service.api import (
    anchoring,
    anchors,
    cases,
    certificates,
    cosign,
    custody,
    evidence,
    evidence_lists,
    feeds,
    graph,
    holds,
    metrics,
    packages,
    people,
    places,
    proofs,
    relations,
    seals,
    system,
    tags,
    transfers,
    tus,
    uploads,
)
from evidence_service.api.access_log import AccessLog
from evidence_service.api.body_limits import BodyLimits, module_rules
from evidence_service.api.deps import enforce_policy
from evidence_service.api.docs_page import install_docs
from evidence_service.api.problems import install_problem_handlers
from evidence_service.api.rate_limits import AnonymousRateLimits, RateLimiter
from evidence_service.api.request_ids import RequestIds
from evidence_service.api.responses import install_openapi
from evidence_service.api.security_headers import SecurityHeaders
from evidence_service.capture.reaper import reap
from evidence_service.cases.pii import pii_secret
from evidence_service.core.config import Settings
from evidence_service.core.json_input import cap_recursion_limit
from evidence_service.core.logs import configure_logging_from
from evidence_service.modules import catering, inspection, supervision
from evidence_service.modules.kit.schema import ModuleSchema
from evidence_service.services import Services, build_services
from evidence_service.web.pages import install_web

log = logging.getLogger(__name__)
REAP_EVERY_SECONDS = 300


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn worker processes: each builds its own services from the environment."""
    settings = Settings()
    configure_logging_from(settings)  # a spawned worker process starts unconfigured
    return create_app(settings)


def supervision_config(settings: Settings) -> supervision.SupervisionConfig:
    """The supervision module's configuration, from the core's settings: the same database,
    the same PII secret (so its party digests are the core's)."""
    configured = settings.pii_secret
    return supervision.SupervisionConfig(
        db_url=settings.resolved_db_url,
        pii_secret=pii_secret(
            configured.get_secret_value().encode() if configured else None, settings.data_dir
        ),
        run_every_seconds=settings.supervision_run_every_seconds,
    )


def inspection_config(settings: Settings) -> inspection.InspectionConfig:
    """The joint-inspection module's configuration, from the core's settings."""
    return inspection.InspectionConfig(
        db_url=settings.resolved_db_url, annual_cap=settings.inspection_annual_cap
    )


def catering_config(settings: Settings) -> catering.CateringConfig:
    """The catering module's configuration, from the core's settings."""
    token, configured = settings.catering_service_token, settings.pii_secret
    return catering.CateringConfig(
        db_url=settings.resolved_db_url,
        pii_secret=pii_secret(
            configured.get_secret_value().encode() if configured else None, settings.data_dir
        ),
        service_token=token.get_secret_value() if token else None,
        mqtt_host=settings.catering_mqtt_host,
        mqtt_port=settings.catering_mqtt_port,
        limits=catering.Limits(
            oil_fume_limit_mg_m3=settings.catering_oil_fume_limit,
            sustained_minutes=settings.catering_sustained_minutes,
        ),
        readings_keep_days=settings.catering_readings_keep_days,
        rectify_days=settings.catering_rectify_days,
        enforcement_department=settings.catering_enforcement_department,
    )


#: Each business module's own tables and Alembic chain, in the order ``evidence db upgrade``
#: runs them (after the core's).
MODULE_SCHEMAS: tuple[ModuleSchema, ...] = (supervision.SCHEMA, inspection.SCHEMA, catering.SCHEMA)


def install_modules(app: FastAPI, settings: Settings) -> None:
    """The business modules beside the core (``evidence_service/modules/``): each opens its
    own tables (refusing an outdated schema, naming ``evidence db upgrade``) and adds its
    routes, which pass the same policy table as the core's."""
    supervision.install(app, supervision_config(settings))
    inspection.install(app, inspection_config(settings))
    catering.install(app, catering_config(settings))


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    settings = settings or (services.settings if services else Settings())
    owned = services is None
    cap_recursion_limit()  # py-evm and py_ecc raise it far past what a thread's stack holds

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = app.state.services
        ttl = timedelta(seconds=svc.settings.temp_object_ttl_seconds)
        report = await anyio.to_thread.run_sync(lambda: reap(svc.ingestor, temp_ttl=ttl))
        log.info("reaper at start-up: %s", report)

        async def periodic() -> None:
            while True:
                await asyncio.sleep(REAP_EVERY_SECONDS)
                try:
                    await anyio.to_thread.run_sync(lambda: reap(svc.ingestor, temp_ttl=ttl))
                except Exception:  # keep the loop alive; the next round retries
                    log.exception("reaper round failed")

        task = asyncio.create_task(periodic())
        supervision_runs = app.state.supervision.start_schedule()  # the problem models
        app.state.catering.start()  # MQTT frames, hours captured, clock rules
        worker = svc.anchor_worker() if svc.settings.anchor_worker else None
        if worker is not None:
            worker.start()
        app.state.anchor_worker = worker
        try:
            yield
        finally:
            task.cancel()
            if supervision_runs is not None:
                supervision_runs.cancel()
            if worker is not None:
                await anyio.to_thread.run_sync(worker.stop)
            app.state.ops_probe.close()
            app.state.supervision.close()
            app.state.inspection.close()
            await app.state.catering.stop()
            app.state.catering.close()
            if owned:
                svc.close()

    app = FastAPI(
        title="Evidence custody service",
        version="0.1.0",
        summary="Immutable evidence intake, custody log and verifiable proofs",
        lifespan=lifespan,
        docs_url=None,  # served from the installed assets below, not from a CDN
        redoc_url=None,
        dependencies=[Depends(enforce_policy)],  # every route's access rule, in one place
    )
    app.state.services = services or build_services(settings)
    svc = app.state.services
    # One per process: it folds anonymous refusals per minute (access/refusals.py).
    app.state.refusals = RefusalRecorder(svc.engine)
    app.state.ops_probe = OpsProbe(
        engine=svc.engine,
        store=svc.store,
        chain=ChainProbe(svc.settings, svc.chain_holder),
        clock=svc.clock,
    )
    app.state.gauges = AnchoringGauges(app.state.ops_probe)  # read at scrape time
    install_problem_handlers(app)
    modules = (
        system,
        evidence,
        proofs,
        uploads,
        tus,
        custody,
        people,
        certificates,
        seals,
        cosign,
        cases,
        places,
        relations,
        graph,
        tags,
        holds,
        packages,
        evidence_lists,
        anchoring,
        anchors,
        transfers,
        metrics,
        feeds,
    )
    for module in modules:
        app.include_router(module.router)
    install_modules(app, svc.settings)
    install_openapi(app)  # the Problem schema every error answer refers to
    install_docs(app)
    install_web(app)
    # Outermost last: security headers wrap every answer, the rate limits' 429s included.
    app.add_middleware(
        BodyLimits,
        settings=settings,
        extra=module_rules(supervision.BODY_LIMITS + inspection.BODY_LIMITS + catering.BODY_LIMITS),
    )
    app.state.rate_limiter = RateLimiter.from_settings(settings)
    if app.state.rate_limiter is not None:
        app.add_middleware(AnonymousRateLimits, limiter=app.state.rate_limiter)
    app.add_middleware(SecurityHeaders)
    # Outside everything else: every answer (refusals included) is counted, logged and
    # carries its X-Request-ID.
    app.add_middleware(AccessLog, routes=app.router.routes)
    app.add_middleware(RequestIds)
    return app
