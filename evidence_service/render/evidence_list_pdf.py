"""A case's evidence list (证据清单) as a formal A4 PDF: a pure renderer, values in, bytes out.

The document is what a party and a court read; what binds it to the custody record is the list
digest (SHA-256 of the list's JCS bytes) printed in full at the end and in every page footer, and
each item's SHA-256. With a list id, every footer also says how to check the paper
(``evidence verify-list <id>.json --digest …``). Guarantees:

- the same :class:`EvidenceListDocument` (and seal image) gives the same bytes: the PDF creation
  date is fixed and the file id is a hash of the content;
- every character is drawn or visibly replaced: text the CJK font cannot draw (emoji, control and
  format characters) becomes ``□`` instead of vanishing, and overlong fields are cut with a
  ``…（略 N 字）`` marker, so one hostile field can neither hide text nor outgrow a page;
- the table repeats its header row on every page and every page carries "第 n 页 / 共 m 页".

The only read is the font file (:func:`signing.fonts.default_cjk_font`); no clock, no randomness.
Text is drawn with fpdf2, which embeds the CFF-flavoured Noto Serif SC as a CID-keyed subset.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import TTFFont

from evidence_service.cases.list_document import (
    MAX_CELL_CHARS,
    MAX_CELL_LINE_BREAKS,
    MAX_HEADER_CHARS,
    MAX_LIST_ITEMS,
    EvidenceListDocument,
    EvidenceListFormatError,
    EvidenceListItem,
)
from signing.fonts import FontNotFoundError, default_cjk_font
from signing.stamp import stamp_pdf_page

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_CELL_LINE_BREAKS",
    "MAX_HEADER_CHARS",
    "MAX_LIST_ITEMS",
    "EvidenceListDocument",
    "EvidenceListFormatError",
    "EvidenceListItem",
    "render_evidence_list_pdf",
]

_MISSING_GLYPH = "□"
_SILENT = frozenset(range(0xFE00, 0xFE10)) | frozenset(range(0xE0100, 0xE01F0))
"""Variation selectors: presentation hints only, dropped rather than shown as □."""
_NOT_DRAWN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

# A4 portrait, in millimetres (fpdf's unit here).
_PAGE_W, _PAGE_H = 210.0, 297.0
_MARGIN_X, _MARGIN_TOP, _MARGIN_BOTTOM = 20.0, 20.0, 24.0
_TEXT_W = _PAGE_W - 2 * _MARGIN_X
_COLUMNS = ("序号", "证据名称", "来源", "证明目的", "页数/大小", "SHA-256")
_COL_WIDTHS = (11.0, 36.0, 37.0, 37.0, 18.0, 31.0)
_COL_ALIGN = ("CENTER", "LEFT", "LEFT", "LEFT", "CENTER", "LEFT")
_BODY_PT = (9.0, 9.0, 9.0, 9.0, 9.0, 8.0)
_HEAD_PT = (10.0,) * len(_COLUMNS)
_LINE_H, _CELL_PAD = 4.6, 1.2
_NO_LINE_START = frozenset("，。、；：？！）》」』】〕”’…,.;:?!)]}")
_SEAL_DIAMETER_MM = 42.0
_CLOSING_BLOCK_H = 94.0
"""Room the signature, the sealed department/date lines and the digest notes need together."""
_FIXED_CREATION_DATE = datetime(2000, 1, 1, tzinfo=UTC)
_FONT = "noto-serif-sc"
_MM_TO_PT = 72 / 25.4


# --------------------------------------------------------------------------- text


def _printable(text: str, cmap: Mapping[int, str], *, max_chars: int, max_breaks: int) -> str:
    """``text`` as the font can draw it: capped, line breaks capped, unknown glyphs as □."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\t", " ")
    if len(text) > max_chars:
        cut = max_chars - 12
        text = f"{text[:cut]}…（略 {len(text) - cut} 字）"
    out: list[str] = []
    breaks = 0
    for char in text:
        code = ord(char)
        if char == "\n":
            breaks += 1
            out.append("\n" if breaks <= max_breaks else " ")
        elif code in _SILENT:
            continue
        elif code in cmap and unicodedata.category(char) not in _NOT_DRAWN:
            out.append(char)
        else:
            out.append(_MISSING_GLYPH)
    return "".join(out).strip()


