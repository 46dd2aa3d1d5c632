"""Drawing a department e-seal (电子印章) image.

The image is only what a person sees on a rendered document; what a court relies on is the
signed :class:`signing.seal.SealRecord` behind it.

Drawing follows the usual layout of a Chinese official seal (GA 241): a thick red ring, the
department name along the upper arc with each character turned to the arc, a solid five-pointed
star in the centre, an optional purpose line (e.g. 电子证据专用章) under the star, and the
13-digit seal code along the lower arc. The image is deterministic for the same inputs, font file
and Pillow version.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from signing.errors import SigningError
from signing.fonts import FontNotFoundError, default_cjk_font

__all__ = [
    "DEFAULT_SEAL_COLOR",
    "MAX_SEAL_SIZE_PX",
    "RGB",
    "SEAL_DIAMETER_MM",
    "MissingGlyphError",
    "SealImageError",
    "render_seal",
]

RGB = tuple[int, int, int]

DEFAULT_SEAL_COLOR: RGB = (200, 16, 46)
SEAL_DIAMETER_MM = 42.0
"""GA 241: state-organ department seals are 40-42 mm across; the PNG's dpi is set to match."""
MAX_SEAL_SIZE_PX = 4096
_SUPERSAMPLE = 2


class SealImageError(SigningError):
    """A seal or page image is unusable: not a PNG, too large, or bad drawing parameters."""


class MissingGlyphError(SealImageError):
    """The seal font has no glyph for a character of the text to draw."""


# --------------------------------------------------------------------------- fonts


def _load_font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(str(path), size)
    except OSError as exc:
        raise FontNotFoundError(f"cannot load seal font {path}: {exc}") from exc


def _check_covers(font: ImageFont.FreeTypeFont, text: str, path: Path) -> None:
    """Refuse to draw tofu: every character must have a glyph that is not the .notdef box."""
    missing_box = font.getmask("\U0010fffd").getbbox()
    for char in text:
        if char.isspace():
            continue
        if font.getmask(char).getbbox() == missing_box:
            raise MissingGlyphError(f"the seal font has no glyph for {char!r} (U+{ord(char):04X})")


# --------------------------------------------------------------------------- drawing


def _glyph_tile(
    font: ImageFont.FreeTypeFont, char: str, *, height: int, width: int, stroke: int
) -> Image.Image:
    """One character as an ``L`` mask scaled to ``width`` x ``height`` (seal glyphs are narrow)."""
    left, top, right, bottom = (int(v) for v in font.getbbox(char, stroke_width=stroke))
    tile = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(tile).text(
        (-left, -top), char, font=font, fill=255, stroke_width=stroke, stroke_fill=255
    )
    return tile.resize((max(1, width), max(1, height)), Image.Resampling.LANCZOS)


def _paste_rotated(
    canvas: Image.Image, tile: Image.Image, *, center: tuple[float, float], clockwise_deg: float
) -> None:
    rotated = tile.rotate(-clockwise_deg, resample=Image.Resampling.BICUBIC, expand=True)
    x = round(center[0] - rotated.width / 2)
    y = round(center[1] - rotated.height / 2)
    canvas.paste(255, (x, y), rotated)


def _arc_text(
    canvas: Image.Image,
    font: ImageFont.FreeTypeFont,
    text: str,
    *,
    radius: float,
    span_deg: float,
    glyph_height: int,
    max_aspect: float,
    stroke: int,
    lower: bool,
) -> None:
    """Spread ``text`` evenly over ``span_deg`` centred on the top (or bottom) of the circle.

    Upper-arc characters stand with their tops outward; lower-arc ones with tops toward the
    centre; both read left to right.
    """
    cx, cy = canvas.width / 2, canvas.height / 2
    n = len(text)
    step = span_deg / n
    chord = 2 * radius * math.sin(math.radians(step) / 2)
    width = int(min(glyph_height * max_aspect, chord * 0.92))
    for i, char in enumerate(text):
        offset = -span_deg / 2 + step * (i + 0.5)  # degrees, left to right as read
        if char.isspace():
            continue
        tile = _glyph_tile(font, char, height=glyph_height, width=width, stroke=stroke)
        if lower:
            angle = 180.0 - offset  # clockwise from 12 o'clock
            tilt = -offset
        else:
            angle = offset
            tilt = offset
        rad = math.radians(angle)
        center = (cx + radius * math.sin(rad), cy - radius * math.cos(rad))
        _paste_rotated(canvas, tile, center=center, clockwise_deg=tilt)


