"""Rendering a validated site-survey diagram to PNG with Pillow.

Layout, top to bottom: a header band with the title and a north arrow, the drawing (the canvas
scaled so its longer side is :data:`~.limits.DIAGRAM_RENDER_LONG_SIDE` pixels, framed), and a
footer with a scale bar and the legend. Shapes are drawn on a separate image of the drawing's size
and pasted in, so nothing spills outside the frame. Output size depends only on the canvas and
the number of legend entries (see :func:`layout_for`).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from evidence_service.capture.ports.limits import DIAGRAM_RENDER_LONG_SIDE
from signing.fonts import Font, FontBook

MARGIN = 40
MIN_WIDTH = 480
HEADER_HEIGHT = 96
FOOTER_HEIGHT = 72
LEGEND_LINE_HEIGHT = 24

TITLE_SIZE = 28
LABEL_SIZE = 14
DEFAULT_TEXT_SIZE = 14
MIN_TEXT_SIZE, MAX_TEXT_SIZE = 8, 200
STROKE = 3
MARKER_RADIUS = 9
DASH, GAP = 12, 8

INK = (17, 17, 17)
LABEL_INK = (40, 40, 40)
FRAME = (160, 160, 160)
MARKER_INK = (200, 30, 30)
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class DiagramLayout:
    pixels_per_unit: float
    drawing_width: int
    drawing_height: int
    width: int
    height: int

    @property
    def drawing_origin(self) -> tuple[int, int]:
        return ((self.width - self.drawing_width) // 2, HEADER_HEIGHT)


def layout_for(canvas_width: int, canvas_height: int, legend_entries: int = 0) -> DiagramLayout:
    """Where everything goes for a canvas of this size (in canvas units)."""
    scale = DIAGRAM_RENDER_LONG_SIDE / max(canvas_width, canvas_height)
    drawing_width = max(1, round(canvas_width * scale))
    drawing_height = max(1, round(canvas_height * scale))
    return DiagramLayout(
        pixels_per_unit=scale,
        drawing_width=drawing_width,
        drawing_height=drawing_height,
        width=max(drawing_width + 2 * MARGIN, MIN_WIDTH),
        height=HEADER_HEIGHT + drawing_height + FOOTER_HEIGHT + LEGEND_LINE_HEIGHT * legend_entries,
    )


def render_diagram_png(diagram: dict[str, Any], fonts: FontBook) -> bytes:
    """The diagram as PNG bytes. ``diagram`` must have passed ``validate_diagram``."""
    canvas = diagram["canvas"]
    legend = diagram.get("legend", [])
    layout = layout_for(canvas["width"], canvas["height"], len(legend))
    page = Image.new("RGB", (layout.width, layout.height), WHITE)
    drawing = Image.new("RGB", (layout.drawing_width, layout.drawing_height), WHITE)
    painter = _ShapePainter(ImageDraw.Draw(drawing), layout.pixels_per_unit, fonts)
    for shape in diagram["shapes"]:
        painter.paint(shape)
    page.paste(drawing, layout.drawing_origin)

    draw = ImageDraw.Draw(page)
    x0, y0 = layout.drawing_origin
    draw.rectangle(
        (x0 - 1, y0 - 1, x0 + layout.drawing_width, y0 + layout.drawing_height), outline=FRAME
    )
    _draw_title(draw, diagram["title"], layout, fonts)
    _draw_north_arrow(draw, diagram["north"]["angle_degrees"], layout, fonts)
    footer_top = y0 + layout.drawing_height
    _draw_scale_bar(draw, diagram["scale"]["metres_per_unit"], layout, footer_top, fonts)
    for index, entry in enumerate(legend):
        y = footer_top + FOOTER_HEIGHT + index * LEGEND_LINE_HEIGHT
        _text(draw, (x0, y), f"{entry['symbol']}:  {entry['text']}", fonts.at(LABEL_SIZE))

    out = io.BytesIO()
    page.save(out, format="PNG", optimize=False)
    return out.getvalue()


class _ShapePainter:
    def __init__(self, draw: ImageDraw.ImageDraw, scale: float, fonts: FontBook) -> None:
        self._draw = draw
        self._scale = scale
        self._fonts = fonts

    def _px(self, x: float, y: float) -> tuple[float, float]:
        return (x * self._scale, y * self._scale)

    def paint(self, shape: dict[str, Any]) -> None:
        color = _rgb(shape.get("color"))
        kind = shape["kind"]
        label_at: tuple[float, float]
        draw = self._draw
        if kind == "line":
            start, end = self._px(shape["x1"], shape["y1"]), self._px(shape["x2"], shape["y2"])
            if shape.get("dashed"):
                _dashed_line(draw, start, end, color)
            else:
                draw.line((start, end), fill=color, width=STROKE)
            label_at = ((start[0] + end[0]) / 2 + 4, (start[1] + end[1]) / 2 + 4)
        elif kind == "rect":
            left, top = self._px(shape["x"], shape["y"])
            right = left + shape["width"] * self._scale
            bottom = top + shape["height"] * self._scale
            draw.rectangle((left, top, right, bottom), outline=color, width=STROKE)
            label_at = (left + 5, top + 5)
        elif kind == "circle":
            cx, cy = self._px(shape["cx"], shape["cy"])
            r = shape["r"] * self._scale
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=color, width=STROKE)
            label_at = (cx + 4, cy + 4)
        elif kind == "polygon":
            points = [self._px(x, y) for x, y in shape["points"]]
            draw.polygon(points, outline=color, width=STROKE)
            label_at = (
                sum(x for x, _ in points) / len(points),
                sum(y for _, y in points) / len(points),
            )
        elif kind == "text":
            size = round(shape.get("size", DEFAULT_TEXT_SIZE / self._scale) * self._scale)
            size = min(max(size, MIN_TEXT_SIZE), MAX_TEXT_SIZE)
            at = self._px(shape["x"], shape["y"])
            _text(draw, at, shape["text"], self._fonts.at(size), color)
            return
        else:  # marker
            cx, cy = self._px(shape["x"], shape["y"])
            r = MARKER_RADIUS
            marker_color = _rgb(shape.get("color"), MARKER_INK)
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=marker_color, outline=WHITE)
            label_at = (cx + r + 3, cy - r)
        if shape.get("label"):
            _text(draw, label_at, shape["label"], self._fonts.at(LABEL_SIZE), LABEL_INK)


def _dashed_line(
    draw: ImageDraw.ImageDraw,
    start: tuple[float, float],
    end: tuple[float, float],
    color: tuple[int, int, int],
) -> None:
    length = math.dist(start, end)
    if length == 0:
        return
    dx, dy = (end[0] - start[0]) / length, (end[1] - start[1]) / length
    position = 0.0
    while position < length:
        stop = min(position + DASH, length)
        draw.line(
            (
                (start[0] + dx * position, start[1] + dy * position),
                (start[0] + dx * stop, start[1] + dy * stop),
            ),
            fill=color,
            width=STROKE,
        )
        position = stop + GAP


def _draw_title(
    draw: ImageDraw.ImageDraw, title: str, layout: DiagramLayout, fonts: FontBook
) -> None:
    font = fonts.at(TITLE_SIZE)
    room = layout.width - 2 * MARGIN - 80  # leave space for the north arrow
    shown = title
    if _text_width(draw, shown, font) > room:
        while shown and _text_width(draw, shown + "...", font) > room:
            shown = shown[:-1]
        shown += "..."
    _text(draw, (MARGIN, 30), shown, font)


def _draw_north_arrow(
    draw: ImageDraw.ImageDraw, angle_degrees: float, layout: DiagramLayout, fonts: FontBook
) -> None:
    """An arrow to north (``angle_degrees`` clockwise from up) with an "N" at its tip."""
    cx, cy, radius = layout.width - MARGIN - 24, 52, 22
    theta = math.radians(angle_degrees)
    ux, uy = math.sin(theta), -math.cos(theta)  # unit vector to north in image coordinates
    tip = (cx + ux * radius, cy + uy * radius)
    tail = (cx - ux * radius, cy - uy * radius)
    left = (cx - uy * 9 - ux * 8, cy + ux * 9 - uy * 8)
    right = (cx + uy * 9 - ux * 8, cy - ux * 9 - uy * 8)
    draw.line((tail, tip), fill=INK, width=2)
    draw.polygon((tip, left, right), fill=INK)
    letter = (cx + ux * (radius + 12), cy + uy * (radius + 12))
    draw.text(letter, "N", fill=INK, font=fonts.at(16), anchor="mm")


def _draw_scale_bar(
    draw: ImageDraw.ImageDraw,
    metres_per_unit: float,
    layout: DiagramLayout,
    top: int,
    fonts: FontBook,
) -> None:
    """A four-segment bar of a round length (1, 2 or 5 x 10^n metres), labelled."""
    metres_per_pixel = metres_per_unit / layout.pixels_per_unit
    target_pixels = max(layout.drawing_width / 4, 60)
    metres = _round_length(target_pixels * metres_per_pixel)
    bar = max(metres / metres_per_pixel, 4.0)
    x0, _ = layout.drawing_origin
    y = top + 22
    segment = bar / 4
    for index in range(4):
        left = x0 + index * segment
        fill = INK if index % 2 == 0 else WHITE
        draw.rectangle((left, y, left + segment, y + 8), fill=fill, outline=INK)
    font = fonts.at(LABEL_SIZE)
    _text(draw, (x0, y + 14), "0", font)
    length_label = _format_metres(metres)
    _text(draw, (x0 + bar - _text_width(draw, length_label, font) / 2, y + 14), length_label, font)


def _round_length(metres: float) -> float:
    """The largest 1, 2 or 5 x 10^n not above ``metres``."""
    exponent = math.floor(math.log10(metres))
    for step in (5, 2, 1):
        candidate = step * 10.0**exponent
        if candidate <= metres:
            return candidate
    return 10.0**exponent


def _format_metres(metres: float) -> str:
    if metres >= 1000:
        return f"{metres / 1000:g} km"
    if metres >= 1:
        return f"{metres:g} m"
    if metres >= 0.01:
        return f"{metres * 100:g} cm"
    return f"{metres * 1000:g} mm"


def _rgb(color: str | None, default: tuple[int, int, int] = INK) -> tuple[int, int, int]:
    if color is None:
        return default
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def _text_width(draw: ImageDraw.ImageDraw, text: str, font: Font) -> float:
    try:
        return draw.textlength(text, font=font)
    except UnicodeEncodeError:  # a bitmap font without Unicode support
        return draw.textlength(_latin1(text), font=font)


def _text(
    draw: ImageDraw.ImageDraw,
    at: tuple[float, float],
    text: str,
    font: Font,
    fill: tuple[int, int, int] = INK,
) -> None:
    """Text with a white halo, so labels stay readable over lines."""
    try:
        draw.text(at, text, fill=fill, font=font, stroke_width=2, stroke_fill=WHITE)
    except UnicodeEncodeError:  # a bitmap font without Unicode support
        draw.text(at, _latin1(text), fill=fill, font=font)


def _latin1(text: str) -> str:
    return text.encode("latin-1", errors="replace").decode("latin-1")
