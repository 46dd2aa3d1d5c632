"""Text fit to show a person: no control characters, no bidirectional overrides.

NUL, ESC and the other C0/C1 controls break terminals, PDFs and logs; the bidirectional
embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) make a name or a file title
read differently from what it is (``invoice\u202efdp.exe``). Text arriving from outside is
refused when it holds one (:func:`check_text_tree`); text rendered into documents shows each
as a visible ``<U+XXXX>`` marker (:func:`visible`).
"""

from __future__ import annotations

import re
from typing import Any

from evidence_service.core.errors import EvidenceError

#: C0 controls except tab, line feed and carriage return; DEL and the C1 controls; the bidi
#: embeddings, overrides and isolates.
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class UnsafeTextError(EvidenceError):
    slug, title, status = (
        "unsafe-text",
        "The text holds a control or bidirectional-override character",
        422,
    )


def first_unsafe(text: str) -> int | None:
    """Index of the first unsafe character of ``text``, or None."""
    found = UNSAFE.search(text)
    return found.start() if found else None


def check_text_tree(value: Any, where: str = "body") -> None:
    """Refuse (``UnsafeTextError``) a JSON value holding an unsafe character in any string,
    object key included; ``where`` names the path in the message."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            index = first_unsafe(item)
            if index is not None:
                raise UnsafeTextError(
                    f"{path}: character U+{ord(item[index]):04X} at position {index} is not "
                    "allowed in text",
                    loc=path,
                )
        elif isinstance(item, dict):
            for key, member in item.items():
                stack.append((key, f"{path} (key)"))
                stack.append((member, f"{path}.{key}"))
        elif isinstance(item, list):
            stack.extend((member, f"{path}[{i}]") for i, member in enumerate(item))


def visible(text: str) -> str:
    """``text`` with each unsafe character shown as ``<U+XXXX>``."""
    return UNSAFE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)