def _short_hash(hex_digest: str) -> str:
    """The first 16 and last 8 hex digits, on two lines to fit the narrow column."""
    digest = hex_digest.lower()
    return f"{digest[:16]}\n…{digest[-8:]}"


def _verify_command(list_id: str, digest: str) -> str:
    """The command that checks a printed list against the chain (``--rpc`` is the reader's)."""
    return f"evidence verify-list {list_id}.json --digest {digest} --rpc <URL>"


def _chinese_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


# --------------------------------------------------------------------------- layout


class _ListPdf(FPDF):
    """fpdf with the evidence list's page footer: the list digest, with a list id the command
    that checks the paper (the digest itself is on the line above), and "第 n 页 / 共 m 页"."""

    def __init__(self, list_digest: str, list_id: str | None) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._list_digest = list_digest.lower()
        self._list_id = list_id

    def footer(self) -> None:
        self.set_y(-_MARGIN_BOTTOM + (4.5 if self._list_id else 8))
        self.set_font(_FONT, size=7.5)
        self.set_text_color(90)
        self.cell(
            0, 4, f"清单摘要 SHA-256: {self._list_digest}", align=Align.C,
            new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )  # fmt: skip
        if self._list_id:
            self.set_font(_FONT, size=7)
            self.cell(
                0, 3.5,
                f"核验 verify: evidence verify-list {self._list_id}.json "
                "--digest <上行摘要 digest above> --rpc <URL>",
                align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT,
            )  # fmt: skip
        self.set_font(_FONT, size=9)
        self.set_text_color(0)
        self.cell(0, 5, f"第 {self.page_no()} 页 / 共 {{nb}} 页", align=Align.C)


def _new_pdf(doc: EvidenceListDocument) -> tuple[_ListPdf, TTFFont]:
    pdf = _ListPdf(doc.list_digest, doc.list_id)
    pdf.set_creation_date(_FIXED_CREATION_DATE)
    pdf.set_margins(_MARGIN_X, _MARGIN_TOP, _MARGIN_X)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN_BOTTOM)
    pdf.add_font(_FONT, fname=str(default_cjk_font()))
    pdf.set_lang("zh-CN")
    font = pdf.fonts[_FONT]
    if not isinstance(font, TTFFont):
        raise FontNotFoundError(f"{default_cjk_font()} did not load as an OpenType font")
    pdf.set_title(f"{doc.title} {doc.case_number}"[:MAX_HEADER_CHARS])
    pdf.set_creator("evidence-custody")
    return pdf, font


