"""Server-side SVG: a monitor's latest readings and the layout map (一张布局图). No tiles, no
script, no third-party files: the pages work offline.

Pure and deterministic: the same points give the same bytes (coordinates to one decimal), so
tests compare structure exactly. Every chart is an ``<svg role="img">`` labelled by its
``<title>`` and ``<desc>``; names are escaped (``<``, ``&``, ``"``); colours are presentation
attributes (the pages' Content-Security-Policy allows no inline style).

The map projects longitude and latitude equirectangularly over the restaurants' bounding box:
``x = lon × cos(mid-latitude)``, ``y = −lat``, padded, scaled to the width with the aspect
kept — exact enough for a district, where a map projection's error is far below a dot's size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

#: The chart's box and the plot area inside it.
CHART_W, CHART_H = 640, 240
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 48, 12, 16, 32
MAP_W = 800
MAP_PAD = 24
#: The smallest span of the map's box in degrees (one restaurant still gets a map).
MIN_SPAN_DEG = 0.01
DOT_R = 6
LINE_COLOUR, LIMIT_COLOUR, GRID_COLOUR, TEXT_COLOUR = "#1565c0", "#c62828", "#d0d7de", "#1f2328"


def _n(value: float) -> str:
    """A coordinate to one decimal, without a trailing ``.0`` or a negative zero."""
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def _nice_top(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value - 1e-12:
            return step * power
    return 10 * power  # pragma: no cover


def readings_chart(
    points: Sequence[tuple[datetime, float]],
    *,
    limit: float,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    title: str = "近 24 小时油烟浓度",
    element_id: str = "chart",
) -> str:
    """A line of ``points`` (time, mg/m³) from ``start`` to ``end`` with the limit as a dashed
    line, hour labels in ``tz`` every 6 hours and the concentration axis from 0. Without
    points the frame says so (``暂无数据``)."""
    width = CHART_W - PLOT_LEFT - PLOT_RIGHT
    height = CHART_H - PLOT_TOP - PLOT_BOTTOM
    span = max((end - start).total_seconds(), 1.0)
    inside = sorted((t, v) for t, v in points if start <= t <= end)
    top = _nice_top(max([limit * 1.25] + [v for _, v in inside]))

    def x(t: datetime) -> float:
        return PLOT_LEFT + width * (t - start).total_seconds() / span

    def y(v: float) -> float:
        return PLOT_TOP + height * (1 - max(0.0, v) / top)

    peak = max((v for _, v in inside), default=None)
    summary = (
        "暂无数据"
        if peak is None
        else f"{len(inside)} 个读数，最高 {peak:g} mg/m³，限值 {limit:g} mg/m³"
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_W} {CHART_H}" '
        f'width="100%" role="img" aria-labelledby="{element_id}-title {element_id}-desc" '
        f'class="chart" data-testid="readings-chart">',
        f'<title id="{element_id}-title">{escape(title)}</title>',
        f'<desc id="{element_id}-desc">{escape(summary)}</desc>',
    ]
    for k in range(5):
        value = top * k / 4
        gy = _n(y(value))
        out.append(
            f'<line x1="{PLOT_LEFT}" y1="{gy}" x2="{CHART_W - PLOT_RIGHT}" y2="{gy}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{PLOT_LEFT - 6}" y="{gy}" text-anchor="end" dominant-baseline="middle" '
            f'font-size="11" fill="{TEXT_COLOUR}">{value:g}</text>'
        )
    local = start.astimezone(tz)
    tick = local.replace(minute=0, second=0, microsecond=0)
    while tick < local or tick.hour % 6:
        tick += timedelta(hours=1)
    while tick <= end.astimezone(tz):
        tx = _n(x(tick))
        out.append(
            f'<text x="{tx}" y="{CHART_H - 10}" text-anchor="middle" font-size="11" '
            f'fill="{TEXT_COLOUR}">{tick:%H:%M}</text>'
        )
        tick += timedelta(hours=6)
    out.append(f'<text x="4" y="{PLOT_TOP - 4}" font-size="11" fill="{TEXT_COLOUR}">mg/m³</text>')
    ly = _n(y(limit))
    out.append(
        f'<line x1="{PLOT_LEFT}" y1="{ly}" x2="{CHART_W - PLOT_RIGHT}" y2="{ly}" '
        f'stroke="{LIMIT_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4" '
        f'data-testid="chart-limit"/>'
    )
    out.append(
        f'<text x="{CHART_W - PLOT_RIGHT}" y="{_n(y(limit) - 4)}" text-anchor="end" '
        f'font-size="11" fill="{LIMIT_COLOUR}">限值 {limit:g}</text>'
    )
    if inside:
        coords = " ".join(f"{_n(x(t))},{_n(y(v))}" for t, v in inside)
        out.append(
            f'<polyline points="{coords}" fill="none" stroke="{LINE_COLOUR}" '
            f'stroke-width="1.5" data-testid="chart-line"/>'
        )
    else:
        out.append(
            f'<text x="{PLOT_LEFT + width // 2}" y="{PLOT_TOP + height // 2}" '
            f'text-anchor="middle" font-size="14" fill="{TEXT_COLOUR}">暂无数据</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


@dataclass(frozen=True)
class Dot:
    """A restaurant on the map: where, what colour, and what its tooltip and link say."""

    lat: float
    lon: float
    colour: str
    label: str  # the <title>: name, score, alarm state
    href: str


@dataclass(frozen=True)
class LegendEntry:
    colour: str
    label: str
    count: int


def layout_map(
    dots: Sequence[Dot],
    legend: Sequence[LegendEntry],
    *,
    title: str = "餐饮单位布局图",
    width: int = MAP_W,
) -> str:
    """The dots placed by longitude and latitude (module docstring), each a link with its
    ``<title>``, and the legend below them."""
    legend_h = 24 * len(legend) + 16
    if dots:
        lats = [d.lat for d in dots]
        lons = [d.lon for d in dots]
        mid = (min(lats) + max(lats)) / 2
        cos_mid = math.cos(math.radians(mid))
        lat_span = max(max(lats) - min(lats), MIN_SPAN_DEG)
        lon_span = max((max(lons) - min(lons)) * cos_mid, MIN_SPAN_DEG)
        lat_top = mid + lat_span / 2
        lon_mid = (min(lons) + max(lons)) / 2
        scale = (width - 2 * MAP_PAD) / max(lon_span, lat_span)
        plot_h = round(lat_span * scale) + 2 * MAP_PAD
        x0 = width / 2
    else:
        plot_h = 120
    height = plot_h + legend_h
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        # a group, not an image: its dots are links (an image may hold nothing interactive)
        f'role="group" aria-labelledby="map-title map-desc" class="map" data-testid="layout-map">',
        f'<title id="map-title">{escape(title)}</title>',
        f'<desc id="map-desc">{len(dots)} 家餐饮单位按经纬度标注，颜色见图例</desc>',
        f'<rect x="0" y="0" width="{width}" height="{plot_h}" fill="#f6f8fa" '
        f'stroke="{GRID_COLOUR}"/>',
    ]
    if not dots:
        out.append(
            f'<text x="{width // 2}" y="{plot_h // 2}" text-anchor="middle" font-size="14" '
            f'fill="{TEXT_COLOUR}">暂无定位的餐饮单位</text>'
        )
    for dot in dots:
        cx = x0 + (dot.lon - lon_mid) * cos_mid * scale
        cy = MAP_PAD + (lat_top - dot.lat) * scale
        out.append(
            f'<a href="{escape(dot.href)}"><circle cx="{_n(cx)}" cy="{_n(cy)}" r="{DOT_R}" '
            f'fill="{dot.colour}" stroke="#ffffff" stroke-width="1.5">'
            f"<title>{escape(dot.label)}</title></circle></a>"
        )
    out.append(f'<g data-testid="map-legend" font-size="13" fill="{TEXT_COLOUR}">')
    for k, entry in enumerate(legend):
        ly = plot_h + 16 + 24 * k
        out.append(
            f'<circle cx="{MAP_PAD}" cy="{ly}" r="{DOT_R}" fill="{entry.colour}"/>'
            f'<text x="{MAP_PAD + 14}" y="{ly}" dominant-baseline="middle">'
            f"{escape(entry.label)}（{entry.count}）</text>"
        )
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
