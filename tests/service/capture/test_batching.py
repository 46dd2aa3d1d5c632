"""LeaderBatcher: concurrent callers' items processed in batches, each with its own outcome."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from evidence_service.capture.batching import LeaderBatcher
from tests.concurrently import all_at_once


def run_callers(batcher: LeaderBatcher[int, int], items: list[int]) -> dict[int, object]:
    return dict(all_at_once(batcher.submit, items))


def test_items_are_batched_and_each_caller_gets_its_own_outcome() -> None:
    batches: list[list[int]] = []

    def work(items: Sequence[int]) -> list[int | BaseException]:
        time.sleep(0.01)  # let callers pile up behind the leader
        batches.append(list(items))
        return [ValueError(f"odd {i}") if i % 7 == 0 else i * 10 for i in items]

    batcher: LeaderBatcher[int, int] = LeaderBatcher(work, max_batch=8)
    outcomes = run_callers(batcher, list(range(1, 41)))
    for item in range(1, 41):
        if item % 7 == 0:
            assert isinstance(outcomes[item], ValueError) and str(outcomes[item]) == f"odd {item}"
        else:
            assert outcomes[item] == item * 10
    assert sorted(i for b in batches for i in b) == list(range(1, 41))  # each item once
    assert max(len(b) for b in batches) <= 8
    assert len(batches) < 40  # batched, not one at a time


def test_a_failing_batch_fails_its_members_and_the_next_batch_still_runs() -> None:
    calls: list[list[int]] = []

    def work(items: Sequence[int]) -> list[int | BaseException]:
        calls.append(list(items))
        time.sleep(0.01)
        if len(calls) == 1:
            raise RuntimeError("disk on fire")
        return list(items)

    batcher: LeaderBatcher[int, int] = LeaderBatcher(work)
    outcomes = run_callers(batcher, list(range(12)))
    failed = {i for i, o in outcomes.items() if isinstance(o, RuntimeError)}
    assert failed == set(calls[0])
    assert all(outcomes[i] == i for i in range(12) if i not in failed)
    assert batcher.submit(99) == 99  # leadership was handed on, not lost


def test_a_wrong_number_of_outcomes_is_an_error_for_everyone() -> None:
    batcher: LeaderBatcher[int, int] = LeaderBatcher(lambda items: [])
    with pytest.raises(RuntimeError, match="0 outcomes for 1"):
        batcher.submit(1)