def _draw_title_and_header(pdf: FPDF, doc: EvidenceListDocument, cmap: Mapping[int, str]) -> None:
    def clean(text: str) -> str:
        return _printable(text, cmap, max_chars=MAX_HEADER_CHARS, max_breaks=2)

    pdf.set_font(_FONT, size=22)
    pdf.set_char_spacing(4)
    pdf.multi_cell(0, 12, clean(doc.title) or "证据清单", align=Align.C)
    pdf.set_char_spacing(0)
    pdf.ln(4)
    pdf.set_font(_FONT, size=11)
    rows = (
        ("案号", doc.case_number),
        ("案件", doc.case_title),
        ("当事人", doc.party),
        ("执法部门", doc.department),
        ("日期", _chinese_date(doc.date)),
    )
    for label, value in rows:
        pdf.set_x(_MARGIN_X)
        pdf.cell(24, 7, f"{label}：", align=Align.R)
        pdf.multi_cell(0, 7, clean(value), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _wrap(text: str, widths: Mapping[int, float], size_pt: float, max_w: float) -> list[str]:
    """``text`` broken into lines at most ``max_w`` mm wide, character by character (as Chinese
    is set); closing punctuation never starts a line, it takes the previous character along."""
    scale = size_pt * 0.001 / _MM_TO_PT
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line: list[str] = []
        line_w = 0.0
        for char in paragraph:
            char_w = widths[ord(char)] * scale
            if line and line_w + char_w > max_w:
                if char == " ":
                    continue
                carried: list[str] = []
                if char in _NO_LINE_START and len(line) > 1:
                    carried = [line.pop()]
                lines.append("".join(line).rstrip())
                line = carried
                line_w = sum(widths[ord(c)] * scale for c in carried)
            line.append(char)
            line_w += char_w
        lines.append("".join(line).rstrip())
    return lines


class _TableWriter:
    """Draws the evidence table row by row, with the header row on top of every page it spans.

    Laid out by hand (not ``FPDF.table``, which measures every cell twice and took most of the
    render time). A row never splits across pages and never leaves the header row alone at the
    foot of a page; a cell too tall for a whole page is cut with a visible marker.
    """

    def __init__(self, pdf: FPDF, widths: Mapping[int, float]) -> None:
        self._pdf = pdf
        self._widths = widths
        self._bottom = _PAGE_H - _MARGIN_BOTTOM
        self._max_lines: int | None = None  # the header row is never cut
        self._heading = self._cells(_COLUMNS, _HEAD_PT)
        self._heading_h = self._height(self._heading)
        self._max_lines = int(
            (self._bottom - _MARGIN_TOP - self._heading_h - 2 * _CELL_PAD) / _LINE_H
        )
        self._heading_on_page = False

    def _cells(self, texts: tuple[str, ...], sizes: tuple[float, ...]) -> list[list[str]]:
        cells = []
        for text, col_w, size_pt in zip(texts, _COL_WIDTHS, sizes, strict=True):
            lines = _wrap(text, self._widths, size_pt, col_w - 2 * _CELL_PAD)
            if self._max_lines is not None and len(lines) > self._max_lines:
                lines = [*lines[: self._max_lines - 1], "…（略）"]
            cells.append(lines)
        return cells

    @staticmethod
    def _height(cells: list[list[str]]) -> float:
        return max(len(lines) for lines in cells) * _LINE_H + 2 * _CELL_PAD

    def _draw(self, cells: list[list[str]], sizes: tuple[float, ...], *, heading: bool) -> None:
        pdf = self._pdf
        height = self._height(cells)
        top = pdf.get_y()
        x = _MARGIN_X
        for lines, col_w, align, size_pt in zip(cells, _COL_WIDTHS, _COL_ALIGN, sizes, strict=True):
            pdf.set_font(_FONT, size=size_pt)
            scale = size_pt * 0.001 / _MM_TO_PT
            pdf.rect(x, top, col_w, height, style="DF" if heading else "D")
            first = top + (height - len(lines) * _LINE_H) / 2
            for i, line in enumerate(lines):
                if not line:
                    continue
                offset = _CELL_PAD
                if align == "CENTER" or heading:
                    line_w = sum(self._widths[ord(c)] for c in line) * scale
                    offset = (col_w - line_w) / 2
                baseline = first + i * _LINE_H + _LINE_H / 2 + size_pt / _MM_TO_PT * 0.35
                pdf.text(x + offset, baseline, line)
            x += col_w
        pdf.set_y(top + height)

    def _make_room(self, height: float) -> None:
        """Start a new page unless ``height`` (plus the header row, if due) fits on this one."""
        needed = height + (0.0 if self._heading_on_page else self._heading_h)
        if self._pdf.get_y() + needed > self._bottom:
            self._pdf.add_page()
            self._heading_on_page = False
        if not self._heading_on_page:
            self._pdf.set_fill_color(232)
            self._draw(self._heading, _HEAD_PT, heading=True)
            self._heading_on_page = True

    def item(self, texts: tuple[str, ...]) -> None:
        cells = self._cells(texts, _BODY_PT)
        self._make_room(self._height(cells))
        self._draw(cells, _BODY_PT, heading=False)

    def finish(self) -> None:
        """Draw the header row of a list with no items."""
        if not self._heading_on_page:
            self._make_room(0.0)


def _draw_table(
    pdf: FPDF, doc: EvidenceListDocument, cmap: Mapping[int, str], widths: Mapping[int, float]
) -> None:
    def cell(text: str) -> str:
        return _printable(text, cmap, max_chars=MAX_CELL_CHARS, max_breaks=MAX_CELL_LINE_BREAKS)

    pdf.set_draw_color(0)
    pdf.set_line_width(0.2)
    table = _TableWriter(pdf, widths)
    for item in doc.items:
        table.item(
            (
                str(item.number),
                cell(item.name),
                cell(item.source),
                cell(item.purpose),
                cell(item.size_or_pages),
                _short_hash(item.sha256),
            )
        )
    table.finish()


def _draw_closing(
    pdf: FPDF, doc: EvidenceListDocument, cmap: Mapping[int, str]
) -> tuple[float, float]:
    """Signature line, department and date, digest notes; returns the seal centre in mm."""

    def clean(text: str) -> str:
        return _printable(text, cmap, max_chars=MAX_HEADER_CHARS, max_breaks=0)

    if pdf.get_y() + _CLOSING_BLOCK_H > _PAGE_H - _MARGIN_BOTTOM:
        pdf.add_page()
    pdf.ln(8)
    pdf.set_font(_FONT, size=11)
    pdf.set_x(_MARGIN_X)
    officer = clean(doc.officer)
    pdf.multi_cell(
        0, 7, f"执法人员：{officer}" if officer else "执法人员：",
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip
    pdf.cell(
        0, 8, "执法人员（签名）：________________      日期：________________",
        new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip

    pdf.ln(14)
    department = clean(doc.department) or "（执法部门）"
    right_edge = _PAGE_W - _MARGIN_X - 8
    width = min(pdf.get_string_width(department), _TEXT_W - 8)
    left = right_edge - width
    top = pdf.get_y()
    pdf.set_x(left)
    pdf.multi_cell(width + 0.5, 7, department, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    when = _chinese_date(doc.date)
    date_w = pdf.get_string_width(when)
    pdf.set_x(left + (width - date_w) / 2)
    pdf.cell(date_w + 0.5, 7, when, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    seal_centre = (left + width / 2, (top + pdf.get_y()) / 2)

    pdf.set_y(max(pdf.get_y(), seal_centre[1] + _SEAL_DIAMETER_MM / 2) + 4)
    pdf.set_draw_color(120)
    pdf.line(_MARGIN_X, pdf.get_y(), _PAGE_W - _MARGIN_X, pdf.get_y())
    pdf.ln(2)
    pdf.set_font(_FONT, size=9)
    notes = [f"清单摘要 SHA-256: {doc.list_digest.lower()}"]
    if doc.anchor_note:
        notes.append(f"区块链锚定：{clean(doc.anchor_note)}")
    if doc.list_id:
        notes.append(
            f"核验 verify：取清单文件 GET /api/v1/evidence-lists/{doc.list_id} 存为 "
            f"{doc.list_id}.json，运行 {_verify_command(doc.list_id, doc.list_digest.lower())} "
            "--trust trust.json（区块链节点与 GET /api/v1/trust 的信任包）。"
        )
    else:
        notes.append("核验：本清单摘要可用 evidence verify 与区块链核验。")
    for note in notes:
        pdf.multi_cell(0, 5, note, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return seal_centre


def render_evidence_list_pdf(doc: EvidenceListDocument, *, seal_png: bytes | None = None) -> bytes:
    """The evidence list as PDF bytes; with ``seal_png``, the department seal stamped over the
    department name and date on the last page (through :func:`signing.stamp.stamp_pdf_page`).

    Raises :class:`signing.seal_image.SealImageError` when ``seal_png`` is not a usable PNG and
    :class:`signing.fonts.FontNotFoundError` when no CJK font is installed.
    """
    pdf, font = _new_pdf(doc)
    cmap = font.cmap
    pdf.add_page()
    _draw_title_and_header(pdf, doc, cmap)
    _draw_table(pdf, doc, cmap, font.cw)
    centre_x, centre_y = _draw_closing(pdf, doc, cmap)
    rendered = bytes(pdf.output())
    if seal_png is None:
        return rendered
    radius = _SEAL_DIAMETER_MM / 2
    at_pt = ((centre_x - radius) * _MM_TO_PT, (_PAGE_H - centre_y - radius) * _MM_TO_PT)
    return stamp_pdf_page(rendered, seal_png, page_index=-1, at_pt=at_pt, diameter_mm=42.0)
