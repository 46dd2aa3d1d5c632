"""GB 32100-2015 credit codes: the standard's worked example, published codes of real
enterprises, and one named refusal per way a code can be wrong."""

from __future__ import annotations

import pytest

from evidence_service.modules.kit.credit_code import (
    CODE_SET,
    WEIGHTS,
    check_character,
    is_valid,
    organisation_check_character,
    problem,
)

# Published on business licences and in the national enterprise credit publicity system.
REAL_CODES = {
    "914403001922038216": "华为技术有限公司",
    "9144030071526726XG": "腾讯科技（深圳）有限公司",
    "91330100716105852F": "阿里巴巴（中国）网络技术有限公司",
    "91520000214434146R": "中航重机股份有限公司",
    "91350200MA31E12PXF": "a Xiamen company (organisation check character X)",
    "91350213678251743X": "a Xiamen company (final check character X)",
    "91440300L83341734R": "a Shenzhen registration (letter in the organisation code)",
    "123502001549897397": "a Xiamen public institution (registered by 机构编制, not 工商)",
}


def test_the_weights_are_powers_of_three_mod_31() -> None:
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert CODE_SET == "0123456789ABCDEFGHJKLMNPQRTUWXY"
    assert not set("IOSVZ") & set(CODE_SET)


def test_the_worked_example_of_the_standard() -> None:
    """GB 32100's example 91350100M000100Y4…: Σ = 1640, 1640 mod 31 = 28, 31 − 28 = 3."""
    first17 = "91350100M000100Y4"
    assert sum(CODE_SET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) == 1640
    assert check_character(first17) == "3"
    assert is_valid(first17 + "3")
    # The standard's text ends its example in Z, which is not even in the code set.
    assert problem(first17 + "Z") == (
        "character 18 ('Z') is not allowed: only digits and capital letters "
        "other than I, O, S, V and Z"
    )


@pytest.mark.parametrize("code", sorted(REAL_CODES))
def test_real_codes_are_valid(code: str) -> None:
    assert problem(code) is None
    assert is_valid(code)
    assert check_character(code[:17]) == code[17]
    assert organisation_check_character(code[8:16]) == code[16]


@pytest.mark.parametrize("code", sorted(REAL_CODES))
def test_any_single_changed_character_of_a_real_code_is_caught(code: str) -> None:
    """The final check character catches every single substitution (31 is prime)."""
    for position in range(18):
        for c in CODE_SET:
            if c != code[position]:
                altered = code[:position] + c + code[position + 1 :]
                assert not is_valid(altered), altered


@pytest.mark.parametrize("code", sorted(REAL_CODES))
def test_swapping_two_neighbours_of_a_real_code_is_caught(code: str) -> None:
    for position in range(17):
        if code[position] != code[position + 1]:
            swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
            assert problem(swapped) is not None, swapped


def test_organisation_check_character_ten_and_eleven() -> None:
    assert organisation_check_character("MA31E12P") == "X"
    # 11 − 0 = 11 is written 0.
    assert organisation_check_character("00000000") == "0"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "a credit code has 18 characters, this one has 0"),
        ("9144030019220382", "a credit code has 18 characters, this one has 16"),
        ("9144030019220382160", "a credit code has 18 characters, this one has 19"),
        (
            "91440300192203821o",
            "character 18 ('o') is not allowed: only digits and capital letters "
            "other than I, O, S, V and Z",
        ),
        (
            "91440300I922038216",
            "character 9 ('I') is not allowed: only digits and capital letters "
            "other than I, O, S, V and Z",
        ),
        (
            "9144030019220382S6",
            "character 17 ('S') is not allowed: only digits and capital letters "
            "other than I, O, S, V and Z",
        ),
        ("9144A3001922038216", "characters 3–8 (44A300) must be digits: the region code"),
        (
            "914403001922038316",
            "character 17 is '1' but the organisation code 19220383 needs 'X': "
            "a character of 9–17 is probably mistyped",
        ),
        (
            "914403001922038217",
            "check character 18 is '7' but should be '6': a mistyped character",
        ),
    ],
)
def test_each_problem_is_named(code: str, reason: str) -> None:
    assert problem(code) == reason
    assert not is_valid(code)


def test_lower_case_is_refused_not_normalised() -> None:
    assert problem("9144030071526726xg") is not None


@pytest.mark.parametrize(
    "first17", ["", "9144030019220382", "9144030019220382I", "914403001922038216"]
)
def test_check_character_refuses_what_is_not_17_characters_of_the_code_set(first17: str) -> None:
    with pytest.raises(ValueError, match="not 17 characters of the code set"):
        check_character(first17)


def test_organisation_check_character_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="not 8 digits or capital letters"):
        organisation_check_character("1922038")
    with pytest.raises(ValueError, match="not 8 digits or capital letters"):
        organisation_check_character("1922038a")
