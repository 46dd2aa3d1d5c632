"""Leader batching: concurrent callers' small pieces of work done together, each caller
returning only with its own outcome.

A caller submits an item and blocks. The first caller that finds nobody leading becomes the
leader: it takes the queue's head (up to ``max_batch`` items, its own first), processes the
batch, hands each member its outcome and wakes it. If items arrived meanwhile, the leader
passes leadership to the oldest of them and returns. Each waiter sleeps on its own event, so
finishing a batch wakes exactly its members and one new leader, not every waiting thread.

Used for the capture's commits (:mod:`.group_commit`) and its finalization (retention and the
finalized mark, :mod:`.ingest`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class _Slot(Generic[In, Out]):
    __slots__ = ("done", "error", "item", "result", "woken")

    def __init__(self, item: In) -> None:
        self.item = item
        self.woken = threading.Event()
        self.done = False
        self.result: Out | None = None
        self.error: BaseException | None = None


#: Processes a batch of items; returns one outcome per item, in order: a result, or the
#: exception that caller should raise. Raising fails every item of the batch.
BatchWork = Callable[[Sequence[In]], Sequence[Out | BaseException]]


class LeaderBatcher(Generic[In, Out]):
    """See the module docstring."""

    def __init__(self, work: BatchWork[In, Out], *, max_batch: int = 64) -> None:
        self._work = work
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Slot[In, Out]] = []
        self._leading = False

    def submit(self, item: In) -> Out:
        """Process ``item``, perhaps batched with other callers' items; returns its result or
        raises its exception."""
        mine: _Slot[In, Out] = _Slot(item)
        with self._lock:
            self._queue.append(mine)
            lead = not self._leading
            self._leading = True
        if not lead:
            mine.woken.wait()  # until our batch is done, or leadership is passed to us
        if not mine.done:
            self._lead()
        if mine.error is not None:
            raise mine.error
        return mine.result  # type: ignore[return-value]

    def _lead(self) -> None:
        """Process one batch from the head of the queue (which holds the leader's own item),
        then pass leadership on or give it up."""
        with self._lock:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
        try:
            outcomes = self._work([slot.item for slot in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"batch work gave {len(outcomes)} outcomes for {len(batch)}")
        except BaseException as exc:  # nobody's work may count as done
            outcomes = [exc] * len(batch)
            raise
        finally:
            for slot, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    slot.error = outcome
                else:
                    slot.result = outcome
                slot.done = True
                slot.woken.set()
            with self._lock:
                if self._queue:
                    self._queue[0].woken.set()  # the oldest waiter leads next
                else:
                    self._leading = False
