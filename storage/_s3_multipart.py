"""The S3 multipart calls the minio client only exposes as private methods.

``minio.Minio`` implements CreateMultipartUpload / UploadPart / ListParts /
CompleteMultipartUpload / AbortMultipartUpload as ``_``-prefixed methods (stable through the 7.2
series). They are wrapped here and nowhere else, so a client upgrade that renames them breaks
one small file.
"""

from __future__ import annotations

from minio import Minio
from minio.datatypes import Part
from minio.helpers import DictType


class MultipartCalls:
    def __init__(self, client: Minio, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def create(self, key: str) -> str:
        headers: DictType = {"Content-Type": "application/octet-stream"}
        return self._client._create_multipart_upload(self._bucket, key, headers)

    def upload_part(self, key: str, upload_id: str, part_number: int, data: bytes) -> str:
        """Upload one part; returns its ETag (without quotes)."""
        return self._client._upload_part(self._bucket, key, data, None, upload_id, part_number)

    def part_numbers(self, key: str, upload_id: str, *, after: int, limit: int) -> list[int]:
        """Numbers of the uploaded parts greater than ``after``, at most ``limit`` of them."""
        marker = str(after) if after > 0 else None
        result = self._client._list_parts(
            self._bucket, key, upload_id, max_parts=limit, part_number_marker=marker
        )
        return [part.part_number for part in result.parts]

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        listed = [Part(number, etag) for number, etag in parts]
        self._client._complete_multipart_upload(self._bucket, key, upload_id, listed)

    def abort(self, key: str, upload_id: str) -> None:
        self._client._abort_multipart_upload(self._bucket, key, upload_id)

    def unfinished_upload_ids(self, key: str) -> list[str]:
        """Ids of multipart uploads of exactly ``key`` that were never completed or aborted."""
        result = self._client._list_multipart_uploads(self._bucket, prefix=key, max_uploads=1000)
        return [u.upload_id for u in result.uploads if u.object_name == key and u.upload_id]
