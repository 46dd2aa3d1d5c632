"""Pull-style streaming multipart/form-data: small fields first, then one file, never spooled.

The upload's form fields (``port``, ``metadata``) must come before the ``file`` part so the port
and metadata are checked before a single file byte is stored. File data is yielded as it is
parsed; nothing beyond one network chunk is held in memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from evidence_service.core.errors import BadRequestError, PathTraversalError, TruncatedUploadError

MAX_FIELDS = 16


@dataclass(frozen=True)
class FilePart:
    field_name: str
    filename: str | None
    content_type: str | None


def check_filename(filename: str) -> str:
    """A client's file name is kept as a label only; refuse names that try to be paths.

    Clients may percent-encode names (RFC 7578 §4.2), so the decoded form is checked too.
    """
    if any(_looks_like_path(name) for name in (filename, unquote(filename))):
        raise PathTraversalError(f"file name {filename!r} must be a plain name, not a path")
    if len(filename.encode()) > 255:
        raise PathTraversalError("file name is longer than 255 bytes")
    return filename


def _looks_like_path(name: str) -> bool:
    return (
        "/" in name
        or "\\" in name
        or name in {".", ".."}
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    )


class StreamedForm:
    def __init__(self, body: Iterator[bytes], content_type: str, *, max_field_bytes: int) -> None:
        ctype, params = parse_options_header(content_type)
        if ctype != b"multipart/form-data" or b"boundary" not in params:
            raise BadRequestError("expected multipart/form-data with a boundary")
        self._body = body
        self._max_field = max_field_bytes
        self._events: deque[tuple[str, Any]] = deque()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        callbacks: Any = {
            "on_part_begin": self._on_part_begin,
            "on_part_data": self._on_part_data,
            "on_part_end": lambda: self._events.append(("part_end", None)),
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_end": lambda: self._events.append(("end", None)),
        }
        self._parser = MultipartParser(params[b"boundary"], callbacks)
        self._ended = False
        self._in_file = False

    # -- parser callbacks (push) ----------------------------------------------------------------
    def _on_part_begin(self) -> None:
        self._headers = {}

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        self._events.append(("headers", dict(self._headers)))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._events.append(("data", data[start:end]))

    # -- pulling --------------------------------------------------------------------------------
    def _next_event(self) -> tuple[str, Any]:
        while not self._events:
            if self._ended:
                raise TruncatedUploadError("the request body ended inside the multipart form")
            try:
                chunk = next(self._body)
            except StopIteration:
                self._ended = True
                self._parser.finalize()
                continue
            try:
                self._parser.write(chunk)
            except MultipartParseError as exc:
                raise BadRequestError(f"malformed multipart body: {exc}") from exc
        return self._events.popleft()

    def read_fields_until_file(self) -> tuple[dict[str, bytes], FilePart | None]:
        """Collect plain fields until the file part starts (or the form ends: file is None)."""
        fields: dict[str, bytes] = {}
        current: str | None = None
        buffer = bytearray()
        while True:
            kind, value = self._next_event()
            if kind == "end":
                return fields, None
            if kind == "headers":
                disposition = value.get("content-disposition", b"")
                _, params = parse_options_header(disposition)
                name = params.get(b"name", b"").decode("utf-8", "replace")
                filename_raw = params.get(b"filename")
                if filename_raw is not None or name == "file":
                    filename = filename_raw.decode("utf-8", "replace") if filename_raw else None
                    if filename:
                        check_filename(filename)
                    ctype = value.get("content-type")
                    self._in_file = True
                    return fields, FilePart(
                        name, filename, ctype.decode("latin-1") if ctype else None
                    )
                if len(fields) >= MAX_FIELDS:
                    raise BadRequestError("too many form fields")
                current, buffer = name, bytearray()
            elif kind == "data":
                buffer += value
                if len(buffer) > self._max_field:
                    raise BadRequestError(f"form field {current!r} exceeds {self._max_field} bytes")
            elif kind == "part_end" and current is not None:
                fields[current] = bytes(buffer)
                current = None

    def file_chunks(self) -> Iterator[bytes]:
        """The file part's bytes, then the rest of the form is drained (extra parts ignored)."""
        if not self._in_file:
            raise BadRequestError("no file part to read")
        while True:
            kind, value = self._next_event()
            if kind == "data":
                if value:
                    yield value
            elif kind == "part_end":
                break
        self._in_file = False
        self._drain()

    def _drain(self) -> None:
        while True:
            kind, _ = self._next_event()
            if kind == "end":
                return
