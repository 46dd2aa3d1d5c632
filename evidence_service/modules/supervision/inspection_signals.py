"""Penalties the case centre learns of, told to the joint-inspection module as risk signals.

The joint-inspection module scores each enterprise from signals about it, penalties among
them ("from the core and the supervision module", issue 18). The case centre sees a penalty
decision in clear only while a batch is ingested (a party's credit code is kept as an HMAC),
so it tells the module then: after the batch is committed, each penalty record of an
organisation with a decision date becomes one signal ``{credit_code, kind: penalty, severity,
at: the decision date, source: supervision, ref: the record's id}``, posted with the ingesting
caller's own token to ``POST /api/v1/inspection/signals?unknown=skip`` (enterprises outside the
inspection directory are left out; a record posted again is stored there once). The modules
talk through the API only.

Severity by the decided amount: at or above ``major_decision_fen`` (a 重大 decision, as the
review's legal-review item uses) grave (3); at or above a tenth of it serious (2); else minor (1).
Best effort: the batch is already in, so a refusal or an absent module is logged, not raised.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from evidence_service.client import ApiError
from evidence_service.modules.supervision import pii
from evidence_service.modules.supervision.records import RecordIn
from evidence_service.modules.supervision.state import SupervisionState

log = logging.getLogger(__name__)
SOURCE = "supervision"
ZONE = ZoneInfo("Asia/Shanghai")  # the decision dates' zone
MAX_SIGNALS = 10_000  # one post to the module at most


def penalty_signals(
    rows: Sequence[RecordIn], ids: Sequence[str], *, major_fen: int, now: datetime
) -> list[dict[str, Any]]:
    """The signals of a batch's penalty decisions on organisations, in the batch's order."""
    found: list[dict[str, Any]] = []
    for row, record_id in zip(rows, ids, strict=True):
        decided = row.stages.get("decision")
        if row.kind != "penalty" or row.party is None or decided is None:
            continue
        if row.party.kind != "organisation":
            continue
        fen = int((row.decided_amount or Decimal(0)) * 100)
        severity = 3 if fen >= major_fen else 2 if fen >= major_fen // 10 else 1
        at = min(datetime.combine(decided, time(9), tzinfo=ZONE).astimezone(UTC), now)
        found.append(
            {
                "credit_code": pii.normalise(row.party.identifier),
                "kind": "penalty",
                "severity": severity,
                "at": at.isoformat(),
                "source": SOURCE,
                "ref": record_id,
            }
        )
    return found


async def tell_inspection(
    state: SupervisionState, token: str, signals: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """Post ``signals`` (after the batch's answer was sent); None when the module could not
    take them (logged with the reason)."""
    if not signals:
        return None
    answered: dict[str, Any] | None = None
    try:
        async with state.core_client(token) as core:
            for start in range(0, len(signals), MAX_SIGNALS):
                answered = await core.post_inspection_signals(
                    signals[start : start + MAX_SIGNALS], unknown="skip"
                )
    except (ApiError, httpx.HTTPError) as exc:
        log.warning("penalty signals not told to the joint-inspection module: %s", exc)
        return None
    return answered
