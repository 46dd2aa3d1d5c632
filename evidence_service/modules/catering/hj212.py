"""HJ 212-2017 frames: parse and build, exactly and within bounds.

A frame on the wire (HJ 212-2017 §6.3, ``domain/ANCHORS.md`` §3.2)::

    ##  LLLL  QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;CP=&&…&&  CCCC  \\r\\n
    2   4     data segment, LLLL characters (0–1024)    CRC   2

``LLLL`` is the data segment's length in decimal; ``CCCC`` the CRC-16 of the data segment alone,
four hex digits (upper case when built, either case accepted). Two CRC variants are met in the
field (:class:`CrcVariant`): the HJ 212 one (``reg = (reg >> 8) ^ byte`` before the eight shifts)
and plain CRC-16/MODBUS; which one a device uses is a per-device setting. The HJ 212 variant
keeps only 8 bits of state from one byte to the next, so it catches far fewer corruptions than
MODBUS: a transmission check, never proof of origin (that is the Ed25519 envelope's job).
The standard requires the trailing CRLF; MQTT payloads often lack it, so a frame is accepted
with or without it (but not with half of it).

The data segment's fields, with the standard's lengths (which count the ``KEY=`` too): QN 20
(``QN=`` + 17 digits ``YYYYMMDDhhmmsszzz``), ST 5 (2 digits), CN 7 (4 digits), PW 9 (≤ 6
characters), MN 27 (≤ 24 characters), Flag 8 (0–255), PNUM 9 and PNO 8 (≤ 4 digits), CP ≤ 950
(``CP=&&…&&`` as a whole). QN, ST, CN, PW, MN and CP are required, Flag, PNUM and PNO optional;
fields appear once each and CP comes last. Inside CP, items are separated by ``;`` and their
``key=value`` pairs by ``,``; ``DataTime=YYYYMMDDhhmmss`` is China local time (Asia/Shanghai);
``code-Suffix=value`` pairs become :class:`FactorValue`; other keys (``PolId``, ``CTime``… in
command frames) are kept only in the raw CP text.

Refusals raise :class:`FrameError` whose ``reason`` is one of :data:`FRAME_REASONS`, checked in
this order (the first that applies wins):

``too-long``      the payload is over 1,036 bytes, 2 + 4 + 1024 + 4 + 2 (refused first)
``framing``       not ``##`` + 4 digits …, the CRC not 4 hex digits, or a broken CRLF
``length``        the declared length is over 1024 or not the data segment's length
``crc``           the CRC does not match (under the variant asked for)
``encoding``      the data segment is not printable ASCII
``syntax``        not ``KEY=value;…;CP=&&…&&``, an unknown or repeated header field, a CP pair
                  without ``=``, an unknown ``-Suffix``
``missing-field`` QN, ST, CN, PW, MN or CP is absent
``field-length``  a field longer than the standard allows
``field-format``  a field of the right length but wrong form: QN not 17 digits or not a real
                  time, Flag over 255, DataTime not a real time, a number that is not one
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
MAX_DATA_LENGTH = 1024
MAX_FRAME_BYTES = 2 + 4 + MAX_DATA_LENGTH + 4 + 2  # 1,036
MAX_CP_LENGTH = 950
HEADER_FIELDS = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")
REQUIRED_FIELDS = ("QN", "ST", "CN", "PW", "MN")
#: The standard's field lengths, ``KEY=`` included.
FIELD_LENGTHS: Mapping[str, int] = {
    "QN": 20,
    "ST": 5,
    "CN": 7,
    "PW": 9,
    "MN": 27,
    "Flag": 8,
    "PNUM": 9,
    "PNO": 8,
}
#: ``code-Suffix`` suffixes whose values are numbers (HJ 212-2017 and the 2017 ``-RS``/``-RT``).
NUMBER_SUFFIXES = (
    "Rtd",
    "Avg",
    "Min",
    "Max",
    "ZsRtd",
    "ZsAvg",
    "ZsMin",
    "ZsMax",
    "Cou",
    "RS",
    "RT",
)
#: Suffixes whose values are kept as text.
TEXT_SUFFIXES = ("Flag", "EFlag", "SampleTime", "Info")
FRAME_REASONS = (
    "too-long",
    "framing",
    "length",
    "crc",
    "encoding",
    "syntax",
    "missing-field",
    "field-length",
    "field-format",
)
CRLF = b"\r\n"

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?\Z")
_CODE = re.compile(r"[A-Za-z0-9_]{1,20}\Z")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_DIGITS = frozenset(b"0123456789")
_SUFFIX_KIND = {**{s: "number" for s in NUMBER_SUFFIXES}, **{s: "text" for s in TEXT_SUFFIXES}}


class CrcVariant(enum.StrEnum):
    """How a device computes its CRC: the HJ 212 variant or plain CRC-16/MODBUS."""

    HJ212 = "hj212"
    MODBUS = "modbus"


class FrameError(ValueError):
    """A frame refused; ``reason`` is one of :data:`FRAME_REASONS`, the message says more."""

    def __init__(self, reason: str, message: str) -> None:
        assert reason in FRAME_REASONS, reason
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.detail = message


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        reg = byte
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
        table.append(reg)
    return tuple(table)


_TABLE = _crc_table()


def crc_hj212(data: bytes) -> int:
    """The HJ 212 CRC: ``reg = 0xFFFF``; per byte ``reg = (reg >> 8) ^ byte``, then 8 shifts
    with ``0xA001``. After the first step ``reg`` is one byte, so the shifts are a table look-up."""
    reg = 0xFFFF
    table = _TABLE
    for byte in data:
        reg = table[(reg >> 8) ^ byte]
    return reg


def crc_modbus(data: bytes) -> int:
    """Plain CRC-16/MODBUS (``reg ^= byte`` before the shifts), table-driven."""
    reg = 0xFFFF
    table = _TABLE
    for byte in data:
        reg = (reg >> 8) ^ table[(reg ^ byte) & 0xFF]
    return reg


_CRC = {CrcVariant.HJ212: crc_hj212, CrcVariant.MODBUS: crc_modbus}


def crc(data: bytes, variant: CrcVariant) -> int:
    """The CRC of ``data`` under a device's ``variant``."""
    return _CRC[variant](data)


