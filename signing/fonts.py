"""The project's one CJK font module: which font draws Chinese text, and a sized-font cache.

Two lookups, for two needs:

- :func:`default_cjk_font` is the font seals and PDFs are drawn with: a fixed, short list (the
  packaged Noto Serif SC first), so that the same installation always draws the same glyphs.
  It raises :class:`FontNotFoundError`, naming what to install, when none is present.
- :func:`find_cjk_font` is a best-effort host lookup for diagrams (site-survey labels are mostly
  Chinese, and Pillow's built-in font has no CJK glyphs, so they come out as boxes): Noto CJK,
  Source Han, WenQuanYi, Droid Sans Fallback and the like in the usual places, then a scan of
  the font folders, then ``fc-list``. It returns ``None`` when nothing is found, and
  :class:`FontBook` then falls back to ``ImageFont.load_default(size=...)``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from PIL import ImageFont

from signing.errors import SigningError

__all__ = [
    "CJK_FONT_CANDIDATES",
    "Font",
    "FontBook",
    "FontNotFoundError",
    "default_cjk_font",
    "find_cjk_font",
]

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


class FontNotFoundError(SigningError):
    """No font able to draw the department name (a CJK font) could be found."""


# --------------------------------------------------------------------------- seals and PDFs


def _packaged_noto_serif_sc() -> Path | None:
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return None
    return Path(pylopdf_fonts_zh_cn.serif_path())


_DEBIAN_CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/ukai.ttc"),
)


def default_cjk_font() -> Path:
    """The CJK font seals are drawn with when no ``font_path`` is given.

    Looked up in this fixed order, first hit wins: Noto Serif SC from the ``pylopdf-fonts-zh-cn``
    dependency (SIL OFL 1.1); Debian's ``fonts-noto-cjk``, ``fonts-wqy-zenhei`` or
    ``fonts-arphic-ukai``. Raises
    :class:`FontNotFoundError` naming what to install when none is present.
    """
    candidates: list[Path] = []
    packaged = _packaged_noto_serif_sc()
    if packaged is not None:
        candidates.append(packaged)
    candidates += _DEBIAN_CJK_FONTS
    for path in candidates:
        if path.is_file():
            return path
    raise FontNotFoundError(
        "no CJK font found to draw the seal: pip install pylopdf-fonts-zh-cn "
        "(or apt-get install fonts-noto-cjk), or pass font_path="
    )


# --------------------------------------------------------------------------- diagrams

#: Well-known locations of CJK fonts on Debian/Ubuntu, Fedora, Alpine, macOS and Windows.
CJK_FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/source-han-sans/SourceHanSansSC-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
_NAME_HINTS = ("cjk", "sourcehan", "wqy", "droidsansfallback", "uming", "ukai", "simhei", "msyh")
_FONT_SUFFIXES = (".ttf", ".ttc", ".otf")
_MAX_FILES_SCANNED = 20_000
_FC_LIST_TIMEOUT_SECONDS = 5


@cache
def find_cjk_font() -> Path | None:
    """The first CJK-capable font found on this host, or ``None`` (looked up once per process)."""
    for candidate in CJK_FONT_CANDIDATES:
        if os.path.isfile(candidate):
            return Path(candidate)
    return _scan_font_dirs() or _ask_fontconfig()


def _scan_font_dirs() -> Path | None:
    scanned = 0
    for directory in _FONT_DIRS:
        for root, _dirs, files in os.walk(os.path.expanduser(directory)):
            for name in sorted(files):
                scanned += 1
                if scanned > _MAX_FILES_SCANNED:
                    return None
                lowered = name.lower()
                if lowered.endswith(_FONT_SUFFIXES) and any(h in lowered for h in _NAME_HINTS):
                    return Path(root, name)
    return None


def _ask_fontconfig() -> Path | None:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        listing = subprocess.run(
            [fc_list, ":lang=zh", "file"],
            capture_output=True,
            text=True,
            timeout=_FC_LIST_TIMEOUT_SECONDS,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in sorted(listing.splitlines()):
        path = line.split(":", 1)[0].strip()
        if path.lower().endswith(_FONT_SUFFIXES) and os.path.isfile(path):
            return Path(path)
    return None


class FontBook:
    """Fonts of one face in any pixel size, falling back to Pillow's default face."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._by_size: dict[int, Font] = {}

    def at(self, size: int) -> Font:
        font = self._by_size.get(size)
        if font is None:
            font = self._load(size)
            self._by_size[size] = font
        return font

    def _load(self, size: int) -> Font:
        if self.path is not None:
            try:
                return ImageFont.truetype(str(self.path), size)
            except OSError:
                self.path = None  # unreadable font file: use the default from now on
        return ImageFont.load_default(size=size)
