"""现场勘验图 site survey diagram: a JSON diagram rendered to PNG, or a picture of one.

A JSON diagram (``schemas/site_survey_diagram.json``) is validated and rendered; a PNG or JPEG
(a scan or photo of a hand-drawn diagram) is checked like a photo and its dimensions recorded.
Images may be up to ``PHOTO_MAX_BYTES``; once the head shows JSON, the limit drops to
``JSON_DOCUMENT_MAX_BYTES``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from evidence_service.capture.ports import sniff
from evidence_service.capture.ports.base import DerivedFile, Extraction, Inspection
from evidence_service.capture.ports.diagram import diagram_fields, validate_diagram
from evidence_service.capture.ports.diagram_render import render_diagram_png
from evidence_service.capture.ports.images import open_image
from evidence_service.capture.ports.json_documents import load_json
from evidence_service.capture.ports.json_upload import require_json
from evidence_service.capture.ports.limits import JSON_DOCUMENT_MAX_BYTES, PHOTO_MAX_BYTES
from evidence_service.capture.ports.streaming import BoundedSpool, SniffedUpload
from signing.fonts import FontBook, find_cjk_font

DIAGRAM_IMAGE_TYPES = frozenset({sniff.PNG, sniff.JPEG})


class DiagramInspection:
    def __init__(self, label: str, fonts: FontBook) -> None:
        self._label = label
        self._fonts = fonts
        self._spool = BoundedSpool(PHOTO_MAX_BYTES, what="the site survey diagram")
        self._upload = SniffedUpload(self._accept, self._spool)

    def _accept(self, media_type: str | None) -> str:
        accepted = require_json(media_type, self._label, also_accepted=DIAGRAM_IMAGE_TYPES)
        if accepted == sniff.JSON:
            self._spool.lower_limit(JSON_DOCUMENT_MAX_BYTES)
        return accepted

    def feed(self, chunk: bytes) -> None:
        self._upload.feed(chunk)

    def finish(self) -> Extraction:
        try:
            media_type = self._upload.media_type()
            if media_type in DIAGRAM_IMAGE_TYPES:
                with open_image(self._spool.rewound(), media_type) as image:
                    return Extraction(media_type, {"width": image.width, "height": image.height})
            document = load_json(self._spool.rewound())
        finally:
            self._upload.close()
        diagram = validate_diagram(document)
        rendering = render_diagram_png(diagram, self._fonts)
        return Extraction(
            sniff.JSON, diagram_fields(diagram), (DerivedFile("rendering", sniff.PNG, rendering),)
        )


class SiteSurveyPort:
    """A JSON diagram (rendered to PNG) or a PNG/JPEG image of a diagram.

    JSON fields: ``title``, ``shape_count``, ``canvas`` ``{"width", "height"}``,
    ``metres_per_unit``, ``north_angle_degrees``; derived: the PNG ``rendering``.
    Image fields: ``width``, ``height``.

    ``font_path`` picks the label font; by default a CJK font is looked up on the host once, on
    the first rendering, and Pillow's default font is used if there is none.
    """

    id: ClassVar[str] = "site_survey"
    label: ClassVar[str] = "现场勘验图 site survey diagram"
    max_size: ClassVar[int | None] = PHOTO_MAX_BYTES

    def __init__(self, *, font_path: Path | None = None) -> None:
        self._font_path = font_path
        self._fonts: FontBook | None = None

    def inspect(self) -> Inspection:
        if self._fonts is None:
            self._fonts = FontBook(self._font_path or find_cjk_font())
        return DiagramInspection(self.label, self._fonts)
