"""The 统一社会信用代码 (unified social credit code) of GB 32100-2015, checked offline.

Every enterprise in the directory, every draw population and every conflict of interest is keyed
by this code, so a mistyped one must be refused where it is typed, not found months later as an
enterprise nobody can inspect. The code carries two check characters, and both are verified:

- positions 1–2: registering authority and category (not checked: the list keeps growing);
- positions 3–8: the registering authority's region code (GB/T 2260), digits only;
- positions 9–17: the organisation code of GB 11714, whose 9th character (position 17) checks
  its first 8: weights 3, 7, 9, 10, 5, 8, 4, 2 with A = 10 … Z = 35, ``11 − Σ mod 11``,
  where 10 is written ``X`` and 11 is written ``0``;
- position 18: the check character over the first 17: weights ``3**(i-1) mod 31``
  (1, 3, 9, 27, 19, 26, …, 28), ``31 − Σ mod 31`` (31 is written ``0``), in the 31-character
  code set ``0-9 A-H J-N P-R T-U W-Y`` (no I, O, S, V, Z), whose index is each character's value.

Pure and exact: upper case only, no trimming; callers normalise input before asking.
"""

from __future__ import annotations

CODE_SET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18
WEIGHTS = tuple(pow(3, i, 31) for i in range(LENGTH - 1))
ORGANISATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_VALUES = {c: i for i, c in enumerate(CODE_SET)}
_REGION = slice(2, 8)
_ORGANISATION = slice(8, 17)


def check_character(first17: str) -> str:
    """The 18th character for these 17; :class:`ValueError` if they are not 17 of the code
    set (a check character of a malformed code would mean nothing)."""
    if len(first17) != LENGTH - 1 or any(c not in _VALUES for c in first17):
        raise ValueError(f"{first17!r} is not 17 characters of the code set")
    total = sum(_VALUES[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CODE_SET[-total % 31]


def organisation_check_character(first8: str) -> str:
    """The 9th character of a GB 11714 organisation code for its first 8 (digits and A–Z)."""
    if len(first8) != 8 or any(not ("0" <= c <= "9" or "A" <= c <= "Z") for c in first8):
        raise ValueError(f"{first8!r} is not 8 digits or capital letters")
    total = sum(int(c, 36) * w for c, w in zip(first8, ORGANISATION_WEIGHTS, strict=True))
    remainder = 11 - total % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def problem(code: str) -> str | None:
    """Why ``code`` is not a valid credit code, in words a clerk can act on; ``None`` if it is.

    Checks in reading order (length, characters, region digits, organisation check, final
    check), so the reason given is the first thing to fix."""
    if len(code) != LENGTH:
        return f"a credit code has {LENGTH} characters, this one has {len(code)}"
    for position, c in enumerate(code, start=1):
        if c not in _VALUES:
            return (
                f"character {position} ({c!r}) is not allowed: only digits and capital letters "
                "other than I, O, S, V and Z"
            )
    if not code[_REGION].isdigit():
        return f"characters 3–8 ({code[_REGION]}) must be digits: the region code"
    organisation = code[_ORGANISATION]
    expected = organisation_check_character(organisation[:8])
    if organisation[8] != expected:
        return (
            f"character 17 is {organisation[8]!r} but the organisation code "
            f"{organisation[:8]} needs {expected!r}: a character of 9–17 is probably mistyped"
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        return (
            f"check character 18 is {code[17]!r} but should be {expected!r}: a mistyped character"
        )
    return None


def is_valid(code: str) -> bool:
    """Whether ``code`` passes every check of :func:`problem`."""
    return problem(code) is None
