"""A file-like ``read(n)`` view of a chunk iterator, for clients that pull from a stream.

Every chunk is fed to the digester as it is pulled and counted against ``max_size``, so the
upload never buffers more than the client asks for in one ``read``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from storage._streams import CallerStreamError, shield_caller_errors
from storage.errors import SizeLimitError


class ChunkReader:
    def __init__(
        self,
        chunks: Iterable[bytes],
        feed: Callable[[bytes], object],
        max_size: int | None,
    ) -> None:
        self._chunks = shield_caller_errors(chunks)
        self._feed = feed
        self._max_size = max_size
        self._leftover = memoryview(b"")
        self.size = 0  # bytes pulled from the iterator so far
        self.exhausted = False  # the iterator ended normally: every byte was handed out
        #: The exception this reader raised (``SizeLimitError`` or the caller's own), kept
        #: because the upload client may replace it with a failure of its own clean-up.
        self.error: Exception | None = None

    def read(self, size: int = -1) -> bytes:
        pieces: list[bytes | memoryview] = []
        wanted = size if size >= 0 else None
        got = 0
        while wanted is None or got < wanted:
            if not self._leftover:
                if not self._pull():
                    break
            take = self._leftover if wanted is None else self._leftover[: wanted - got]
            self._leftover = self._leftover[len(take) :]
            pieces.append(take)
            got += len(take)
        return b"".join(pieces)

    def _pull(self) -> bool:
        """Load the next non-empty chunk into ``_leftover``; False at the end of the stream."""
        while True:
            try:
                chunk = next(self._chunks, None)
            except CallerStreamError as wrapper:
                self.error = wrapper.original
                raise
            if chunk is None:
                self.exhausted = True
                return False
            if not chunk:
                continue
            self.size += len(chunk)
            if self._max_size is not None and self.size > self._max_size:
                self.error = SizeLimitError(self._max_size)
                raise self.error
            data = chunk if isinstance(chunk, bytes) else bytes(chunk)  # caller may reuse buffers
            self._feed(data)
            self._leftover = memoryview(data)
            return True
