"""What a SHA-256 (or SM3) digest in hex looks like, one pattern per meaning.

- ``HEX64``: a digest as this service writes it and as its documents (statements, proofs,
  manifests, lists) must carry it — 64 lowercase hex digits, checked strictly.
- ``HEX64_ANY_CASE``: a digest as a person or client types it into a request (a header, a form,
  a query or a printed list): either case, normalised to lowercase before use.
"""

from __future__ import annotations

import re

HEX64 = r"^[0-9a-f]{64}$"
HEX64_ANY_CASE = r"^[0-9a-fA-F]{64}$"

HEX64_RE = re.compile(HEX64)
HEX64_ANY_CASE_RE = re.compile(HEX64_ANY_CASE)


def is_hex64(value: object, *, any_case: bool = False) -> bool:
    """``value`` is a 64-digit hex string (lowercase only unless ``any_case``)."""
    pattern = HEX64_ANY_CASE_RE if any_case else HEX64_RE
    return isinstance(value, str) and pattern.fullmatch(value) is not None
