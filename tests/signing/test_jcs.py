"""RFC 8785 known answers: the RFC's own examples, compared byte for byte."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from signing.jcs import canonicalize, loads

# RFC 8785 §3.2.2, the sample input, verbatim (including the escaped solidus and the 1E30).
RFC_SAMPLE_INPUT = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""

# RFC 8785 §3.2.4, the UTF-8 of the canonical form of the sample, as printed in the RFC.
RFC_SAMPLE_OUTPUT_HEX = (
    "7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b33333333"
    "33333333332e333333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e6722"
    "3a22e282ac245c75303030665c6e4127425c225c5c5c5c5c222f227d"
)


def test_rfc_sample_golden_bytes() -> None:
    out = canonicalize(json.loads(RFC_SAMPLE_INPUT))
    assert out == bytes.fromhex(RFC_SAMPLE_OUTPUT_HEX)
    assert out == (
        b'{"literals":[null,true,false],'
        b'"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        b'"string":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("333333333.33333329", b"333333333.3333333"),
        ("1E30", b"1e+30"),
        ("4.50", b"4.5"),
        ("2e-3", b"0.002"),
        ("0.000000000000000000000000001", b"1e-27"),
    ],
)
def test_rfc_sample_numbers(literal: str, expected: bytes) -> None:
    assert canonicalize(json.loads(literal)) == expected


def test_rfc_sample_literals() -> None:
    assert canonicalize([None, True, False]) == b"[null,true,false]"


def test_rfc_sorting_by_utf16_code_units() -> None:
    """§3.2.3: keys sort by UTF-16 code units, so U+1F600 (a surrogate pair) sorts before U+FB33."""
    source = (
        '{"\\u20ac":"Euro Sign","\\r":"Carriage Return",'
        '"\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",'
        '"\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control",'
        '"\\u00f6":"Latin Small Letter O With Diaeresis"}'
    )
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode("utf-8")
    out = canonicalize(json.loads(source))
    assert out == expected
    assert list(json.loads(out)) == [
        "\r",
        "1",
        "\u0080",
        "\u00f6",
        "\u20ac",
        "\U0001f600",
        "\ufb33",
    ]


# RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),  # minus zero
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("ieee_hex", "expected"), APPENDIX_B)
def test_appendix_b_numbers(ieee_hex: str, expected: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(ieee_hex))
    assert canonicalize(value) == expected.encode("ascii")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, b"0"),
        (-0.0, b"0"),
        (5e-324, b"5e-324"),
        (1.7976931348623157e308, b"1.7976931348623157e+308"),
        (9007199254740992.0, b"9007199254740992"),
        (295147905179352830000.0, b"295147905179352830000"),
        (1e21, b"1e+21"),
        (1e-7, b"1e-7"),
        (0.000001, b"0.000001"),
        (2**53 - 1, b"9007199254740991"),
    ],
)
def test_number_examples(value: float, expected: bytes) -> None:
    assert canonicalize(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        [1.0, float("nan")],
        {"a": float("inf")},
        2**53,  # beyond the IEEE-754 safe integers: would not survive a JSON round trip
        {1: "non-string key"},
        "\ud800",  # a lone surrogate has no UTF-8 form
    ],
)
def test_refuses_what_json_cannot_carry(value: Any) -> None:
    with pytest.raises(ValueError, match="not canonicalizable"):
        canonicalize(value)


def test_no_whitespace_and_utf8_strings() -> None:
    assert canonicalize({"b": [1, 2], "a": {"d": "张三", "c": None}}) == (
        '{"a":{"c":null,"d":"张三"},"b":[1,2]}'.encode()
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8")),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(st.characters(codec="utf-8")), children, max_size=5)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_form_is_a_fixed_point(value: Any) -> None:
    once = canonicalize(value)
    assert canonicalize(loads(once)) == once


@given(json_values)
def test_canonical_form_is_a_fixed_point_under_plain_json_loads(value: Any) -> None:
    """Holds whenever no float is a whole number of 2**53 or more (see the next test)."""
    once = canonicalize(value)
    try:
        again = canonicalize(json.loads(once))
    except ValueError:
        assert canonicalize(loads(once)) == once
    else:
        assert again == once


def test_whole_floats_beyond_2_53_need_a_jcs_number_parser() -> None:
    """1e16 prints as an integer; Python's json reads it back as an int the encoder refuses.

    A verifier re-canonicalizing a parsed statement must read big integers as doubles.
    """
    once = canonicalize({"n": 1e16})
    assert once == b'{"n":10000000000000000}'
    with pytest.raises(ValueError, match="not canonicalizable"):
        canonicalize(json.loads(once))
    assert canonicalize(loads(once)) == once


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a":1,"a":2}', "duplicate object key 'a'"),
        ('{"n":NaN}', "NaN"),
        ("[Infinity]", "Infinity"),
    ],
)
def test_loads_refuses_ambiguous_json(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        loads(text)


def test_loads_reads_big_integers_as_doubles() -> None:
    assert loads("[9007199254740991, 9007199254740992]") == [9007199254740991, 2.0**53]
    assert isinstance(loads("9007199254740991"), int)


_PLAIN_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text()  # every code point, controls and lone surrogates included
)
_PLAIN = st.recursive(
    _PLAIN_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(_PLAIN)
def test_fast_path_gives_the_reference_bytes(value: Any) -> None:
    """Float-free documents take ``json``'s C encoder; the bytes are rfc8785's, whatever the
    text (non-ASCII keys, controls, lone surrogates fall back to the reference)."""
    try:
        expected: bytes | type[Exception] = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        expected = ValueError
    if expected is ValueError:
        with pytest.raises(ValueError):
            canonicalize(value)
    else:
        assert canonicalize(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"b": '\x00\x1f\x7f\u2028"\\\b\t\n\f\r', "a": [1, True, None]},
        {"\ufb33": 1, "\U0001f600": 2, "z": 3},  # UTF-16 order, not code point order
        {"big": 2**53 - 1, "small": -(2**53) + 1},
        {"nested": [[[{"x": ""}]]]},
    ],
)
def test_fast_path_golden_cases(value: Any) -> None:
    assert canonicalize(value) == rfc8785.dumps(value)