@dataclass(frozen=True)
class FactorValue:
    """One factor's pairs in CP: ``numbers`` maps a suffix of :data:`NUMBER_SUFFIXES` to its
    value *as received* (text, so ``73.9200`` stays ``73.9200``); ``flag`` is the ``-Flag``
    letter unchecked (validation judges it); ``texts`` holds the other text suffixes."""

    code: str
    numbers: Mapping[str, str]
    flag: str | None = None
    texts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Frame:
    qn: str
    st: str
    cn: str
    pw: str
    mn: str
    flag: int | None
    cp: str  # the text between ``CP=&&`` and ``&&``
    data_time: datetime | None  # aware, Asia/Shanghai; None when CP has no DataTime
    values: Mapping[str, FactorValue]
    pnum: int | None = None
    pno: int | None = None

    @property
    def qn_time(self) -> datetime:
        """QN as an aware datetime (millisecond precision)."""
        return _china_time(self.qn[:14]).replace(microsecond=int(self.qn[14:]) * 1000)


def parse_frame(raw: bytes, *, crc: CrcVariant = CrcVariant.HJ212) -> Frame:
    """The :class:`Frame` in ``raw`` (one frame, with or without the trailing CRLF), or
    :class:`FrameError`. Work is bounded by :data:`MAX_FRAME_BYTES`."""
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError("too-long", f"{len(raw)} bytes, at most {MAX_FRAME_BYTES}")
    data = _unwrap(raw, crc)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FrameError("encoding", f"byte {exc.start} of the data segment is not ASCII") from exc
    if not text.isprintable():
        raise FrameError("encoding", "the data segment holds a control character")
    return _parse_segment(text)


