"""GB 18483 sizes and efficiencies, and the local limits: defaults, configuration, refusals."""

from __future__ import annotations

import math

import pytest

from evidence_service.modules.catering.limits import (
    NATIONAL_LIMIT_MG_M3,
    TABLE,
    Limits,
    LimitsError,
    SizeClass,
    max_concentration,
    min_removal_efficiency,
    size_class,
)


@pytest.mark.parametrize(
    ("burners", "size"),
    [
        (1, SizeClass.SMALL),
        (2.99, SizeClass.SMALL),
        (3, SizeClass.MEDIUM),
        (5.5, SizeClass.MEDIUM),
        (6, SizeClass.LARGE),
        (40, SizeClass.LARGE),
    ],
)
def test_size_class_follows_table_1(burners: float, size: SizeClass) -> None:
    assert size_class(burners) is size


def test_table_2_efficiencies_and_the_national_limit() -> None:
    assert [min_removal_efficiency(s) for s in SizeClass] == [60, 75, 85]
    assert [max_concentration(s) for s in SizeClass] == [2.0, 2.0, 2.0]
    assert NATIONAL_LIMIT_MG_M3 == 2.0
    assert [(r.name_zh, r.hood_min_m2, r.heat_min_e8_j_per_h) for r in TABLE] == [
        ("小型", 1.1, 1.67),
        ("中型", 3.3, 5.0),
        ("大型", 6.6, 10.0),
    ]


@pytest.mark.parametrize(
    ("burners", "reason"),
    [
        (0.99, "below-one-burner"),
        (0, "below-one-burner"),
        (-3, "below-one-burner"),
        (math.nan, "not-a-number"),
        (math.inf, "not-a-number"),
        ("3", "not-a-number"),
        (True, "not-a-number"),
    ],
)
def test_size_class_refuses_what_table_1_does_not_size(burners: float, reason: str) -> None:
    with pytest.raises(LimitsError) as caught:
        size_class(burners)
    assert caught.value.reason == reason


def test_defaults_are_the_documented_ones() -> None:
    limits = Limits()
    assert limits.oil_fume_limit_mg_m3 == 1.0
    assert limits.warning_level_mg_m3 == 0.8
    assert (limits.sustained_minutes, limits.clear_minutes, limits.offline_minutes) == (30, 10, 15)
    assert (limits.cleaning_interval_days, limits.purifier_off_minutes) == (30, 5)
    assert (limits.particulates_limit_mg_m3, limits.nmhc_limit_mg_m3) == (None, None)


def test_from_mapping_overrides_only_the_given_keys() -> None:
    limits = Limits.from_mapping(
        {"oil_fume_limit_mg_m3": 2, "sustained_minutes": 20, "nmhc_limit_mg_m3": 10.0}
    )
    assert limits == Limits(oil_fume_limit_mg_m3=2, sustained_minutes=20, nmhc_limit_mg_m3=10.0)
    assert Limits.from_mapping({}) == Limits()


@pytest.mark.parametrize(
    ("config", "reason", "words"),
    [
        ({"oil_fume_limt": 1.0}, "unknown-key", "unknown limit 'oil_fume_limt'"),
        ({"oil_fume_limit_mg_m3": 2.5}, "above-national-limit", "may only be stricter"),
        ({"oil_fume_limit_mg_m3": 0}, "out-of-range", "must be > 0.0"),
        ({"oil_fume_limit_mg_m3": "1.0"}, "bad-type", "must be a number"),
        ({"oil_fume_limit_mg_m3": None}, "bad-type", "must be a number"),
        ({"warning_ratio": 1.2}, "out-of-range", "must be <= 1.0"),
        ({"sustained_minutes": 0}, "out-of-range", "must be >= 1"),
        ({"sustained_minutes": 30.5}, "bad-type", "whole number"),
        ({"clear_minutes": True}, "bad-type", "whole number"),
        ({"fan_on_current_a": -1}, "out-of-range", "must be >= 0.0"),
        ({"grease_level_alarm_pct": float("nan")}, "bad-type", "finite"),
        ({"particulates_limit_mg_m3": 0}, "out-of-range", "must be > 0.0"),
    ],
)
def test_from_mapping_refuses_bad_configuration(
    config: dict[str, object], reason: str, words: str
) -> None:
    with pytest.raises(LimitsError) as caught:
        Limits.from_mapping(config)
    assert caught.value.reason == reason
    assert words in str(caught.value)
