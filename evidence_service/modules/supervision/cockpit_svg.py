"""The cockpit's charts as SVG drawn on the server: no script, no build step, text escaped.

Each function takes the figures :func:`indicators.cockpit` answers and returns one ``<svg>``
document (UTF-8 text, valid XML). Names come from departments and records, so every text node
and attribute is escaped; numbers are formatted by the code, never taken as text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

SVG_NS = "http://www.w3.org/2000/svg"
INDICATOR_NAMES: Mapping[str, str] = {
    "timeliness": "办案及时率",
    "evidence_completeness": "证据完备率",
    "clue_free": "无线索率",
    "correction": "整改率",
    "review_score": "案卷评查得分",
}
_BAR_H, _GAP, _LABEL_W, _BAR_W, _PAD = 18, 6, 180, 320, 10
_MAX_LABEL = 24


def _text(value: str) -> str:
    short = value if len(value) <= _MAX_LABEL else value[: _MAX_LABEL - 1] + "…"
    return escape(short, quote=True)


def _svg(width: int, height: int, title: str, body: Sequence[str]) -> str:
    head = (
        f'<svg xmlns="{SVG_NS}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="12">'
    )
    return "\n".join([head, f"<title>{escape(title)}</title>", *body, "</svg>"])


def _colour(value: float) -> str:
    """Red under 60, amber under 80, green above (the red-light convention)."""
    if value < 60:
        return "#c0392b"
    return "#d68910" if value < 80 else "#1e8449"


def composite_bars(rows: Sequence[Mapping[str, Any]], names: Mapping[str, str], title: str) -> str:
    """One horizontal bar per row: its composite score out of 100."""
    height = _PAD * 2 + max(1, len(rows)) * (_BAR_H + _GAP)
    width = _LABEL_W + _BAR_W + 60
    body = []
    for i, row in enumerate(rows):
        y = _PAD + i * (_BAR_H + _GAP)
        label = names.get(row["key"], row["key"]) or "（未填）"
        value = row["composite"]
        body.append(
            f'<text x="{_LABEL_W - 6}" y="{y + 13}" text-anchor="end">{_text(label)}</text>'
        )
        if value is None:
            body.append(f'<text x="{_LABEL_W}" y="{y + 13}" fill="#777">无数据</text>')
            continue
        length = round(_BAR_W * max(0.0, min(100.0, float(value))) / 100, 1)
        body.append(
            f'<rect x="{_LABEL_W}" y="{y}" width="{length}" height="{_BAR_H}" '
            f'fill="{_colour(float(value))}"/>'
        )
        body.append(f'<text x="{_LABEL_W + length + 4}" y="{y + 13}">{float(value):.1f}</text>')
    return _svg(width, height, title, body)


def indicator_bars(total: Mapping[str, Any], title: str) -> str:
    """The total's five indicators as bars, in percent."""
    values: Mapping[str, float | None] = total["indicators"]
    rows = [
        {"key": name, "composite": None if v is None else 100 * v} for name, v in values.items()
    ]
    return composite_bars(rows, INDICATOR_NAMES, title)


def gauge(value: float | None, title: str) -> str:
    """A half-circle gauge of the composite score (0–100)."""
    cx, cy, r = 110, 110, 90
    body = [
        f'<path d="M {cx - r} {cy} A {r} {r} 0 0 1 {cx + r} {cy}" fill="none" '
        'stroke="#ddd" stroke-width="18"/>'
    ]
    if value is not None:
        v = max(0.0, min(100.0, float(value)))
        angle = math.pi * (1 - v / 100)
        x, y = cx + r * math.cos(angle), cy - r * math.sin(angle)
        body.append(
            f'<path d="M {cx - r} {cy} A {r} {r} 0 0 1 {x:.1f} {y:.1f}" fill="none" '
            f'stroke="{_colour(v)}" stroke-width="18"/>'
        )
        shown = f"{v:.1f}"
    else:
        shown = "无数据"
    body.append(f'<text x="{cx}" y="{cy - 10}" text-anchor="middle" font-size="24">{shown}</text>')
    body.append(f'<text x="{cx}" y="{cy + 20}" text-anchor="middle">{escape(title)}</text>')
    return _svg(220, 140, title, body)
