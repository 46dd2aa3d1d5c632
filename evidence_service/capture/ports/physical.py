"""物证 physical evidence, photographed: the photo, its EXIF facts and a thumbnail."""

from __future__ import annotations

from typing import Any, ClassVar

from evidence_service.capture.ports import sniff
from evidence_service.capture.ports.acceptance import require_media_type
from evidence_service.capture.ports.base import DerivedFile, Extraction, Inspection
from evidence_service.capture.ports.exif import photo_metadata
from evidence_service.capture.ports.images import make_thumbnail, open_image
from evidence_service.capture.ports.limits import PHOTO_MAX_BYTES
from evidence_service.capture.ports.streaming import BoundedSpool, SniffedUpload

#: HEIC/HEIF photos are accepted by their magic, but Pillow cannot decode them without a plugin.
UNDECODABLE_PHOTO_TYPES = frozenset({sniff.HEIC, sniff.HEIF})
PHOTO_TYPES = frozenset({sniff.JPEG, sniff.PNG, sniff.WEBP, sniff.TIFF}) | UNDECODABLE_PHOTO_TYPES


class PhotoInspection:
    """Buffers one photo (up to ``PHOTO_MAX_BYTES``); decides its type from the first 4 KiB."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._spool = BoundedSpool(PHOTO_MAX_BYTES, what="the photo")
        self._upload = SniffedUpload(self._accept, self._spool)

    def _accept(self, media_type: str | None) -> str:
        accepted = require_media_type(media_type, PHOTO_TYPES, self._label)
        if accepted in UNDECODABLE_PHOTO_TYPES:
            self._spool.close()  # nothing to decode: only the size limit still applies
        return accepted

    def feed(self, chunk: bytes) -> None:
        self._upload.feed(chunk)

    def finish(self) -> Extraction:
        try:
            media_type = self._upload.media_type()
            if media_type in UNDECODABLE_PHOTO_TYPES:
                return Extraction(media_type, {"decoded": False})
            with open_image(self._spool.rewound(), media_type) as image:
                fields: dict[str, Any] = {"width": image.width, "height": image.height}
                fields.update(photo_metadata(image))
                thumbnail = make_thumbnail(image)
            return Extraction(
                media_type, fields, (DerivedFile("thumbnail", sniff.JPEG, thumbnail),)
            )
        finally:
            self._upload.close()


class PhysicalPort:
    """Photos of physical evidence: JPEG, PNG, WebP, TIFF (decoded) and HEIC/HEIF (kept as is).

    Fields: ``width``, ``height``, and when present in EXIF ``exif_captured_at``,
    ``gps`` ``{"lat", "lon"}``, ``make``, ``model`` (the device), ``orientation``.
    Derived: a JPEG ``thumbnail``. HEIC/HEIF: ``{"decoded": false}`` and nothing derived.
    """

    id: ClassVar[str] = "physical"
    label: ClassVar[str] = "物证 physical evidence (photographed)"
    max_size: ClassVar[int | None] = PHOTO_MAX_BYTES

    def inspect(self) -> Inspection:
        return PhotoInspection(self.label)
