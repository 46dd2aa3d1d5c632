"""Media type from magic bytes: a pure function of the upload's first bytes.

``sniff(head)`` looks only at ``head``: the first :data:`~.limits.SNIFF_HEAD_BYTES` of the upload,
or all of it when shorter (a head shorter than that limit is taken to be the whole upload). It
never looks at the client's claim or the file name, and returns ``None`` when no known signature
matches. The result depends on the head alone, so the chunking of the upload cannot change it.
"""

from __future__ import annotations

import struct

from evidence_service.capture.ports.limits import SNIFF_HEAD_BYTES

JPEG = "image/jpeg"
PNG = "image/png"
GIF = "image/gif"
TIFF = "image/tiff"
WEBP = "image/webp"
BMP = "image/bmp"
HEIC = "image/heic"
HEIF = "image/heif"
AVIF = "image/avif"

PDF = "application/pdf"
ZIP = "application/zip"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
OLE2 = "application/x-ole-storage"  # legacy .doc / .xls / .ppt compound files
RTF = "application/rtf"

MP4 = "video/mp4"
QUICKTIME = "video/quicktime"
THREE_GP = "video/3gpp"
THREE_G2 = "video/3gpp2"
WEBM = "video/webm"
MATROSKA = "video/x-matroska"
AVI = "video/x-msvideo"
MPEG_TS = "video/mp2t"
FLV = "video/x-flv"
OGG_VIDEO = "video/ogg"
WAV = "audio/wav"
MP3 = "audio/mpeg"
AAC = "audio/aac"
FLAC = "audio/flac"
OGG_AUDIO = "audio/ogg"
AMR = "audio/amr"
AMR_WB = "audio/amr-wb"
M4A = "audio/mp4"

JSON = "application/json"
CSV = "text/csv"
TEXT = "text/plain"
HTML = "text/html"
XML = "application/xml"

IMAGE_TYPES = frozenset({JPEG, PNG, GIF, TIFF, WEBP, BMP, HEIC, HEIF, AVIF})
OFFICE_TYPES = frozenset({DOCX, XLSX, PPTX, OLE2, RTF})
VIDEO_TYPES = frozenset(
    {MP4, QUICKTIME, THREE_GP, THREE_G2, WEBM, MATROSKA, AVI, MPEG_TS, FLV, OGG_VIDEO}
)
AUDIO_TYPES = frozenset({WAV, MP3, AAC, FLAC, OGG_AUDIO, AMR, AMR_WB, M4A})
AV_TYPES = VIDEO_TYPES | AUDIO_TYPES
TEXT_TYPES = frozenset({JSON, CSV, TEXT, HTML, XML})

#: Short container names reported by the audio-visual ports.
CONTAINER_NAMES: dict[str, str] = {
    MP4: "mp4",
    QUICKTIME: "quicktime",
    THREE_GP: "3gp",
    THREE_G2: "3g2",
    WEBM: "webm",
    MATROSKA: "matroska",
    AVI: "avi",
    MPEG_TS: "mpeg-ts",
    FLV: "flv",
    OGG_VIDEO: "ogg",
    WAV: "wav",
    MP3: "mp3",
    AAC: "aac-adts",
    FLAC: "flac",
    OGG_AUDIO: "ogg",
    AMR: "amr",
    AMR_WB: "amr-wb",
    M4A: "m4a",
}

