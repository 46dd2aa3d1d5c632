"""Every size, count and time limit of the storage layer, in one place."""

from __future__ import annotations

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

#: Longest object key, in characters (keys are ASCII, so also bytes).
MAX_KEY_LENGTH = 512

#: Longest segment of a key: fits NAME_MAX (255) with the local store's temp-file affixes.
MAX_SEGMENT_LENGTH = 200

#: Most bytes one chunk of ``get()`` holds; reads are streamed in pieces this large.
READ_CHUNK_BYTES = 1 * MiB

#: S3 multipart rules: every part but the last at least 5 MiB, at most 5 GiB, 10,000 parts.
S3_MIN_PART_SIZE = 5 * MiB
S3_MAX_PART_SIZE = 5 * GiB
S3_MAX_PARTS = 10_000

#: Part size of a streamed S3 ``put``: memory per upload, and objects up to 10,000 x this.
DEFAULT_S3_PART_SIZE = 16 * MiB

#: Most bytes an S3 ``put_part`` buffers (S3 needs a part's length before sending it).
DEFAULT_MAX_BUFFERED_PART = 64 * MiB

#: Longest lifetime S3 allows for a presigned URL (SigV4: seven days).
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
