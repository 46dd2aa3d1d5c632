"""Pictures of evidence relation graphs (证据关系网络图谱) as SVG and PNG.

Pure: nodes and edges in, bytes out; the only I/O is reading the CJK font for the PNG. The layout is
deterministic and independent of input order, so the same graph always yields the same bytes: the
centre node sits in the middle of the plot area and every other node on a ring by its undirected hop
distance from the centre (nodes not connected to the centre on one extra outer ring). On each ring
nodes are spread evenly, sorted by (kind in legend order, label, id). Node kinds differ in colour
*and* shape, so the picture still reads in greyscale. Labels are user text: control and bidi
characters are replaced, long labels truncated, and everything is XML-escaped in the SVG.
"""

from __future__ import annotations

import math
import unicodedata
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Literal, get_args
from xml.sax.saxutils import escape, quoteattr

from PIL import Image, ImageDraw, ImageFont

from evidence_service.cases.graph import EdgeKind, NodeKind
from signing.fonts import FontNotFoundError, default_cjk_font

MAX_NODES = 300
MAX_LABEL_CHARS = 24
MIN_WIDTH, MIN_HEIGHT = 480, 360
MAX_SIDE = 4096
PNG_SUPERSAMPLE = 2  # draw at 2x and reduce: Pillow itself does not anti-alias shapes
SVG_FONT_FAMILY = "Noto Sans SC, Noto Serif SC, Microsoft YaHei, SimSun, sans-serif"
TITLE = "证据关系网络图谱"

_TITLE_HEIGHT = 52
_LEGEND_WIDTH = 236
_MARGIN = 14
_BACKGROUND = "#ffffff"
_INK = "#222222"
_HALO = "#ffd54a"
Shape = Literal["rect", "hexagon", "circle", "diamond", "triangle", "octagon"]


@dataclass(frozen=True)
class NodeStyle:
    colour: str
    outline: str
    shape: Shape
    name_zh: str


@dataclass(frozen=True)
class EdgeStyle:
    colour: str
    name_zh: str
    directed: bool


NODE_STYLES: Mapping[str, NodeStyle] = {
    "evidence": NodeStyle("#1f77b4", "#0f3c5c", "rect", "证据"),
    "case": NodeStyle("#d62728", "#6b1414", "hexagon", "案件"),
    "party": NodeStyle("#2ca02c", "#165016", "circle", "当事人"),
    "place": NodeStyle("#ff7f0e", "#804007", "diamond", "地点"),
    "officer": NodeStyle("#9467bd", "#4a345e", "triangle", "执法人员"),
    "cause": NodeStyle("#7f7f7f", "#3f3f3f", "octagon", "案由"),
}
EDGE_STYLES: Mapping[str, EdgeStyle] = {
    "belongs_to_case": EdgeStyle("#b85450", "属于案件", True),
    "concerns_party": EdgeStyle("#4f8a4f", "涉及当事人", True),
    "case_at_place": EdgeStyle("#d9a441", "案发地点", True),
    "captured_at_place": EdgeStyle("#c77c2e", "采集地点", True),
    "captured_by": EdgeStyle("#7d62a0", "采集人", True),
    "about_cause": EdgeStyle("#7a7a7a", "涉及案由", True),
    "transcript_of": EdgeStyle("#3d7ab8", "笔录", True),
    "derived_from": EdgeStyle("#2f8f8f", "派生自", True),
    "corroborates": EdgeStyle("#a0522d", "相互印证", False),
}
_KIND_ORDER = {kind: index for index, kind in enumerate(get_args(NodeKind))}
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


@dataclass(frozen=True)
class GraphNode:
    id: str
    kind: NodeKind
    label: str

    def __post_init__(self) -> None:
        if self.kind not in NODE_STYLES:
            raise ValueError(f"node {self.id!r} has unknown kind {self.kind!r}")


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    kind: EdgeKind

    def __post_init__(self) -> None:
        if self.kind not in EDGE_STYLES:
            raise ValueError(
                f"edge {self.source!r}->{self.target!r} has unknown kind {self.kind!r}"
            )
        if self.source == self.target:
            raise ValueError(f"edge {self.kind} from {self.source!r} to itself")


