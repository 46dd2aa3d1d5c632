"""Chunk-stream plumbing shared by the stores: releasing readers, shielding caller errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


class ClosingIterator(Iterator[bytes]):
    """Wraps ``chunks`` and calls ``release`` exactly once: at exhaustion, on error, on
    :meth:`close`, or when garbage-collected unread.

    A bare generator cannot do this: if it is never started, its ``finally`` never runs, and an
    opened file or a pooled HTTP connection would stay held until the process ends.
    """

    def __init__(self, chunks: Iterator[bytes], release: Callable[[], None]) -> None:
        self._chunks = chunks
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> ClosingIterator:
        return self

    def __next__(self) -> bytes:
        if self._release is None:
            raise StopIteration
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            close_chunks = getattr(self._chunks, "close", None)
            try:
                if close_chunks is not None:
                    close_chunks()
            finally:
                release()

    def __del__(self) -> None:
        self.close()


class CallerStreamError(Exception):
    """Carries an exception raised by the caller's chunk iterator through our error translation.

    The stores translate every backend failure (``OSError``, minio, urllib3) into a
    ``StorageError``; an exception from the caller's own iterator must instead reach the caller
    untouched, even when it is itself an ``OSError`` (a dropped client connection).
    """

    def __init__(self, original: Exception) -> None:
        super().__init__(f"the chunk iterator failed: {original!r}")
        self.original = original


def shield_caller_errors(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Iterate ``chunks``, wrapping anything it raises in :class:`CallerStreamError`."""
    try:
        iterator = iter(chunks)
    except Exception as exc:
        raise CallerStreamError(exc) from exc
    while True:
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        except Exception as exc:
            raise CallerStreamError(exc) from exc
        yield chunk


def unwrap_caller_errors(call: Callable[[], T]) -> T:
    """Run ``call``; if the caller's iterator failed inside it, re-raise that very exception.

    The re-raise happens outside the ``except`` clause so the original exception's
    ``__context__`` and ``__cause__`` stay exactly as the iterator left them.
    """
    try:
        return call()
    except CallerStreamError as wrapper:
        original = wrapper.original
    raise original
