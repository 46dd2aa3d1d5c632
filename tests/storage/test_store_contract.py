"""The ObjectStore contract, run against the local-disk store and the S3 store alike."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from storage import (
    InvalidKeyError,
    InvalidRangeError,
    ObjectExistsError,
    ObjectLockedError,
    ObjectNotFoundError,
    ObjectStore,
    PartResult,
    RetentionError,
    SizeLimitError,
    StorageError,
    digest_bytes,
    set_retentions,
)
from tests.storage.helpers import chunked, payload

Leftovers = Callable[[ObjectStore], list[str]]
ODD_SIZES = [1, 7, 4093, 65_537, 3, 1_048_583, 0, 299_993]


def read_all(store: ObjectStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.get(key, start, end))


def in_days(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


class Boom(Exception):
    """Raised by a test's chunk iterator."""


def failing_after(data: bytes, chunk: int, exc: BaseException) -> Iterator[bytes]:
    yield from chunked(data, [chunk])
    raise exc


# -- put / get ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024 + 3])
def test_put_returns_digests_and_get_returns_the_same_bytes(store: ObjectStore, size: int) -> None:
    data = payload(size)
    result = store.put("evidence/a.bin", chunked(data, [65_536]))
    expected = digest_bytes(data)
    assert (result.key, result.size, result.sha256, result.sm3) == (
        "evidence/a.bin",
        expected.size,
        expected.sha256,
        expected.sm3,
    )
    assert read_all(store, "evidence/a.bin") == data
    assert store.stat("evidence/a.bin").size == size
    assert store.exists("evidence/a.bin")


def test_put_of_unknown_length_in_many_odd_chunks(store: ObjectStore) -> None:
    # 11 MiB + a bit: on S3 (5 MiB parts) this is a three-part upload.
    data = payload(11 * 1024 * 1024 + 12_345, seed=2)
    result = store.put("big", chunked(data, ODD_SIZES))
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.sm3 == hashlib.new("sm3", data).hexdigest()
    got = b"".join(store.get("big"))
    assert hashlib.sha256(got).hexdigest() == result.sha256


def test_get_streams_in_bounded_chunks(store: ObjectStore) -> None:
    data = payload(3 * 1024 * 1024 + 5)
    store.put("k", [data])
    chunks = list(store.get("k"))
    assert b"".join(chunks) == data
    assert len(chunks) >= 3
    assert max(len(c) for c in chunks) <= 1024 * 1024


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, 0), (1, 1), (3, 7), (9, 9), (4, None), (0, None), (7, 10_000), (0, 9)],
    ids=["first", "second", "middle", "last", "from-middle", "all", "end-past", "exact"],
)
def test_byte_ranges(store: ObjectStore, start: int, end: int | None) -> None:
    data = b"0123456789"
    store.put("r", [data])
    expected = data[start:] if end is None else data[start : end + 1]
    assert read_all(store, "r", start, end) == expected


@pytest.mark.parametrize(("start", "end"), [(10, None), (10, 12), (-1, None), (5, 4)])
def test_unsatisfiable_ranges(store: ObjectStore, start: int, end: int | None) -> None:
    store.put("r", [b"0123456789"])
    with pytest.raises(InvalidRangeError):
        read_all(store, "r", start, end)


def test_empty_object_reads_as_nothing(store: ObjectStore) -> None:
    store.put("empty", [])
    assert read_all(store, "empty") == b""


def test_abandoned_reader_does_not_break_the_store(store: ObjectStore) -> None:
    store.put("k", [payload(3 * 1024 * 1024)])
    for _ in range(15):  # more than the HTTP pool size; leaks would exhaust descriptors/conns
        reader = store.get("k")
        next(reader)
        del reader
        unstarted = store.get("k")
        del unstarted
    assert read_all(store, "k", 0, 3) == payload(4)