@dataclass(frozen=True)
class GraphLayout:
    """Where everything goes; shared by both renderers so SVG and PNG agree."""

    width: int
    height: int
    origin: tuple[float, float]  # centre of the plot area, where the centre node sits
    nodes: tuple[GraphNode, ...]  # drawing order: by hop, then (kind, label, id)
    edges: tuple[GraphEdge, ...]  # drawing order: sorted
    positions: Mapping[str, tuple[float, float]]
    hops: Mapping[str, int]  # unreachable nodes get one more than the farthest reachable ring
    center: str
    node_radius: float
    font_size: int


def display_label(label: str) -> str:
    """User text made safe to show: one line, no control or bidi characters, at most 24 chars."""
    cleaned = []
    for char in label:
        if char in "\t\n\r":
            cleaned.append(" ")
        elif char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs", "Co", "Cn"):
            cleaned.append("\ufffd")
        else:
            cleaned.append(char)
    text = " ".join("".join(cleaned).split())
    return text if len(text) <= MAX_LABEL_CHARS else text[:MAX_LABEL_CHARS] + "…"


def _text_width(text: str, size: float) -> float:
    """Rough advance width: CJK characters are one em, most others a bit over half."""
    return size * sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.56 for c in text)


def plan_layout(
    nodes: Iterable[GraphNode],
    edges: Iterable[GraphEdge],
    *,
    center: str,
    width: int = 1200,
    height: int = 900,
) -> GraphLayout:
    """Check the graph and size, then place every node; raises ``ValueError`` naming the problem."""
    if not (MIN_WIDTH <= width <= MAX_SIDE and MIN_HEIGHT <= height <= MAX_SIDE):
        raise ValueError(
            f"picture size {width}x{height} outside {MIN_WIDTH}x{MIN_HEIGHT}..{MAX_SIDE}x{MAX_SIDE}"
        )
    by_id: dict[str, GraphNode] = {}
    for node in nodes:
        if node.id in by_id:
            raise ValueError(f"node {node.id!r} appears twice")
        by_id[node.id] = node
        if len(by_id) > MAX_NODES:
            raise ValueError(f"graph has more than {MAX_NODES} nodes; ask for fewer hops or nodes")
    if center not in by_id:
        raise ValueError(f"centre node {center!r} is not among the nodes")
    edge_list = sorted(edges, key=lambda e: (e.source, e.target, e.kind))
    neighbours: dict[str, list[str]] = {node_id: [] for node_id in by_id}
    for edge in edge_list:
        for end in (edge.source, edge.target):
            if end not in by_id:
                name = f"{edge.source!r}->{edge.target!r} ({edge.kind})"
                raise ValueError(f"edge {name} names unknown node {end!r}")
        neighbours[edge.source].append(edge.target)
        neighbours[edge.target].append(edge.source)

    hops = {center: 0}
    queue = deque([center])
    while queue:
        current = queue.popleft()
        for other in neighbours[current]:
            if other not in hops:
                hops[other] = hops[current] + 1
                queue.append(other)
    unreached = max(hops.values()) + 1
    for node_id in by_id:
        hops.setdefault(node_id, unreached)

    def order(node: GraphNode) -> tuple[int, int, str, str]:
        return hops[node.id], _KIND_ORDER[node.kind], node.label, node.id

    ordered = tuple(sorted(by_id.values(), key=order))
    count = len(ordered)
    node_radius = 18.0 if count <= 40 else max(7.0, 18.0 * math.sqrt(40 / count))
    font_size = 13 if count <= 40 else max(9, round(13 * (40 / count) ** 0.25))

    plot_right = width - _LEGEND_WIDTH - 2 * _MARGIN
    origin = (plot_right / 2, _TITLE_HEIGHT + (height - _TITLE_HEIGHT) / 2)
    reach = (height - _TITLE_HEIGHT) / 2 - node_radius - 1.6 * font_size
    aspect = max(1.0, (plot_right / 2 - 5 * font_size) / reach)  # labels are wide: use the width
    rings: dict[int, list[GraphNode]] = {}
    for node in ordered:
        rings.setdefault(hops[node.id], []).append(node)
    # Each ring would like to be long enough for its members' labels side by side and at least a
    # step out from the ring inside it. If that fits it is scaled up to fill the plot; if not, it
    # is averaged with even spacing, and a ring still too short alternates its members in and out.
    deepest, step = max(rings), 3.5 * node_radius + 3 * font_size
    needed, wanted = [0.0], [0.0]
    for ring in range(1, deepest + 1):
        labels = sum(
            _text_width(display_label(n.label), font_size) + font_size for n in rings[ring]
        )
        needed.append(labels / (math.pi * (1 + aspect)))  # ellipse circumference ~ pi (a + b)
        wanted.append(max(wanted[-1] + step, needed[-1]))
    if deepest == 0:
        radii = [0.0]
    elif wanted[-1] <= reach:
        radii = [reach * w / wanted[-1] for w in wanted]
    else:
        radii = [reach * (w / wanted[-1] + k / deepest) / 2 for k, w in enumerate(wanted)]
    positions: dict[str, tuple[float, float]] = {center: origin}
    for ring in range(1, deepest + 1):
        members, radius = rings[ring], radii[ring]
        inner = radius - radii[ring - 1]
        outer = radii[ring + 1] - radius if ring < deepest else inner
        stagger = min(0.22 * min(inner, outer), 2 * node_radius) if radius < needed[ring] else 0.0
        radius -= stagger if ring == deepest else 0.0  # the outer ring staggers inwards only
        for index, node in enumerate(members):
            angle = -math.pi / 2 + 2 * math.pi * (index + 0.5 * (ring % 2)) / len(members)
            r = radius + (stagger if index % 2 else -stagger)
            positions[node.id] = (
                origin[0] + aspect * r * math.cos(angle),
                origin[1] + r * math.sin(angle),
            )
    return GraphLayout(
        width=width,
        height=height,
        origin=origin,
        nodes=ordered,
        edges=tuple(edge_list),
        positions=positions,
        hops=hops,
        center=center,
        node_radius=node_radius,
        font_size=font_size,
    )


