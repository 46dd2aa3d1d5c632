"""The A4 page the module's documents (the supervision notice, the review result) are drawn on.

The font setup follows the core's renderers (``render/evidence_list_pdf.py``); the module may
not import the core's ``render`` wing (import-linter), only the ``signing`` library's fonts.
"""

from __future__ import annotations

from datetime import datetime

from fpdf import FPDF
from fpdf.fonts import TTFFont

from signing.fonts import FontNotFoundError, default_cjk_font

FONT = "noto-serif-sc"


def a4_document(
    *, title: str, created: datetime, margin_x: float, margin_top: float, margin_bottom: float
) -> tuple[FPDF, TTFFont]:
    """A portrait A4 document in the CJK font, created at ``created`` (never the clock, so
    the same document gives the same bytes), and the loaded font (its cmap says which
    characters it can draw)."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_creation_date(created)
    pdf.set_margins(margin_x, margin_top, margin_x)
    pdf.set_auto_page_break(auto=True, margin=margin_bottom)
    pdf.add_font(FONT, fname=str(default_cjk_font()))
    pdf.set_lang("zh-CN")
    font = pdf.fonts[FONT]
    if not isinstance(font, TTFFont):
        raise FontNotFoundError(f"{default_cjk_font()} did not load as an OpenType font")
    pdf.set_title(title)
    pdf.set_creator("evidence-custody supervision")
    return pdf, font
