"""MinioStore specifics: the bucket, the server's own locks, outages, and moto's gaps."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.retention import Retention

from storage import (
    InvalidKeyError,
    MinioStore,
    ObjectLockedError,
    ObjectStore,
    RetentionError,
    SizeLimitError,
    StorageError,
    StoreUnavailableError,
)
from tests.fixtures.s3 import FakeClock, S3Endpoint
from tests.storage.helpers import payload

MakeStore = Callable[..., MinioStore]


def raw_client(s3: S3Endpoint) -> Minio:
    return Minio(
        s3.endpoint,
        access_key=s3.access_key,
        secret_key=s3.secret_key,
        secure=False,
        region=s3.region,
    )


def versions(s3: S3Endpoint, store: MinioStore, key: str) -> list[tuple[str | None, bool]]:
    return [
        (o.version_id, o.is_delete_marker)
        for o in raw_client(s3).list_objects(store.bucket, prefix=key, include_version=True)
        if o.object_name == key
    ]


def test_ensure_bucket_is_idempotent_and_enables_object_lock(
    minio_store: MinioStore, s3_endpoint: S3Endpoint
) -> None:
    minio_store.ensure_bucket()
    config = raw_client(s3_endpoint).get_object_lock_config(minio_store.bucket)
    assert config is not None
    minio_store.ping()


def test_a_bucket_without_object_lock_is_refused(
    make_minio_store: MakeStore, s3_endpoint: S3Endpoint
) -> None:
    raw_client(s3_endpoint).make_bucket("plain-bucket-no-lock")
    with pytest.raises(StorageError, match="without object lock"):
        make_minio_store(bucket="plain-bucket-no-lock")


def test_ping_reports_a_missing_bucket(minio_store: MinioStore, s3_endpoint: S3Endpoint) -> None:
    store = MinioStore(
        endpoint=s3_endpoint.endpoint,
        access_key=s3_endpoint.access_key,
        secret_key=s3_endpoint.secret_key,
        bucket="no-such-bucket-here",
    )
    with pytest.raises(StoreUnavailableError, match="does not exist"):
        store.ping()


def test_lock_state_is_read_back_from_the_server(
    minio_store: MinioStore, s3_endpoint: S3Endpoint
) -> None:
    minio_store.put("ev", [b"x"])
    until = datetime(2031, 5, 6, 7, 8, 9, 123_456, tzinfo=UTC)
    minio_store.set_retention("ev", until)
    minio_store.set_legal_hold("ev", True)
    headers = raw_client(s3_endpoint).stat_object(minio_store.bucket, "ev").metadata
    assert headers is not None
    assert headers["x-amz-object-lock-mode"] == "COMPLIANCE"
    assert headers["x-amz-object-lock-legal-hold"] == "ON"
    info = minio_store.stat("ev")
    # S3 keeps milliseconds; the store rounds up so retention is never shorter than asked.
    assert info.retain_until == datetime(2031, 5, 6, 7, 8, 9, 124_000, tzinfo=UTC)
    assert info.legal_hold


def test_moto_would_shorten_compliance_retention_but_the_store_refuses(
    minio_store: MinioStore, s3_endpoint: S3Endpoint
) -> None:
    client = raw_client(s3_endpoint)
    minio_store.put("ev", [b"x"])
    minio_store.put("control", [b"x"])
    long, short = datetime(2032, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)

    # The gap: moto lets the raw client shorten COMPLIANCE retention (real S3/MinIO refuse).
    minio_store.set_retention("control", long)
    client.set_object_retention(minio_store.bucket, "control", Retention(COMPLIANCE, short))
    assert minio_store.stat("control").retain_until == short

    # The store checks first and never sends the request.
    minio_store.set_retention("ev", long)
    with pytest.raises(RetentionError):
        minio_store.set_retention("ev", short)
    assert minio_store.stat("ev").retain_until == long


def test_the_server_refuses_removal_even_when_our_clock_is_wrong(
    minio_store: MinioStore, store_clock: FakeClock
) -> None:
    minio_store.put("ev", [b"x"])
    minio_store.set_retention("ev", datetime.now(UTC) + timedelta(days=1))
    store_clock.advance(timedelta(days=2))  # our check passes; the server's lock does not
    with pytest.raises(ObjectLockedError):
        minio_store.discard("ev")
    assert minio_store.exists("ev")


def test_discard_removes_the_version_not_just_hides_it(
    minio_store: MinioStore, s3_endpoint: S3Endpoint
) -> None:
    minio_store.put("tmp/x", [b"x"])
    assert len(versions(s3_endpoint, minio_store, "tmp/x")) == 1
    minio_store.discard("tmp/x")
    assert versions(s3_endpoint, minio_store, "tmp/x") == []


def test_promote_keeps_no_version_of_the_source(
    minio_store: MinioStore, s3_endpoint: S3Endpoint
) -> None:
    minio_store.put("tmp/x", [payload(6 * 1024 * 1024)])
    minio_store.promote("tmp/x", "final/x")
    assert versions(s3_endpoint, minio_store, "tmp/x") == []
    assert len(versions(s3_endpoint, minio_store, "final/x")) == 1


def test_presigned_url_downloads_the_object(minio_store: MinioStore) -> None:
    minio_store.put("ev", [b"evidence bytes"])
    url = minio_store.presigned_get_url("ev", expires_seconds=60)
    assert url is not None and minio_store.bucket in url
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read() == b"evidence bytes"
    with pytest.raises(StorageError):
        minio_store.presigned_get_url("ev", expires_seconds=0)


def test_parts_must_be_at_least_5_mib_except_the_last(minio_store: MinioStore) -> None:
    upload_id = minio_store.create_multipart("mp")
    first = minio_store.put_part("mp", upload_id, 1, [b"too small"])
    second = minio_store.put_part("mp", upload_id, 2, [b"last"])
    with pytest.raises(StorageError, match="EntityTooSmall"):
        minio_store.complete_multipart("mp", upload_id, [first, second])
    minio_store.abort_multipart("mp", upload_id)


def test_a_part_larger_than_the_buffer_limit_is_refused(make_minio_store: MakeStore) -> None:
    store = make_minio_store(max_part_size=5 * 1024 * 1024)
    upload_id = store.create_multipart("mp")
    with pytest.raises(SizeLimitError):
        store.put_part("mp", upload_id, 1, [payload(5 * 1024 * 1024 + 1)])
    store.abort_multipart("mp", upload_id)


def test_minio_store_satisfies_the_protocol_statically(dead_store: MinioStore) -> None:
    store: ObjectStore = dead_store  # mypy checks this assignment
    assert store.min_part_size == 5 * 1024 * 1024


def test_part_size_must_be_valid_for_s3(s3_endpoint: S3Endpoint) -> None:
    with pytest.raises(ValueError, match="part_size"):
        MinioStore(
            endpoint=s3_endpoint.endpoint,
            access_key="a",
            secret_key="b",
            bucket="x",
            part_size=1024,
        )


# -- outage ------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket closes


@pytest.fixture
def dead_store() -> MinioStore:
    return MinioStore(
        endpoint=f"127.0.0.1:{_closed_port()}",
        access_key="a",
        secret_key="b",
        bucket="evidence",
        max_retries=1,
        connect_timeout=1.0,
    )


def test_outage_raises_store_unavailable_from_every_method(dead_store: MinioStore) -> None:
    calls: list[Callable[[], object]] = [
        dead_store.ping,
        dead_store.ensure_bucket,
        lambda: dead_store.put("k", [b"x"]),
        lambda: dead_store.get("k"),
        lambda: dead_store.stat("k"),
        lambda: dead_store.exists("k"),
        lambda: dead_store.discard("k"),
        lambda: dead_store.promote("a", "b"),
        lambda: dead_store.set_retention("k", datetime.now(UTC) + timedelta(days=1)),
        lambda: dead_store.set_legal_hold("k", True),
        lambda: list(dead_store.list_keys("tmp/")),
        lambda: dead_store.create_multipart("k"),
        lambda: dead_store.put_part("k", "id", 1, [b"x"]),
        lambda: dead_store.complete_multipart("k", "id", []),
        lambda: dead_store.abort_multipart("k", "id"),
    ]
    started = time.monotonic()
    for call in calls:
        with pytest.raises(StoreUnavailableError) as caught:
            call()
        assert caught.value.__cause__ is not None  # translated `from` the client's exception
    assert time.monotonic() - started < 20


def test_invalid_keys_are_rejected_before_any_request(dead_store: MinioStore) -> None:
    # The endpoint is dead: an InvalidKeyError (not StoreUnavailableError) proves no I/O.
    calls: list[Callable[[], object]] = [
        lambda: dead_store.put("../x", [b"x"]),
        lambda: dead_store.stat("/etc/passwd"),
        lambda: dead_store.get("a\\b"),
        lambda: dead_store.discard("a/../../b"),
        lambda: dead_store.promote("ok", "../x"),
        lambda: list(dead_store.list_keys("/")),
    ]
    for call in calls:
        with pytest.raises(InvalidKeyError):
            call()


def test_presigning_needs_no_server(dead_store: MinioStore) -> None:
    url = dead_store.presigned_get_url("k", expires_seconds=60)
    assert url is not None and "X-Amz-Signature=" in url


def test_discard_aborts_an_unfinished_multipart_upload_of_the_key(
    minio_store: MinioStore, s3_endpoint: S3Endpoint
) -> None:
    """A writer killed mid-put leaves an invisible multipart upload; discard clears it."""
    client = Minio(
        s3_endpoint.endpoint,
        access_key=s3_endpoint.access_key,
        secret_key=s3_endpoint.secret_key,
        secure=False,
    )
    key = "evidence/2026/11/KILLED"
    upload_id = client._create_multipart_upload(minio_store.bucket, key, {})
    client._upload_part(minio_store.bucket, key, b"x" * 1024, None, upload_id, 1)
    other = client._create_multipart_upload(minio_store.bucket, key + "X", {})

    def unfinished() -> list[str]:
        listed = client._list_multipart_uploads(minio_store.bucket, prefix="evidence/")
        return sorted(u.object_name or "" for u in listed.uploads)

    assert unfinished() == [key, key + "X"]
    minio_store.discard(key)
    assert unfinished() == [key + "X"]
    client._abort_multipart_upload(minio_store.bucket, key + "X", other)
