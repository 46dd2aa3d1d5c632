"""The evidence list PDF: what a reader finds in it, pagination, hostile text, determinism, seal.

pypdf 7 reads the width of CID-keyed CFF glyphs by code instead of by CID, so its extracted text
has spurious separators (spaces or NULs) between characters, while poppler's ``pdftotext`` gives
the exact text; the checks compare text with whitespace and NULs removed.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
from dataclasses import replace

import pytest
from pypdf import PageObject, PdfReader

from evidence_service.render.evidence_list_pdf import (
    MAX_LIST_ITEMS,
    EvidenceListDocument,
    EvidenceListFormatError,
    EvidenceListItem,
    render_evidence_list_pdf,
)
from signing.seal_image import SealImageError, render_seal

LIST_DIGEST = hashlib.sha256(b"evidence list of case 2026-012").hexdigest()


def _item(number: int, **overrides: object) -> EvidenceListItem:
    fields: dict[str, object] = {
        "number": number,
        "name": f"现场照片 IMG_{number:04d}.jpg",
        "source": f"执法人员张三于 2026-05-01 10:{number % 60:02d} 在文三路{number}号拍摄",
        "purpose": "证明当事人销售过期食品的事实及数量",
        "size_or_pages": f"{number % 9 + 1} 页",
        "sha256": hashlib.sha256(str(number).encode()).hexdigest(),
    }
    fields.update(overrides)
    return EvidenceListItem(**fields)  # type: ignore[arg-type]


def _doc(count: int, **overrides: object) -> EvidenceListDocument:
    fields: dict[str, object] = {
        "case_number": "杭市监罚〔2026〕12号",
        "case_title": "某某超市销售过期食品案",
        "party": "杭州某某超市有限公司（9133****5X）",
        "department": "杭州市市场监督管理局",
        "officer": "张三、李四",
        "date": "2026-05-01",
        "items": [_item(n) for n in range(1, count + 1)],
        "list_digest": LIST_DIGEST,
        "anchor_note": "batch 12 / tx 0xabc123 / block 345",
    }
    fields.update(overrides)
    return EvidenceListDocument(**fields)  # type: ignore[arg-type]


def _reader(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(pdf))


def _text(page: PageObject) -> str:
    return re.sub(r"[\s\x00]+", "", page.extract_text())


def _all_text(pdf: bytes) -> str:
    return "".join(_text(page) for page in _reader(pdf).pages)


def _images(page: PageObject) -> list[str]:
    resources = page.get("/Resources")
    if resources is None or "/XObject" not in resources:
        return []
    xobjects = resources["/XObject"].get_object()
    return [name for name in xobjects if xobjects[name].get_object()["/Subtype"] == "/Image"]


@pytest.fixture(scope="module")
def small_pdf() -> bytes:
    return render_evidence_list_pdf(_doc(3))


@pytest.fixture(scope="module")
def long_pdf() -> bytes:
    return render_evidence_list_pdf(_doc(500))


@pytest.fixture(scope="module")
def seal_png() -> bytes:
    return render_seal(
        department_name="杭州市市场监督管理局", seal_code="3301000012345", size_px=512
    )


def test_a_small_list_reads_as_the_case_its_items_and_the_digest(small_pdf: bytes) -> None:
    reader = _reader(small_pdf)
    assert len(reader.pages) == 1
    text = _all_text(small_pdf)
    for expected in (
        "证据清单",
        "杭市监罚〔2026〕12号",
        "某某超市销售过期食品案",
        "杭州某某超市有限公司（9133****5X）",
        "杭州市市场监督管理局",
        "序号证据名称来源证明目的页数/大小SHA-256",
        f"清单摘要SHA-256:{LIST_DIGEST}",
        "batch12/tx0xabc123/block345",
        "可用evidenceverify与区块链核验",
        "执法人员（签名）：",
        "2026年5月1日",
    ):
        assert expected in text, expected
    for number in (1, 2, 3):
        item = _item(number)
        assert re.sub(r"\s+", "", item.name) in text
        assert item.sha256[:16] in text and item.sha256[-8:] in text


def test_the_page_count_grows_with_the_items(small_pdf: bytes, long_pdf: bytes) -> None:
    assert len(_reader(small_pdf).pages) == 1
    assert len(_reader(long_pdf).pages) >= 25


def test_every_page_has_its_number_the_digest_and_the_table_header(long_pdf: bytes) -> None:
    pages = _reader(long_pdf).pages
    total = len(pages)
    seen_items = 0
    for index, page in enumerate(pages, start=1):
        text = _text(page)
        assert f"第{index}页/共{total}页" in text
        assert f"清单摘要SHA-256:{LIST_DIGEST}" in text
        rows = re.findall(r"现场照片IMG_\d{4}\.jpg", text)
        if rows:
            assert "序号证据名称来源证明目的页数/大小SHA-256" in text, f"page {index}"
        seen_items += len(rows)
    assert seen_items == 500
    assert "可用evidenceverify与区块链核验" in _text(pages[-1])


def test_rendering_500_items_is_timed(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _doc(500)
    started = time.perf_counter()
    pdf = render_evidence_list_pdf(doc)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        pages = len(_reader(pdf).pages)
        print(f"\n500-item evidence list: {elapsed:.2f} s, {pages} pages, {len(pdf)} bytes")


def test_hostile_text_is_drawn_or_visibly_replaced() -> None:
    hostile = _item(
        1,
        name="<script>alert('x')</script> & 名称" + "很长的证据名称" * 200,
        source="第一行\n第二行\r\n第三行\t制表" + "\n" * 50 + "末行",
        purpose="emoji 😀👨‍👩‍👧 控制\x00\x07字符 方向\u202eegnahc\u202c 结束",
        size_or_pages="⸻" * 300,
    )
    doc = _doc(
        0,
        items=[hostile, _item(2)],
        case_title="<b>案件</b> & " + "标题" * 500,
        party="当事人\n换行",
        anchor_note="x" * 5000,
    )
    pdf = render_evidence_list_pdf(doc)
    text = _all_text(pdf)
    assert "<script>alert('x')</script>&名称很长的证据名称" in text
    assert "<b>案件</b>&标题" in text
    assert "略" in text  # the overlong fields are cut with a visible marker
    assert "emoji□" in text and "控制□□字符" in text and "方向□egnahc□结束" in text
    assert "😀" not in text and "\x00" not in text
    assert "现场照片IMG_0002.jpg" in text
    assert f"清单摘要SHA-256:{LIST_DIGEST}" in text


def test_an_empty_list_still_renders_a_whole_document() -> None:
    text = _all_text(render_evidence_list_pdf(_doc(0, anchor_note=None)))
    assert "证据清单" in text and f"清单摘要SHA-256:{LIST_DIGEST}" in text
    assert "区块链锚定" not in text


def test_the_same_list_renders_to_the_same_bytes(small_pdf: bytes, seal_png: bytes) -> None:
    assert render_evidence_list_pdf(_doc(3)) == small_pdf
    sealed = render_evidence_list_pdf(_doc(3), seal_png=seal_png)
    assert render_evidence_list_pdf(_doc(3), seal_png=seal_png) == sealed
    assert render_evidence_list_pdf(replace(_doc(3), officer="王五")) != small_pdf


def test_the_seal_is_stamped_on_the_last_page_only(seal_png: bytes, small_pdf: bytes) -> None:
    unsealed = render_evidence_list_pdf(_doc(40))
    sealed = render_evidence_list_pdf(_doc(40), seal_png=seal_png)
    assert sealed != unsealed
    assert all(not _images(page) for page in _reader(unsealed).pages)
    pages = _reader(sealed).pages
    assert len(pages) == len(_reader(unsealed).pages) > 1
    assert _images(pages[-1])
    assert all(not _images(page) for page in pages[:-1])
    assert _text(pages[-1]) == _text(_reader(unsealed).pages[-1])  # the text stays readable
    assert _images(_reader(render_evidence_list_pdf(_doc(3), seal_png=seal_png)).pages[0])
    assert not _images(_reader(small_pdf).pages[0])


def test_a_seal_that_is_not_a_png_is_refused() -> None:
    with pytest.raises(SealImageError):
        render_evidence_list_pdf(_doc(1), seal_png=b"GIF89a not a seal")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: _doc(1, list_digest="abc"), "list_digest"),
        (lambda: _doc(1, list_digest="g" * 64), "list_digest"),
        (lambda: _doc(1, date="2026/05/01"), "YYYY-MM-DD"),
        (lambda: _doc(1, date="2026-02-30"), "calendar date"),
        (lambda: _item(1, sha256="0" * 63), "sha256"),
        (lambda: _item(0), "positive integer"),
        (lambda: _item(True), "positive integer"),
        (lambda: _doc(0, items=[_item(1)] * (MAX_LIST_ITEMS + 1)), "over the limit"),
    ],
    ids=[
        "short-digest",
        "non-hex-digest",
        "date-format",
        "impossible-date",
        "item-hash",
        "item-number-zero",
        "item-number-bool",
        "too-many-items",
    ],
)
def test_malformed_values_are_refused(make: object, reason: str) -> None:
    with pytest.raises(EvidenceListFormatError, match=reason):
        make()  # type: ignore[operator]
