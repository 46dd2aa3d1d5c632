"""Run one function for many arguments at once, in threads released together."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

A = TypeVar("A", bound=Hashable)
R = TypeVar("R")


def all_at_once(
    function: Callable[[A], R], arguments: Iterable[A], *, timeout: float = 60
) -> dict[A, R | Exception]:
    """``function(argument)`` for each argument, each in its own thread, all started behind
    one barrier; returns each argument's result or the exception it raised."""
    items = list(arguments)
    outcomes: dict[A, R | Exception] = {}
    start = threading.Barrier(len(items))

    def run(argument: A) -> None:
        start.wait()
        try:
            outcomes[argument] = function(argument)
        except Exception as exc:  # noqa: BLE001 - the caller asserts on it
            outcomes[argument] = exc

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a thread did not finish in time"
    return outcomes
