"""What the app hands the supervision module: it reads no core settings itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from evidence_service.modules.supervision.disposal import DisposalRules

#: The efficiency indicators' default weights in the composite score (docs/modules/
#: supervision-review-cockpit.md); a locality sets its own through ``indicator_weights``.
DEFAULT_INDICATOR_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "timeliness": 0.25,
        "evidence_completeness": 0.25,
        "clue_free": 0.20,
        "correction": 0.15,
        "review_score": 0.15,
    }
)


@dataclass(frozen=True)
class SupervisionConfig:
    """``db_url``: the database the module's own tables live in (the core's, by default);
    ``pii_secret``: the HMAC key party identifiers are hashed with (the core's, so a digest
    found here finds the same party there); ``core_base_url``: the core's URL when the module
    runs as a separate deployment (None: in the same process, through the ASGI app)."""

    db_url: str
    pii_secret: bytes = field(repr=False)
    core_base_url: str | None = None
    #: Records in one ingest batch at most (the core also bounds the body's bytes).
    max_batch_records: int = 5000
    #: Records on one page of a search.
    max_page_size: int = 500
    # -- case-file review (review.py) and the cockpit (indicators.py)
    #: Grade boundaries of a review's total (0–100): ≥ excellent 优秀, ≥ pass 合格, else 不合格.
    review_excellent: int = 90
    review_pass: int = 60
    #: A decision at or above this amount (fen) needs a 法制审核 before it (art. 58; a
    #: locality default, as in the demo data).
    major_decision_fen: int = 10_000_000
    #: Weights of the indicators in the composite score (keys of DEFAULT_INDICATOR_WEIGHTS).
    indicator_weights: Mapping[str, float] = field(
        default_factory=lambda: DEFAULT_INDICATOR_WEIGHTS
    )
    #: The cockpit's summary older than this (seconds) is refreshed after the answer is sent.
    cockpit_max_age_s: int = 300
    #: Rows of one cockpit answer at most (officers are many).
    cockpit_max_rows: int = 1000
    #: How often the problem models run on schedule (incremental, full once a day); 0: never.
    run_every_seconds: float = 3600
    #: The models' thresholds by name (``clues/record_models.py``); unset ones take the law's.
    model_params: dict[str, Any] = field(default_factory=dict)
    #: The disposal centre's deadlines (days per step, the notice's correction period).
    disposal_rules: DisposalRules = field(default_factory=DisposalRules)
