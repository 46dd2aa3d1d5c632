"""Byte ranges for ``get``: inclusive ``start``..``end`` as in HTTP ``Range: bytes=start-end``."""

from __future__ import annotations

from storage.errors import InvalidRangeError


def check_range(start: int, end: int | None) -> None:
    """Reject ranges that are malformed whatever the object's size."""
    if start < 0:
        raise InvalidRangeError(f"range start {start} is negative")
    if end is not None and end < start:
        raise InvalidRangeError(f"range end {end} is before start {start}")


def clamp_range(start: int, end: int | None, size: int) -> tuple[int, int]:
    """Resolve a range against an object of ``size`` bytes; returns ``(offset, length)``.

    Like HTTP: an ``end`` past the last byte is cut to the last byte, and a ``start`` past the
    last byte is unsatisfiable. The one exception is the whole of an empty object
    (``start=0, end=None``), which is zero bytes rather than an error.
    """
    check_range(start, end)
    if size == 0 and start == 0 and end is None:
        return 0, 0
    if start >= size:
        raise InvalidRangeError(f"range start {start} is past the end of a {size}-byte object")
    last = size - 1 if end is None else min(end, size - 1)
    return start, last - start + 1
