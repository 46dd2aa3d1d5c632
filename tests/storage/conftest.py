"""Helpers for the storage tests: what a store has left behind, seen from outside the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from minio import Minio

from storage import LocalStore, MinioStore, ObjectStore


@pytest.fixture
def leftovers(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[ObjectStore], list[str]]:
    """Everything a store holds, seen from outside it: objects, temp files, sidecars and staging
    on disk (not the store's own lock files); object versions, delete markers and multipart
    uploads in a bucket. After only failed writes it must be empty."""

    def local(store: LocalStore) -> list[str]:
        root = tmp_path / "store"
        bookkeeping = {root / ".meta" / ".lock"}
        return sorted(
            str(path.relative_to(root))
            for path in root.rglob("*")
            if path.is_file()
            and path not in bookkeeping
            and (root / ".meta" / ".writers") not in path.parents
        )

    def bucket(store: MinioStore) -> list[str]:
        s3 = request.getfixturevalue("s3_endpoint")
        client = Minio(
            s3.endpoint,
            access_key=s3.access_key,
            secret_key=s3.secret_key,
            secure=False,
            region=s3.region,
        )
        found = [
            f"{o.object_name}@{o.version_id}"
            for o in client.list_objects(store.bucket, recursive=True, include_version=True)
        ]
        uploads = client._list_multipart_uploads(store.bucket).uploads
        found += [f"upload:{u.object_name}" for u in uploads]
        return sorted(found)

    def inspect(store: ObjectStore) -> list[str]:
        if isinstance(store, LocalStore):
            return local(store)
        assert isinstance(store, MinioStore)
        return bucket(store)

    return inspect
