"""Opening untrusted images with Pillow: pixel limit before decoding, errors translated.

``Image.open`` is lazy: it parses the header (size, mode, EXIF) but decodes no pixels. We check
``width * height`` against :data:`~.limits.MAX_IMAGE_PIXELS` right after it, and Pillow's own
decompression-bomb warning is turned into an error while we hold the image. Pillow's exceptions
never leave this module: they become :class:`DecompressionBombError` or :class:`BadContentError`.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from evidence_service.capture.ports import sniff
from evidence_service.capture.ports.limits import (
    MAX_IMAGE_PIXELS,
    THUMBNAIL_JPEG_QUALITY,
    THUMBNAIL_MAX_SIDE,
)
from evidence_service.core.errors import BadContentError, DecompressionBombError

#: Pillow plugin per sniffed media type, so a file is decoded only as what its magic says it is.
PILLOW_FORMATS: dict[str, str] = {
    sniff.JPEG: "JPEG",
    sniff.PNG: "PNG",
    sniff.GIF: "GIF",
    sniff.TIFF: "TIFF",
    sniff.WEBP: "WEBP",
    sniff.BMP: "BMP",
    sniff.AVIF: "AVIF",
}

#: What Pillow raises on malformed input (header parsing or decoding).
_PILLOW_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    struct.error,
    zlib.error,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
)


@contextmanager
def open_image(stream: IO[bytes], media_type: str) -> Iterator[Image.Image]:
    """The image in ``stream`` with its header parsed and its pixel count checked, not decoded.

    Raises :class:`DecompressionBombError` if it has more than ``MAX_IMAGE_PIXELS`` pixels and
    :class:`BadContentError` if Pillow cannot parse it as ``media_type``. Errors raised while the
    caller decodes inside the ``with`` block are translated the same way.
    """
    pillow_format = PILLOW_FORMATS.get(media_type)
    if pillow_format is None:
        raise BadContentError(f"{media_type} images cannot be decoded here")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(stream, formats=[pillow_format]) as image:
                check_pixel_count(image.width, image.height)
                yield image
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise DecompressionBombError(
                f"image is too large to decode safely: {exc}",
                max_pixels=MAX_IMAGE_PIXELS,
            ) from exc
        except _PILLOW_ERRORS as exc:
            raise BadContentError(f"not a readable {media_type} image: {exc}") from exc


def check_pixel_count(width: int, height: int) -> None:
    """Raise :class:`DecompressionBombError` if ``width * height`` exceeds the limit."""
    if width <= 0 or height <= 0:
        raise BadContentError(f"image has no pixels ({width}x{height})")
    if width * height > MAX_IMAGE_PIXELS:
        raise DecompressionBombError(
            f"image is {width}x{height} = {width * height} pixels, "
            f"more than the limit of {MAX_IMAGE_PIXELS}",
            max_pixels=MAX_IMAGE_PIXELS,
        )


def make_thumbnail(image: Image.Image) -> bytes:
    """A JPEG at most ``THUMBNAIL_MAX_SIDE`` pixels on its longer side, upright per EXIF.

    Decodes the image (JPEG via draft mode, at a reduced scale), so call it inside
    :func:`open_image` to get its errors translated.
    """
    box = (THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE)
    if image.format == "JPEG":
        image.draft("RGB", box)
    upright = ImageOps.exif_transpose(image)
    upright.thumbnail(box)
    rgb = _flatten_to_rgb(upright)
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=THUMBNAIL_JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited onto white (JPEG has no alpha)."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
