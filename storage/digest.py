"""Size + SHA-256 + SM3 of a byte stream, computed in one pass.

SM3 is about four times slower than SHA-256, so a :class:`Digester` feeds SM3 from one background
thread while the caller's thread runs SHA-256 (and, in the stores, the write). Both hash
implementations release the GIL on large buffers, so the two overlap; the stream costs roughly
what SM3 alone costs. Memory stays bounded: small chunks are coalesced into batches and at most
``_MAX_BATCHES_IN_FLIGHT`` batches wait for the SM3 thread before ``update`` blocks.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from types import TracebackType
from typing import NamedTuple

# Chunks smaller than this are coalesced before being handed to the SM3 thread, so tiny chunks do
# not pay a queue round trip each.
_BATCH_BYTES = 256 * 1024
_MAX_BATCHES_IN_FLIGHT = 3


class Digests(NamedTuple):
    """Size and lowercase hex digests of exactly the bytes that were fed in."""

    size: int
    sha256: str
    sm3: str


def digest_bytes(data: bytes) -> Digests:
    """Digests of an in-memory byte string (no thread: the data is already all here)."""
    return Digests(
        len(data), hashlib.sha256(data).hexdigest(), hashlib.new("sm3", data).hexdigest()
    )


class Digester:
    """One-pass size + SHA-256 + SM3 over a stream of chunks.

    Use as a context manager (or call :meth:`close`) so the SM3 thread is stopped even when the
    stream fails halfway. :meth:`result` may be called once; it finishes the hashes and stops the
    thread. The thread is started lazily, so streams shorter than one batch never start one.
    """

    def __init__(self) -> None:
        self._size = 0
        self._sha256 = hashlib.sha256()
        self._sm3 = hashlib.new("sm3")
        self._pending = bytearray()  # small chunks waiting to form a batch
        # Made with the SM3 thread (see _send): most captures fit in one batch and never need
        # either.
        self._queue: queue.Queue[bytes | None] | None = None
        self._worker: threading.Thread | None = None
        self._cancelled: threading.Event | None = None
        self._finished = False

    def __enter__(self) -> Digester:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def size(self) -> int:
        """Bytes fed so far."""
        return self._size

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        """Feed the next chunk. Mutable buffers are copied, so the caller may reuse them."""
        if self._finished:
            raise ValueError("digester already finished")
        if not chunk:
            return
        data = chunk if isinstance(chunk, bytes) else bytes(chunk)
        self._size += len(data)
        self._sha256.update(data)
        if len(data) >= _BATCH_BYTES:
            self._flush_pending()
            self._send(data)
            return
        self._pending += data
        if len(self._pending) >= _BATCH_BYTES:
            self._flush_pending()

    def result(self) -> Digests:
        """Finish and return the digests of everything fed in."""
        if self._finished:
            raise ValueError("digester already finished")
        self._finished = True
        if self._worker is None:  # everything fitted in one batch: hash it here
            self._sm3.update(self._pending)
        else:
            assert self._queue is not None
            self._flush_pending()
            self._queue.put(None)
            self._worker.join()
        self._pending = bytearray()
        return Digests(self._size, self._sha256.hexdigest(), self._sm3.hexdigest())

    def close(self) -> None:
        """Stop the SM3 thread without finishing (idempotent; a no-op after :meth:`result`)."""
        self._finished = True
        self._pending = bytearray()
        worker = self._worker
        if worker is None or not worker.is_alive():
            return
        assert self._queue is not None and self._cancelled is not None
        self._cancelled.set()
        self._queue.put(None)  # the worker drains without hashing once cancelled, so this returns
        worker.join()

    def _flush_pending(self) -> None:
        if self._pending:
            self._send(bytes(self._pending))
            self._pending.clear()

    def _send(self, batch: bytes) -> None:
        if self._worker is None:
            self._queue = queue.Queue(maxsize=_MAX_BATCHES_IN_FLIGHT)
            self._cancelled = threading.Event()
            self._worker = threading.Thread(
                target=self._run_sm3,
                args=(self._queue, self._cancelled),
                name="sm3-digest",
                daemon=True,
            )
            self._worker.start()
        assert self._queue is not None
        self._queue.put(batch)

    def _run_sm3(self, batches: queue.Queue[bytes | None], cancelled: threading.Event) -> None:
        while True:
            batch = batches.get()
            if batch is None:
                return
            if not cancelled.is_set():
                self._sm3.update(batch)