def test_missing_object(store: ObjectStore) -> None:
    assert not store.exists("nope")
    with pytest.raises(ObjectNotFoundError):
        store.stat("nope")
    with pytest.raises(ObjectNotFoundError):
        store.get("nope")
    with pytest.raises(KeyError):  # ObjectNotFoundError is also a KeyError
        store.stat("nope")


def test_overwrite_is_refused_and_the_original_survives(store: ObjectStore) -> None:
    store.put("once", [b"first"])
    with pytest.raises(ObjectExistsError):
        store.put("once", [b"second"])
    assert read_all(store, "once") == b"first"


# -- failed writes leave nothing ---------------------------------------------------------------


@pytest.mark.parametrize("size", [300_000, 12 * 1024 * 1024], ids=["single-part", "multipart"])
def test_size_limit_leaves_nothing(store: ObjectStore, leftovers: Leftovers, size: int) -> None:
    limit = size - 1
    with pytest.raises(SizeLimitError) as caught:
        store.put("too-big", chunked(payload(size), [65_536]), max_size=limit)
    assert caught.value.limit == limit
    with pytest.raises(ObjectNotFoundError):
        store.stat("too-big")
    assert leftovers(store) == []


def test_size_limit_is_inclusive(store: ObjectStore) -> None:
    assert store.put("exact", [b"12345"], max_size=5).size == 5


@pytest.mark.parametrize("sent", [100_000, 11 * 1024 * 1024], ids=["single-part", "multipart"])
def test_iterator_failure_is_reraised_unchanged_and_leaves_nothing(
    store: ObjectStore, leftovers: Leftovers, sent: int
) -> None:
    error = Boom("client went away")
    with pytest.raises(Boom) as caught:
        store.put("broken", failing_after(payload(sent), 65_536, error))
    assert caught.value is error
    assert error.__cause__ is None and error.__context__ is None
    with pytest.raises(ObjectNotFoundError):
        store.stat("broken")
    assert leftovers(store) == []


def test_iterator_oserror_is_not_mistaken_for_a_backend_failure(store: ObjectStore) -> None:
    error = ConnectionResetError("client reset the upload")
    with pytest.raises(ConnectionResetError) as caught:
        store.put("broken", failing_after(b"abc" * 1000, 100, error))
    assert caught.value is error


def test_failed_put_does_not_block_the_key(store: ObjectStore) -> None:
    with pytest.raises(Boom):
        store.put("retry", failing_after(b"partial", 3, Boom()))
    assert store.put("retry", [b"whole"]).size == 5


# -- retention and legal hold ------------------------------------------------------------------


def test_retention_is_reported_extended_but_never_shortened(store: ObjectStore) -> None:
    store.put("ev", [b"evidence"])
    until = in_days(30).replace(microsecond=0)
    store.set_retention("ev", until)
    assert store.stat("ev").retain_until == until

    with pytest.raises(RetentionError):
        store.set_retention("ev", until - timedelta(days=1))
    assert store.stat("ev").retain_until == until  # on moto this proves our own check

    later = until + timedelta(days=365)
    store.set_retention("ev", later)
    assert store.stat("ev").retain_until == later
    store.set_retention("ev", later)  # the same date again is not a shortening


@pytest.mark.parametrize(
    "until", [datetime(2999, 1, 1), datetime(2000, 1, 1, tzinfo=UTC)], ids=["naive", "past"]
)
def test_unusable_retention_dates(store: ObjectStore, until: datetime) -> None:
    store.put("ev", [b"x"])
    with pytest.raises(RetentionError):
        store.set_retention("ev", until)
    assert store.stat("ev").retain_until is None


def test_retention_on_a_missing_object(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError):
        store.set_retention("nope", in_days(1))
    with pytest.raises(ObjectNotFoundError):
        store.set_legal_hold("nope", True)


