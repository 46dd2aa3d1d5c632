"""A ZIP written as it is sent: to an unseekable sink, entry by entry, STORED, with data
descriptors and zip64 when needed — so neither the archive nor any one entry is ever held in
memory — and every entry's SHA-256 and size taken as it is written (what the package's contents
seal lists)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from evidence_service.verify.package_checks import DigestBuilder
from evidence_service.verify.package_contents import SealedMember


class _Sink(io.RawIOBase):
    """An unseekable file that keeps what zipfile writes until the generator takes it."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        parts, self._parts = self._parts, []
        return parts[0] if len(parts) == 1 else b"".join(parts)


class ZipStream:
    """A ZIP written to an unseekable sink: data descriptors, zip64 when needed, STORED. Every
    entry's SHA-256 and size, as written, is kept in :attr:`written`."""

    def __init__(self, when: datetime) -> None:
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(
            self._sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True
        )
        moment = max(when.astimezone(UTC), datetime(1980, 1, 1, tzinfo=UTC))
        self._date_time = moment.timetuple()[:6]
        self.written: dict[str, SealedMember] = {}

    def entry(
        self,
        name: str,
        chunks: Iterable[bytes],
        size: int | None = None,
        digest: DigestBuilder | None = None,
    ) -> Iterator[bytes]:
        """The entry's ZIP bytes; ``digest`` (a fresh one if None) sees its bytes."""
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o100444 << 16
        if size is not None:
            info.file_size = size  # lets zipfile choose zip64 up front for large files
        seen = digest if digest is not None else DigestBuilder()
        with self._zip.open(info, "w") as out:
            for chunk in chunks:
                seen.update(chunk)
                out.write(chunk)
                data = self._sink.take()
                if data:
                    yield data
        data = self._sink.take()
        if data:
            yield data
        result = seen.result()
        self.written[name] = SealedMember(sha256=result.sha256, size=result.size)

    def finish(self) -> Iterator[bytes]:
        self._zip.close()
        yield self._sink.take()
