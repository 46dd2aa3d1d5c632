"""LocalStore specifics: files on disk, permissions, crash recovery, the injectable clock."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from storage import (
    InvalidKeyError,
    LocalStore,
    ObjectExistsError,
    ObjectLockedError,
    ObjectStore,
    RetentionError,
    StorageError,
    StoreUnavailableError,
)
from tests.fixtures.s3 import FakeClock
from tests.storage.helpers import payload


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def objects(tmp_path: Path) -> Path:
    return tmp_path / "store"


def uploads(tmp_path: Path) -> Path:
    return tmp_path / "store" / ".meta" / ".uploads"


def test_objects_are_read_only_files_under_the_root(
    local_store: LocalStore, tmp_path: Path
) -> None:
    local_store.put("evidence/a", [b"abc"])
    path = objects(tmp_path) / "evidence" / "a"
    assert path.read_bytes() == b"abc"
    assert mode(path) == 0o444
    assert sorted(p.name for p in path.parent.iterdir()) == ["a"]  # no temp file left


def test_promoted_and_multipart_objects_are_read_only(
    local_store: LocalStore, tmp_path: Path
) -> None:
    local_store.put("tmp/a", [b"abc"])
    local_store.promote("tmp/a", "final/a")
    assert mode(objects(tmp_path) / "final" / "a") == 0o444

    upload_id = local_store.create_multipart("final/b")
    part = local_store.put_part("final/b", upload_id, 1, [b"xyz"])
    local_store.complete_multipart("final/b", upload_id, [part])
    assert mode(objects(tmp_path) / "final" / "b") == 0o444
    assert list(uploads(tmp_path).iterdir()) == []


def test_a_symlink_cannot_lead_a_key_out_of_the_root(
    local_store: LocalStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"not evidence")
    (objects(tmp_path) / "link").symlink_to(outside)
    with pytest.raises(InvalidKeyError):
        local_store.get("link/secret")
    with pytest.raises(InvalidKeyError):
        local_store.put("link/new", [b"x"])
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]


def test_a_symlink_deeper_in_the_key_is_followed_only_inside_the_root(
    local_store: LocalStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    local_store.put("a/inner/x", [b"inside"])
    (objects(tmp_path) / "a" / "out").symlink_to(outside)
    (objects(tmp_path) / "a" / "meta").symlink_to(objects(tmp_path) / ".meta")
    (objects(tmp_path) / "a" / "same").symlink_to(objects(tmp_path) / "a" / "inner")
    with pytest.raises(InvalidKeyError):
        local_store.put("a/out/new", [b"x"])
    with pytest.raises(InvalidKeyError):
        local_store.put("a/meta/new", [b"x"])
    assert b"".join(local_store.get("a/same/x")) == b"inside"  # still inside: allowed
    assert list(outside.iterdir()) == []


def test_retention_expires_by_the_injected_clock(
    local_store: LocalStore, store_clock: FakeClock
) -> None:
    local_store.put("ev", [b"x"])
    local_store.set_retention("ev", store_clock.now + timedelta(days=30))
    store_clock.advance(timedelta(days=29, hours=23))
    with pytest.raises(ObjectLockedError):
        local_store.discard("ev")
    store_clock.advance(timedelta(hours=1))
    local_store.discard("ev")
    assert not local_store.exists("ev")


def test_retention_date_must_be_after_the_injected_now(
    local_store: LocalStore, store_clock: FakeClock
) -> None:
    local_store.put("ev", [b"x"])
    with pytest.raises(RetentionError):
        local_store.set_retention("ev", store_clock.now)
    store_clock.advance(timedelta(days=-365))
    local_store.set_retention("ev", store_clock.now + timedelta(days=1))


def test_a_key_cannot_be_both_an_object_and_a_prefix(local_store: LocalStore) -> None:
    local_store.put("a", [b"x"])
    with pytest.raises(ObjectExistsError):
        local_store.put("a/b", [b"y"])
    local_store.put("c/d", [b"y"])
    with pytest.raises(ObjectExistsError):
        local_store.put("c", [b"x"])


def test_concurrent_puts_of_one_key_write_it_once(local_store: LocalStore) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        barrier.wait()
        try:
            local_store.put("contested", [payload(100_000, seed=n)])
            results.append(f"won {n}")
        except ObjectExistsError:
            results.append("lost")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if r.startswith("won")]
    assert len(winners) == 1 and results.count("lost") == 7
    seed = int(winners[0].split()[1])
    assert b"".join(local_store.get("contested")) == payload(100_000, seed=seed)


def test_torn_part_append_is_truncated_on_retry(local_store: LocalStore, tmp_path: Path) -> None:
    upload_id = local_store.create_multipart("mp")
    first = local_store.put_part("mp", upload_id, 1, [b"first-"])
    data_file = uploads(tmp_path) / upload_id / "data"
    with data_file.open("ab") as torn:  # a crash mid-append of part 2
        torn.write(b"GARBAGE")
    second = local_store.put_part("mp", upload_id, 2, [b"second"])
    local_store.complete_multipart("mp", upload_id, [first, second])
    assert b"".join(local_store.get("mp")) == b"first-second"


def test_complete_is_idempotent_after_a_crash_past_the_link(
    local_store: LocalStore, tmp_path: Path
) -> None:
    upload_id = local_store.create_multipart("mp")
    part = local_store.put_part("mp", upload_id, 1, [b"data"])
    staged = uploads(tmp_path) / upload_id / "data"
    os.link(staged, objects(tmp_path) / "mp")  # the crash: linked, staging not yet removed
    assert local_store.complete_multipart("mp", upload_id, [part]).size == 4
    assert not (uploads(tmp_path) / upload_id).exists()


def test_upload_ids_cannot_address_other_directories(local_store: LocalStore) -> None:
    for bad in ["../objects", "..", "", "A" * 32, "0" * 31]:
        with pytest.raises(InvalidKeyError):
            local_store.put_part("mp", bad, 1, [b"x"])


def test_an_upload_belongs_to_its_key(local_store: LocalStore) -> None:
    upload_id = local_store.create_multipart("mine")
    with pytest.raises(StorageError):
        local_store.put_part("other", upload_id, 1, [b"x"])
    with pytest.raises(StorageError):
        local_store.abort_multipart("other", upload_id)


def test_corrupt_lock_sidecar_is_an_error_not_unlocked(
    local_store: LocalStore, tmp_path: Path
) -> None:
    local_store.put("ev", [b"x"])
    local_store.set_legal_hold("ev", True)
    (tmp_path / "store" / ".meta" / "ev.json").write_text("{not json")
    with pytest.raises(StorageError, match="corrupt"):
        local_store.stat("ev")
    with pytest.raises(StorageError):
        local_store.discard("ev")
    assert (objects(tmp_path) / "ev").read_bytes() == b"x"


def test_sidecar_is_canonical_json(local_store: LocalStore, tmp_path: Path) -> None:
    local_store.put("ev", [b"x"])
    local_store.set_legal_hold("ev", True)
    assert (tmp_path / "store" / ".meta" / "ev.json").read_bytes() == (
        b'{"legal_hold":true,"retain_until":null}'
    )


def test_temp_files_are_never_listed(local_store: LocalStore, tmp_path: Path) -> None:
    local_store.put("tmp/a", [b"x"])
    (objects(tmp_path) / "tmp" / ".b.0123456789abcdef01234567.tmp").write_bytes(b"half")
    assert [key for key, _ in local_store.list_keys("tmp/")] == ["tmp/a"]


def test_no_descriptor_leaks_from_abandoned_reads(local_store: LocalStore) -> None:
    local_store.put("k", [payload(3 * 1024 * 1024)])
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        reader = local_store.get("k")
        next(reader)
        del reader
    assert len(os.listdir("/proc/self/fd")) <= before + 1


def test_ping_fails_when_the_root_is_gone(local_store: LocalStore, tmp_path: Path) -> None:
    local_store.ping()
    os.rename(tmp_path / "store", tmp_path / "moved")
    with pytest.raises(StoreUnavailableError):
        local_store.ping()


def test_local_store_satisfies_the_protocol_statically(tmp_path: Path) -> None:
    store: ObjectStore = LocalStore(tmp_path / "typed")  # mypy checks this assignment
    assert store.min_part_size == 1


def test_presigned_url_is_not_available(local_store: LocalStore) -> None:
    local_store.put("k", [b"x"])
    assert local_store.presigned_get_url("k") is None


def test_disk_errors_become_store_unavailable(local_store: LocalStore, tmp_path: Path) -> None:
    local_store.put("ev/x", [b"x"])
    (tmp_path / "store" / ".meta" / "ev").write_bytes(b"a file where a directory should be")
    with pytest.raises(StoreUnavailableError):
        local_store.set_legal_hold("ev/x", True)


# -- crash debris ------------------------------------------------------------------------------

_KILLED_WRITER = """
import sys, threading
from pathlib import Path
from storage import LocalStore

