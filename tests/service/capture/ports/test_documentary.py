from __future__ import annotations

import pytest
from hypothesis import given, settings

from evidence_service.capture.ports import documentary, sniff
from evidence_service.capture.ports.documentary import DocumentaryPort
from evidence_service.core.errors import DecompressionBombError, WrongMediaTypeError
from tests.service.capture.ports import samples
from tests.service.capture.ports.feeding import FIXED_CHUNK_SIZES, chunk_plans, feed_only, run_port

PORT = DocumentaryPort()
PDF = samples.pdf_with_pages(3)


@pytest.mark.parametrize("sizes", FIXED_CHUNK_SIZES)
def test_pdf_page_count(sizes: int | None) -> None:
    extraction = run_port(PORT, PDF, sizes)
    assert extraction.media_type == sniff.PDF
    assert extraction.fields == {"page_count": 3}
    assert extraction.derived == ()


@settings(max_examples=15, deadline=None)
@given(plan=chunk_plans)
def test_chunking_does_not_change_the_result(plan: list[int]) -> None:
    assert run_port(PORT, PDF, plan).fields == {"page_count": 3}


def test_encrypted_pdf_still_has_a_page_count() -> None:
    assert run_port(PORT, samples.encrypted_pdf(2)).fields == {"page_count": 2, "encrypted": True}


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n" + b"this is not a PDF body\n" * 50,
        PDF[: len(PDF) // 3],
        b"%PDF-",
    ],
    ids=["garbage-body", "truncated", "magic-only"],
)
def test_malformed_pdf_is_kept_without_page_count(data: bytes) -> None:
    extraction = run_port(PORT, data)
    assert extraction.media_type == sniff.PDF
    assert "page_count" not in extraction.fields


def test_large_pdf_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documentary, "PDF_PAGE_COUNT_MAX_BYTES", 100)
    monkeypatch.setattr(documentary, "DOCUMENT_IMAGE_PROBE_MAX_BYTES", 100)
    extraction = run_port(DocumentaryPort(), PDF, 64)
    assert extraction.media_type == sniff.PDF
    assert extraction.fields == {}


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (samples.office_zip("word/document.xml"), sniff.DOCX),
        (samples.office_zip("xl/workbook.xml"), sniff.XLSX),
        (samples.office_zip("ppt/presentation.xml"), sniff.PPTX),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(5000), sniff.OLE2),
        (rb"{\rtf1\ansi\ansicpg936 \u34892?\u25919?}", sniff.RTF),
        (
            "经查，当事人于2024年5月1日销售过期食品。\n以上事实有现场笔录为证。\n".encode(),
            sniff.TEXT,
        ),
    ],
    ids=["docx", "xlsx", "pptx", "ole2", "rtf", "ocr-text"],
)
def test_office_files_and_text_are_accepted(data: bytes, media_type: str) -> None:
    for sizes in (None, 1):
        extraction = run_port(PORT, data, sizes)
        assert extraction.media_type == media_type
        assert extraction.fields == {}


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("PNG", sniff.PNG), ("JPEG", sniff.JPEG), ("TIFF", sniff.TIFF), ("BMP", sniff.BMP)],
)
def test_scans_report_their_dimensions(fmt: str, media_type: str) -> None:
    extraction = run_port(PORT, samples.image_bytes(fmt, 1240, 1754), 4096)
    assert extraction.media_type == media_type
    assert extraction.fields == {"width": 1240, "height": 1754}


def test_unreadable_scan_is_kept_without_dimensions() -> None:
    extraction = run_port(PORT, b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    assert extraction.media_type == sniff.PNG
    assert extraction.fields == {}


def test_heic_scan_is_accepted() -> None:
    assert run_port(PORT, samples.heic_head()).media_type == sniff.HEIC


def test_bomb_scan_is_rejected() -> None:
    with pytest.raises(DecompressionBombError):
        run_port(PORT, samples.png_claiming_size(100_000, 100_000))


@pytest.mark.parametrize(
    "data",
    [
        samples.json_bytes({"not": "a document"}),
        samples.wav_recording(0.1),
        samples.mp4_head(),
        samples.plain_zip(),
        bytes(range(256)) * 20,
        b"",
    ],
    ids=["json", "wav", "mp4", "plain-zip", "binary", "empty"],
)
def test_other_content_is_the_wrong_media_type(data: bytes) -> None:
    with pytest.raises(WrongMediaTypeError):
        run_port(PORT, data)


def test_wrong_type_is_rejected_while_streaming() -> None:
    with pytest.raises(WrongMediaTypeError):
        feed_only(PORT, samples.mp4_head(), 1)