def test_set_retentions_sets_each_and_refuses_only_the_bad_items(store: ObjectStore) -> None:
    until = in_days(30).replace(microsecond=0)
    for key in ("batch/a", "batch/b", "batch/short"):
        store.put(key, [key.encode()])
    store.set_retention("batch/short", until + timedelta(days=1))
    outcomes = set_retentions(
        store,
        [
            ("batch/a", until),
            ("batch/missing", until),
            ("batch/short", until),  # would shorten
            ("batch/b", until + timedelta(days=2)),
            ("batch/a", until),  # again: not a shortening
        ],
    )
    assert [type(o).__name__ if o else None for o in outcomes] == [
        None,
        "ObjectNotFoundError",
        "RetentionError",
        None,
        None,
    ]
    assert store.stat("batch/a").retain_until == until
    assert store.stat("batch/b").retain_until == until + timedelta(days=2)
    assert store.stat("batch/short").retain_until == until + timedelta(days=1)
    with pytest.raises(ObjectLockedError):
        store.discard("batch/b")
    assert set_retentions(store, []) == []


def test_discard_refused_under_retention(store: ObjectStore) -> None:
    store.put("ev", [b"evidence"])
    store.set_retention("ev", in_days(1))
    with pytest.raises(ObjectLockedError):
        store.discard("ev")
    assert read_all(store, "ev") == b"evidence"


def test_discard_refused_under_legal_hold_until_it_is_cleared(
    store: ObjectStore, leftovers: Leftovers
) -> None:
    store.put("held", [b"evidence"])
    store.set_legal_hold("held", True)
    info = store.stat("held")
    assert info.legal_hold and info.retain_until is None
    with pytest.raises(ObjectLockedError):
        store.discard("held")
    assert read_all(store, "held") == b"evidence"

    store.set_legal_hold("held", False)
    assert not store.stat("held").legal_hold
    store.discard("held")
    assert not store.exists("held")
    assert leftovers(store) == []  # S3: the version itself is gone, not hidden by a marker


def test_retention_and_hold_together(store: ObjectStore) -> None:
    store.put("ev", [b"x"])
    until = in_days(2).replace(microsecond=0)
    store.set_retention("ev", until)
    store.set_legal_hold("ev", True)
    info = store.stat("ev")
    assert (info.retain_until, info.legal_hold) == (until, True)
    store.set_legal_hold("ev", False)
    with pytest.raises(ObjectLockedError):  # still retained
        store.discard("ev")


def test_discard_of_a_missing_key_is_not_an_error(store: ObjectStore) -> None:
    store.discard("never-written")


# -- promote -----------------------------------------------------------------------------------


def test_promote_moves_the_object(store: ObjectStore, leftovers: Leftovers) -> None:
    data = payload(200_000)
    store.put("tmp/01J", [data])
    info = store.promote("tmp/01J", "evidence/01J")
    assert (info.key, info.size, info.retain_until, info.legal_hold) == (
        "evidence/01J",
        len(data),
        None,
        False,
    )
    assert read_all(store, "evidence/01J") == data
    assert not store.exists("tmp/01J")
    assert len(leftovers(store)) == 1


def test_promote_is_idempotent(store: ObjectStore) -> None:
    store.put("tmp/x", [b"bytes"])
    first = store.promote("tmp/x", "final/x")
    assert store.promote("tmp/x", "final/x") == first
    assert read_all(store, "final/x") == b"bytes"


def test_promote_recovers_from_a_crash_between_copy_and_delete(store: ObjectStore) -> None:
    store.put("tmp/x", [b"bytes"])
    store.put("final/x", [b"bytes"])  # what a crash after the copy leaves
    assert store.promote("tmp/x", "final/x").size == 5
    assert not store.exists("tmp/x")


def test_promote_refuses_a_different_existing_destination(store: ObjectStore) -> None:
    store.put("tmp/x", [b"new bytes"])
    store.put("final/x", [b"old"])
    with pytest.raises(ObjectExistsError):
        store.promote("tmp/x", "final/x")
    assert read_all(store, "final/x") == b"old"
    assert store.exists("tmp/x")


def test_promote_of_nothing(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError):
        store.promote("tmp/none", "final/none")


