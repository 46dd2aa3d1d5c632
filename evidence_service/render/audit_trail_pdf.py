"""The audit trail — every custody event of a period — as a formal A4 PDF: a pure renderer,
values in, bytes out, laid out as the evidence list is (:mod:`.evidence_list_pdf`).

The paper is what an auditor files; what binds it to the custody log is the summary (first and
last seq, the chain head hash at the end of the period, whether the chain check over the
exported rows holds) and each row's seq and hash prefix, which a reader finds again in the log
or in the CSV export of the same period. The department seal is stamped on the last page, over
the department name and date; the caller seals the SHA-256 of the bytes returned, so the stamp
is drawn before the digest is taken. Guarantees:

- the same :class:`AuditTrailDocument` (and seal image) gives the same bytes: the creation
  date is the export time and the file id a hash of the content;
- every character is drawn or visibly replaced (``□``), and a field wider than its column is
  cut with ``…``, so no value can hide text or push a row onto two lines;
- the table repeats its header row on every page and every page carries "第 n 页 / 共 m 页".

Each row is one line of fixed height, drawn by hand: 20,000 events render in seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import TTFFont

from evidence_service.render.evidence_list_pdf import _printable  # one rule for drawn text
from signing.fonts import FontNotFoundError, default_cjk_font
from signing.stamp import stamp_pdf_page

__all__ = ["AuditTrailDocument", "AuditTrailRow", "render_audit_trail_pdf"]

# A4 landscape, in millimetres (fpdf's unit here): seven columns of ids need the width.
_PAGE_W, _PAGE_H = 297.0, 210.0
_MARGIN_X, _MARGIN_TOP, _MARGIN_BOTTOM = 15.0, 15.0, 18.0
_TEXT_W = _PAGE_W - 2 * _MARGIN_X
_COLUMNS = ("序号 seq", "时间（北京时间）", "操作 action", "证据编号", "操作人", "部门", "哈希前缀")
_COL_WIDTHS = (18.0, 31.0, 44.0, 47.0, 47.0, 47.0, 33.0)
_ROW_H, _HEAD_H, _CELL_PAD = 4.4, 6.0, 1.2
_BODY_PT, _HEAD_PT = 7.0, 7.5
#: A cell wider than its column is set smaller, down to this size, before anything is cut:
#: a 26-character id (at worst 26 × "W", 68 mm at 7 pt) always prints whole.
_MIN_CELL_PT = 4.5
_HASH_PREFIX = 16
_SEAL_DIAMETER_MM = 42.0
_CLOSING_BLOCK_H = 62.0
"""Room the department/date lines under the seal and the sealing note need together."""
_FONT = "noto-serif-sc"
_MM_TO_PT = 72 / 25.4
_MAX_NAME_CHARS = 200
_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class AuditTrailRow:
    """One custody event as the table shows it (``at`` already in Asia/Shanghai)."""

    seq: int
    at: str
    action: str
    evidence_id: str
    actor_id: str
    department_id: str
    hash: str


@dataclass(frozen=True)
class AuditTrailDocument:
    """What the PDF says. ``chain_problem`` is None when the check over the rows holds, else
    where and how it breaks; ``exported_at`` is aware, shown in Asia/Shanghai."""

    period_from: str  # YYYY-MM-DD, the first day (Asia/Shanghai)
    period_to: str  # YYYY-MM-DD, the last day, included
    exported_by: str
    department: str
    exported_at: datetime
    rows: Sequence[AuditTrailRow]
    chain_problem: str | None = None


def _chinese_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def _local(moment: datetime) -> datetime:
    return moment.astimezone(_ZONE)


def _period_text(doc: AuditTrailDocument) -> str:
    return (
        f"{_chinese_date(doc.period_from)} 00:00 至 {_chinese_date(doc.period_to)} 24:00"
        "（北京时间 Asia/Shanghai）"
    )


def _draw_footers(pdf: FPDF, period: str) -> None:
    """Every page's footer — what the document is, its period, "第 n 页 / 共 m 页" — drawn
    once all pages exist, so the total is a plain number (no alias padded to a width)."""
    total = pdf.page_no()
    pdf.set_auto_page_break(auto=False)
    for number in range(1, total + 1):
        pdf.page = number
        pdf.set_y(_PAGE_H - _MARGIN_BOTTOM + 6)
        pdf.set_font(_FONT, size=8)
        pdf.set_text_color(90)
        pdf.cell(0, 4, f"保管事件审计记录 · {period}", align=Align.C,
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
        pdf.set_text_color(0)
        pdf.set_font(_FONT, size=9)
        pdf.cell(0, 5, f"第 {number} 页 / 共 {total} 页", align=Align.C)


def _new_pdf(doc: AuditTrailDocument) -> tuple[FPDF, TTFFont]:
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_creation_date(doc.exported_at)
    pdf.set_margins(_MARGIN_X, _MARGIN_TOP, _MARGIN_X)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN_BOTTOM)
    pdf.add_font(_FONT, fname=str(default_cjk_font()))
    pdf.set_lang("zh-CN")
    font = pdf.fonts[_FONT]
    if not isinstance(font, TTFFont):
        raise FontNotFoundError(f"{default_cjk_font()} did not load as an OpenType font")
    pdf.set_title(f"保管事件审计记录 {doc.period_from} 至 {doc.period_to}")
    pdf.set_creator("evidence-custody")
    return pdf, font


def _summary_lines(doc: AuditTrailDocument) -> list[tuple[str, str]]:
    rows = doc.rows
    if rows:
        span = f"{len(rows)} 个（序号 {rows[0].seq} 至 {rows[-1].seq}）"
        head = f"{rows[-1].hash}（序号 {rows[-1].seq} 之后）"
        counts = Counter(row.action for row in rows)
        actions = "；".join(f"{action} {n}" for action, n in sorted(counts.items()))
    else:
        span, head, actions = "0 个", "（本期间无保管事件）", "—"
    check = (
        "通过：每行的哈希由其内容与 prev_hash 重新计算相符，序号相邻的行首尾相接"
        if doc.chain_problem is None
        else f"不通过：{doc.chain_problem}"
    )
    return [
        ("事件数", span),
        ("期末链头哈希", head),
        ("链校验（导出行）", check),
        ("按操作统计", actions),
    ]


def _draw_title_and_summary(pdf: FPDF, doc: AuditTrailDocument, cmap: Mapping[int, str]) -> None:
    def clean(text: str) -> str:
        return _printable(text, cmap, max_chars=_MAX_NAME_CHARS, max_breaks=0)

    pdf.set_font(_FONT, size=20)
    pdf.set_char_spacing(4)
    pdf.cell(0, 12, "保管事件审计记录", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_char_spacing(0)
    pdf.ln(3)
    header = [
        ("期间", _period_text(doc)),
        ("导出人", clean(doc.exported_by)),
        ("导出部门", clean(doc.department)),
        ("导出时间", f"{_local(doc.exported_at):%Y-%m-%d %H:%M:%S}（北京时间）"),
    ]
    for label, value in [*header, *_summary_lines(doc)]:
        pdf.set_font(_FONT, size=10)
        pdf.set_x(_MARGIN_X)
        pdf.cell(40, 6, f"{label}：", align=Align.R)
        pdf.multi_cell(0, 6, clean(value), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)


def _fit(text: str, widths: Mapping[int, float], size_pt: float, max_w: float) -> str:
    """``text`` on one line at most ``max_w`` mm wide, cut with ``…`` when it is wider."""
    scale = size_pt * 0.001 / _MM_TO_PT
    total = sum(widths[ord(c)] for c in text) * scale
    if total <= max_w:
        return text
    room = max_w - widths[ord("…")] * scale
    out: list[str] = []
    used = 0.0
    for char in text:
        used += widths[ord(char)] * scale
        if used > room:
            break
        out.append(char)
    return "".join(out) + "…"


class _TableWriter:
    """Draws the event table one fixed-height row at a time, with the header row on top of
    every page it spans. Ids, actions and times repeat from row to row, so each distinct cell
    text is cleaned and fitted once; the column rules are drawn once per page."""

    def __init__(self, pdf: FPDF, widths: Mapping[int, float], cmap: Mapping[int, str]) -> None:
        self._pdf = pdf
        self._widths = widths
        self._cmap = cmap
        self._bottom = _PAGE_H - _MARGIN_BOTTOM
        self._top: float | None = None  # where the table starts on this page, once it has
        self._fitted: dict[tuple[str, float], tuple[str, float]] = {}

    def _cell_text(self, text: str, col_w: float) -> tuple[str, float]:
        """The cell's line and its size in points: smaller than the body's when the text is
        wider than the column (never below ``_MIN_CELL_PT``), cut with ``…`` only beyond that."""
        key = (text, col_w)
        fitted = self._fitted.get(key)
        if fitted is None:
            clean = _printable(text, self._cmap, max_chars=_MAX_NAME_CHARS, max_breaks=0)
            room = col_w - 2 * _CELL_PAD
            natural = sum(self._widths[ord(c)] for c in clean) * _BODY_PT * 0.001 / _MM_TO_PT
            size = _BODY_PT if natural <= room else max(_MIN_CELL_PT, _BODY_PT * room / natural)
            fitted = (_fit(clean, self._widths, size, room), size)
            if len(self._fitted) < 100_000:
                self._fitted[key] = fitted
        return fitted

    def _heading(self) -> None:
        pdf = self._pdf
        top = pdf.get_y()
        self._top = top
        pdf.set_fill_color(232)
        pdf.rect(_MARGIN_X, top, _TEXT_W, _HEAD_H, style="DF")
        pdf.set_font(_FONT, size=_HEAD_PT)
        scale = _HEAD_PT * 0.001 / _MM_TO_PT
        baseline = top + _HEAD_H / 2 + _HEAD_PT / _MM_TO_PT * 0.35
        x = _MARGIN_X
        for text, col_w in zip(_COLUMNS, _COL_WIDTHS, strict=True):
            line_w = sum(self._widths[ord(c)] for c in text) * scale
            pdf.text(x + (col_w - line_w) / 2, baseline, text)
            x += col_w
        pdf.set_y(top + _HEAD_H)
        pdf.set_font(_FONT, size=_BODY_PT)

    def _rules(self) -> None:
        """The vertical rules of this page's part of the table."""
        if self._top is None:
            return
        bottom = self._pdf.get_y()
        x = _MARGIN_X
        for col_w in (0.0, *_COL_WIDTHS):
            x += col_w
            self._pdf.line(x, self._top, x, bottom)
        self._top = None

    def row(self, texts: Sequence[str]) -> None:
        pdf = self._pdf
        if pdf.get_y() + _ROW_H + (0 if self._top is not None else _HEAD_H) > self._bottom:
            self._rules()
            pdf.add_page()
        if self._top is None:
            self._heading()
        top = pdf.get_y()
        baseline = top + _ROW_H / 2 + _BODY_PT / _MM_TO_PT * 0.35
        x = _MARGIN_X
        for text, col_w in zip(texts, _COL_WIDTHS, strict=True):
            line, size = self._cell_text(text, col_w)
            if line:
                if size != _BODY_PT:
                    pdf.set_font_size(size)
                pdf.text(x + _CELL_PAD, baseline, line)
                if size != _BODY_PT:
                    pdf.set_font_size(_BODY_PT)
            x += col_w
        pdf.line(_MARGIN_X, top + _ROW_H, _MARGIN_X + _TEXT_W, top + _ROW_H)
        pdf.set_y(top + _ROW_H)

    def finish(self) -> None:
        self._rules()