store = LocalStore(Path(sys.argv[1]))

def chunks():
    yield b"half of the evidence"
    print("writing", flush=True)
    threading.Event().wait()  # never finishes: the parent kills us mid-put

store.put("tmp/victim", chunks())
"""


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*.tmp") if p.is_file()]


def test_a_killed_writer_leaves_debris_that_the_next_open_removes(tmp_path: Path) -> None:
    root = tmp_path / "store"
    writer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(root)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert writer.stdout is not None
    assert writer.stdout.readline() == b"writing\n"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert len(temp_files(root)) == 1  # the crash left a partial temp file

    store = LocalStore(root)
    assert temp_files(root) == []
    assert not store.exists("tmp/victim")
    assert len(list((root / ".meta" / ".writers").iterdir())) == 1  # the dead writer is forgotten
    store.close()


def test_a_live_writers_temp_file_survives_another_stores_sweep(tmp_path: Path) -> None:
    root = tmp_path / "store"
    first = LocalStore(root)
    writing, finish = threading.Event(), threading.Event()
    outcome: list[object] = []

    def chunks() -> Iterator[bytes]:
        yield b"first half, "
        writing.set()
        finish.wait(10)
        yield b"second half"

    thread = threading.Thread(target=lambda: outcome.append(first.put("tmp/live", chunks())))
    thread.start()
    assert writing.wait(10)
    second = LocalStore(root)  # sweeps at open
    assert second.sweep_debris() == 0
    assert len(temp_files(root)) == 1
    finish.set()
    thread.join(10)
    assert b"".join(second.get("tmp/live")) == b"first half, second half"
    assert temp_files(root) == []


def test_closing_a_store_makes_its_leftovers_sweepable(tmp_path: Path) -> None:
    root = tmp_path / "store"
    first = LocalStore(root)
    stray = root / f".x.{first._writer.writer_id}00000000.tmp"
    stray.write_bytes(b"left by a writer that stopped")
    second = LocalStore(root)
    assert second.sweep_debris() == 0 and stray.exists()
    first.close()
    assert second.sweep_debris() == 1 and not stray.exists()
    first.close()  # idempotent