def shape_points(shape: Shape, x: float, y: float, r: float) -> list[tuple[float, float]]:
    """Polygon corners of a node shape around (x, y); a circle is given by its bounding box."""
    if shape == "rect":
        w, h = 1.25 * r, 0.85 * r
        return [(x - w, y - h), (x + w, y - h), (x + w, y + h), (x - w, y + h)]
    if shape == "circle":
        return [(x - r, y - r), (x + r, y + r)]
    corners, size, turn = {
        "hexagon": (6, 1.12 * r, 0.0),
        "diamond": (4, 1.3 * r, -math.pi / 2),
        "triangle": (3, 1.35 * r, -math.pi / 2),
        "octagon": (8, 1.08 * r, math.pi / 8),
    }[shape]
    return [
        (x + size * math.cos(turn + 2 * math.pi * k / corners),
         y + size * math.sin(turn + 2 * math.pi * k / corners))
        for k in range(corners)
    ]  # fmt: skip


@dataclass(frozen=True)
class _EdgeGeometry:
    edge: GraphEdge
    start: tuple[float, float]
    end: tuple[float, float]
    label_at: tuple[float, float]


def _edge_geometry(layout: GraphLayout) -> list[_EdgeGeometry]:
    """Lines clipped to the node outlines; parallel edges share the line, labels fan out."""
    pair_count: dict[frozenset[str], int] = {}
    for edge in layout.edges:
        pair = frozenset((edge.source, edge.target))
        pair_count[pair] = pair_count.get(pair, 0) + 1
    seen: dict[frozenset[str], int] = {}
    result = []
    clip = 1.3 * layout.node_radius
    for edge in layout.edges:
        pair = frozenset((edge.source, edge.target))
        index = seen.get(pair, 0)
        seen[pair] = index + 1
        (x1, y1), (x2, y2) = layout.positions[edge.source], layout.positions[edge.target]
        length = math.hypot(x2 - x1, y2 - y1)
        ux, uy = ((x2 - x1) / length, (y2 - y1) / length) if length else (0.0, 0.0)
        cut = clip if length > 2 * clip + 4 else 0.0
        start = (x1 + ux * cut, y1 + uy * cut)
        end = (x2 - ux * (cut + 2), y2 - uy * (cut + 2))
        shift = (index - (pair_count[pair] - 1) / 2) * (layout.font_size + 2)
        label_at = ((x1 + x2) / 2 - uy * shift, (y1 + y2) / 2 + ux * shift)
        result.append(_EdgeGeometry(edge, start, end, label_at))
    return result


