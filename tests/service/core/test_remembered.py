"""``core/remembered.py``: an answer is taken as it was for its seconds, then read again."""

from __future__ import annotations

import time

from evidence_service.core.remembered import Remembered


def test_an_answer_is_remembered_for_its_seconds_and_no_longer() -> None:
    remembered: Remembered[str, int] = Remembered(0.2)
    assert remembered.get("a") is None
    remembered.put("a", 1)
    assert remembered.get("a") == 1
    time.sleep(0.25)
    assert remembered.get("a") is None  # stale: the caller reads afresh
    remembered.put("a", 2)
    assert remembered.get("a") == 2


def test_forgetting_and_the_bound() -> None:
    remembered: Remembered[str, int] = Remembered(60, max_entries=3)
    for n, key in enumerate("abc"):
        remembered.put(key, n)
    remembered.forget("b")
    assert [remembered.get(k) for k in "abc"] == [0, None, 2]
    remembered.put("d", 3)
    remembered.put("e", 4)  # full: everything before it is forgotten
    assert [remembered.get(k) for k in "acde"] == [None, None, None, 4]
