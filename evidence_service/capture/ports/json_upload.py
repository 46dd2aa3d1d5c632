"""The upload side of the JSON ports: accept only JSON, buffer it bounded, parse it strictly.

Precedence of the two rejections: content recognised as another format (an image, a PDF, a
recording, unknown binary) is the wrong media type (415); text that is not a well-formed JSON
document is bad content (422), like JSON that breaks the port's schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evidence_service.capture.ports import sniff
from evidence_service.capture.ports.acceptance import require_media_type
from evidence_service.capture.ports.base import Extraction
from evidence_service.capture.ports.json_documents import load_json
from evidence_service.capture.ports.limits import JSON_DOCUMENT_MAX_BYTES
from evidence_service.capture.ports.streaming import BoundedSpool, SniffedUpload
from evidence_service.core.errors import BadContentError


def require_json(
    media_type: str | None, port_label: str, also_accepted: frozenset[str] = frozenset()
) -> str:
    """JSON (or one of ``also_accepted``); other text is bad content, else the wrong type."""
    if media_type is not None and media_type in also_accepted:
        return media_type
    if media_type in sniff.TEXT_TYPES and media_type != sniff.JSON:
        raise BadContentError(
            f"{port_label} takes a JSON document; the content is {media_type}, "
            "which does not start with '{' or '['",
            detected_media_type=media_type,
        )
    return require_media_type(media_type, {sniff.JSON} | also_accepted, port_label)


class JsonDocumentInspection:
    """Buffers a JSON document (up to ``JSON_DOCUMENT_MAX_BYTES``) and hands it to ``build``."""

    def __init__(self, label: str, build: Callable[[Any], Extraction]) -> None:
        self._build = build
        self._upload = SniffedUpload(
            lambda media_type: require_json(media_type, label),
            BoundedSpool(JSON_DOCUMENT_MAX_BYTES, what="the JSON document"),
        )

    def feed(self, chunk: bytes) -> None:
        self._upload.feed(chunk)

    def finish(self) -> Extraction:
        try:
            self._upload.media_type()
            document = load_json(self._upload.spool.rewound())
        finally:
            self._upload.close()
        return self._build(document)