@dataclass(frozen=True)
class _LegendRow:
    role: Literal["heading", "node", "edge"]
    kind: str
    text: str
    baseline: float


def _legend(layout: GraphLayout) -> tuple[tuple[float, float, float, float], list[_LegendRow]]:
    """The legend box (left, top, right, bottom) in the top-right corner and its rows.

    Every node kind is listed; edge kinds only when the picture has such an edge.
    """
    left, top = layout.width - _LEGEND_WIDTH - _MARGIN, float(_TITLE_HEIGHT)
    baseline = top + 24
    rows = [_LegendRow("heading", "", "图例 Legend", baseline)]
    for kind, node_style in NODE_STYLES.items():
        baseline += 22
        rows.append(_LegendRow("node", kind, f"{node_style.name_zh} {kind}", baseline))
    used = {edge.kind for edge in layout.edges}
    if used:
        baseline += 32
        rows.append(_LegendRow("heading", "", "关系 Relations", baseline))
    for kind, edge_style in EDGE_STYLES.items():
        if kind in used:
            baseline += 22
            rows.append(_LegendRow("edge", kind, f"{edge_style.name_zh} {kind}", baseline))
    return (left, top, left + _LEGEND_WIDTH, baseline + 14), rows


def _title(layout: GraphLayout, by_id: Mapping[str, GraphNode]) -> str:
    return f"{TITLE} — {display_label(by_id[layout.center].label)}"


# --- SVG --------------------------------------------------------------------------------


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _svg_shape(style: NodeStyle, x: float, y: float, r: float, css_class: str) -> str:
    paint = f'class="{css_class}" fill="{style.colour}" stroke="{style.outline}" stroke-width="1.5"'
    points = shape_points(style.shape, x, y, r)
    if style.shape == "circle":
        return f'<circle {paint} cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}"/>'
    if style.shape == "rect":
        (left, top), (right, bottom) = points[0], points[2]
        return (
            f'<rect {paint} x="{_n(left)}" y="{_n(top)}" width="{_n(right - left)}" '
            f'height="{_n(bottom - top)}" rx="{_n(r / 5)}"/>'
        )
    joined = " ".join(f"{_n(px)},{_n(py)}" for px, py in points)
    return f'<polygon {paint} points="{joined}"/>'


def _svg_text(x: float, y: float, text: str, size: int, anchor: str, css_class: str) -> str:
    return (
        f'<text class="{css_class}" x="{_n(x)}" y="{_n(y)}" font-size="{size}" '
        f'text-anchor="{anchor}" fill="{_INK}" stroke="{_BACKGROUND}" stroke-width="3" '
        f'paint-order="stroke">{escape(text)}</text>'
    )