def _draw_table(
    pdf: FPDF, doc: AuditTrailDocument, cmap: Mapping[int, str], widths: Mapping[int, float]
) -> None:
    pdf.set_draw_color(0)
    pdf.set_line_width(0.15)
    table = _TableWriter(pdf, widths, cmap)
    for row in doc.rows:
        table.row(
            (
                str(row.seq),
                row.at,
                row.action,
                row.evidence_id,
                row.actor_id,
                row.department_id,
                row.hash[:_HASH_PREFIX],
            )
        )
    if not doc.rows:
        table.row(("", "", "（本期间无保管事件）", "", "", "", ""))
    table.finish()


def _draw_closing(
    pdf: FPDF, doc: AuditTrailDocument, cmap: Mapping[int, str], widths: Mapping[int, float]
) -> tuple[float, float]:
    """The sealing note, then the department and export date; returns the seal centre in mm."""
    if pdf.get_y() + _CLOSING_BLOCK_H > _PAGE_H - _MARGIN_BOTTOM:
        pdf.add_page()
    pdf.ln(5)
    pdf.set_font(_FONT, size=9)
    pdf.multi_cell(
        0, 5,
        "本文件的 SHA-256 由导出部门的电子印章签章，签章记入保管记录。核验：取导出时给出的"
        "印章记录（JSON），与本文件的 SHA-256 一并提交 POST /api/v1/seals/verify"
        "（{\"record\": …, \"digest\": …}，无需登录）；各行可与同期间的 CSV 导出逐行对照。",
        align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT,
    )  # fmt: skip
    pdf.ln(16)
    pdf.set_font(_FONT, size=11)
    department = _printable(doc.department, cmap, max_chars=_MAX_NAME_CHARS, max_breaks=0)
    department = department or "（导出部门）"
    right_edge = _PAGE_W - _MARGIN_X - 20
    width = min(pdf.get_string_width(department), _TEXT_W / 2)
    left = right_edge - width
    top = pdf.get_y()
    department = _fit(department, widths, 11.0, width)
    pdf.set_x(left - pdf.c_margin)
    pdf.cell(width + 2 * pdf.c_margin, 7, department, align=Align.C,
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.set_x(left - pdf.c_margin)
    pdf.cell(width + 2 * pdf.c_margin, 7, _chinese_date(f"{_local(doc.exported_at):%Y-%m-%d}"),
             align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    return (left + width / 2, (top + pdf.get_y()) / 2)


def render_audit_trail_pdf(doc: AuditTrailDocument, *, seal_png: bytes | None = None) -> bytes:
    """The audit trail as PDF bytes; with ``seal_png``, the department seal stamped over the
    department name and date on the last page (through :func:`signing.stamp.stamp_pdf_page`).

    Raises :class:`signing.seal_image.SealImageError` when ``seal_png`` is not a usable PNG and
    :class:`signing.fonts.FontNotFoundError` when no CJK font is installed.
    """
    pdf, font = _new_pdf(doc)
    pdf.add_page()
    _draw_title_and_summary(pdf, doc, font.cmap)
    _draw_table(pdf, doc, font.cmap, font.cw)
    centre_x, centre_y = _draw_closing(pdf, doc, font.cmap, font.cw)
    _draw_footers(pdf, f"{doc.period_from} 至 {doc.period_to}")
    rendered = bytes(pdf.output())
    if seal_png is None:
        return rendered
    radius = _SEAL_DIAMETER_MM / 2
    at_pt = ((centre_x - radius) * _MM_TO_PT, (_PAGE_H - centre_y - radius) * _MM_TO_PT)
    return stamp_pdf_page(
        rendered, seal_png, page_index=-1, at_pt=at_pt, diameter_mm=_SEAL_DIAMETER_MM
    )
