"""What the module keeps on the app (``app.state.supervision``): its configuration, its
engine, and how it reaches the core."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine

from evidence_service.client import AsyncEvidenceClient
from evidence_service.modules.supervision.config import SupervisionConfig

IN_PROCESS_URL = "http://core"


@dataclass
class SupervisionState:
    config: SupervisionConfig
    engine: Engine
    core_app: Any  # the ASGI app of the core in this process (None: reach core_base_url)

    def core_client(self, token: str) -> AsyncEvidenceClient:
        """A client of the core acting as ``token``'s holder: in process through the ASGI
        app (no network hop), or at ``core_base_url`` for a separate deployment."""
        if self.config.core_base_url:
            return AsyncEvidenceClient(self.config.core_base_url, token)
        transport = httpx.ASGITransport(app=self.core_app)
        return AsyncEvidenceClient(IN_PROCESS_URL, token, transport=transport)

    def start_schedule(self) -> asyncio.Task[None] | None:
        """The scheduled runs of the problem models, as a task the app cancels when it stops
        (None when ``run_every_seconds`` is 0)."""
        from evidence_service.modules.supervision.clues.runner import schedule_loop

        every = self.config.run_every_seconds
        if every <= 0:
            return None
        return asyncio.create_task(
            schedule_loop(self.engine, every, params=dict(self.config.model_params))
        )

    def close(self) -> None:
        self.engine.dispose()