def render_svg(
    nodes: Sequence[GraphNode],
    edges: Sequence[GraphEdge],
    *,
    center: str,
    width: int = 1200,
    height: int = 900,
) -> bytes:
    """The graph as a UTF-8 SVG document; raises ``ValueError`` for a graph it cannot draw."""
    layout = plan_layout(nodes, edges, center=center, width=width, height=height)
    by_id = {node.id: node for node in layout.nodes}
    r, fs = layout.node_radius, layout.font_size
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family={quoteattr(SVG_FONT_FAMILY)}>',
        f"<title>{escape(_title(layout, by_id))}</title>",
        "<defs>",
    ]
    for kind, edge_style in EDGE_STYLES.items():
        out.append(
            f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="10" refY="5" '
            'markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{edge_style.colour}"/></marker>'
        )
    out += [
        "</defs>",
        f'<rect class="background" width="{width}" height="{height}" fill="{_BACKGROUND}"/>',
        _svg_text(_MARGIN, 34, _title(layout, by_id), 20, "start", "title"),
    ]
    geometry = _edge_geometry(layout)
    out.append('<g class="edges">')
    for item in geometry:
        style = EDGE_STYLES[item.edge.kind]
        arrow = f' marker-end="url(#arrow-{item.edge.kind})"' if style.directed else ""
        out.append(
            f'<line class="edge" data-kind="{item.edge.kind}" '
            f"data-source={quoteattr(item.edge.source)} data-target={quoteattr(item.edge.target)} "
            f'x1="{_n(item.start[0])}" y1="{_n(item.start[1])}" '
            f'x2="{_n(item.end[0])}" y2="{_n(item.end[1])}" '
            f'stroke="{style.colour}" stroke-width="1.4"{arrow}/>'
        )
    for item in geometry:
        x, y = item.label_at
        name = EDGE_STYLES[item.edge.kind].name_zh
        out.append(_svg_text(x, y + fs / 3, name, max(8, fs - 3), "middle", "edge-label"))
    out += ["</g>", '<g class="nodes">']
    cx, cy = layout.positions[layout.center]
    out.append(f'<circle class="center-halo" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(1.9 * r)}" '
               f'fill="{_HALO}" fill-opacity="0.55"/>')  # fmt: skip
    for node in layout.nodes:
        x, y = layout.positions[node.id]
        out.append(
            f'<g class="node" data-id={quoteattr(node.id)} data-kind="{node.kind}" '
            f'data-hops="{layout.hops[node.id]}" data-x="{_n(x)}" data-y="{_n(y)}">'
            f"{_svg_shape(NODE_STYLES[node.kind], x, y, r, 'node-shape')}</g>"
        )
    for node in layout.nodes:
        x, y = layout.positions[node.id]
        label = _svg_text(
            x, y + 1.4 * r + fs, display_label(node.label), fs, "middle", "node-label"
        )
        out.append(label.replace("<text ", f"<text data-id={quoteattr(node.id)} ", 1))
    out += ["</g>", *_svg_legend(layout), "</svg>", ""]
    return "\n".join(out).encode("utf-8")


def _svg_legend(layout: GraphLayout) -> list[str]:
    (left, top, right, bottom), rows = _legend(layout)
    out = [
        '<g class="legend">',
        f'<rect class="legend-box" x="{_n(left)}" y="{_n(top)}" width="{_n(right - left)}" '
        f'height="{_n(bottom - top)}" fill="#fafafa" stroke="#999999" rx="6"/>',
    ]
    for row in rows:
        if row.role == "heading":
            out.append(_svg_text(left + 12, row.baseline, row.text, 14, "start", "legend-title"))
            continue
        middle = row.baseline - 4
        if row.role == "node":
            out.append(_svg_shape(NODE_STYLES[row.kind], left + 24, middle, 7, "legend-swatch"))
        else:
            colour = EDGE_STYLES[row.kind].colour
            out.append(
                f'<path class="legend-swatch" d="M{_n(left + 12)},{_n(middle)} h24" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
        out.append(_svg_text(left + 44, row.baseline, row.text, 12, "start", "legend-entry"))
    out.append("</g>")
    return out


# --- PNG --------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size)
    except OSError as exc:
        raise FontNotFoundError(f"cannot load graph font {path}: {exc}") from exc


class _Canvas:
    """Pillow drawing in layout coordinates, scaled up for supersampling."""

    def __init__(self, width: int, height: int, font_file: str) -> None:
        self.scale = PNG_SUPERSAMPLE
        self.image = Image.new("RGB", (width * self.scale, height * self.scale), _BACKGROUND)
        self.draw = ImageDraw.Draw(self.image)
        self.font_file = font_file

    def at(self, points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x * self.scale, y * self.scale) for x, y in points]

    def text(self, x: float, y: float, content: str, size: int, anchor: str) -> None:
        self.draw.text(
            (x * self.scale, y * self.scale),
            content,
            font=_font(self.font_file, size * self.scale),
            fill=_INK,
            anchor=anchor,
            stroke_width=self.scale,
            stroke_fill=_BACKGROUND,
        )

    def shape(self, style: NodeStyle, x: float, y: float, r: float) -> None:
        points = self.at(shape_points(style.shape, x, y, r))
        fill, outline, width = style.colour, style.outline, round(1.5 * self.scale)
        if style.shape == "circle":
            self.draw.ellipse(points, fill=fill, outline=outline, width=width)
        elif style.shape == "rect":
            corner = r / 5 * self.scale
            box = [points[0], points[2]]
            self.draw.rounded_rectangle(box, corner, fill=fill, outline=outline, width=width)
        else:
            self.draw.polygon(points, fill=fill, outline=outline, width=width)

    def arrow(self, start: tuple[float, float], end: tuple[float, float], colour: str) -> None:
        length = math.hypot(end[0] - start[0], end[1] - start[1]) or 1.0
        ux, uy = (end[0] - start[0]) / length, (end[1] - start[1]) / length
        back = (end[0] - 9 * ux, end[1] - 9 * uy)
        wing = (-uy * 4.5, ux * 4.5)
        head = [end, (back[0] + wing[0], back[1] + wing[1]), (back[0] - wing[0], back[1] - wing[1])]
        self.draw.polygon(self.at(head), fill=colour)

    def png(self) -> bytes:
        buffer = BytesIO()
        self.image.reduce(self.scale).save(buffer, format="PNG")
        return buffer.getvalue()


