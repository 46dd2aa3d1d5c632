"""Bounded buffers for inspecting an upload that arrives once, in chunks of any size.

:class:`HeadSniffer` keeps the first :data:`~.limits.SNIFF_HEAD_BYTES` and decides the media type
as soon as they arrived. :class:`BoundedSpool` keeps the whole upload for ports that must parse it,
up to a fixed size: in memory while small, then in an anonymous temp file, never unbounded.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import IO

from evidence_service.capture.ports.limits import SNIFF_HEAD_BYTES, SPOOL_MEMORY_BYTES
from evidence_service.capture.ports.sniff import sniff
from evidence_service.core.errors import OversizeError


class HeadSniffer:
    """Collects the head of an upload and sniffs it once it is complete.

    ``feed`` returns ``True`` exactly once: on the call that completes the head. After that (or
    after ``close()`` for an upload shorter than the head) ``media_type`` holds the sniffed type.
    """

    def __init__(self, head_size: int = SNIFF_HEAD_BYTES) -> None:
        self._head_size = head_size
        self._head = bytearray()
        self._decided = False
        self.media_type: str | None = None

    @property
    def decided(self) -> bool:
        return self._decided

    @property
    def head(self) -> bytes:
        return bytes(self._head)

    def feed(self, chunk: bytes) -> bool:
        if self._decided:
            return False
        self._head += chunk[: self._head_size - len(self._head)]
        if len(self._head) < self._head_size:
            return False
        self._decide()
        return True

    def close(self) -> bool:
        """End of upload: decide on a short head. Returns ``True`` if this call decided."""
        if self._decided:
            return False
        self._decide()
        return True

    def _decide(self) -> None:
        self._decided = True
        self.media_type = sniff(bytes(self._head))


class BoundedSpool:
    """The whole upload, up to ``limit`` bytes; raises :class:`OversizeError` past it.

    With ``drop_when_full=True`` it instead discards what it holds and sets ``overflowed``, for
    ports that accept large files but only parse small ones. ``close()`` releases the buffer early
    (once a port knows it will not parse the content) but keeps counting against the limit.
    """

    def __init__(self, limit: int, *, what: str, drop_when_full: bool = False) -> None:
        self._limit = limit
        self._what = what
        self._drop_when_full = drop_when_full
        self._file: IO[bytes] | None = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)
        self.size = 0
        self.overflowed = False

    def lower_limit(self, limit: int) -> None:
        """Apply a smaller limit from now on (e.g. once the head shows what kind of file it is)."""
        self._limit = min(self._limit, limit)
        self.write(b"")

    def write(self, chunk: bytes) -> None:
        """Buffer ``chunk``; the size limit holds even after ``close()`` stopped the buffering."""
        self.size += len(chunk)
        if self.size > self._limit and not self.overflowed:
            self.close()
            if self._drop_when_full:
                self.overflowed = True
                return
            raise OversizeError(
                f"{self._what} is larger than the limit of {self._limit} bytes",
                limit_bytes=self._limit,
            )
        if self._file is not None:
            self._file.write(chunk)

    def rewound(self) -> IO[bytes]:
        """The buffered bytes as a file positioned at the start (only if not overflowed)."""
        if self._file is None:
            raise RuntimeError("the spool was closed or overflowed; nothing to read")
        self._file.seek(0)
        return self._file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class SniffedUpload:
    """The front half of a buffering port: sniff the head, let ``accept`` judge it, spool the rest.

    ``accept`` gets the sniffed media type (``None`` if unknown) as soon as the head is complete
    and returns it or raises; on a raise the spool is released at once. ``media_type()`` is the
    accepted type at the end of the upload.
    """

    def __init__(self, accept: Callable[[str | None], str], spool: BoundedSpool) -> None:
        self._accept = accept
        self._head = HeadSniffer()
        self._media_type: str | None = None
        self.spool = spool

    def feed(self, chunk: bytes) -> None:
        if self._head.feed(chunk):
            self._judge()
        self.spool.write(chunk)

    def media_type(self) -> str:
        """Call after the last chunk: the accepted media type (judging a short upload now)."""
        if self._head.close():
            self._judge()
        assert self._media_type is not None
        return self._media_type

    def close(self) -> None:
        self.spool.close()

    def _judge(self) -> None:
        try:
            self._media_type = self._accept(self._head.media_type)
        except Exception:
            self.spool.close()
            raise
