"""What the app hands the joint-inspection module: it reads no core settings itself.

Numbers that differ by locality are here with their defaults (docs/modules/inspection.md):
the annual cap, the draw's ratios per credit-risk class, the risk score's weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from evidence_service.modules.inspection.plan import DEFAULT_RATIOS
from evidence_service.modules.inspection.risk import RiskSettings


@dataclass(frozen=True)
class InspectionConfig:
    """``db_url``: the database the module's tables live in (the core's by default);
    ``core_base_url``: the core's URL when the module runs as a separate deployment (None: in
    the same process, through the ASGI app)."""

    db_url: str
    core_base_url: str | None = None
    #: The published cap on inspections of one enterprise per calendar year (国办发〔2024〕54号
    #: asks each locality to publish one; 2 is this project's default, not a national figure).
    annual_cap: int = 2
    #: The draw's sampling ratio per credit-risk class (decimal strings, ``plan.py``).
    ratios: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_RATIOS))
    #: The risk score's weights, half-lives, bases and threshold (``risk.py``).
    risk: RiskSettings = field(default_factory=RiskSettings)
    #: Rows of one directory or roster upload at most (``directory.DirectoryLimits``).
    max_directory_rows: int = 100_000
    #: Signals in one post at most.
    max_signals: int = 10_000
    #: Items on one page of a list.
    max_page_size: int = 500
    #: The draw's target block is named this many blocks ahead of the chain's height.
    draw_lead_blocks: int = 3
    #: Confirmations the target block needs before the draw is computed.
    draw_confirmations: int = 1
    #: Seconds a draw waits for its anchor, then for its target block.
    draw_timeout_s: float = 300.0
    #: The zone a task's year and an agreed date are counted in.
    timezone: str = "Asia/Shanghai"