def render_png(
    nodes: Sequence[GraphNode],
    edges: Sequence[GraphEdge],
    *,
    center: str,
    width: int = 1200,
    height: int = 900,
    font_path: Path | None = None,
) -> bytes:
    """The same picture as :func:`render_svg`, drawn with Pillow, as PNG bytes.

    Text uses ``font_path`` or else :func:`signing.fonts.default_cjk_font` (which raises
    ``FontNotFoundError`` when no CJK font is installed). Raises ``ValueError`` like the SVG.
    """
    layout = plan_layout(nodes, edges, center=center, width=width, height=height)
    by_id = {node.id: node for node in layout.nodes}
    canvas = _Canvas(width, height, str(font_path or default_cjk_font()))
    r, fs = layout.node_radius, layout.font_size
    canvas.text(_MARGIN, 34, _title(layout, by_id), 20, "ls")
    geometry = _edge_geometry(layout)
    for item in geometry:
        style = EDGE_STYLES[item.edge.kind]
        canvas.draw.line(canvas.at([item.start, item.end]), fill=style.colour, width=3)
        if style.directed:
            canvas.arrow(item.start, item.end, style.colour)
    for item in geometry:
        x, y = item.label_at
        canvas.text(x, y + fs / 3, EDGE_STYLES[item.edge.kind].name_zh, max(8, fs - 3), "ms")
    cx, cy = layout.positions[layout.center]
    canvas.draw.ellipse(canvas.at([(cx - 1.9 * r, cy - 1.9 * r), (cx + 1.9 * r, cy + 1.9 * r)]),
                        fill="#ffe9a6")  # fmt: skip
    for node in layout.nodes:
        canvas.shape(NODE_STYLES[node.kind], *layout.positions[node.id], r)
    for node in layout.nodes:
        x, y = layout.positions[node.id]
        canvas.text(x, y + 1.4 * r + fs, display_label(node.label), fs, "ms")
    (left, top, right, bottom), rows = _legend(layout)
    canvas.draw.rounded_rectangle(canvas.at([(left, top), (right, bottom)]), radius=12,
                                  fill="#fafafa", outline="#999999", width=2)  # fmt: skip
    for row in rows:
        if row.role == "heading":
            canvas.text(left + 12, row.baseline, row.text, 14, "ls")
            continue
        middle = row.baseline - 4
        if row.role == "node":
            canvas.shape(NODE_STYLES[row.kind], left + 24, middle, 7)
        else:
            line = [(left + 12, middle), (left + 36, middle)]
            canvas.draw.line(canvas.at(line), fill=EDGE_STYLES[row.kind].colour, width=4)
        canvas.text(left + 44, row.baseline, row.text, 12, "ls")
    return canvas.png()