def _star(radius_outer: float, center: tuple[float, float]) -> list[tuple[float, float]]:
    """The ten vertices of a regular five-pointed star, one point straight up."""
    inner = radius_outer * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for k in range(10):
        r = radius_outer if k % 2 == 0 else inner
        a = math.radians(-90 + 36 * k)
        points.append((center[0] + r * math.cos(a), center[1] + r * math.sin(a)))
    return points


def render_seal(
    *,
    department_name: str,
    seal_code: str,
    purpose: str | None = None,
    size_px: int = 1024,
    color: RGB = DEFAULT_SEAL_COLOR,
    font_path: Path | str | None = None,
    diameter_mm: float = SEAL_DIAMETER_MM,
) -> bytes:
    """Draw the seal as RGBA PNG bytes: transparent outside the ink, ``color`` where inked.

    ``seal_code`` goes on the lower arc (the 13-digit registration code, or any short text);
    ``purpose``, if given, is a horizontal line under the star. The PNG carries a dpi such that
    it prints ``diameter_mm`` wide (``size_px`` 1024 at 42 mm is about 619 dpi).
    """
    name = department_name.strip()
    code = seal_code.strip()
    if not name:
        raise SealImageError("department_name is empty")
    if not 64 <= size_px <= MAX_SEAL_SIZE_PX:
        raise SealImageError(f"size_px must be within 64..{MAX_SEAL_SIZE_PX}")
    if len(name) > 24 or len(code) > 24 or (purpose is not None and len(purpose) > 12):
        raise SealImageError("seal text too long: name/code at most 24, purpose 12 characters")
    if len(color) != 3 or any(not 0 <= c <= 255 for c in color):
        raise SealImageError("color must be an (r, g, b) triple of 0..255")
    path = Path(font_path) if font_path is not None else default_cjk_font()

    side = size_px * _SUPERSAMPLE
    R = side / 2 * 0.98  # outer edge of the ring
    c = side / 2
    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)

    ring = round(R * 0.075)
    draw.ellipse((c - R, c - R, c + R, c + R), outline=255, width=ring)

    name_height = round(R * (0.28 if len(name) <= 12 else 0.22))
    name_font = _load_font(path, name_height)
    _check_covers(name_font, name + code + (purpose or ""), path)
    _arc_text(
        mask,
        name_font,
        name,
        radius=R - ring - R * 0.045 - name_height / 2,
        span_deg=min(250.0, 50.0 + 20.0 * len(name)),
        glyph_height=name_height,
        max_aspect=0.86,
        stroke=max(1, round(name_height * 0.035)),
        lower=False,
    )

    star_r = R * 0.31
    star_center = (c, c - R * 0.02)
    draw.polygon(_star(star_r, star_center), fill=255)

    if purpose:
        purpose_height = round(R * 0.15)
        purpose_font = _load_font(path, purpose_height)
        stroke = max(1, round(purpose_height * 0.03))
        tiles = [
            _glyph_tile(
                purpose_font,
                ch,
                height=purpose_height,
                width=round(purpose_height * 0.85),
                stroke=stroke,
            )
            for ch in purpose
        ]
        gap = purpose_height * 0.08
        total = sum(t.width for t in tiles) + gap * (len(tiles) - 1)
        x = c - total / 2
        y = c + R * 0.47
        for tile in tiles:
            _paste_rotated(mask, tile, center=(x + tile.width / 2, y), clockwise_deg=0.0)
            x += tile.width + gap

    if code:
        code_height = round(R * 0.10)
        code_font = _load_font(path, code_height)
        _arc_text(
            mask,
            code_font,
            code,
            radius=R - ring - R * 0.04 - code_height / 2,
            span_deg=min(110.0, 6.0 * len(code) + 4.0),
            glyph_height=code_height,
            max_aspect=0.62,
            stroke=max(1, round(code_height * 0.02)),
            lower=True,
        )

    alpha = mask.resize((size_px, size_px), Image.Resampling.LANCZOS)
    image = Image.new("RGBA", (size_px, size_px), (*color, 0))
    image.putalpha(alpha)
    dpi = size_px * 25.4 / diameter_mm
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi), optimize=False)
    return out.getvalue()
