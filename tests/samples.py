"""Realistic evidence samples made on the fly (no binary fixtures in the repository)."""

from __future__ import annotations

import io
import json
import math
import struct
import wave
import zipfile

from PIL import Image


def jpeg_with_exif(width: int = 640, height: int = 480) -> bytes:
    image = Image.new("RGB", (width, height), (200, 40, 40))
    for x in range(0, width, 16):
        for y in range(0, height, 16):
            image.putpixel((x, y), (x % 256, y % 256, 90))
    exif = Image.Exif()
    exif[0x010F] = "Huawei"  # Make
    exif[0x0110] = "Mate 60"  # Model
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = "2026:11:27 09:30:15"  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (30.0, 15.0, 36.0)  # 30.26 N
    gps[3] = "E"
    gps[4] = (120.0, 9.0, 18.0)  # 120.155 E
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=85)
    return out.getvalue()


def png(width: int = 200, height: int = 100) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def png_bomb_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose IHDR claims a huge canvas; decoding it would need tens of GB."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def pdf(pages: int = 3) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
            for i in range(int(seconds * rate))
        )
        w.writeframes(frames)
    return out.getvalue()


def mp4(size: int = 64 * 1024) -> bytes:
    ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isomiso2"
    mdat_len = size - len(ftyp)
    return (
        ftyp
        + struct.pack(">I", mdat_len)
        + b"mdat"
        + bytes(range(256)) * ((mdat_len - 8) // 256)
        + b"\0" * ((mdat_len - 8) % 256)
    )


def iot_json(count: int = 3) -> bytes:
    readings = [
        {
            "ts": f"2026-11-27T08:0{i}:00Z",
            "metric": "oil_fume_mg_m3",
            "value": 1.2 + i,
            "unit": "mg/m3",
        }
        for i in range(count)
    ]
    return json.dumps({"device_id": "HZ-CATER-0042", "readings": readings}).encode()


def iot_csv_bad() -> bytes:
    return (
        b"device_id,ts,metric,value\nHZ-1,2026-11-27T08:00:00Z,temp,12.5\nHZ-1,not-a-time,temp,x\n"
    )


def diagram() -> bytes:
    return json.dumps(
        {
            "title": "西湖区某餐馆后厨现场勘验图",
            "scale": {"metres_per_unit": 0.01},
            "north": {"angle_degrees": 0},
            "canvas": {"width": 800, "height": 600},
            "shapes": [
                {"kind": "rect", "x": 50, "y": 50, "width": 700, "height": 500, "label": "后厨"},
                {"kind": "circle", "cx": 200, "cy": 200, "r": 40, "label": "灶台"},
                {"kind": "line", "x1": 50, "y1": 300, "x2": 750, "y2": 300, "label": "排水沟"},
                {"kind": "marker", "x": 400, "y": 420, "label": "证据1"},
            ],
        },
        ensure_ascii=False,
    ).encode()


def inquiry() -> bytes:
    return json.dumps(
        {
            "place": {"address": "杭州市西湖区文三路 100 号"},
            "started_at": "2026-11-27T09:00:00Z",
            "ended_at": "2026-11-27T09:40:00Z",
            "interviewers": [{"name": "张明", "cert_no": "33010012345"}],
            "interviewee": {"name": "孙某", "role": "party", "id_number": "330106199001011234"},
            "items": [
                {"q": "你是否是该店经营者?", "a": "是的。"},
                {"q": "油烟净化器为何未开启?", "a": "<script>alert(1)</script> 忘记了。"},
            ],
        },
        ensure_ascii=False,
    ).encode()


def onsite() -> bytes:
    return json.dumps(
        {
            "place": {"address": "杭州市西湖区文三路 100 号", "lat": 30.27, "lon": 120.13},
            "started_at": "2026-11-27T10:00:00Z",
            "ended_at": "2026-11-27T10:30:00Z",
            "officers": [{"name": "张明"}, {"name": "王芳"}],
            "party": {"name": "某餐饮有限公司", "role": "party"},
            "observations": [{"text": "后厨油烟净化设备处于关闭状态。"}],
        },
        ensure_ascii=False,
    ).encode()