def _unwrap(raw: bytes, variant: CrcVariant) -> bytes:
    """The data segment of ``raw`` after the framing, length and CRC checks."""
    if raw[:2] != b"##" or len(raw) < 6 or not _DIGITS.issuperset(raw[2:6]):
        raise FrameError("framing", "a frame starts with '##' and 4 decimal digits")
    declared = int(raw[2:6])
    if declared > MAX_DATA_LENGTH:
        raise FrameError("length", f"declared length {declared} is over {MAX_DATA_LENGTH}")
    rest = len(raw) - 6
    if rest == declared + 6:
        if raw[-2:] != CRLF:
            raise FrameError("framing", "the frame must end with CRLF or nothing after the CRC")
    elif rest != declared + 4:
        raise FrameError(
            "length", f"declared length {declared}, but {rest - 4} bytes before the CRC"
        )
    data = raw[6 : 6 + declared]
    printed = raw[6 + declared : 10 + declared]
    if not _HEX.issuperset(printed):
        raise FrameError("framing", f"the CRC {printed!r} is not 4 hex digits")
    expected = _CRC[variant](data)
    if int(printed, 16) != expected:
        raise FrameError(
            "crc", f"CRC {printed.decode()} but the data gives {expected:04X} ({variant.value})"
        )
    return data


def _parse_segment(text: str) -> Frame:
    if text.startswith("CP=&&"):
        start = 0
    else:
        start = text.find(";CP=&&") + 1  # header values hold no ';', so the first is CP's
        if start == 0:
            raise FrameError("missing-field", "no CP=&&…&& in the data segment")
    cp_field = text[start:]
    if len(cp_field) < 7 or not cp_field.endswith("&&"):
        raise FrameError("syntax", "CP must be the last field and end with '&&'")
    if len(cp_field) > MAX_CP_LENGTH:
        raise FrameError("field-length", f"CP is {len(cp_field)} characters, at most 950")
    header = _parse_header(text[: max(start - 1, 0)])
    cp = cp_field[5:-2]
    data_time, values = _parse_cp(cp)
    flag = header.get("Flag")
    if flag is not None and int(flag) > 255:
        raise FrameError("field-format", f"Flag={flag} is over 255")
    return Frame(
        qn=header["QN"],
        st=header["ST"],
        cn=header["CN"],
        pw=header["PW"],
        mn=header["MN"],
        flag=None if flag is None else int(flag),
        cp=cp,
        data_time=data_time,
        values=values,
        pnum=_optional_int(header.get("PNUM")),
        pno=_optional_int(header.get("PNO")),
    )


def _optional_int(text: str | None) -> int | None:
    return None if text is None else int(text)


_DIGIT_FIELDS = {"QN": 17, "ST": 2, "CN": 4, "Flag": 0, "PNUM": 0, "PNO": 0}  # 0: any length


def _parse_header(text: str) -> dict[str, str]:
    header: dict[str, str] = {}
    if text:
        for part in text.split(";"):
            key, sep, value = part.partition("=")
            if not sep:
                raise FrameError("syntax", f"header field {part[:30]!r} has no '='")
            if key not in FIELD_LENGTHS:
                raise FrameError("syntax", f"unknown header field {key[:30]!r}")
            if key in header:
                raise FrameError("syntax", f"header field {key} appears twice")
            header[key] = value
    for key in REQUIRED_FIELDS:
        if key not in header:
            raise FrameError("missing-field", f"no {key} field")
    for key, value in header.items():
        if len(key) + 1 + len(value) > FIELD_LENGTHS[key]:
            raise FrameError("field-length", f"{key} is longer than {FIELD_LENGTHS[key]}")
        if not value:
            raise FrameError("field-format", f"{key} is empty")
        width = _DIGIT_FIELDS.get(key)
        if width is not None and (not value.isdigit() or (width and len(value) != width)):
            wanted = f"{width} digits" if width else "digits"
            raise FrameError("field-format", f"{key}={value!r} is not {wanted}")
    _china_time(header["QN"][:14], what="QN")
    return header


