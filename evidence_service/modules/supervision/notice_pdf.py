"""The supervision notice (行政执法监督通知书) as an A4 PDF: a pure renderer, values in, bytes out.

What the notice carries follows the supervision-decision practice in ``ANCHORS.md`` §1.3: the
supervised body, the facts and reasons, the decision and its basis, the deadline and the way
to correct (a written report back), and the right to ask for a review (复查) within 10 days.

Guarantees:

- the same :class:`NoticeDocument` (and seal image) gives the same bytes: the PDF creation date
  is the decision's moment (``issued_at``), never the clock, and fpdf2's file id is a hash of
  the content; so the digest the core anchors can be rendered again from the disposal;
- every character is drawn or visibly replaced (``□``), and every field is capped, so a hostile
  field can neither hide text nor grow without bound.

The page and its font come from ``pdf_page.py``, shared with the review result.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import TTFFont

from evidence_service.modules.supervision.pdf_page import FONT, a4_document
from signing.stamp import stamp_pdf_page

__all__ = ["REVIEW_DAYS", "NoticeDocument", "render_notice_pdf"]

#: Days the supervised body has to ask for a review (复查) of the notice (ANCHORS §1.3).
REVIEW_DAYS = 10
MAX_FIELD_CHARS = 2000
MAX_NAME_CHARS = 100
MAX_LINE_BREAKS = 40

_MISSING_GLYPH = "□"
_NOT_DRAWN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_PAGE_W, _PAGE_H = 210.0, 297.0
_MARGIN_X, _MARGIN_TOP, _MARGIN_BOTTOM = 25.0, 25.0, 25.0
_TEXT_W = _PAGE_W - 2 * _MARGIN_X
_SEAL_DIAMETER_MM = 42.0
_MM_TO_PT = 72 / 25.4


@dataclass(frozen=True)
class NoticeDocument:
    """Everything printed on a notice; ``issued_at`` also fixes the PDF's creation date."""

    number: str  # the notice's number (the disposal's id)
    office: str  # the supervision office that issues it
    supervised: str  # the supervised department (被监督单位)
    facts: str  # 事实和理由
    basis: str  # 依据
    decision: str  # 监督决定
    deadline: date  # correct and report in writing by this day
    issued_at: datetime
    clue_id: str
    review_days: int = REVIEW_DAYS


def _printable(text: str, cmap: Mapping[int, str], *, max_chars: int) -> str:
    """``text`` as the font can draw it: capped, line breaks capped, unknown glyphs as □."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\t", " ")
    if len(text) > max_chars:
        cut = max_chars - 12
        text = f"{text[:cut]}…（略 {len(text) - cut} 字）"
    out: list[str] = []
    breaks = 0
    for char in text:
        if char == "\n":
            breaks += 1
            out.append("\n" if breaks <= MAX_LINE_BREAKS else " ")
        elif ord(char) in cmap and unicodedata.category(char) not in _NOT_DRAWN:
            out.append(char)
        else:
            out.append(_MISSING_GLYPH)
    return "".join(out).strip()


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _new_pdf(doc: NoticeDocument) -> tuple[FPDF, TTFFont]:
    return a4_document(
        title=f"行政执法监督通知书 {doc.number}",
        created=doc.issued_at,
        margin_x=_MARGIN_X,
        margin_top=_MARGIN_TOP,
        margin_bottom=_MARGIN_BOTTOM,
    )


def _paragraph(pdf: FPDF, heading: str, body: str) -> None:
    pdf.set_font(FONT, size=12)
    pdf.multi_cell(0, 7.5, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if body:
        pdf.set_font(FONT, size=11.5)
        pdf.multi_cell(0, 7.5, body, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def render_notice_pdf(doc: NoticeDocument, *, seal_png: bytes | None = None) -> bytes:
    """The notice as PDF bytes; with ``seal_png`` (the office's seal image from the core,
    ``GET /api/v1/departments/{id}/seal.png``), the seal stamped over the office's name and
    date. Raises :class:`signing.fonts.FontNotFoundError` when no CJK font is installed."""
    pdf, font = _new_pdf(doc)
    cmap = font.cmap

    def text(value: str, cap: int = MAX_FIELD_CHARS) -> str:
        return _printable(value, cmap, max_chars=cap)

    office, supervised = text(doc.office, MAX_NAME_CHARS), text(doc.supervised, MAX_NAME_CHARS)
    pdf.add_page()
    pdf.set_font(FONT, size=20)
    pdf.cell(0, 12, "行政执法监督通知书", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    pdf.cell(0, 7, f"编号：{text(doc.number, 64)}", align=Align.R)
    pdf.ln(10)
    pdf.set_font(FONT, size=12)
    pdf.multi_cell(0, 8, f"{supervised}：", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    _paragraph(pdf, "一、发现的问题（事实和理由）", text(doc.facts))
    _paragraph(pdf, "二、监督依据", text(doc.basis))
    _paragraph(pdf, "三、监督决定", text(doc.decision))
    _paragraph(
        pdf,
        "四、整改期限和方式",
        f"请你单位于{chinese_date(doc.deadline)}前整改完毕，并将整改情况书面报告本机关"
        "（整改报告经电子证据移送报送本机关）。",
    )
    _paragraph(
        pdf,
        "五、复查权利",
        f"你单位如对本通知有异议，可自收到本通知之日起{doc.review_days}日内向本机关书面申请复查。",
    )
    if pdf.get_y() + 60 > _PAGE_H - _MARGIN_BOTTOM:
        pdf.add_page()
    pdf.ln(14)
    pdf.set_font(FONT, size=12)
    right_edge = _PAGE_W - _MARGIN_X - 6
    width = min(pdf.get_string_width(office) + 2 * pdf.c_margin + 0.5, _TEXT_W - 8)
    left = right_edge - width
    top = pdf.get_y()
    pdf.set_x(left)
    pdf.multi_cell(width, 7, office, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    when = chinese_date(doc.issued_at.date())
    date_w = pdf.get_string_width(when)
    pdf.set_x(left + (width - date_w) / 2)
    pdf.cell(date_w + 0.5, 7, when, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    centre_x, centre_y = left + width / 2, (top + pdf.get_y()) / 2
    pdf.set_y(max(pdf.get_y(), centre_y + _SEAL_DIAMETER_MM / 2) + 6)
    pdf.set_font(FONT, size=8.5)
    pdf.set_text_color(90)
    pdf.multi_cell(
        0, 4.5,
        f"线索 {text(doc.clue_id, 64)} · 处置 {text(doc.number, 64)}。本通知书经电子证据系统"
        "存证、签名并锚定，其 SHA-256 摘要由本机关电子印章签章。",
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip
    rendered = bytes(pdf.output())
    if seal_png is None:
        return rendered
    radius = _SEAL_DIAMETER_MM / 2
    at_pt = ((centre_x - radius) * _MM_TO_PT, (_PAGE_H - centre_y - radius) * _MM_TO_PT)
    return stamp_pdf_page(rendered, seal_png, page_index=-1, at_pt=at_pt, diameter_mm=42.0)
