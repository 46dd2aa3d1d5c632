"""Attaching to and detaching from a case, as the case and place routes answer it: the case as
it now stands, JSON-ready."""

from __future__ import annotations

from typing import Any

from fastapi.encoders import jsonable_encoder

from evidence_service.access.identity import Actor
from evidence_service.cases.links import change_links
from evidence_service.services import Services


def change_case_links(
    services: Services,
    actor: Actor,
    case_id: str,
    kind: str,
    source_id: str,
    target_id: str,
    *,
    attach: bool,
    purpose: str = "",
) -> Any:
    """Attach or detach (see ``cases.links.change_links``); answers with the case as it now
    stands."""
    return jsonable_encoder(
        change_links(
            services.engine,
            actor,
            case_id,
            kind,
            source_id,
            target_id,
            attach=attach,
            purpose=purpose,
            at=services.ingestor.clock(),
        )
    )
