"""Photo metadata from EXIF: capture time, GPS position, device, orientation.

Every value is optional and checked: a tag that is missing, malformed or out of range is left out
rather than guessed. The capture time is reported as written by the camera, as ISO 8601 without a
zone unless the camera also recorded ``OffsetTimeOriginal``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from PIL import ExifTags, Image

_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_TAG_ORIENTATION = 0x0112
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_OFFSET_TIME_ORIGINAL = 0x9011
_GPS_LATITUDE_REF = 1
_GPS_LATITUDE = 2
_GPS_LONGITUDE_REF = 3
_GPS_LONGITUDE = 4

_EXIF_DATETIME = "%Y:%m:%d %H:%M:%S"
_OFFSET = re.compile(r"^[+-](?:[01]\d|2[0-3]):[0-5]\d$")
_MAX_TEXT = 128


def photo_metadata(image: Image.Image) -> dict[str, Any]:
    """The EXIF fields of ``image`` that are present and valid (possibly none)."""
    try:
        exif = image.getexif()
        exif_ifd = dict(exif.get_ifd(ExifTags.IFD.Exif))
        gps_ifd = dict(exif.get_ifd(ExifTags.IFD.GPSInfo))
    except (OSError, ValueError, SyntaxError, KeyError, TypeError, IndexError) as exc:
        return {"exif_error": f"EXIF is unreadable: {exc}"[:_MAX_TEXT]}
    fields: dict[str, Any] = {}
    captured_at = capture_time(
        exif_ifd.get(_TAG_DATETIME_ORIGINAL), exif_ifd.get(_TAG_OFFSET_TIME_ORIGINAL)
    )
    if captured_at is not None:
        fields["exif_captured_at"] = captured_at
    position = gps_position(gps_ifd)
    if position is not None:
        fields["gps"] = position
    for key, tag in (("make", _TAG_MAKE), ("model", _TAG_MODEL)):
        text = _clean_text(exif.get(tag))
        if text:
            fields[key] = text
    orientation = exif.get(_TAG_ORIENTATION)
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        fields["orientation"] = orientation
    return fields


def capture_time(raw: object, raw_offset: object = None) -> str | None:
    """``"2024:03:15 10:20:30"`` (+ ``"+08:00"``) as ``"2024-03-15T10:20:30+08:00"``."""
    text = _clean_text(raw)
    if not text:
        return None
    try:
        moment = datetime.strptime(text, _EXIF_DATETIME)
    except ValueError:
        return None
    iso = moment.isoformat()
    offset = _clean_text(raw_offset)
    if offset and _OFFSET.match(offset):
        iso += offset
    return iso


def gps_position(gps_ifd: dict[int, Any]) -> dict[str, float] | None:
    """``{"lat": ..., "lon": ...}`` in signed decimal degrees, or ``None`` if incomplete."""
    lat = _degrees(gps_ifd.get(_GPS_LATITUDE), gps_ifd.get(_GPS_LATITUDE_REF), "N", "S")
    lon = _degrees(gps_ifd.get(_GPS_LONGITUDE), gps_ifd.get(_GPS_LONGITUDE_REF), "E", "W")
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None
    return {"lat": lat, "lon": lon}


def _degrees(dms: object, ref: object, positive: str, negative: str) -> float | None:
    if not isinstance(dms, tuple) or len(dms) != 3:
        return None
    try:
        degrees, minutes, seconds = (float(part) for part in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(value) or min(degrees, minutes, seconds) < 0:
        return None
    hemisphere = _clean_text(ref).upper()
    if hemisphere == negative:
        return -value
    if hemisphere == positive:
        return value
    return None


def _clean_text(raw: object) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if not isinstance(raw, str):
        return ""
    return raw.replace("\x00", "").strip()[:_MAX_TEXT]
