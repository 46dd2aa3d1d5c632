"""Realistic evidence samples built in memory with Pillow, pypdf and the stdlib.

Each builder returns the exact bytes a client would upload. Expected values that tests assert
(EXIF time, GPS, device) are module constants so a test reads like its known answer.
"""

from __future__ import annotations

import copy
import io
import json
import struct
import wave
import zipfile
import zlib
from typing import Any

from PIL import ExifTags, Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational
from pypdf import PdfWriter

EXIF_DATETIME = "2024:03:15 10:20:30"
EXIF_CAPTURED_AT = "2024-03-15T10:20:30"
EXIF_MAKE = "Canon"
EXIF_MODEL = "EOS R5"
# 30°15'30.51" N, 120°09'36.12" E (West Lake, Hangzhou)
GPS_LAT = 30 + 15 / 60 + 30.51 / 3600
GPS_LON = 120 + 9 / 60 + 36.12 / 3600


def _picture(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A photo-like picture with edges and colour, so codecs have something to encode."""
    image = Image.new(mode, (width, height), "white")
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 16):
        draw.line((x, 0, width - x, height), fill=(x % 256, 90, 200 - x % 200))
    draw.rectangle((width // 4, height // 4, width // 2, height // 2), fill=(200, 30, 30))
    return image


def jpeg_with_exif(
    width: int = 640,
    height: int = 480,
    *,
    orientation: int = 1,
    offset: str | None = "+08:00",
    south_west: bool = False,
) -> bytes:
    """A JPEG carrying DateTimeOriginal (+ OffsetTimeOriginal), GPS, Make, Model, Orientation."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = EXIF_MAKE
    exif[ExifTags.Base.Model] = EXIF_MODEL
    exif[ExifTags.Base.Orientation] = orientation
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    exif_ifd[ExifTags.Base.DateTimeOriginal] = EXIF_DATETIME
    if offset is not None:
        exif_ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S" if south_west else "N"
    gps[ExifTags.GPS.GPSLatitude] = (IFDRational(30, 1), IFDRational(15, 1), IFDRational(3051, 100))
    gps[ExifTags.GPS.GPSLongitudeRef] = "W" if south_west else "E"
    gps[ExifTags.GPS.GPSLongitude] = (
        IFDRational(120, 1),
        IFDRational(9, 1),
        IFDRational(3612, 100),
    )
    out = io.BytesIO()
    _picture(width, height).save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


def image_bytes(fmt: str, width: int = 200, height: int = 150, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    picture = _picture(width, height)
    if mode != "RGB":
        picture = picture.convert(mode)
    picture.save(out, format=fmt)
    return out.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` but carries almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def heic_head() -> bytes:
    """The start of an iPhone HEIC: an ftyp box (brand heic) followed by a meta box."""
    ftyp = struct.pack(">I4s4sI", 24, b"ftyp", b"heic", 0) + b"mif1heic"
    return ftyp + struct.pack(">I4s", 4096, b"meta") + bytes(4088)


def pdf_with_pages(pages: int = 3) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)  # A4 in points
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf(pages: int = 2) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def office_zip(part: str) -> bytes:
    """A minimal OOXML package: content types, relationships, then the main part."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        package.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        package.writestr(part, '<?xml version="1.0"?><document>行政处罚决定书</document>')
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("photos/readme.txt", "not an office file")
    return out.getvalue()


def wav_recording(seconds: float = 0.5, rate: int = 8000, channels: int = 2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as recording:
        recording.setnchannels(channels)
        recording.setsampwidth(2)
        recording.setframerate(rate)
        size = int(seconds * rate) * channels * 2
        recording.writeframes((bytes(range(256)) * (size // 256 + 1))[:size])
    return out.getvalue()


def mp4_head(brand: bytes = b"isom", payload: int = 8192) -> bytes:
    ftyp = struct.pack(">I4s4sI", 32, b"ftyp", brand, 512) + b"isomiso2avc1mp41"
    return ftyp + struct.pack(">I4s", 8 + payload, b"mdat") + bytes(payload)


def webm_head(doctype: bytes = b"webm", payload: int = 8192) -> bytes:
    ebml_body = b"\x42\x86\x81\x01" + b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    ebml = b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(ebml_body)]) + ebml_body
    return ebml + b"\x18\x53\x80\x67" + b"\x01\xff\xff\xff\xff\xff\xff\xff" + bytes(payload)


def mpeg_ts(packets: int = 30) -> bytes:
    return b"".join(b"\x47" + bytes([0x40, 0x00, 0x10]) + bytes(184) for _ in range(packets))


IOT_JSON_BATCH: dict[str, Any] = {
    "device_id": "hz-air-0042",
    "firmware": "2.1.0",
    "readings": [
        {"ts": "2024-05-01T08:00:00+08:00", "metric": "pm25", "value": 35.2, "unit": "ug/m3"},
        {"ts": "2024-05-01T08:05:00+08:00", "metric": "pm25", "value": 36},
        {"ts": "2024-05-01T07:55:00+08:00", "metric": "noise", "value": 61.5, "unit": "dB"},
        {"ts": "2024-05-01T00:10:00Z", "metric": "noise", "value": -0.5, "unit": "dB"},
    ],
}


def iot_json_batch(**changes: Any) -> dict[str, Any]:
    batch = copy.deepcopy(IOT_JSON_BATCH)
    batch.update(changes)
    return batch


IOT_CSV_BATCH = (
    "device_id,ts,metric,value,unit\r\n"
    "hz-water-01,2024-05-01T08:00:00+08:00,ph,7.2,\r\n"
    "hz-water-01,2024-05-01T08:15:00+08:00,ph,7.3,\r\n"
    "hz-water-02,2024-05-01T07:45:00+08:00,turbidity,3.5e0,NTU\r\n"
    "hz-water-02,2024-05-01T09:00:00+08:00,turbidity,-1,NTU\r\n"
    "\r\n"
)


def json_bytes(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


DIAGRAM: dict[str, Any] = {
    "title": "杭州市西湖区某餐馆后厨现场勘验图",
    "scale": {"metres_per_unit": 0.01},
    "north": {"angle_degrees": 30},
    "canvas": {"width": 800, "height": 600},
    "shapes": [
        {"kind": "rect", "x": 50, "y": 50, "width": 700, "height": 500, "label": "后厨"},
        {
            "kind": "line",
            "x1": 50,
            "y1": 300,
            "x2": 750,
            "y2": 300,
            "dashed": True,
            "label": "隔断",
        },
        {"kind": "circle", "cx": 400, "cy": 150, "r": 60, "label": "灶台"},
        {"kind": "polygon", "points": [[600, 400], [700, 400], [650, 520]], "color": "#0055AA"},
        {"kind": "text", "x": 60, "y": 560, "text": "Exit 出口", "size": 20},
        {"kind": "marker", "x": 420, "y": 420, "label": "1"},
        {"kind": "marker", "x": 200, "y": 200, "label": "2", "color": "#008800"},
    ],
    "legend": [
        {"symbol": "1", "text": "过期食品存放处"},
        {"symbol": "2", "text": "Drain 排水口"},
    ],
}


def diagram(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(DIAGRAM)
    document.update(changes)
    return document


INQUIRY: dict[str, Any] = {
    "case_ref": "杭西市监罚〔2024〕123号",
    "place": {"address": "杭州市西湖区文三路 100 号市场监督管理所", "lat": 30.27, "lon": 120.13},
    "started_at": "2024-05-01T09:00:00+08:00",
    "ended_at": "2024-05-01T09:45:00+08:00",
    "interviewers": [
        {"name": "王芳", "officer_id": "3301-0042", "cert_no": "33010020240042"},
        {"name": "李强", "cert_no": "33010020240043"},
    ],
    "recorder": {"name": "李强"},
    "interviewee": {
        "name": "张三",
        "role": "party",
        "id_number": "330102199001011234",
        "contact": "138-0000-0000",
    },
    "items": [
        {
            "q": "我们是西湖区市场监督管理局的执法人员，请问你是否看清了我们的执法证件？",
            "a": "看清了。",
        },
        {"q": "冷库里的过期食品是谁采购的？", "a": "是我采购的，<script>alert('x')</script>"},
        {"q": "还有什么补充？", "a": ""},
    ],
    "notes": "被询问人阅读笔录后无异议。",
}


def inquiry(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(INQUIRY)
    record.update(changes)
    return record


ONSITE: dict[str, Any] = {
    "case_ref": "杭西市监检〔2024〕77号",
    "place": {"address": "杭州市西湖区文一路 8 号某餐馆"},
    "started_at": "2024-05-01T10:00:00+08:00",
    "ended_at": "2024-05-01T11:30:00+08:00",
    "officers": [{"name": "王芳", "cert_no": "33010020240042"}, {"name": "李强"}],
    "party": {"name": "杭州某餐饮有限公司", "role": "当事人", "id_number": "91330106MA2XXXXX9K"},
    "witnesses": [{"name": "赵六", "id_number": "330106198505055678"}],
    "observations": [
        {
            "time": "2024-05-01T10:05:00+08:00",
            "text": "后厨冷库内发现过期牛肉 12 箱 <b>标签</b>",
            "evidence_refs": ["照片 1", "照片 2"],
        },
        {"text": "现场未见进货查验记录。"},
    ],
    "measures_taken": ["对过期牛肉予以扣押", "责令立即停止使用"],
    "notes": "当事人在场。",
}


def onsite(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(ONSITE)
    record.update(changes)
    return record
