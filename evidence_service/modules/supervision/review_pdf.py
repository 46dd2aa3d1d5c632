"""The result of a case-file review (案卷评查结果) as an A4 PDF: values in, bytes out.

Guarantees: the same :class:`ReviewResultDocument` gives the same bytes (the creation date is
the finalization time and fpdf2's file id a hash of the content), so the digest sealed at
finalization can be reproduced from the stored review; every character is drawn or visibly
replaced (``□``) and a field wider than its column is cut with ``…``.

The page and its font come from ``pdf_page.py``, shared with the supervision notice.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import TTFFont

from evidence_service.modules.supervision.pdf_page import FONT, a4_document

__all__ = ["ReviewResultDocument", "ReviewResultItem", "render_review_pdf"]

_ZONE = ZoneInfo("Asia/Shanghai")
_MARGIN = 15.0
_ROW_H = 6.0
_COLUMNS = ("序号", "评查项目", "类别", "分值", "结论", "说明")
_WIDTHS = (10.0, 52.0, 18.0, 12.0, 18.0, 70.0)
_MISSING = "□"
_SECTION = {"veto": "否决项", "presentation": "卷面", "content": "内容"}
_KIND = {
    "complaint": "投诉举报",
    "permit": "许可",
    "inspection": "检查",
    "penalty": "处罚",
    "reconsideration": "复议",
}
_CHECKLIST = {"penalty": "行政处罚案卷评查表", "general": "行政执法案卷评查表"}


@dataclass(frozen=True)
class ReviewResultItem:
    code: str
    name: str
    section: str  # veto | presentation | content
    points: int
    auto: bool
    passed: bool
    deducted: int
    note: str


@dataclass(frozen=True)
class ReviewResultDocument:
    review_id: str
    record_id: str
    case_number: str
    title: str
    kind: str
    department: str  # the reviewed department's name (or id)
    office: str  # the reviewing office's name
    checklist: str
    reviewer: str  # the finalizing officer's name (or id)
    finalized_at: datetime  # aware
    vetoed: bool
    presentation: int
    content: int
    total: int
    grade: str
    items: Sequence[ReviewResultItem]


def _printable(text: str, cmap: Mapping[int, str]) -> str:
    out = []
    for char in unicodedata.normalize("NFC", text):
        if char in "\r\n\t":
            out.append(" ")
        elif ord(char) in cmap and unicodedata.category(char) not in ("Cc", "Cf", "Co", "Cs"):
            out.append(char)
        else:
            out.append(_MISSING)
    return "".join(out).strip()


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """``text`` cut with ``…`` to fit ``width`` mm at the current font size."""
    room = width - 2.0
    if pdf.get_string_width(text) <= room:
        return text
    while text and pdf.get_string_width(text + "…") > room:
        text = text[:-1]
    return text + "…"


def _new_pdf(doc: ReviewResultDocument) -> tuple[FPDF, TTFFont]:
    return a4_document(
        title=f"案卷评查结果 {doc.case_number}",
        created=doc.finalized_at,
        margin_x=_MARGIN,
        margin_top=_MARGIN,
        margin_bottom=_MARGIN + 5,
    )


def _verdict(item: ReviewResultItem) -> str:
    if item.section == "veto":
        return "通过" if item.passed else "否决"
    return "不扣分" if item.deducted == 0 else f"扣 {item.deducted} 分"


def render_review_pdf(doc: ReviewResultDocument) -> bytes:
    """The review's result as PDF bytes (FontNotFoundError when no CJK font is installed)."""
    pdf, font = _new_pdf(doc)
    cmap = font.cmap
    pdf.add_page()
    pdf.set_font(FONT, size=18)
    pdf.cell(0, 12, "行政执法案卷评查结果", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    when = doc.finalized_at.astimezone(_ZONE).strftime("%Y-%m-%d %H:%M:%S")
    head = (
        ("评查编号", doc.review_id),
        ("案卷（记录）", doc.record_id),
        ("案号", doc.case_number),
        ("案件名称", doc.title),
        (
            "类别 / 评查表",
            f"{_KIND.get(doc.kind, doc.kind)} / {_CHECKLIST.get(doc.checklist, doc.checklist)}",
        ),
        ("被评查单位", doc.department),
        ("评查单位", doc.office),
        ("评查人", doc.reviewer),
        ("评查完成时间（北京时间）", when),
    )
    for label, value in head:
        pdf.cell(48, 6, label)
        text = _printable(value, cmap)
        pdf.cell(0, 6, _fit(pdf, text, 132), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font(FONT, size=12)
    veto = "未通过（否决，总分记 0）" if doc.vetoed else "通过"
    summary = (
        f"基本标准：{veto}    卷面：{doc.presentation}/20    内容：{doc.content}/80    "
        f"总分：{doc.total}    等级：{doc.grade}"
    )
    pdf.cell(0, 8, _fit(pdf, summary, 180), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    _table(pdf, doc.items, cmap)
    pdf.ln(4)
    pdf.set_font(FONT, size=9)
    pdf.multi_cell(
        0,
        5,
        "本结果由评查人确认后定稿，其 SHA-256 摘要加盖评查单位电子印章，并作为书证存入证据"
        "保管系统（签名、锚定）。自动项目由系统依据案件记录与证据读模型判定。",
    )
    return bytes(pdf.output())


def _table(pdf: FPDF, items: Sequence[ReviewResultItem], cmap: Mapping[int, str]) -> None:
    def header() -> None:
        pdf.set_font(FONT, size=9)
        pdf.set_fill_color(230)
        for title, width in zip(_COLUMNS, _WIDTHS, strict=True):
            pdf.cell(width, _ROW_H, title, border=1, align="C", fill=True)
        pdf.ln(_ROW_H)
        pdf.set_font(FONT, size=8)

    header()
    for number, item in enumerate(items, 1):
        if pdf.get_y() + _ROW_H > pdf.h - _MARGIN - 5:
            pdf.add_page()
            header()
        name = _printable(item.name + ("（自动）" if item.auto else ""), cmap)
        cells = (
            str(number),
            name,
            _SECTION.get(item.section, item.section),
            "—" if item.section == "veto" else str(item.points),
            _verdict(item),
            _printable(item.note, cmap),
        )
        for text, width in zip(cells, _WIDTHS, strict=True):
            pdf.cell(width, _ROW_H, _fit(pdf, text, width), border=1)
        pdf.ln(_ROW_H)
