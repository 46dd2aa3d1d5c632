"""What the module keeps on the app (``app.state.inspection``): its configuration, its engine,
how it reaches the core, and the draws it is running."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from evidence_service.client import AsyncEvidenceClient
from evidence_service.modules.inspection.config import InspectionConfig
from evidence_service.modules.kit.caller import core_client


@dataclass
class InspectionState:
    config: InspectionConfig
    engine: Engine
    core_app: Any  # the ASGI app of the core in this process (None: reach core_base_url)
    #: Draws advancing in the background (commit → target block → publish), by draw id.
    running: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    def core_client(self, token: str) -> AsyncEvidenceClient:
        """A client of the core acting as ``token``'s holder (``kit/caller.py``)."""
        return core_client(self.config.core_base_url, self.core_app, token)

    def close(self) -> None:
        for task in self.running.values():
            task.cancel()
        self.engine.dispose()
