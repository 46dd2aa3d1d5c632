"""Oil-fume limits: GB 18483-2001 as data, and the local limits a platform alarms on.

The national standard, GB 18483-2001 《饮食业油烟排放标准(试行)》 (issued 2001-11-12, in force
2002-01-01; 城市建成区, not households; concentrations at 273 K, 101 325 Pa, dry flue gas):

- Table 1 sizes an outlet by its 基准灶头 (standard burners; one burner is 1.67 × 10⁸ J/h of heat
  or 1.1 m² of hood projection): 小型 ≥1 and <3, 中型 ≥3 and <6, 大型 ≥6.
- Table 2: at most 2.0 mg/m³ for every size; minimum removal efficiency 60 / 75 / 85 %.

Source: https://m.lab216.com/standard/show-1667.html ; tables http://www.94mn.com/html/3978251323.html
*(mirror)* — see the domain notes, ANCHORS.md §3.1. Below one burner the standard says nothing,
so :func:`size_class` refuses rather than guess.

Local standards may only be stricter. :class:`Limits` holds the numbers a locality sets, with
these defaults (each configurable through :meth:`Limits.from_mapping`):

============================ ======= ====================================================
field                        default source
============================ ======= ====================================================
oil_fume_limit_mg_m3         1.0     DB31/844-2014 (Shanghai) *(mirror)*; Chongqing local
warning_ratio                0.8     project choice: warn above 80 % of the limit
sustained_minutes            30      project choice (no standard gives a duration)
clear_minutes                10      project choice: against flapping
offline_minutes              15      project choice
cleaning_interval_days       30      Chongqing: monthly cleaning (excerpt)
purifier_off_minutes         5       project choice
fan_on_current_a             0.5     project choice (CT clamp on the fan supply)
purifier_on_current_a        0.5     project choice (CT clamp on the purifier supply)
grease_level_alarm_pct       80.0    project choice (trap fill level)
particulates_limit_mg_m3     None    DB11/1488-2018 is cited as 5.0 — **unverified**, off
nmhc_limit_mg_m3             None    DB11/1488-2018 is cited as 10.0 — **unverified**, off
============================ ======= ====================================================

A local oil-fume limit above the national 2.0 mg/m³ is refused: it would not be a limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

SOURCE_GB18483 = (
    "GB 18483-2001 饮食业油烟排放标准(试行), Tables 1 and 2; "
    "https://m.lab216.com/standard/show-1667.html"
)
NATIONAL_LIMIT_MG_M3 = 2.0
#: One 基准灶头 (GB 18483 Table 1 note): its heat and its hood projection.
BURNER_HEAT_J_PER_H = 1.67e8
BURNER_HOOD_M2 = 1.1


class LimitsError(ValueError):
    """A size, a limit or a configuration breaks a rule above. ``reason`` is a stable code:
    ``below-one-burner``, ``not-a-number``, ``unknown-key``, ``bad-type``, ``out-of-range``,
    ``above-national-limit``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class SizeClass(StrEnum):
    SMALL = "small"  # 小型
    MEDIUM = "medium"  # 中型
    LARGE = "large"  # 大型


@dataclass(frozen=True)
class SizeRow:
    """One size of GB 18483 Tables 1 and 2; an upper bound of ``None`` is open."""

    size: SizeClass
    name_zh: str
    burners_min: float
    burners_below: float | None
    heat_min_e8_j_per_h: float
    heat_below_e8_j_per_h: float | None
    hood_min_m2: float
    hood_below_m2: float | None
    max_concentration_mg_m3: float
    min_removal_efficiency_pct: int


TABLE = (
    SizeRow(SizeClass.SMALL, "小型", 1, 3, 1.67, 5.00, 1.1, 3.3, NATIONAL_LIMIT_MG_M3, 60),
    SizeRow(SizeClass.MEDIUM, "中型", 3, 6, 5.00, 10.0, 3.3, 6.6, NATIONAL_LIMIT_MG_M3, 75),
    SizeRow(SizeClass.LARGE, "大型", 6, None, 10.0, None, 6.6, None, NATIONAL_LIMIT_MG_M3, 85),
)
_ROWS = {row.size: row for row in TABLE}


