"""Bridge an ASGI request body to synchronous ingest code running in a worker thread.

The event loop reads the body and hands ~1 MiB blocks to a bounded queue; the worker thread
pulls them as an ordinary iterator. Memory stays at a few blocks whatever the upload size, and a
slow store slows the client (backpressure) instead of buffering.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import anyio
from starlette.requests import ClientDisconnect, Request

from evidence_service.core.errors import TruncatedUploadError

T = TypeVar("T")
BLOCK = 1024 * 1024
QUEUE_BLOCKS = 4
DRAIN_AFTER_REJECT = 64 * 1024 * 1024  # read (and drop) this much more so the client sees the 4xx

_END = object()


class _BlockingBody:
    def __init__(self) -> None:
        self.queue: queue.Queue[object] = queue.Queue(QUEUE_BLOCKS)
        self.consumer_done = threading.Event()
        self.refused = False  # the check before the consumer refused: read no more of the body

    def __iter__(self) -> Iterator[bytes]:
        while True:
            item = self.queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item

    def put(self, item: object) -> bool:
        """Blocking put (called in a helper thread); False once the consumer stopped."""
        while not self.consumer_done.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


async def consume_body(
    request: Request,
    consumer: Callable[[Iterator[bytes]], T],
    *,
    check: Callable[[], object] | None = None,
) -> T:
    """Run ``consumer(body_iterator)`` in a worker thread while this coroutine feeds it.

    ``check`` runs first in the same thread (one hop for both): if it raises, the body is read
    no further, as when a dependency refuses the request, and its error is the answer."""
    body = _BlockingBody()

    def run() -> T:
        try:
            if check is not None:
                try:
                    check()
                except BaseException:
                    body.refused = True
                    raise
            return consumer(iter(body))
        finally:
            body.consumer_done.set()

    task = asyncio.ensure_future(anyio.to_thread.run_sync(run))

    async def hand_over(item: object) -> bool:
        try:
            body.queue.put_nowait(item)
            return True
        except queue.Full:
            return await anyio.to_thread.run_sync(body.put, item)

    buffer = bytearray()
    dropped = 0
    try:
        async for chunk in request.stream():
            if body.consumer_done.is_set():
                if body.refused:
                    break
                dropped += len(chunk)
                if dropped > DRAIN_AFTER_REJECT:
                    break
                continue
            buffer += chunk
            if len(buffer) >= BLOCK:
                await hand_over(bytes(buffer))
                buffer.clear()
        if buffer:
            await hand_over(bytes(buffer))
        await hand_over(_END)
    except ClientDisconnect:
        await hand_over(TruncatedUploadError("the client disconnected before the upload ended"))
    except BaseException:
        await hand_over(TruncatedUploadError("the request was cancelled"))
        raise
    return await task
