"""Department e-seals (电子印章): the drawn seal image and the signed seal record behind it.

The image is only what a person sees on a rendered document; what a court relies on is the
:class:`SealRecord`, a signature by the department's seal key (bound to an X.509 certificate)
over the SHA-256 digest of the sealed document. :func:`verify_seal` checks both the certificate
chain at the signing time and the signature.

Drawing follows the usual layout of a Chinese official seal (GA 241): a thick red ring, the
department name along the upper arc with each character turned to the arc, a solid five-pointed
star in the centre, an optional purpose line (e.g. 电子证据专用章) under the star, and the
13-digit seal code along the lower arc. The image is deterministic for the same inputs, font file
and Pillow version.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from PIL import Image, ImageDraw, ImageFont

from signing.certs import SealIdentity, seal_identity, verify_certificate
from signing.errors import (
    BadCertificateError,
    BadSignatureError,
    KeyFormatError,
    SigningError,
    VerificationError,
)
from signing.jcs import canonicalize
from signing.keys import (
    PrivateKey,
    alg_of,
    load_public_key,
    public_key_der,
    sign,
    verify_signature,
)

__all__ = [
    "DEFAULT_SEAL_COLOR",
    "MAX_PAGE_PIXELS",
    "FontNotFoundError",
    "SealFormatError",
    "SealImageError",
    "SealRecord",
    "default_cjk_font",
    "render_seal",
    "stamp_pdf_page",
    "seal_document",
    "stamp_png",
    "verify_seal",
]

RGB = tuple[int, int, int]

DEFAULT_SEAL_COLOR: RGB = (200, 16, 46)
SEAL_DIAMETER_MM = 42.0
"""GA 241: state-organ department seals are 40-42 mm across; the PNG's dpi is set to match."""
MAX_SEAL_SIZE_PX = 4096
MAX_PAGE_PIXELS = 60_000_000
"""A page image larger than this (about A3 at 600 dpi) is refused before it is decoded."""
_SUPERSAMPLE = 2


class FontNotFoundError(SigningError):
    """No font able to draw the department name (a CJK font) could be found."""


class SealImageError(SigningError):
    """A seal or page image is unusable: not a PNG, too large, or bad drawing parameters."""


# --------------------------------------------------------------------------- fonts


def _packaged_noto_serif_sc() -> Path | None:
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return None
    return Path(pylopdf_fonts_zh_cn.serif_path())


_DEBIAN_CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/ukai.ttc"),
)


def default_cjk_font() -> Path:
    """The CJK font seals are drawn with when no ``font_path`` is given.

    Looked up in this fixed order, first hit wins: Noto Serif SC from the ``pylopdf-fonts-zh-cn``
    dependency (SIL OFL 1.1); Debian's ``fonts-noto-cjk``, ``fonts-wqy-zenhei`` or
    ``fonts-arphic-ukai``. Raises
    :class:`FontNotFoundError` naming what to install when none is present.
    """
    candidates: list[Path] = []
    packaged = _packaged_noto_serif_sc()
    if packaged is not None:
        candidates.append(packaged)
    candidates += _DEBIAN_CJK_FONTS
    for path in candidates:
        if path.is_file():
            return path
    raise FontNotFoundError(
        "no CJK font found to draw the seal: pip install pylopdf-fonts-zh-cn "
        "(or apt-get install fonts-noto-cjk), or pass font_path="
    )


def _load_font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(str(path), size)
    except OSError as exc:
        raise FontNotFoundError(f"cannot load seal font {path}: {exc}") from exc


def _check_covers(font: ImageFont.FreeTypeFont, text: str, path: Path) -> None:
    """Refuse to draw tofu: every character must have a glyph that is not the .notdef box."""
    missing_box = font.getmask("\U0010fffd").getbbox()
    for char in text:
        if char.isspace():
            continue
        if font.getmask(char).getbbox() == missing_box:
            raise FontNotFoundError(f"font {path} has no glyph for {char!r}")


# --------------------------------------------------------------------------- drawing


