"""Idempotency-Key for the JSON POSTs: the first answer is stored and replayed, a reused key
with a different request is a 422 ``idempotency-conflict``. (The streamed evidence upload does
the same inside its own transaction, since its fingerprint includes the file's hash.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evidence_service.access.identity import Actor
from evidence_service.capture.ingest import request_fingerprint
from evidence_service.services import Services


def idempotent(
    services: Services,
    actor: Actor,
    key: str | None,
    route: str,
    request: dict[str, Any],
    produce: Callable[[], tuple[int, dict[str, Any]]],
    *,
    stored: Callable[[dict[str, Any]], dict[str, Any]] = lambda body: body,
) -> tuple[int, dict[str, Any]]:
    """Run ``produce`` once per (actor, key); ``stored`` redacts what is kept for replays."""
    if not key:
        return produce()
    fingerprint = request_fingerprint(route, **request)
    replay = services.ingestor.replay(actor, key, route, fingerprint)
    if replay is not None:
        return replay
    status, body = produce()
    services.ingestor.remember(actor, key, route, fingerprint, status, stored(body))
    return status, body
