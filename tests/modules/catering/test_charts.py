"""The SVG charts, pure: the readings chart's line, limit, labels and empty state; the layout
map's projection, one linked circle per restaurant with its colour and escaped title, and the
legend; the same input gives the same bytes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from evidence_service.modules.catering.charts import (
    Dot,
    LegendEntry,
    layout_map,
    readings_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
TZ = ZoneInfo("Asia/Shanghai")
END = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
START = END - timedelta(hours=24)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_the_chart_draws_the_points_and_the_limit() -> None:
    points = [(START + timedelta(hours=h), v) for h, v in ((0, 0.5), (12, 2.0), (24, 1.0))]
    svg = readings_chart(points, limit=1.0, start=START, end=END, tz=TZ)
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-title chart-desc"
    assert root.find(f"{SVG}title").text == "近 24 小时油烟浓度"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "3 个读数，最高 2 mg/m³，限值 1 mg/m³"  # type: ignore[union-attr]
    (line,) = [e for e in root.iter(f"{SVG}polyline")]
    # plot 48..628 × 16..208; the axis tops at 2 (the nice value above max(1.25, 2))
    assert line.get("points") == "48,160 338,16 628,112"
    (limit,) = [e for e in root.iter(f"{SVG}line") if e.get("data-testid") == "chart-limit"]
    assert limit.get("y1") == "112" and limit.get("stroke-dasharray") == "6 4"
    labels = [e.text for e in root.iter(f"{SVG}text")]
    assert ["12:00", "18:00", "00:00", "06:00", "12:00"] == [
        t for t in labels if t and re.fullmatch(r"\d\d:\d\d", t)
    ]
    assert {"0", "0.5", "1", "1.5", "2", "限值 1", "mg/m³"} <= set(labels)


def test_the_chart_says_when_there_is_nothing() -> None:
    outside = [(START - timedelta(minutes=1), 9.0)]
    root = parse(readings_chart(outside, limit=1.0, start=START, end=END, tz=TZ))
    assert list(root.iter(f"{SVG}polyline")) == []
    assert root.find(f"{SVG}desc").text == "暂无数据"  # type: ignore[union-attr]
    assert "暂无数据" in [e.text for e in root.iter(f"{SVG}text")]


def dots() -> list[Dot]:
    return [
        Dot(30.0, 120.0, "#c62828", '<A&B "店">', "/catering/restaurants/R1"),
        Dot(30.2, 120.2, "#2e7d32", "乙", "/catering/restaurants/R2"),
        Dot(30.1, 120.1, "#757575", "丙", "/catering/restaurants/R3"),
    ]


def test_the_map_places_one_linked_circle_per_restaurant() -> None:
    legend = [LegendEntry("#c62828", "告警中", 1), LegendEntry("#2e7d32", "优秀 ≥ 90", 1)]
    svg = layout_map(dots(), legend)
    root = parse(svg)
    links = list(root.iter(f"{SVG}a"))
    assert [a.get("href") for a in links] == [f"/catering/restaurants/R{n}" for n in (1, 2, 3)]
    circles = [a.find(f"{SVG}circle") for a in links]
    assert [c.get("fill") for c in circles] == ["#c62828", "#2e7d32", "#757575"]  # type: ignore[union-attr]
    # the lat span 0.2 is wider than the lon span 0.2 × cos(30.1°): scale = 752 / 0.2
    coords = [(c.get("cx"), c.get("cy")) for c in circles]  # type: ignore[union-attr]
    assert coords == [("74.7", "776"), ("725.3", "24"), ("400", "400")]
    assert root.get("viewBox") == "0 0 800 864"  # 752 + 2 × 24 + the legend's 64
    titles = [c.find(f"{SVG}title").text for c in circles]  # type: ignore[union-attr]
    assert titles[0] == '<A&B "店">'
    assert "&lt;A&amp;B &quot;店&quot;&gt;" in svg and '<A&B "' not in svg
    legend_texts = [t.text for t in root.find(f"{SVG}g").iter(f"{SVG}text")]  # type: ignore[union-attr]
    assert legend_texts == ["告警中（1）", "优秀 ≥ 90（1）"]


def test_the_map_is_deterministic_and_copes_with_one_or_no_restaurant() -> None:
    assert layout_map(dots(), []) == layout_map(dots(), [])
    one = parse(layout_map([dots()[1]], []))
    (circle,) = one.iter(f"{SVG}circle")
    assert (circle.get("cx"), circle.get("cy")) == ("400", "400")  # the middle of its box
    empty = parse(layout_map([], [LegendEntry("#757575", "暂无评分", 0)]))
    assert list(empty.iter(f"{SVG}a")) == []
    assert "暂无定位的餐饮单位" in [e.text for e in empty.iter(f"{SVG}text")]
