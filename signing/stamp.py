"""Stamping a seal image onto a document: a PNG page, or one page of a PDF."""

from __future__ import annotations

import io
import zlib

from PIL import Image

from signing.seal_image import MAX_SEAL_SIZE_PX, SEAL_DIAMETER_MM, SealImageError

__all__ = ["MAX_PAGE_PIXELS", "stamp_pdf_page", "stamp_png"]

MAX_PAGE_PIXELS = 60_000_000
"""A page image larger than this (about A3 at 600 dpi) is refused before it is decoded."""


def _open_png(data: bytes, what: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
    except (OSError, Image.DecompressionBombError) as exc:
        raise SealImageError(f"{what} is not a readable image: {exc}") from exc
    if image.format != "PNG":
        raise SealImageError(f"{what} must be a PNG, got {image.format}")
    if image.width * image.height > MAX_PAGE_PIXELS:
        raise SealImageError(f"{what} has {image.width}x{image.height} pixels, over the limit")
    try:
        image.load()
    except (OSError, Image.DecompressionBombError) as exc:
        raise SealImageError(f"{what} is truncated or corrupt: {exc}") from exc
    return image


def _with_opacity(seal: Image.Image, opacity: float) -> Image.Image:
    if not 0.0 < opacity <= 1.0:
        raise SealImageError("opacity must be in (0, 1]")
    seal = seal.convert("RGBA")
    if opacity < 1.0:
        alpha = seal.getchannel("A").point(lambda a: round(a * opacity))
        seal.putalpha(alpha)
    return seal


def stamp_png(
    page_png: bytes,
    seal_png: bytes,
    *,
    at: tuple[int, int] | None = None,
    size_px: int | None = None,
    opacity: float = 0.85,
) -> bytes:
    """The page with the seal alpha-composited on it, as PNG bytes of the page's size and mode.

    ``at`` is the seal's top-left corner in page pixels; by default the seal sits at the bottom
    right, one tenth of its width in from the edges (over the date line, where seals go).
    ``size_px`` resizes the seal; by default it keeps its printed size when both PNGs carry a
    dpi, and its pixel size otherwise.
    """
    page = _open_png(page_png, "page")
    seal = _open_png(seal_png, "seal")
    if size_px is None:
        page_dpi, seal_dpi = page.info.get("dpi"), seal.info.get("dpi")
        if page_dpi and seal_dpi and seal_dpi[0] > 0:
            size_px = round(seal.width * float(page_dpi[0]) / float(seal_dpi[0]))
        else:
            size_px = seal.width
    if not 1 <= size_px <= MAX_SEAL_SIZE_PX:
        raise SealImageError(f"seal size {size_px}px is out of range")
    seal = _with_opacity(seal, opacity)
    if seal.size != (size_px, size_px):
        seal = seal.resize((size_px, size_px), Image.Resampling.LANCZOS)
    if at is None:
        margin = size_px // 10
        at = (max(0, page.width - size_px - margin), max(0, page.height - size_px - margin))
    mode, info_dpi = page.mode, page.info.get("dpi")
    canvas = page.convert("RGBA")
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    layer.paste(seal, at)
    canvas.alpha_composite(layer)
    result = canvas if mode in {"RGBA", "LA", "PA"} else canvas.convert("RGB")
    out = io.BytesIO()
    if info_dpi:
        result.save(out, format="PNG", dpi=info_dpi)
    else:
        result.save(out, format="PNG")
    return out.getvalue()


def _seal_overlay_pdf(seal: Image.Image, side_pt: float) -> bytes:
    """A one-page PDF, ``side_pt`` square, holding the seal as an RGB image with an alpha SMask.

    Written by hand because Pillow's PDF writer stores RGBA as JPEG 2000 (``SMaskInData``),
    which common viewers render as noise.
    """
    rgb = zlib.compress(seal.convert("RGB").tobytes(), 9)
    alpha = zlib.compress(seal.getchannel("A").tobytes(), 9)
    w, h = seal.size
    image_dict = f"/Type /XObject /Subtype /Image /Width {w} /Height {h} /BitsPerComponent 8"
    content = f"q {side_pt:.4f} 0 0 {side_pt:.4f} 0 0 cm /Seal Do Q".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {side_pt:.4f} {side_pt:.4f}] "
        "/Resources << /XObject << /Seal 5 0 R >> >> /Contents 4 0 R >>".encode(),
        b"<< /Length %d >>stream\n%s\nendstream" % (len(content), content),
        f"<< {image_dict} /ColorSpace /DeviceRGB /SMask 6 0 R /Filter /FlateDecode "
        f"/Length {len(rgb)} >>stream\n".encode()
        + rgb
        + b"\nendstream",
        f"<< {image_dict} /ColorSpace /DeviceGray /Filter /FlateDecode "
        f"/Length {len(alpha)} >>stream\n".encode()
        + alpha
        + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def stamp_pdf_page(
    pdf: bytes,
    seal_png: bytes,
    *,
    page_index: int = -1,
    at_pt: tuple[float, float] | None = None,
    diameter_mm: float = SEAL_DIAMETER_MM,
    opacity: float = 0.85,
) -> bytes:
    """The PDF with the seal drawn over one page (the last by default), as new PDF bytes.

    ``at_pt`` is the seal's lower-left corner in PDF points from the page's lower-left; by
    default the seal sits at the bottom right, 15 mm in from the edges. The seal is embedded as
    a transparent image, so the text under it stays visible and selectable.
    """
    from pypdf import PdfReader, PdfWriter, Transformation
    from pypdf.errors import PdfReadError

    seal = _with_opacity(_open_png(seal_png, "seal"), opacity)
    side_pt = diameter_mm / 25.4 * 72
    overlay_pdf = _seal_overlay_pdf(seal, side_pt)
    try:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
        overlay = PdfReader(io.BytesIO(overlay_pdf)).pages[0]
        page = writer.pages[page_index]
    except (PdfReadError, IndexError, ValueError, OSError) as exc:
        raise SealImageError(f"cannot stamp the PDF: {exc}") from exc
    if at_pt is None:
        margin = 15 / 25.4 * 72
        box = page.mediabox
        at_pt = (float(box.right) - side_pt - margin, float(box.bottom) + margin)
    page.merge_transformed_page(overlay, Transformation().translate(at_pt[0], at_pt[1]))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
