"""书证 documentary evidence: PDFs, scanned pages, office files and OCR'd text.

Documents are kept whatever their inner state: a file whose magic says PDF but that pypdf cannot
parse is accepted without a page count, and a scan whose header Pillow cannot read is accepted
without dimensions. Only the media type decides acceptance. Only PDFs and scans are buffered
(for parsing), up to :data:`~.limits.PDF_PAGE_COUNT_MAX_BYTES`; beyond that the buffer is dropped
and no fields are extracted. Office files and text stream through unbuffered.
"""

from __future__ import annotations

import struct
import zlib
from typing import IO, Any, ClassVar

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from evidence_service.capture.ports import sniff
from evidence_service.capture.ports.acceptance import require_media_type
from evidence_service.capture.ports.base import Extraction, Inspection
from evidence_service.capture.ports.images import PILLOW_FORMATS, open_image
from evidence_service.capture.ports.limits import (
    DOCUMENT_IMAGE_PROBE_MAX_BYTES,
    PDF_PAGE_COUNT_MAX_BYTES,
)
from evidence_service.capture.ports.streaming import BoundedSpool, SniffedUpload
from evidence_service.core.errors import BadContentError

SCAN_TYPES = frozenset(PILLOW_FORMATS) | {sniff.HEIC, sniff.HEIF}
DOCUMENT_TYPES = frozenset({sniff.PDF, sniff.TEXT, sniff.CSV}) | sniff.OFFICE_TYPES | SCAN_TYPES

#: What pypdf raises on malformed or hostile PDFs, besides its own errors.
_PDF_ERRORS = (
    PyPdfError,
    OSError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    AssertionError,
    RecursionError,
    struct.error,
    zlib.error,
)


class DocumentInspection:
    """Checks the document type from the head; buffers PDFs and scans (bounded) for their facts."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._spool = BoundedSpool(
            max(PDF_PAGE_COUNT_MAX_BYTES, DOCUMENT_IMAGE_PROBE_MAX_BYTES),
            what="the document",
            drop_when_full=True,
        )
        self._upload = SniffedUpload(self._accept, self._spool)

    def _accept(self, media_type: str | None) -> str:
        accepted = require_media_type(media_type, DOCUMENT_TYPES, self._label)
        if accepted != sniff.PDF and accepted not in PILLOW_FORMATS:
            self._spool.close()  # office files and text are stored as they are, not parsed
        return accepted

    def feed(self, chunk: bytes) -> None:
        self._upload.feed(chunk)

    def finish(self) -> Extraction:
        try:
            media_type = self._upload.media_type()
            return Extraction(media_type, self._fields(media_type))
        finally:
            self._upload.close()

    def _fields(self, media_type: str) -> dict[str, Any]:
        spool = self._spool
        if spool.overflowed:
            return {}
        if media_type == sniff.PDF and spool.size <= PDF_PAGE_COUNT_MAX_BYTES:
            return pdf_facts(spool.rewound())
        if media_type in PILLOW_FORMATS and spool.size <= DOCUMENT_IMAGE_PROBE_MAX_BYTES:
            return _scan_dimensions(spool.rewound(), media_type)
        return {}


def pdf_facts(stream: IO[bytes]) -> dict[str, Any]:
    """``page_count`` (and ``encrypted`` when true) of a PDF, or ``{}`` if pypdf cannot tell."""
    try:
        reader = PdfReader(stream, strict=False)
        encrypted = reader.is_encrypted
        if encrypted:
            reader.decrypt("")  # most "encrypted" PDFs only restrict printing or editing
        fields: dict[str, Any] = {"page_count": len(reader.pages)}
    except _PDF_ERRORS:
        return {}
    if encrypted:
        fields["encrypted"] = True
    return fields


def _scan_dimensions(stream: IO[bytes], media_type: str) -> dict[str, Any]:
    try:
        with open_image(stream, media_type) as image:
            return {"width": image.width, "height": image.height}
    except BadContentError:
        return {}


class DocumentaryPort:
    """PDF, scans (JPEG/PNG/TIFF/GIF/BMP/WebP/AVIF/HEIC), docx/xlsx/pptx, OLE2 doc/xls, RTF, text.

    Fields: ``page_count`` for a parseable PDF up to 50 MiB (``encrypted: true`` if so),
    ``width``/``height`` for a readable scan. An oversized scan (more than ``MAX_IMAGE_PIXELS``)
    is rejected as a decompression bomb.
    """

    id: ClassVar[str] = "documentary"
    label: ClassVar[str] = "书证 documentary evidence"
    max_size: ClassVar[int | None] = None

    def inspect(self) -> Inspection:
        return DocumentInspection(self.label)
