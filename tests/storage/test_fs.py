"""The local store's filesystem primitives: shared directory fsyncs."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest

import storage._fs as fs


def test_dir_syncer_covers_every_caller_with_a_sync_begun_after_its_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = itertools.count()  # a global order of events
    syncs: list[tuple[int, int]] = []  # (began, ended) of each real fsync
    real = fs.fsync_dir

    def slow_fsync(directory: Path) -> None:
        began = next(clock)
        real(directory)
        time.sleep(0.01)
        syncs.append((began, next(clock)))

    monkeypatch.setattr(fs, "fsync_dir", slow_fsync)
    syncer = fs.DirSyncer()
    callers = 24
    start = threading.Barrier(callers)
    seen: list[tuple[int, int]] = []  # (change made, returned) of each caller

    def caller() -> None:
        start.wait()
        changed = next(clock)
        syncer.sync(tmp_path)
        seen.append((changed, next(clock)))

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(seen) == callers
    for changed, returned in seen:
        assert any(changed < began and ended < returned for began, ended in syncs)
    assert len(syncs) < callers / 2  # shared, not one each
    assert syncer._dirs == {}  # nothing kept once nobody waits


def test_dir_syncer_failure_raises_in_its_caller_and_others_sync_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = itertools.count()

    def flaky(directory: Path) -> None:
        if next(calls) == 0:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(fs, "fsync_dir", flaky)
    syncer = fs.DirSyncer()
    with pytest.raises(OSError):
        syncer.sync(tmp_path)
    syncer.sync(tmp_path)  # a fresh ticket gets a sync of its own
    assert next(calls) == 2