def size_class(burners: float) -> SizeClass:
    """The GB 18483 size of an outlet with this many standard burners (fractions allowed: the
    standard converts heat or hood area into burners). Refuses fewer than one burner and
    anything that is not a finite number."""
    if isinstance(burners, bool) or not isinstance(burners, int | float):
        raise LimitsError("not-a-number", f"burners must be a number, not {burners!r}")
    if not math.isfinite(burners):
        raise LimitsError("not-a-number", f"burners must be a finite number, not {burners!r}")
    if burners < 1:
        raise LimitsError(
            "below-one-burner",
            f"{burners} burners is below GB 18483 Table 1 (the smallest size starts at 1 "
            "standard burner); the standard does not size it",
        )
    for row in TABLE:
        if row.burners_below is None or burners < row.burners_below:
            return row.size
    raise AssertionError("unreachable: the last row is open")  # pragma: no cover


def size_row(size: SizeClass) -> SizeRow:
    return _ROWS[SizeClass(size)]


def min_removal_efficiency(size: SizeClass) -> int:
    """GB 18483 Table 2: the minimum removal efficiency of the purifier, in percent."""
    return size_row(size).min_removal_efficiency_pct


def max_concentration(size: SizeClass) -> float:
    """GB 18483 Table 2: the national limit, 2.0 mg/m³ for every size."""
    return size_row(size).max_concentration_mg_m3


# (field, minimum, inclusive minimum, maximum, integer)
_RULES: dict[str, tuple[float, bool, float | None, bool]] = {
    "oil_fume_limit_mg_m3": (0.0, False, NATIONAL_LIMIT_MG_M3, False),
    "warning_ratio": (0.0, False, 1.0, False),
    "sustained_minutes": (1, True, None, True),
    "clear_minutes": (1, True, None, True),
    "offline_minutes": (1, True, None, True),
    "cleaning_interval_days": (1, True, None, True),
    "purifier_off_minutes": (1, True, None, True),
    "fan_on_current_a": (0.0, True, None, False),
    "purifier_on_current_a": (0.0, True, None, False),
    "grease_level_alarm_pct": (0.0, False, 100.0, False),
    "particulates_limit_mg_m3": (0.0, False, None, False),
    "nmhc_limit_mg_m3": (0.0, False, None, False),
}
_OPTIONAL = frozenset({"particulates_limit_mg_m3", "nmhc_limit_mg_m3"})


@dataclass(frozen=True)
class Limits:
    """The local numbers the alarm rules use; the table in the module docstring gives each
    default and its source. Checked on construction."""

    oil_fume_limit_mg_m3: float = 1.0
    warning_ratio: float = 0.8
    sustained_minutes: int = 30
    clear_minutes: int = 10
    offline_minutes: int = 15
    cleaning_interval_days: int = 30
    purifier_off_minutes: int = 5
    fan_on_current_a: float = 0.5
    purifier_on_current_a: float = 0.5
    grease_level_alarm_pct: float = 80.0
    particulates_limit_mg_m3: float | None = None
    nmhc_limit_mg_m3: float | None = None

    def __post_init__(self) -> None:
        for name, (low, inclusive, high, integer) in _RULES.items():
            _check(name, getattr(self, name), low, inclusive, high, integer)

    @property
    def warning_level_mg_m3(self) -> float:
        """The oil-fume concentration above which a warning opens."""
        return self.oil_fume_limit_mg_m3 * self.warning_ratio

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> Limits:
        """Limits from a configuration dict (e.g. parsed JSON or TOML): the keys are the field
        names, any subset; missing keys keep their defaults. Unknown keys, wrong types and
        values out of range are refused with the key named."""
        known = {f.name for f in fields(cls)}
        for key in config:
            if key not in known:
                raise LimitsError(
                    "unknown-key", f"unknown limit {key!r}; known: {', '.join(sorted(known))}"
                )
        return cls(**dict(config))


def _check(
    name: str, value: object, low: float, inclusive: bool, high: float | None, integer: bool
) -> None:
    if value is None and name in _OPTIONAL:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "a whole number" if integer else "a number"
        raise LimitsError("bad-type", f"{name} must be {kind}, not {value!r}")
    if integer and not isinstance(value, int):
        raise LimitsError("bad-type", f"{name} must be a whole number, not {value!r}")
    if not math.isfinite(value):
        raise LimitsError("bad-type", f"{name} must be a finite number, not {value!r}")
    if value < low or (value == low and not inclusive):
        bound = f">= {low}" if inclusive else f"> {low}"
        raise LimitsError("out-of-range", f"{name} must be {bound}, not {value!r}")
    if high is not None and value > high:
        if name == "oil_fume_limit_mg_m3":
            raise LimitsError(
                "above-national-limit",
                f"{name} {value!r} is above the national {NATIONAL_LIMIT_MG_M3} mg/m³ of "
                "GB 18483-2001; a local limit may only be stricter",
            )
        raise LimitsError("out-of-range", f"{name} must be <= {high}, not {value!r}")
