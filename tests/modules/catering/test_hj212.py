"""HJ 212-2017 frames: the public sample frames under both CRC variants, build→parse round
trips, and one named case per refusal reason."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence_service.modules.catering.hj212 import (
    CHINA,
    FRAME_REASONS,
    MAX_FRAME_BYTES,
    CrcVariant,
    FactorValue,
    FrameError,
    build_frame,
    crc_hj212,
    crc_modbus,
    format_cp,
    format_qn,
    parse_frame,
)

# domain/ANCHORS.md §3.2: two public frames in the HJ 212 CRC variant, one in CRC-16/MODBUS.
SAMPLE_SD = (
    b"##0231QN=20201216134702246;ST=32;CN=2011;PW=123456;MN=SD370300001043;CP=&&"
    b"DataTime=20201216134641;011-Rtd=73.9200,011-Flag=N;060-Rtd=1.0900,060-Flag=N;"
    b"B01-Rtd=70.7000,B01-Flag=N;B00-Rtd=1395185.0000,B00-Flag=N;001-Rtd=7.0380,001-Flag=N&&0280"
)
SAMPLE_A11 = (
    b"##0247QN=20260706103512345;ST=21;CN=2011;PW=123456;MN=A110000_0001;Flag=9;CP=&&"
    b"DataTime=20260706103000;w01010-Rtd=28.6,w01010-Flag=N;w01014-Rtd=7.8,w01014-Flag=N;"
    b"w01001-Rtd=6.5,w01001-Flag=N;w01017-Rtd=15.2,w01017-Flag=N;w01019-Rtd=1.023,"
    b"w01019-Flag=N&&1540"
)
SAMPLE_MODBUS = (
    b"##0122QN=20170516010101001;ST=22;CN=3014;PW=123456;MN=ABCDEFG1234567;Flag=3;CP=&&"
    b"PolId=101,CTime=04,CTime=10,CTime=14,CTime=16&&526F"
)
SAMPLES = [
    (SAMPLE_SD, CrcVariant.HJ212),
    (SAMPLE_A11, CrcVariant.HJ212),
    (SAMPLE_MODBUS, CrcVariant.MODBUS),
]
HEADER = "QN=20260706103512345;ST=31;CN=2011;PW=123456;MN=CY310000000001"
CP = "CP=&&DataTime=20260706103000;a34041-Rtd=0.82,a34041-Flag=N&&"


def wrap(data: str | bytes, variant: CrcVariant = CrcVariant.HJ212, tail: bytes = b"\r\n") -> bytes:
    """A frame around ``data`` with a correct length and CRC."""
    body = data.encode("ascii") if isinstance(data, str) else data
    crc = crc_hj212(body) if variant is CrcVariant.HJ212 else crc_modbus(body)
    return b"##%04d%s%04X%s" % (len(body), body, crc, tail)


def refusal(raw: bytes, variant: CrcVariant = CrcVariant.HJ212) -> str:
    with pytest.raises(FrameError) as caught:
        parse_frame(raw, crc=variant)
    assert caught.value.reason in FRAME_REASONS
    return caught.value.reason


def test_crc_known_answers() -> None:
    assert crc_modbus(b"123456789") == 0x4B37  # the CRC-16/MODBUS check value
    assert crc_hj212(SAMPLE_SD[6:237]) == 0x0280
    assert crc_modbus(SAMPLE_SD[6:237]) == 0xD8B1
    assert crc_hj212(SAMPLE_MODBUS[6:128]) == 0xAF01
    assert crc_modbus(SAMPLE_MODBUS[6:128]) == 0x526F
    assert crc_hj212(b"") == crc_modbus(b"") == 0xFFFF


@pytest.mark.parametrize(("raw", "variant"), SAMPLES)
def test_public_samples_parse_with_their_variant_and_fail_with_the_other(
    raw: bytes, variant: CrcVariant
) -> None:
    assert parse_frame(raw, crc=variant).qn == raw[9:26].decode()
    assert parse_frame(raw + b"\r\n", crc=variant).qn == raw[9:26].decode()
    other = CrcVariant.MODBUS if variant is CrcVariant.HJ212 else CrcVariant.HJ212
    assert refusal(raw, other) == "crc"


def test_the_first_sample_field_by_field() -> None:
    frame = parse_frame(SAMPLE_SD)
    assert (frame.qn, frame.st, frame.cn, frame.pw, frame.mn, frame.flag) == (
        "20201216134702246",
        "32",
        "2011",
        "123456",
        "SD370300001043",
        None,
    )
    assert frame.data_time == datetime(2020, 12, 16, 13, 46, 41, tzinfo=CHINA)
    assert frame.data_time.utcoffset() == timedelta(hours=8)
    assert frame.qn_time == datetime(2020, 12, 16, 13, 47, 2, 246_000, tzinfo=CHINA)
    assert list(frame.values) == ["001", "011", "060", "B00", "B01"]
    assert frame.values["011"] == FactorValue("011", {"Rtd": "73.9200"}, "N", {})
    assert frame.values["B00"].numbers == {"Rtd": "1395185.0000"}
    assert frame.cp.startswith("DataTime=20201216134641;011-Rtd=73.9200,")


def test_a_command_frame_keeps_its_parameters_in_the_raw_cp_only() -> None:
    frame = parse_frame(SAMPLE_MODBUS, crc=CrcVariant.MODBUS)
    assert frame.cn == "3014" and frame.flag == 3
    assert frame.data_time is None and frame.values == {}
    assert frame.cp == "PolId=101,CTime=04,CTime=10,CTime=14,CTime=16"


def test_every_suffix_and_the_optional_fields() -> None:
    cp = (
        "DataTime=20260706110000;a34041-Avg=0.80,a34041-Min=0.10,a34041-Max=1.90,"
        "a34041-ZsAvg=0.85,a34041-Cou=12.5,a34041-Flag=T,a34041-EFlag=A01;cy0201-RS=1,"
        "cy0201-RT=0.75;a24088-SampleTime=20260706105500"
    )
    frame = parse_frame(wrap(f"{HEADER};Flag=5;PNUM=2;PNO=1;CP=&&{cp}&&"))
    assert (frame.flag, frame.pnum, frame.pno) == (5, 2, 1)
    assert frame.values["a34041"] == FactorValue(
        "a34041",
        {"Avg": "0.80", "Min": "0.10", "Max": "1.90", "ZsAvg": "0.85", "Cou": "12.5"},
        "T",
        {"EFlag": "A01"},
    )
    assert frame.values["cy0201"].numbers == {"RS": "1", "RT": "0.75"}
    assert frame.values["a24088"] == FactorValue(
        "a24088", {}, None, {"SampleTime": "20260706105500"}
    )


def test_lower_case_crc_and_an_empty_cp_are_accepted() -> None:
    lower = SAMPLE_MODBUS[:-4] + b"526f"
    assert parse_frame(lower, crc=CrcVariant.MODBUS) == parse_frame(
        SAMPLE_MODBUS, crc=CrcVariant.MODBUS
    )
    frame = parse_frame(wrap(f"{HEADER};CP=&&&&"))
    assert (frame.cp, frame.data_time, frame.values) == ("", None, {})


def test_build_frame_golden_bytes() -> None:
    moment = datetime(2026, 7, 6, 10, 30, tzinfo=CHINA)
    cp = format_cp(moment, [("a34041", {"Rtd": "0.82"}, "N"), ("cy0201", {"Rtd": "1"}, None)])
    assert cp == "DataTime=20260706103000;a34041-Rtd=0.82,a34041-Flag=N;cy0201-Rtd=1"
    raw = build_frame(
        qn=format_qn(moment + timedelta(milliseconds=345)),
        st="31",
        cn="2011",
        pw="123456",
        mn="CY310000000001",
        flag=4,
        cp=cp,
    )
    data = (
        b"QN=20260706103000345;ST=31;CN=2011;PW=123456;MN=CY310000000001;Flag=4;"
        b"CP=&&DataTime=20260706103000;a34041-Rtd=0.82,a34041-Flag=N;cy0201-Rtd=1&&"
    )
    assert raw == b"##0143" + data + b"C0C1\r\n"
    modbus = build_frame(
        qn="20260706103000345",
        st="31",
        cn="2011",
        pw="1",
        mn="M",
        cp="",
        crlf=False,
        crc=CrcVariant.MODBUS,
    )
    assert modbus == b"##0052QN=20260706103000345;ST=31;CN=2011;PW=1;MN=M;CP=&&&&E3A2"
    assert parse_frame(modbus, crc=CrcVariant.MODBUS).mn == "M"


def test_build_frame_refuses_an_oversized_segment() -> None:
    with pytest.raises(ValueError, match="at most 1024"):
        build_frame(qn="1" * 17, st="31", cn="2011", pw="1", mn="M", cp="x" * 1000)


_codes = st.from_regex(r"[a-z][0-9]{5}", fullmatch=True)
_numbers = st.from_regex(r"-?[0-9]{1,7}(\.[0-9]{1,4})?", fullmatch=True)
_suffixes = st.sampled_from(["Rtd", "Avg", "Min", "Max", "ZsRtd", "Cou"])
_value = st.tuples(
    _codes,
    st.dictionaries(_suffixes, _numbers, min_size=1, max_size=3),
    st.none() | st.sampled_from("NFMSDCTB"),
)
_moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(CHINA)
)


@given(
    moment=_moments,
    st_code=st.from_regex(r"[0-9]{2}", fullmatch=True),
    cn=st.from_regex(r"[0-9]{4}", fullmatch=True),
    pw=st.from_regex(r"[A-Za-z0-9]{1,6}", fullmatch=True),
    mn=st.from_regex(r"[A-Za-z0-9_]{1,24}", fullmatch=True),
    flag=st.none() | st.integers(0, 255),
    values=st.lists(_value, max_size=8, unique_by=lambda v: v[0]),
    variant=st.sampled_from(CrcVariant),
    crlf=st.booleans(),
)
def test_build_then_parse_round_trips(
    moment: datetime,
    st_code: str,
    cn: str,
    pw: str,
    mn: str,
    flag: int | None,
    values: list[tuple[str, dict[str, str], str | None]],
    variant: CrcVariant,
    crlf: bool,
) -> None:
    cp = format_cp(moment, values)
    qn = format_qn(moment)
    raw = build_frame(
        qn=qn, st=st_code, cn=cn, pw=pw, mn=mn, flag=flag, cp=cp, crc=variant, crlf=crlf
    )
    frame = parse_frame(raw, crc=variant)
    assert (frame.qn, frame.st, frame.cn, frame.pw, frame.mn, frame.flag, frame.cp) == (
        qn,
        st_code,
        cn,
        pw,
        mn,
        flag,
        cp,
    )
    assert frame.data_time == moment.replace(microsecond=0)
    assert frame.values == {
        code: FactorValue(code, numbers, flag_letter, {}) for code, numbers, flag_letter in values
    }


REFUSALS = {
    "too-long": b"##" + b"0" * (MAX_FRAME_BYTES - 1),
    "framing: no ##": wrap(f"{HEADER};{CP}")[1:],
    "framing: length not digits": b"##02a1" + wrap(f"{HEADER};{CP}")[6:],
    "framing: CRC not hex": wrap(f"{HEADER};{CP}", tail=b"")[:-4] + b"02G0",
    "framing: LF only": wrap(f"{HEADER};{CP}", tail=b"\n") + b"\n",
    "framing: truncated": b"##01",
    "length: over 1024": b"##1025" + b"x" * 1029,
    "length: mismatch": b"##0100" + wrap(f"{HEADER};{CP}")[6:],
    "crc": wrap(f"{HEADER};{CP}").replace(b"0.82", b"0.83"),
    "encoding: not ASCII": wrap(f"{HEADER};{CP}".encode().replace(b"0.82", b"\xe6\xb2\xb9")),
    "encoding: control character": wrap(f"{HEADER};{CP}".replace("0.82", "0.8\t")),
    "syntax: CP not last": wrap(f"{CP};{HEADER}"),
    "syntax: CP not closed": wrap(f"{HEADER};{CP[:-2]}"),
    "syntax: unknown field": wrap(f"{HEADER};XX=1;{CP}"),
    "syntax: repeated field": wrap(f"{HEADER};ST=31;{CP}"),
    "syntax: field without =": wrap(f"{HEADER};Flag;{CP}"),
    "syntax: CP pair without =": wrap(f"{HEADER};{CP.replace(',a34041-Flag=N', ',N')}"),
    "syntax: unknown suffix": wrap(f"{HEADER};{CP.replace('-Rtd', '-Foo')}"),
    "syntax: repeated pair": wrap(f"{HEADER};{CP.replace('-Flag=N', '-Rtd=1')}"),
    "syntax: repeated DataTime": wrap(f"{HEADER};{CP.replace(';a', ';DataTime=20260706103000;a')}"),
    "missing-field: no CP": wrap(HEADER),
    "missing-field: no MN": wrap(f"{HEADER.replace(';MN=CY310000000001', '')};{CP}"),
    "field-length: MN of 25": wrap(f"{HEADER.replace('CY310000000001', 'M' * 25)};{CP}"),
    "field-length: PW of 7": wrap(f"{HEADER.replace('123456', '1234567')};{CP}"),
    "field-length: Flag of 4 digits": wrap(f"{HEADER};Flag=0004;{CP}"),
    "field-length: CP over 950": wrap(f"{HEADER};CP=&&{'a34041-Rtd=1,' * 72}a34041-Flag=N&&"),
    "field-format: QN of 16 digits": wrap(f"{HEADER.replace('QN=2026', 'QN=026')};{CP}"),
    "field-format: QN not a time": wrap(f"{HEADER.replace('QN=20260706', 'QN=20261306')};{CP}"),
    "field-format: ST not digits": wrap(f"{HEADER.replace('ST=31', 'ST=3a')};{CP}"),
    "field-format: empty PW": wrap(f"{HEADER.replace('123456', '')};{CP}"),
    "field-format: Flag over 255": wrap(f"{HEADER};Flag=256;{CP}"),
    "field-format: DataTime not a time": wrap(f"{HEADER};{CP.replace('0706103000', '0230103000')}"),
    "field-format: DataTime short": wrap(
        f"{HEADER};{CP.replace('20260706103000', '202607061030')}"
    ),
    "field-format: value not a number": wrap(f"{HEADER};{CP.replace('0.82', '1e3')}"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_each_refusal_reason(case: str) -> None:
    assert refusal(REFUSALS[case]) == case.split(":")[0]


def test_every_reason_has_a_case() -> None:
    assert {case.split(":")[0] for case in REFUSALS} == set(FRAME_REASONS)


def test_the_largest_frame_is_accepted_and_one_byte_more_is_not() -> None:
    prefix = f"{HEADER};Flag=255;PNUM=9999;CP=&&DataTime=20260706103000;a34041-Rtd=1."
    data = prefix + "0" * (1024 - len(prefix) - 2) + "&&"
    raw = wrap(data)
    assert len(raw) == MAX_FRAME_BYTES == 1036
    assert parse_frame(raw).values["a34041"].numbers == {"Rtd": data[len(prefix) - 2 : -2]}
    assert refusal(raw + b"x") == "too-long"


def test_a_frame_error_carries_its_reason_and_detail() -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame(REFUSALS["crc"])
    assert caught.value.reason == "crc"
    assert str(caught.value).startswith("crc: CRC ")
    assert "(hj212)" in caught.value.detail