# ISO base media file format (ftyp box) brands.
_FTYP_BRANDS: dict[bytes, str] = {
    **dict.fromkeys([b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"], HEIC),
    **dict.fromkeys([b"mif1", b"msf1"], HEIF),
    **dict.fromkeys([b"avif", b"avis"], AVIF),
    **dict.fromkeys([b"M4A ", b"M4B ", b"M4P "], M4A),
    **dict.fromkeys([b"qt  "], QUICKTIME),
    **dict.fromkeys([b"3gp4", b"3gp5", b"3gp6", b"3gp7", b"3gs7", b"3ge6", b"3gg6"], THREE_GP),
    **dict.fromkeys([b"3g2a", b"3g2b", b"3g2c"], THREE_G2),
    **dict.fromkeys(
        [b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash"]
        + [b"M4V ", b"M4VH", b"M4VP", b"MSNV", b"NDAS", b"f4v ", b"mmp4"],
        MP4,
    ),
}

_MPEG_TS_PACKET = 188
_BMP_DIB_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_ZIP_LOCAL_HEADER = b"PK\x03\x04"
_OFFICE_DIRS: tuple[tuple[bytes, str], ...] = ((b"word/", DOCX), (b"xl/", XLSX), (b"ppt/", PPTX))


def sniff(head: bytes) -> str | None:
    """The media type whose signature ``head`` starts with, or ``None`` if unknown."""
    if not head:
        return None
    return _sniff_binary(head) or _sniff_text(head)


def _sniff_binary(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith((_ZIP_LOCAL_HEADER, b"PK\x05\x06")):
        return _office_type(head)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE2
    if head.startswith(b"{\\rtf"):
        return RTF
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WEBP": WEBP, b"AVI ": AVI, b"WAVE": WAV}.get(head[8:12])
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _ftyp_type(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM if b"webm" in head[:64] else MATROSKA
    if head.startswith(b"fLaC"):
        return FLAC
    if head.startswith(b"OggS"):
        return OGG_VIDEO if b"theora" in head[:128] else OGG_AUDIO
    if head.startswith(b"#!AMR-WB\n"):
        return AMR_WB
    if head.startswith(b"#!AMR\n"):
        return AMR
    if head.startswith(b"FLV\x01"):
        return FLV
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xfa", b"\xff\xf3", b"\xff\xf2"):
        return MP3
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return AAC  # ADTS: 12-bit sync word, layer bits 00
    if _is_mpeg_ts(head):
        return MPEG_TS
    if _is_bmp(head):
        return BMP
    return None


def _office_type(head: bytes) -> str:
    """docx/xlsx/pptx by the entry names in the local file headers near the start of a ZIP."""
    for name in _zip_entry_names(head):
        for prefix, media_type in _OFFICE_DIRS:
            if name.startswith(prefix):
                return media_type
    return ZIP


def _zip_entry_names(head: bytes) -> list[bytes]:
    """Names of the ZIP local file headers that lie within ``head``, walked in order."""
    names: list[bytes] = []
    offset = 0
    while head.startswith(_ZIP_LOCAL_HEADER, offset) and offset + 30 <= len(head):
        flags, compressed_size = struct.unpack_from("<H10xI", head, offset + 6)
        name_len, extra_len = struct.unpack_from("<HH", head, offset + 26)
        names.append(head[offset + 30 : offset + 30 + name_len])
        if flags & 0x08:  # sizes follow the data in a descriptor: cannot skip ahead
            break
        offset += 30 + name_len + extra_len + compressed_size
    return names


def _ftyp_type(head: bytes) -> str | None:
    major = head[8:12]
    if major in _FTYP_BRANDS:
        return _FTYP_BRANDS[major]
    (box_size,) = struct.unpack_from(">I", head, 0)
    compatible_end = min(box_size, len(head))
    for offset in range(16, compatible_end - 3, 4):
        brand = head[offset : offset + 4]
        if brand in _FTYP_BRANDS:
            return _FTYP_BRANDS[brand]
    return None


def _is_mpeg_ts(head: bytes) -> bool:
    """A sync byte 0x47 at the start of every 188-byte packet in the head (at least two)."""
    offsets = range(0, len(head), _MPEG_TS_PACKET)
    return len(offsets) >= 2 and all(head[offset] == 0x47 for offset in offsets)


def _is_bmp(head: bytes) -> bool:
    if not head.startswith(b"BM") or len(head) < 18:
        return False
    reserved, dib_size = struct.unpack_from("<I4xI", head, 6)
    return reserved == 0 and dib_size in _BMP_DIB_HEADER_SIZES


def _sniff_text(head: bytes) -> str | None:
    complete = len(head) < SNIFF_HEAD_BYTES
    text = _decode_utf8_head(head, complete=complete)
    if text is None or _has_binary_controls(text):
        return None
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        return TEXT
    if stripped[0] in "{[":
        return JSON
    lowered = stripped[:64].lower()
    if lowered.startswith(("<!doctype html", "<html")):
        return HTML
    if lowered.startswith("<?xml"):
        return XML
    if _looks_like_csv(text, complete=complete):
        return CSV
    return TEXT


def _decode_utf8_head(head: bytes, *, complete: bool) -> str | None:
    """The head as text; a cut head may end in the first bytes of a multi-byte character."""
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut_at_end = exc.reason == "unexpected end of data" and exc.start >= len(head) - 3
        if cut_at_end and not complete:
            return head[: exc.start].decode("utf-8", errors="strict")
        return None


_TEXT_CONTROLS = frozenset("\t\n\r\f")


def _has_binary_controls(text: str) -> bool:
    """NUL or other C0 control characters that plain text does not contain."""
    return any(char < " " and char not in _TEXT_CONTROLS for char in text)


def _looks_like_csv(text: str, *, complete: bool) -> bool:
    """At least two complete lines in the head with the same, non-zero number of commas."""
    lines = text.splitlines()
    if not complete and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut off by the head's end
    lines = [line for line in lines[:10] if line.strip()]
    if len(lines) < 2:
        return False
    commas = lines[0].count(",")
    return commas > 0 and all(line.count(",") == commas for line in lines[1:])
