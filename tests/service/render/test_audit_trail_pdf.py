"""The audit trail PDF: what a reader finds in it, pagination, hostile values, determinism,
the seal, and the largest trail the export admits.

As for the evidence list, pypdf's text of CID-keyed CFF glyphs has spurious separators, so the
checks compare text with whitespace and NULs removed.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pypdf import PageObject, PdfReader

from evidence_service.render.audit_trail_pdf import (
    AuditTrailDocument,
    AuditTrailRow,
    render_audit_trail_pdf,
)
from evidence_service.web.audit_pages import MAX_PDF_EVENTS
from signing.seal_image import render_seal

ACTIONS = ("captured", "viewed", "transfer_accepted", "evidence_list_issued")


def _row(seq: int, **overrides: object) -> AuditTrailRow:
    fields: dict[str, object] = {
        "seq": seq,
        "at": f"2026-05-01 10:{seq % 60:02d}:00",
        "action": ACTIONS[seq % len(ACTIONS)],
        "evidence_id": f"01HZX3K5Q7W8E9R0T1Y2U{seq:05d}",
        "actor_id": "01JABCDEFGHJKMNPQRSTVWXYZ0",
        "department_id": "01JDEPARTMENT0000000000000",
        "hash": hashlib.sha256(str(seq).encode()).hexdigest(),
    }
    fields.update(overrides)
    return AuditTrailRow(**fields)  # type: ignore[arg-type]


def _doc(count: int, **overrides: object) -> AuditTrailDocument:
    fields: dict[str, object] = {
        "period_from": "2026-05-01",
        "period_to": "2026-05-07",
        "exported_by": "王五（01JAUDITOR00000000000000）",
        "department": "浙江省审计厅",
        "exported_at": datetime(2026, 5, 7, 4, 0, tzinfo=UTC),
        "rows": [_row(n) for n in range(1, count + 1)],
    }
    fields.update(overrides)
    return AuditTrailDocument(**fields)  # type: ignore[arg-type]


def _text(page: PageObject) -> str:
    return re.sub(r"[\s\x00]+", "", page.extract_text())


def _pages(pdf: bytes) -> list[PageObject]:
    assert pdf.startswith(b"%PDF-")
    return list(PdfReader(io.BytesIO(pdf)).pages)


def test_a_short_trail_reads_as_its_period_summary_and_rows() -> None:
    doc = _doc(8)
    pages = _pages(render_audit_trail_pdf(doc))
    text = "".join(_text(page) for page in pages)
    for expected in (
        "保管事件审计记录",
        "2026年5月1日00:00至2026年5月7日24:00（北京时间Asia/Shanghai）",
        "导出人：王五（01JAUDITOR00000000000000）",
        "导出部门：浙江省审计厅",
        "导出时间：2026-05-0712:00:00（北京时间）",  # 04:00 UTC is noon in Shanghai
        "事件数：8个（序号1至8）",
        f"期末链头哈希：{doc.rows[-1].hash}（序号8之后）",
        "链校验（导出行）：通过",
        "按操作统计：captured2；evidence_list_issued2；transfer_accepted2；viewed2",
        "序号seq时间（北京时间）操作action证据编号操作人部门哈希前缀",
        "POST/api/v1/seals/verify",
        "2026年5月7日",
    ):
        assert expected in text, expected
    for row in doc.rows:
        assert f"{row.seq}{row.at.replace(' ', '')}{row.action}{row.evidence_id}" in text
        assert row.hash[:16] in text


def test_a_broken_chain_and_an_empty_period_say_so() -> None:
    broken = _pages(render_audit_trail_pdf(_doc(3, chain_problem="序号 2：事件内容与其哈希不符")))
    assert "链校验（导出行）：不通过：序号2：事件内容与其哈希不符" in _text(broken[0])
    empty = "".join(_text(p) for p in _pages(render_audit_trail_pdf(_doc(0))))
    assert "事件数：0个" in empty and "本期间无保管事件" in empty


def test_every_page_has_its_number_and_the_table_header() -> None:
    pages = _pages(render_audit_trail_pdf(_doc(300)))
    total = len(pages)
    assert total >= 8
    seen: list[int] = []
    for number, page in enumerate(pages, start=1):
        text = _text(page)
        assert f"第{number}页/共{total}页" in text
        assert "保管事件审计记录·2026-05-01至2026-05-07" in text
        rows = [int(s) for s in re.findall(r"01HZX3K5Q7W8E9R0T1Y2U(\d{5})", text)]
        if rows:
            assert "序号seq时间（北京时间）" in text, f"page {number}"
        seen += rows
    assert seen == list(range(1, 301))


def test_hostile_values_are_shown_cut_and_never_hide_a_row() -> None:
    hostile = _row(
        2,
        action="x\u202eevil\x00\U0001f600" + "A" * 40,
        evidence_id="\n".join(["01HZX"] * 30),
        actor_id="张三" * 100,
    )
    doc = _doc(3, rows=[_row(1), hostile, _row(3)], exported_by="审计\u200b员\U0001f600")
    text = "".join(_text(p) for p in _pages(render_audit_trail_pdf(doc)))
    assert "审计□员□" in text
    # in the table each value too long for its column even in the smallest type is cut with a
    # visible …, and the row stays whole
    assert re.search(
        r"2026-05-0110:02:00x□evil□□A+…(01HZX)+[0-9A-Z]*…(张三)+张?…01JDEPARTMENT", text
    )
    assert "张三" * 40 not in text
    for seq in (1, 3):
        assert f"01HZX3K5Q7W8E9R0T1Y2U{seq:05d}" in text


def test_the_same_document_gives_the_same_bytes() -> None:
    doc = _doc(20)
    assert render_audit_trail_pdf(doc) == render_audit_trail_pdf(doc)
    later = replace(doc, exported_at=datetime(2026, 5, 8, tzinfo=UTC))
    assert render_audit_trail_pdf(doc) != render_audit_trail_pdf(later)


def test_the_seal_is_stamped_on_the_last_page_only() -> None:
    seal = render_seal(department_name="浙江省审计厅", seal_code="3300000012345", size_px=512)
    pages = _pages(render_audit_trail_pdf(_doc(100), seal_png=seal))

    def images(page: PageObject) -> int:
        resources = page.get("/Resources")
        if resources is None or "/XObject" not in resources:
            return 0
        xobjects = resources["/XObject"].get_object()
        return sum(xobjects[n].get_object()["/Subtype"] == "/Image" for n in xobjects)

    assert [images(page) for page in pages] == [0] * (len(pages) - 1) + [1]


@pytest.mark.slow
def test_the_largest_trail_the_export_admits_renders_in_seconds() -> None:
    started = time.monotonic()
    pdf = render_audit_trail_pdf(_doc(MAX_PDF_EVENTS))
    assert time.monotonic() - started < 60
    reader = PdfReader(io.BytesIO(pdf))
    assert 400 < len(reader.pages) < 700
    assert f"{MAX_PDF_EVENTS}" in _text(reader.pages[-1]) or f"{MAX_PDF_EVENTS}" in _text(
        reader.pages[-2]
    )


def test_ids_of_the_widest_letters_print_whole_in_smaller_type() -> None:
    """A ULID is 26 Crockford letters and digits; all "W" is about 68 mm at the body's 7 pt,
    wider than its column, and must still print whole (the CI once drew a real id cut short)."""
    widest = "W" * 26
    rows = [
        _row(1, evidence_id=widest, actor_id="M" * 26, department_id=widest),
        _row(2, evidence_id="01M91DW7A4A6GVWKT5MKD4GVPQ"),
    ]
    text = "".join(_text(page) for page in _pages(render_audit_trail_pdf(_doc(0, rows=rows))))
    for expected in (widest, "M" * 26, "01M91DW7A4A6GVWKT5MKD4GVPQ"):
        assert expected in text, expected
    assert "…" not in text.split("哈希前缀", 1)[1].split("POST", 1)[0]