def test_promote_refuses_a_locked_source(store: ObjectStore) -> None:
    store.put("tmp/x", [b"bytes"])
    store.set_legal_hold("tmp/x", True)
    with pytest.raises(ObjectLockedError):
        store.promote("tmp/x", "final/x")
    assert not store.exists("final/x")


# -- multipart ---------------------------------------------------------------------------------


def _three_parts(store: ObjectStore) -> list[bytes]:
    size = max(store.min_part_size, 1000)
    return [payload(size + 1, seed=1), payload(size + 7, seed=2), payload(12_345, seed=3)]


def test_multipart_three_parts(store: ObjectStore, leftovers: Leftovers) -> None:
    parts_data = _three_parts(store)
    upload_id = store.create_multipart("mp/obj")
    parts: list[PartResult] = []
    for number, data in enumerate(parts_data, start=1):
        part = store.put_part("mp/obj", upload_id, number, chunked(data, ODD_SIZES))
        assert (part.part_number, part.size) == (number, len(data))
        assert part.sha256 == hashlib.sha256(data).hexdigest()
        parts.append(part)
    info = store.complete_multipart("mp/obj", upload_id, parts)
    whole = b"".join(parts_data)
    assert (info.key, info.size) == ("mp/obj", len(whole))
    assert read_all(store, "mp/obj") == whole
    assert (
        read_all(store, "mp/obj", len(parts_data[0]) - 1, len(parts_data[0]))
        == whole[len(parts_data[0]) - 1 : len(parts_data[0]) + 1]
    )
    assert len(leftovers(store)) == 1  # the object only, no staging left


def test_multipart_parts_must_arrive_in_order(store: ObjectStore) -> None:
    first, second, third = _three_parts(store)
    upload_id = store.create_multipart("mp/obj")
    with pytest.raises(StorageError):
        store.put_part("mp/obj", upload_id, 2, [second])  # 1 is missing
    store.put_part("mp/obj", upload_id, 1, [first])
    with pytest.raises(StorageError):
        store.put_part("mp/obj", upload_id, 3, [third])  # skips 2
    store.put_part("mp/obj", upload_id, 2, [second])
    with pytest.raises(StorageError):
        store.put_part("mp/obj", upload_id, 1, [first])  # no longer the last part
    store.abort_multipart("mp/obj", upload_id)


def test_multipart_last_part_can_be_resent_and_replaces_the_first_copy(
    store: ObjectStore,
) -> None:
    first, second, third = _three_parts(store)
    upload_id = store.create_multipart("mp/obj")
    part1 = store.put_part("mp/obj", upload_id, 1, [first])
    stale = store.put_part("mp/obj", upload_id, 2, [payload(len(second), seed=9)])
    part2 = store.put_part("mp/obj", upload_id, 2, [second])  # e.g. a failed checksum upstream
    assert part2.sha256 == hashlib.sha256(second).hexdigest() != stale.sha256
    part3 = store.put_part("mp/obj", upload_id, 3, [third])
    with pytest.raises(StorageError):
        store.complete_multipart("mp/obj", upload_id, [part1, stale, part3])
    store.complete_multipart("mp/obj", upload_id, [part1, part2, part3])
    assert read_all(store, "mp/obj") == first + second + third


def test_multipart_abort_leaves_nothing(store: ObjectStore, leftovers: Leftovers) -> None:
    first, _, _ = _three_parts(store)
    upload_id = store.create_multipart("mp/obj")
    store.put_part("mp/obj", upload_id, 1, [first])
    store.abort_multipart("mp/obj", upload_id)
    store.abort_multipart("mp/obj", upload_id)  # idempotent
    assert not store.exists("mp/obj")
    assert leftovers(store) == []
    with pytest.raises(ObjectNotFoundError):
        store.put_part("mp/obj", upload_id, 2, [b"late"])


