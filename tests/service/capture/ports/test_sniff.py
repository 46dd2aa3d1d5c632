from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings

from evidence_service.capture.ports import sniff
from evidence_service.capture.ports.limits import SNIFF_HEAD_BYTES
from evidence_service.capture.ports.streaming import HeadSniffer
from tests.service.capture.ports import samples
from tests.service.capture.ports.feeding import chunk_plans, chunks


def _riff(form: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 1000) + form + b"fmt " + bytes(20)


def _ftyp(brand: bytes, compatible: bytes = b"") -> bytes:
    return struct.pack(">I4s4sI", 16 + len(compatible), b"ftyp", brand, 0) + compatible + bytes(64)


KNOWN = [
    ("jpeg", samples.jpeg_with_exif(64, 48), sniff.JPEG),
    ("png", samples.image_bytes("PNG"), sniff.PNG),
    ("gif", samples.image_bytes("GIF"), sniff.GIF),
    ("tiff", samples.image_bytes("TIFF"), sniff.TIFF),
    ("tiff-big-endian", b"MM\x00*\x00\x00\x00\x08" + bytes(32), sniff.TIFF),
    ("webp", samples.image_bytes("WEBP"), sniff.WEBP),
    ("bmp", samples.image_bytes("BMP"), sniff.BMP),
    ("heic", samples.heic_head(), sniff.HEIC),
    ("heif-mif1", _ftyp(b"mif1", b"heic"), sniff.HEIF),
    ("heif-msf1", _ftyp(b"msf1"), sniff.HEIF),
    ("pdf", samples.pdf_with_pages(1), sniff.PDF),
    ("docx", samples.office_zip("word/document.xml"), sniff.DOCX),
    ("xlsx", samples.office_zip("xl/workbook.xml"), sniff.XLSX),
    ("pptx", samples.office_zip("ppt/presentation.xml"), sniff.PPTX),
    ("zip", samples.plain_zip(), sniff.ZIP),
    ("ole2", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), sniff.OLE2),
    ("rtf", rb"{\rtf1\ansi\deff0 {\fonttbl {\f0 Times;}} Hello}", sniff.RTF),
    ("mp4", samples.mp4_head(), sniff.MP4),
    ("mp4-mp42", samples.mp4_head(b"mp42"), sniff.MP4),
    ("mov", samples.mp4_head(b"qt  "), sniff.QUICKTIME),
    ("3gp", samples.mp4_head(b"3gp4"), sniff.THREE_GP),
    ("m4a", samples.mp4_head(b"M4A "), sniff.M4A),
    ("ftyp-unknown-major-known-compatible", _ftyp(b"xxxx", b"isom"), sniff.MP4),
    ("webm", samples.webm_head(), sniff.WEBM),
    ("mkv", samples.webm_head(b"matroska"), sniff.MATROSKA),
    ("avi", _riff(b"AVI "), sniff.AVI),
    ("wav", samples.wav_recording(0.1), sniff.WAV),
    ("mp3-id3", b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(64), sniff.MP3),
    ("mp3-frame", b"\xff\xfb\x90\x64" + bytes(64), sniff.MP3),
    ("mp3-mpeg2", b"\xff\xf3\x90\x64" + bytes(64), sniff.MP3),
    ("aac-adts", b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(64), sniff.AAC),
    ("flac", b"fLaC\x00\x00\x00\x22" + bytes(64), sniff.FLAC),
    ("ogg-vorbis", b"OggS\x00\x02" + bytes(22) + b"\x01vorbis" + bytes(32), sniff.OGG_AUDIO),
    ("ogg-theora", b"OggS\x00\x02" + bytes(22) + b"\x80theora" + bytes(32), sniff.OGG_VIDEO),
    ("amr", b"#!AMR\n" + bytes(64), sniff.AMR),
    ("amr-wb", b"#!AMR-WB\n" + bytes(64), sniff.AMR_WB),
    ("mpeg-ts", samples.mpeg_ts(), sniff.MPEG_TS),
    ("flv", b"FLV\x01\x05\x00\x00\x00\x09" + bytes(64), sniff.FLV),
    ("json-object", b'{"a": 1}', sniff.JSON),
    ("json-array-bom-space", b"\xef\xbb\xbf \r\n\t[1, 2]", sniff.JSON),
    ("csv", samples.IOT_CSV_BATCH.encode(), sniff.CSV),
    ("text", "询问笔录 OCR 文本\n第二行，没有逗号".encode(), sniff.TEXT),
    ("text-one-line-with-comma", b"Hello, world", sniff.TEXT),
    ("html", b"<!DOCTYPE html><html><body>captured page</body></html>", sniff.HTML),
    ("xml", b'<?xml version="1.0"?><feed/>', sniff.XML),
]