def _glyph_tile(
    font: ImageFont.FreeTypeFont, char: str, *, height: int, width: int, stroke: int
) -> Image.Image:
    """One character as an ``L`` mask scaled to ``width`` x ``height`` (seal glyphs are narrow)."""
    left, top, right, bottom = (int(v) for v in font.getbbox(char, stroke_width=stroke))
    tile = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(tile).text(
        (-left, -top), char, font=font, fill=255, stroke_width=stroke, stroke_fill=255
    )
    return tile.resize((max(1, width), max(1, height)), Image.Resampling.LANCZOS)


def _paste_rotated(
    canvas: Image.Image, tile: Image.Image, *, center: tuple[float, float], clockwise_deg: float
) -> None:
    rotated = tile.rotate(-clockwise_deg, resample=Image.Resampling.BICUBIC, expand=True)
    x = round(center[0] - rotated.width / 2)
    y = round(center[1] - rotated.height / 2)
    canvas.paste(255, (x, y), rotated)


def _arc_text(
    canvas: Image.Image,
    font: ImageFont.FreeTypeFont,
    text: str,
    *,
    radius: float,
    span_deg: float,
    glyph_height: int,
    max_aspect: float,
    stroke: int,
    lower: bool,
) -> None:
    """Spread ``text`` evenly over ``span_deg`` centred on the top (or bottom) of the circle.

    Upper-arc characters stand with their tops outward; lower-arc ones with tops toward the
    centre; both read left to right.
    """
    cx, cy = canvas.width / 2, canvas.height / 2
    n = len(text)
    step = span_deg / n
    chord = 2 * radius * math.sin(math.radians(step) / 2)
    width = int(min(glyph_height * max_aspect, chord * 0.92))
    for i, char in enumerate(text):
        offset = -span_deg / 2 + step * (i + 0.5)  # degrees, left to right as read
        if char.isspace():
            continue
        tile = _glyph_tile(font, char, height=glyph_height, width=width, stroke=stroke)
        if lower:
            angle = 180.0 - offset  # clockwise from 12 o'clock
            tilt = -offset
        else:
            angle = offset
            tilt = offset
        rad = math.radians(angle)
        center = (cx + radius * math.sin(rad), cy - radius * math.cos(rad))
        _paste_rotated(canvas, tile, center=center, clockwise_deg=tilt)


def _star(radius_outer: float, center: tuple[float, float]) -> list[tuple[float, float]]:
    """The ten vertices of a regular five-pointed star, one point straight up."""
    inner = radius_outer * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for k in range(10):
        r = radius_outer if k % 2 == 0 else inner
        a = math.radians(-90 + 36 * k)
        points.append((center[0] + r * math.cos(a), center[1] + r * math.sin(a)))
    return points


