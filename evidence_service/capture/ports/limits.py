"""Every size, pixel and count limit of the capture ports, in one place.

Ports read these names; tests import them to build samples just over or under a limit.
"""

from __future__ import annotations

KiB = 1024
MiB = 1024 * KiB

#: Bytes of the upload's start kept for magic-byte sniffing; the media type is decided once this
#: many bytes arrived (or at the end of a shorter upload).
SNIFF_HEAD_BYTES = 4 * KiB

#: A spooled buffer stays in memory up to this size, then rolls over to an anonymous temp file.
SPOOL_MEMORY_BYTES = 1 * MiB

#: Largest photo the ``physical`` port (and an image sent to ``site_survey``) accepts.
PHOTO_MAX_BYTES = 100 * MiB
#: Largest JSON record, site-survey diagram, or IoT batch that is parsed and validated.
JSON_DOCUMENT_MAX_BYTES = 16 * MiB
#: Larger electronic-data files are accepted but not validated as IoT batches.
IOT_BATCH_MAX_BYTES = JSON_DOCUMENT_MAX_BYTES
#: Readings per IoT batch.
IOT_BATCH_MAX_READINGS = 1_000_000
#: PDFs up to this size are parsed for a page count; larger ones are stored without one.
PDF_PAGE_COUNT_MAX_BYTES = 50 * MiB
#: Scans (images) sent to ``documentary`` up to this size are probed for their dimensions.
DOCUMENT_IMAGE_PROBE_MAX_BYTES = 50 * MiB

#: Largest image (width x height) any port opens; checked from the header before decoding.
MAX_IMAGE_PIXELS = 80_000_000
#: Longest side of a photo thumbnail.
THUMBNAIL_MAX_SIDE = 320
THUMBNAIL_JPEG_QUALITY = 85

#: Largest canvas side of a site-survey diagram, in canvas units.
DIAGRAM_CANVAS_MAX_SIDE = 10_000
#: The diagram's drawing area is scaled so that its longer side is this many pixels.
DIAGRAM_RENDER_LONG_SIDE = 1600
#: Most shapes per diagram, points per polygon, and legend entries (also in the JSON Schema).
DIAGRAM_MAX_SHAPES = 10_000
DIAGRAM_MAX_POLYGON_POINTS = 1_000
DIAGRAM_MAX_LEGEND_ENTRIES = 50
