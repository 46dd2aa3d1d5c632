"""What the module keeps on the app (``app.state.supervision``): its configuration, its
engine, and how it reaches the core."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from evidence_service.client import AsyncEvidenceClient
from evidence_service.modules.kit.caller import core_client
from evidence_service.modules.supervision.config import SupervisionConfig


@dataclass
class SupervisionState:
    config: SupervisionConfig
    engine: Engine
    core_app: Any  # the ASGI app of the core in this process (None: reach core_base_url)

    def core_client(self, token: str) -> AsyncEvidenceClient:
        """A client of the core acting as ``token``'s holder (``kit/caller.py``)."""
        return core_client(self.config.core_base_url, self.core_app, token)

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
