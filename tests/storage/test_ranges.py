"""Byte ranges resolve like HTTP Range requests."""

from __future__ import annotations

import pytest

from storage.errors import InvalidRangeError
from storage.ranges import clamp_range


@pytest.mark.parametrize(
    ("start", "end", "size", "expected"),
    [
        (0, None, 10, (0, 10)),
        (0, 0, 10, (0, 1)),
        (9, 9, 10, (9, 1)),
        (3, 5, 10, (3, 3)),
        (8, 100, 10, (8, 2)),
        (0, None, 0, (0, 0)),
    ],
)
def test_clamp_range(start: int, end: int | None, size: int, expected: tuple[int, int]) -> None:
    assert clamp_range(start, end, size) == expected


@pytest.mark.parametrize(
    ("start", "end", "size"),
    [(-1, None, 10), (5, 4, 10), (10, None, 10), (10, 12, 10), (0, 0, 0), (1, None, 0)],
)
def test_unsatisfiable_ranges(start: int, end: int | None, size: int) -> None:
    with pytest.raises(InvalidRangeError):
        clamp_range(start, end, size)