def test_multipart_part_iterator_failure_is_reraised(store: ObjectStore) -> None:
    first, second, _ = _three_parts(store)
    upload_id = store.create_multipart("mp/obj")
    store.put_part("mp/obj", upload_id, 1, [first])
    error = Boom("part upload broke")
    with pytest.raises(Boom) as caught:
        store.put_part("mp/obj", upload_id, 2, failing_after(second, 4096, error))
    assert caught.value is error
    retried = store.put_part("mp/obj", upload_id, 2, [second])  # part 2 is still the next one
    assert retried.size == len(second)
    store.abort_multipart("mp/obj", upload_id)


def test_multipart_refuses_existing_keys(store: ObjectStore) -> None:
    store.put("taken", [b"x"])
    with pytest.raises(ObjectExistsError):
        store.create_multipart("taken")

    first, _, _ = _three_parts(store)
    upload_id = store.create_multipart("later")
    part = store.put_part("later", upload_id, 1, [first])
    store.put("later", [b"someone else"])
    with pytest.raises(ObjectExistsError):
        store.complete_multipart("later", upload_id, [part])
    assert read_all(store, "later") == b"someone else"
    store.abort_multipart("later", upload_id)


def test_multipart_complete_with_wrong_parts(store: ObjectStore) -> None:
    first, _, _ = _three_parts(store)
    upload_id = store.create_multipart("mp/obj")
    part = store.put_part("mp/obj", upload_id, 1, [first])
    forged = PartResult(part_number=2, size=part.size, etag=part.etag, sha256=part.sha256)
    with pytest.raises(StorageError):
        store.complete_multipart("mp/obj", upload_id, [forged])
    with pytest.raises(StorageError):
        store.complete_multipart("mp/obj", upload_id, [])
    store.abort_multipart("mp/obj", upload_id)


# -- keys, listing, health ---------------------------------------------------------------------

BAD_KEYS = ["../escape", "a/../../b", "/etc/passwd", "a\\b", "a\x00b", "\uff0e\uff0e/x", ""]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_invalid_keys_are_rejected_by_every_method(store: ObjectStore, key: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.put(key, [b"x"]),
        lambda: store.get(key),
        lambda: store.stat(key),
        lambda: store.exists(key),
        lambda: store.promote(key, "ok"),
        lambda: store.promote("ok", key),
        lambda: store.set_retention(key, in_days(1)),
        lambda: store.set_legal_hold(key, True),
        lambda: store.discard(key),
        lambda: store.presigned_get_url(key),
        lambda: store.create_multipart(key),
        lambda: store.put_part(key, "0" * 32, 1, [b"x"]),
        lambda: store.complete_multipart(key, "0" * 32, []),
        lambda: store.abort_multipart(key, "0" * 32),
    ]
    for call in calls:
        with pytest.raises(InvalidKeyError):
            call()


def test_list_keys(store: ObjectStore) -> None:
    for key in ["tmp/01A", "tmp/01B", "tmp/sub/01C", "evidence/01A", "tmpx"]:
        store.put(key, [b"x"])
    listed = dict(store.list_keys("tmp/"))
    assert sorted(listed) == ["tmp/01A", "tmp/01B", "tmp/sub/01C"]
    now = datetime.now(UTC)
    for modified in listed.values():
        assert modified.tzinfo is not None
        assert abs(modified - now) < timedelta(minutes=5)
    assert sorted(k for k, _ in store.list_keys("tmp")) == [
        "tmp/01A",
        "tmp/01B",
        "tmp/sub/01C",
        "tmpx",
    ]
    assert sorted(k for k, _ in store.list_keys("tmp/01")) == ["tmp/01A", "tmp/01B"]
    assert len(list(store.list_keys(""))) == 5
    assert list(store.list_keys("nothing/")) == []
    with pytest.raises(InvalidKeyError):
        list(store.list_keys("../"))


def test_ping(store: ObjectStore) -> None:
    store.ping()


def test_both_stores_implement_the_protocol(store: ObjectStore) -> None:
    assert isinstance(store, ObjectStore)
    assert store.min_part_size >= 1