def _parse_cp(cp: str) -> tuple[datetime | None, dict[str, FactorValue]]:
    data_time: datetime | None = None
    numbers: dict[str, dict[str, str]] = {}
    texts: dict[str, dict[str, str]] = {}
    if not cp:
        return None, {}
    for item in cp.split(";"):
        for pair in item.split(","):
            key, sep, value = pair.partition("=")
            if not sep:
                raise FrameError("syntax", f"CP pair {pair[:30]!r} has no '='")
            if key == "DataTime":
                if data_time is not None:
                    raise FrameError("syntax", "DataTime appears twice")
                if len(value) != 14 or not value.isdigit():
                    raise FrameError("field-format", f"DataTime={value[:30]!r} is not 14 digits")
                data_time = _china_time(value, what="DataTime")
                continue
            code, dash, suffix = key.rpartition("-")
            if not dash:
                continue  # PolId, CTime, …: command parameters, kept in the raw CP only
            kind = _SUFFIX_KIND.get(suffix)
            if kind is None or not _CODE.match(code):
                raise FrameError("syntax", f"CP key {key[:30]!r} is not code-Suffix")
            bucket = numbers if kind == "number" else texts
            pairs = bucket.setdefault(code, {})
            if suffix in pairs:
                raise FrameError("syntax", f"{key} appears twice")
            if kind == "number" and not _NUMBER.match(value):
                raise FrameError("field-format", f"{key}={value[:30]!r} is not a number")
            pairs[suffix] = value
    values = {}
    for code in sorted(numbers.keys() | texts.keys()):
        extra = texts.get(code, {})
        flag = extra.pop("Flag", None)
        values[code] = FactorValue(code, numbers.get(code, {}), flag, extra)
    return data_time, values


def _china_time(digits: str, *, what: str = "time") -> datetime:
    """``YYYYMMDDhhmmss`` (digits already checked) as an aware Asia/Shanghai datetime."""
    try:
        return datetime(
            int(digits[0:4]),
            int(digits[4:6]),
            int(digits[6:8]),
            int(digits[8:10]),
            int(digits[10:12]),
            int(digits[12:14]),
            tzinfo=CHINA,
        )
    except ValueError as exc:
        raise FrameError("field-format", f"{what} {digits} is not a real time") from exc


def format_china_time(moment: datetime) -> str:
    """``YYYYMMDDhhmmss`` of an aware ``moment`` in China local time."""
    return moment.astimezone(CHINA).strftime("%Y%m%d%H%M%S")


def format_qn(moment: datetime) -> str:
    """A QN for ``moment``: China local time to the millisecond, 17 digits."""
    local = moment.astimezone(CHINA)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


def build_frame(
    *,
    qn: str,
    st: str,
    cn: str,
    pw: str,
    mn: str,
    cp: str,
    flag: int | None = None,
    crc: CrcVariant = CrcVariant.HJ212,
    crlf: bool = True,
) -> bytes:
    """A frame around these fields, in the standard's order; ``cp`` is the text between
    ``CP=&&`` and ``&&`` (see :func:`format_cp`). Checks only the total length; use
    :func:`parse_frame` on the result to hold a frame to every rule."""
    parts = [f"QN={qn}", f"ST={st}", f"CN={cn}", f"PW={pw}", f"MN={mn}"]
    if flag is not None:
        parts.append(f"Flag={flag}")
    parts.append(f"CP=&&{cp}&&")
    data = ";".join(parts).encode("ascii")
    if len(data) > MAX_DATA_LENGTH:
        raise ValueError(f"the data segment would be {len(data)} characters, at most 1024")
    checksum = _CRC[crc](data)
    return b"##%04d%s%04X%s" % (len(data), data, checksum, CRLF if crlf else b"")


def format_cp(
    data_time: datetime | None,
    values: Iterable[tuple[str, Mapping[str, str], str | None]],
) -> str:
    """CP text: ``DataTime=…;code-Rtd=…,code-Flag=N;…`` from ``(code, {suffix: number text},
    flag)`` triples, suffixes in the order given."""
    items = [] if data_time is None else [f"DataTime={format_china_time(data_time)}"]
    for code, numbers, flag in values:
        pairs = [f"{code}-{suffix}={value}" for suffix, value in numbers.items()]
        if flag is not None:
            pairs.append(f"{code}-Flag={flag}")
        items.append(",".join(pairs))
    return ";".join(items)