@pytest.mark.parametrize(("data", "expected"), [k[1:] for k in KNOWN], ids=[k[0] for k in KNOWN])
def test_known_signatures(data: bytes, expected: str) -> None:
    assert sniff.sniff(data[:SNIFF_HEAD_BYTES]) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x01\x02\x03binary",
        bytes(range(256)) * 4,
        b"\xff\xfe\x00\x00garbage",
        b"text with a NUL\x00 inside",
        b"BM" + bytes(16),  # "BM" without a plausible DIB header
        b"\x47" + bytes(400),  # one TS sync byte is not a transport stream
        "invalid \udcff".encode("utf-8", "surrogatepass"),
    ],
    ids=["empty", "binary", "all-bytes", "utf16-like", "nul", "bm-only", "lone-0x47", "bad-utf8"],
)
def test_unknown_is_none(data: bytes) -> None:
    assert sniff.sniff(data) is None


def test_rtf_is_not_json() -> None:
    assert sniff.sniff(rb"{\rtf1 x}") == sniff.RTF


def test_utf8_character_cut_at_the_head_boundary_is_still_text() -> None:
    text = ("a" * (SNIFF_HEAD_BYTES - 1) + "证据").encode()
    assert text[SNIFF_HEAD_BYTES - 1 : SNIFF_HEAD_BYTES + 2] == "证".encode()
    assert sniff.sniff(text[:SNIFF_HEAD_BYTES]) == sniff.TEXT


def test_truncated_utf8_in_a_whole_short_file_is_not_text() -> None:
    assert sniff.sniff("证据".encode()[:-1]) is None


def test_office_entry_beyond_the_first_local_header() -> None:
    data = samples.office_zip("word/document.xml")
    assert data.index(b"word/") > 30  # not the first entry: the walk must skip ahead
    assert sniff.sniff(data[:SNIFF_HEAD_BYTES]) == sniff.DOCX


def test_every_av_type_has_a_container_name() -> None:
    assert set(sniff.CONTAINER_NAMES) == set(sniff.AV_TYPES)


@settings(max_examples=40, deadline=None)
@given(plan=chunk_plans)
def test_head_sniffer_ignores_chunking(plan: list[int]) -> None:
    for _, data, expected in KNOWN[::4]:
        sniffer = HeadSniffer()
        for chunk in chunks(data, plan):
            sniffer.feed(chunk)
        sniffer.close()
        assert sniffer.media_type == expected
        assert sniffer.head == data[:SNIFF_HEAD_BYTES]


def test_head_sniffer_decides_once_the_head_is_full() -> None:
    sniffer = HeadSniffer()
    data = samples.mp4_head()
    assert sniffer.feed(data[: SNIFF_HEAD_BYTES - 1]) is False
    assert not sniffer.decided
    assert sniffer.feed(data[SNIFF_HEAD_BYTES - 1 :]) is True
    assert sniffer.media_type == sniff.MP4
    assert sniffer.feed(b"more") is False
    assert sniffer.close() is False
