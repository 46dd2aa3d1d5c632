"""远程视频取证 remote video forensics: a live recording uploaded in chunks.

The service keeps the per-chunk hash chain of the upload session; this port only checks that the
assembled bytes are an audio/video recording, exactly as the audio-visual port does, without
buffering anything beyond the head.
"""

from __future__ import annotations

from typing import ClassVar

from evidence_service.capture.ports.audiovisual import RecordingInspection
from evidence_service.capture.ports.base import Inspection


class RemoteVideoPort:
    """Same media types and fields as :class:`~.audiovisual.AudiovisualPort`."""

    id: ClassVar[str] = "remote_video"
    label: ClassVar[str] = "远程视频取证 remote video"
    max_size: ClassVar[int | None] = None

    def inspect(self) -> Inspection:
        return RecordingInspection(self.label)