def render_seal(
    *,
    department_name: str,
    seal_code: str,
    purpose: str | None = None,
    size_px: int = 1024,
    color: RGB = DEFAULT_SEAL_COLOR,
    font_path: Path | str | None = None,
    diameter_mm: float = SEAL_DIAMETER_MM,
) -> bytes:
    """Draw the seal as RGBA PNG bytes: transparent outside the ink, ``color`` where inked.

    ``seal_code`` goes on the lower arc (the 13-digit registration code, or any short text);
    ``purpose``, if given, is a horizontal line under the star. The PNG carries a dpi such that
    it prints ``diameter_mm`` wide (``size_px`` 1024 at 42 mm is about 619 dpi).
    """
    name = department_name.strip()
    code = seal_code.strip()
    if not name:
        raise SealImageError("department_name is empty")
    if not 64 <= size_px <= MAX_SEAL_SIZE_PX:
        raise SealImageError(f"size_px must be within 64..{MAX_SEAL_SIZE_PX}")
    if len(name) > 24 or len(code) > 24 or (purpose is not None and len(purpose) > 12):
        raise SealImageError("seal text too long: name/code at most 24, purpose 12 characters")
    if len(color) != 3 or any(not 0 <= c <= 255 for c in color):
        raise SealImageError("color must be an (r, g, b) triple of 0..255")
    path = Path(font_path) if font_path is not None else default_cjk_font()

    side = size_px * _SUPERSAMPLE
    R = side / 2 * 0.98  # outer edge of the ring
    c = side / 2
    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)

    ring = round(R * 0.075)
    draw.ellipse((c - R, c - R, c + R, c + R), outline=255, width=ring)

    name_height = round(R * (0.28 if len(name) <= 12 else 0.22))
    name_font = _load_font(path, name_height)
    _check_covers(name_font, name + code + (purpose or ""), path)
    _arc_text(
        mask,
        name_font,
        name,
        radius=R - ring - R * 0.045 - name_height / 2,
        span_deg=min(250.0, 50.0 + 20.0 * len(name)),
        glyph_height=name_height,
        max_aspect=0.86,
        stroke=max(1, round(name_height * 0.035)),
        lower=False,
    )

    star_r = R * 0.31
    star_center = (c, c - R * 0.02)
    draw.polygon(_star(star_r, star_center), fill=255)

    if purpose:
        purpose_height = round(R * 0.15)
        purpose_font = _load_font(path, purpose_height)
        stroke = max(1, round(purpose_height * 0.03))
        tiles = [
            _glyph_tile(
                purpose_font,
                ch,
                height=purpose_height,
                width=round(purpose_height * 0.85),
                stroke=stroke,
            )
            for ch in purpose
        ]
        gap = purpose_height * 0.08
        total = sum(t.width for t in tiles) + gap * (len(tiles) - 1)
        x = c - total / 2
        y = c + R * 0.47
        for tile in tiles:
            _paste_rotated(mask, tile, center=(x + tile.width / 2, y), clockwise_deg=0.0)
            x += tile.width + gap

    if code:
        code_height = round(R * 0.10)
        code_font = _load_font(path, code_height)
        _arc_text(
            mask,
            code_font,
            code,
            radius=R - ring - R * 0.04 - code_height / 2,
            span_deg=min(110.0, 6.0 * len(code) + 4.0),
            glyph_height=code_height,
            max_aspect=0.62,
            stroke=max(1, round(code_height * 0.02)),
            lower=True,
        )

    alpha = mask.resize((size_px, size_px), Image.Resampling.LANCZOS)
    image = Image.new("RGBA", (size_px, size_px), (*color, 0))
    image.putalpha(alpha)
    dpi = size_px * 25.4 / diameter_mm
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi), optimize=False)
    return out.getvalue()


# --------------------------------------------------------------------------- stamping


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


# --------------------------------------------------------------------------- the signed record

_DIGEST_RE = re.compile(r"[0-9a-f]{64}")
_RFC3339_Z = "%Y-%m-%dT%H:%M:%SZ"
_RECORD_FIELDS = frozenset(
    {"department_id", "seal_code", "alg", "certificate", "digest", "signed_at", "value"}
)


class SealFormatError(SigningError, ValueError):
    """A seal record is malformed: missing or extra fields, wrong types, bad digest or time."""


def _format_time(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SealFormatError("signed_at must be timezone-aware")
    return moment.astimezone(UTC).strftime(_RFC3339_Z)


def _parse_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, _RFC3339_Z).replace(tzinfo=UTC)
    except ValueError as exc:
        raise SealFormatError(
            f"signed_at {text!r} is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)"
        ) from exc


