"""视听资料 audio-visual evidence: recordings of any size, judged by their magic bytes only.

Nothing is buffered beyond the 4 KiB head: multi-GB recordings stream straight through. The one
cheap extra is the duration of a WAV file, read from its header and the byte count.
"""

from __future__ import annotations

import struct
from typing import Any, ClassVar

from evidence_service.capture.ports import sniff
from evidence_service.capture.ports.acceptance import require_media_type
from evidence_service.capture.ports.base import Extraction, Inspection
from evidence_service.capture.ports.streaming import HeadSniffer


class RecordingInspection:
    """Checks the head of an audio/video upload and counts the bytes after it."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._head = HeadSniffer()
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._head.feed(chunk):
            self._check_type()

    def finish(self) -> Extraction:
        self._head.close()
        media_type = self._check_type()
        fields: dict[str, Any] = {"container": sniff.CONTAINER_NAMES[media_type]}
        if media_type == sniff.WAV:
            duration = wav_duration_seconds(self._head.head, self._size)
            if duration is not None:
                fields["duration_seconds"] = duration
        return Extraction(media_type, fields)

    def _check_type(self) -> str:
        return require_media_type(self._head.media_type, sniff.AV_TYPES, self._label)


def wav_duration_seconds(head: bytes, total_size: int) -> float | None:
    """Duration from the ``fmt `` chunk's byte rate and the ``data`` chunk, if both are in ``head``.

    A ``data`` size of 0 or 0xFFFFFFFF (written by recorders that never patched the header) and a
    size beyond the actual end of file both fall back to the bytes that actually follow.
    """
    byte_rate: int | None = None
    offset = 12  # after "RIFF" <size> "WAVE"
    while offset + 8 <= len(head):
        chunk_id = head[offset : offset + 4]
        (chunk_size,) = struct.unpack_from("<I", head, offset + 4)
        body = offset + 8
        if chunk_id == b"fmt " and body + 16 <= len(head):
            (byte_rate,) = struct.unpack_from("<I", head, body + 8)
        elif chunk_id == b"data":
            if not byte_rate:
                return None
            available = max(total_size - body, 0)
            data_size = available if chunk_size in (0, 0xFFFFFFFF) else min(chunk_size, available)
            return round(data_size / byte_rate, 3)
        offset = body + chunk_size + (chunk_size & 1)
    return None


class AudiovisualPort:
    """Audio and video by magic: MP4/MOV/3GP/M4A, WebM/Matroska, AVI, MPEG-TS, FLV, Ogg, WAV, MP3,
    AAC (ADTS), FLAC, AMR. Fields: ``container``; ``duration_seconds`` for WAV."""

    id: ClassVar[str] = "audiovisual"
    label: ClassVar[str] = "视听资料 audio-visual evidence"
    max_size: ClassVar[int | None] = None

    def inspect(self) -> Inspection:
        return RecordingInspection(self.label)
