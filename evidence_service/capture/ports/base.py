"""What every capture port is: validate one kind of evidence and extract its metadata.

A port never touches storage, the database or the chain. The ingest pipeline streams the upload
once; while the bytes flow to the object store it hands every chunk, in order, to the port's
``Inspection``. The inspection may reject early (raise an ``EvidenceError``; the pipeline then
discards the partial object), and on ``finish()`` returns the detected media type, extracted fields
and any derived files (a thumbnail, a rendered diagram or record) that the service stores beside
the original.

Media types are decided from the bytes (magic numbers), never from the client's claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True)
class DerivedFile:
    """A file the port produced from the evidence (stored beside it, never instead of it)."""

    role: str  # "thumbnail", "rendering", "document"
    media_type: str
    data: bytes


@dataclass(frozen=True)
class Extraction:
    media_type: str
    fields: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable
    derived: tuple[DerivedFile, ...] = ()


class Inspection(Protocol):
    def feed(self, chunk: bytes) -> None:
        """Called with every chunk in order. May raise an ``EvidenceError`` to reject early."""
        ...

    def finish(self) -> Extraction:
        """Called once after the last chunk. Raises an ``EvidenceError`` if the content is bad."""
        ...


class CapturePort(Protocol):
    id: ClassVar[str]
    label: ClassVar[str]  # e.g. "书证 documentary"
    #: Largest upload this port accepts, or None for the service-wide limit only.
    max_size: ClassVar[int | None]

    def inspect(self) -> Inspection:
        """A fresh inspection for one upload."""
        ...