@dataclass(frozen=True, slots=True)
class SealRecord:
    """A department's seal over one document digest: who sealed what, when, and the proof.

    ``value`` is the base64 signature by the seal key over :meth:`signed_bytes`, the JCS bytes
    of ``{"department_id", "digest", "seal_code", "signed_at"}``; ``certificate`` is the PEM of
    the seal certificate whose key made it.
    """

    department_id: str
    seal_code: str
    alg: str
    certificate: str
    digest: str
    signed_at: str
    value: str

    def __post_init__(self) -> None:
        for name in _RECORD_FIELDS:
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise SealFormatError(f"seal record field {name!r} must be a non-empty string")
        if not _DIGEST_RE.fullmatch(self.digest):
            raise SealFormatError("digest must be 64 lowercase hex characters (SHA-256)")
        _parse_time(self.signed_at)
        try:
            base64.b64decode(self.value, validate=True)
        except binascii.Error as exc:
            raise SealFormatError("value is not valid base64") from exc

    @property
    def signed_at_datetime(self) -> datetime:
        return _parse_time(self.signed_at)

    def signed_bytes(self) -> bytes:
        """The exact bytes the seal key signs."""
        return _signed_bytes(self.digest, self.seal_code, self.department_id, self.signed_at)

    def as_json(self) -> str:
        """Canonical (JCS) JSON text of all fields."""
        return canonicalize({name: getattr(self, name) for name in sorted(_RECORD_FIELDS)}).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> SealRecord:
        """Parse and check shape; raises :class:`SealFormatError`. Does not verify the seal."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SealFormatError(f"seal record is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise SealFormatError("seal record must be a JSON object")
        if set(data) != _RECORD_FIELDS:
            missing, extra = _RECORD_FIELDS - set(data), set(data) - _RECORD_FIELDS
            raise SealFormatError(
                f"seal record fields wrong: missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        return cls(**data)


def _signed_bytes(digest: str, seal_code: str, department_id: str, signed_at: str) -> bytes:
    return canonicalize(
        {
            "department_id": department_id,
            "digest": digest,
            "seal_code": seal_code,
            "signed_at": signed_at,
        }
    )


def _identity_mismatch(identity: SealIdentity, department_id: str, seal_code: str) -> str | None:
    if identity.department_id != department_id:
        return f"the seal certificate is {identity.department_id!r}'s, not {department_id!r}'s"
    if identity.seal_code is not None and identity.seal_code != seal_code:
        return f"the seal certificate is for seal {identity.seal_code!r}, not {seal_code!r}"
    return None


def seal_document(
    digest_hex: str,
    *,
    key: PrivateKey,
    certificate_pem: bytes,
    department_id: str,
    seal_code: str,
    signed_at: datetime,
) -> SealRecord:
    """Seal a document by its SHA-256 digest with the department's seal key.

    ``signed_at`` is kept to the second, in UTC. The certificate must hold the public half of
    ``key``; it is not chain-checked here (that is :func:`verify_seal`'s job).
    """
    digest = digest_hex.lower()
    if not _DIGEST_RE.fullmatch(digest):
        raise SealFormatError("digest_hex must be a SHA-256 digest in hex (64 characters)")
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError as exc:
        raise SealFormatError(f"seal certificate is not PEM X.509: {exc}") from exc
    cert_spki = certificate.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    if cert_spki != public_key_der(key.public_key()):
        raise KeyFormatError("the seal key does not match the seal certificate")
    mismatch = _identity_mismatch(seal_identity(certificate_pem), department_id, seal_code)
    if mismatch is not None:
        raise SealFormatError(mismatch)
    when = _format_time(signed_at)
    message = _signed_bytes(digest, seal_code, department_id, when)
    signature = sign(key, message)
    return SealRecord(
        department_id=department_id,
        seal_code=seal_code,
        alg=alg_of(certificate.public_key()),
        certificate=certificate_pem.decode("ascii"),
        digest=digest,
        signed_at=when,
        value=base64.b64encode(signature).decode("ascii"),
    )


def verify_seal(
    record: SealRecord,
    *,
    trusted_cas: Sequence[bytes],
    crls: Sequence[bytes] = (),
    at: datetime | None = None,
    expected_digest: str | None = None,
) -> None:
    """Return ``None`` if the seal is valid; raise a :class:`~signing.errors.VerificationError`.

    Checks, in order: the digest is the one expected (when given); the seal certificate chains
    to ``trusted_cas`` and is unrevoked at ``at`` (default: the record's ``signed_at``); the
    record's ``alg`` is the certificate key's; the signature verifies.
    """
    if expected_digest is not None and record.digest != expected_digest.lower():
        raise VerificationError("seal digest mismatch: the seal is over another document")
    certificate = verify_certificate(
        record.certificate.encode("ascii"),
        trusted_cas=trusted_cas,
        crls=crls,
        at=at if at is not None else record.signed_at_datetime,
    )
    mismatch = _identity_mismatch(
        seal_identity(record.certificate), record.department_id, record.seal_code
    )
    if mismatch is not None:
        raise BadCertificateError(mismatch)
    try:
        public_key = load_public_key(
            certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        )
    except KeyFormatError as exc:
        raise BadSignatureError(f"seal certificate key is not usable: {exc}") from exc
    if alg_of(public_key) != record.alg:
        raise BadSignatureError(f"seal alg {record.alg!r} does not match the certificate key")
    verify_signature(public_key, base64.b64decode(record.value), record.signed_bytes(), record.alg)
