"""A case's evidence list as printed (证据清单): the document the PDF renderer draws, checked on
construction, and the limits that bound it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from evidence_service.core.digests import is_hex64
from evidence_service.core.errors import EvidenceError

MAX_LIST_ITEMS = 2000
"""More items than this are refused; 500 render in about half a second."""
MAX_CELL_CHARS = 240
"""A table cell longer than this is cut (a cell taller than a page is also cut, by lines)."""
MAX_CELL_LINE_BREAKS = 8
"""Line breaks kept in a table cell; further ones become spaces."""
MAX_HEADER_CHARS = 200
"""Header fields (case title, party, department, officer, anchor note) are cut past this."""

_LIST_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class EvidenceListFormatError(EvidenceError, ValueError):
    """An evidence list value is malformed: bad digest, date, item number or too many items."""

    slug, title, status = "bad-evidence-list", "Evidence list is malformed", 422


def _check_hex64(value: str, what: str) -> None:
    if not is_hex64(value, any_case=True):
        raise EvidenceListFormatError(f"{what} must be a SHA-256 digest in hex (64 characters)")


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceListItem:
    """One row of the list. ``source`` says who captured it, where and when."""

    number: int
    name: str
    source: str
    purpose: str
    size_or_pages: str
    sha256: str

    def __post_init__(self) -> None:
        if isinstance(self.number, bool) or not isinstance(self.number, int) or self.number < 1:
            raise EvidenceListFormatError(f"item number must be a positive integer: {self.number}")
        _check_hex64(self.sha256, f"item {self.number} sha256")


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceListDocument:
    """A case's evidence list as printed. ``party`` is already in its masked display form."""

    title: str = "证据清单"
    case_number: str
    case_title: str
    party: str
    department: str
    officer: str
    date: str
    items: list[EvidenceListItem] = field(default_factory=list)
    list_digest: str
    anchor_note: str | None = None
    list_id: str | None = None
    """The issued list's id: printed in every footer with the command that checks the paper."""

    def __post_init__(self) -> None:
        _check_hex64(self.list_digest, "list_digest")
        if self.list_id is not None and (
            not isinstance(self.list_id, str) or not _LIST_ID.fullmatch(self.list_id)
        ):
            raise EvidenceListFormatError(
                "list_id must be 1-64 letters, digits, '-' or '_' (it is printed in a command)"
            )
        if not isinstance(self.date, str) or not _ISO_DATE.fullmatch(self.date):
            raise EvidenceListFormatError(f"date must be YYYY-MM-DD: {self.date!r}")
        try:
            date.fromisoformat(self.date)
        except ValueError as exc:
            raise EvidenceListFormatError(f"date {self.date!r} is not a calendar date") from exc
        if len(self.items) > MAX_LIST_ITEMS:
            raise EvidenceListFormatError(
                f"{len(self.items)} items is over the limit of {MAX_LIST_ITEMS} per list"
            )
