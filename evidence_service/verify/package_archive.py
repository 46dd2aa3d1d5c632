"""Reading an untrusted package ZIP: what its central directory says before anything is read,
and capped, streaming, counted reads of its members.

A ZIP's central directory gives every member's compressed and uncompressed size, and
``zipfile`` never inflates a member past the uncompressed size it lists, so what a verification
will cost is known before it starts: :meth:`PackageArchive.directory_checks` refuses ZIP bombs
(a member inflating over :attr:`PackageLimits.max_compression_ratio` times) without reading a
byte, and every read is charged to the verification's budget
(:attr:`PackageLimits.max_read_bytes`) *before* it happens — over budget, :class:`OverBudget`
is raised and nothing more is read.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from collections.abc import Iterable

from evidence_service.verify.package_checks import DigestBuilder, FileDigest
from evidence_service.verify.package_format import PackageFailure, PackageLimits
from evidence_service.verify.verdict import Check, Status, failed

READ_CHUNK = 1024 * 1024
#: What reading a ZIP entry raises besides BadZipFile (a CRC mismatch): an I/O error, an
#: encrypted entry (RuntimeError), a compression method zipfile lacks (NotImplementedError —
#: zipfile's own signal, not a stub here), a truncated stream (EOFError).
UNREADABLE_ENTRY = (OSError, RuntimeError, NotImplementedError, EOFError)
#: What a package member may be compressed with: the service writes STORED, a re-zipper
#: DEFLATED (which zipfile inflates a bounded amount at a time).
READABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


class MemberError(Exception):
    """A member could not be read whole (too large, fails its CRC, unreadable entry)."""


class OverBudget(Exception):
    """Verifying on would read more member bytes than this verification may."""

    def __init__(self, needed: int, used: int, limits: PackageLimits) -> None:
        super().__init__(f"{needed} more bytes to read; {used} read; limit {limits.max_read_bytes}")
        self.needed, self.used, self.limits = needed, used, limits

    def check(self) -> Check:
        """The verdict's answer: undecided (nothing was shown wrong), and why it stopped."""
        return Check(
            "package",
            "budget",
            Status.error,
            PackageFailure.too_large,
            f"not verified: it would read {self.used + self.needed:,} bytes of members, and "
            f"this verification reads at most {self.limits.max_read_bytes:,}; "
            f"{self.limits.over_limit_advice}",
        )


class PackageArchive:
    """Capped, streaming, counted reads of the members of a package ZIP."""

    def __init__(self, archive: zipfile.ZipFile, limits: PackageLimits) -> None:
        self.archive = archive
        self.limits = limits
        self.members = {i.filename: i for i in archive.infolist() if not i.is_dir()}
        self.duplicates = sorted(
            n for n, c in Counter(i.filename for i in archive.infolist()).items() if c > 1
        )
        self.read_bytes = 0  # uncompressed bytes charged so far (at most what was inflated)
        self.opened: set[str] = set()

    def sizes(self) -> dict[str, int]:
        """Each member's uncompressed size, as the central directory lists it."""
        return {name: info.file_size for name, info in self.members.items()}

    def directory_checks(self) -> list[Check]:
        """What is wrong with the ZIP before any member is read: too many entries, a name
        twice, an encrypted entry, a compression method other than STORED and DEFLATED, a
        member inflating past the compression-ratio bound."""
        limits = self.limits
        if len(self.members) > limits.max_members:
            detail = f"{len(self.members)} entries; a package has at most {limits.max_members}"
            return [failed("package", "members", PackageFailure.bad_package, detail)]
        checks = [
            failed(name, "unique", PackageFailure.bad_package, "the ZIP holds this name twice")
            for name in self.duplicates
        ]
        for name, info in self.members.items():
            if info.flag_bits & 0x1:
                checks.append(
                    failed(name, "encrypted", PackageFailure.bad_package, "an encrypted entry")
                )
            elif info.compress_type not in READABLE_METHODS:
                # bzip2 and LZMA inflate a whole read at once, whatever size the entry claims
                detail = f"compression method {info.compress_type}: only STORED and DEFLATED"
                checks.append(failed(name, "compression", PackageFailure.bad_package, detail))
            elif (
                info.file_size > limits.ratio_exempt_bytes
                and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1)
            ):
                detail = (
                    f"{info.compress_size:,} compressed bytes claim to inflate to "
                    f"{info.file_size:,} (over {limits.max_compression_ratio}:1): refused unread"
                )
                checks.append(failed(name, "compression", PackageFailure.bad_package, detail))
        return checks

    def _charge(self, name: str, size: int) -> None:
        limit = self.limits.max_read_bytes
        if limit is not None and self.read_bytes + size > limit:
            raise OverBudget(size, self.read_bytes, self.limits)
        self.read_bytes += size
        self.opened.add(name)

    def ensure_room(self, names: Iterable[str]) -> None:
        """Raise OverBudget now, before any of them is read, if reading all ``names`` (those
        not read yet) would go over the budget."""
        limit = self.limits.max_read_bytes
        if limit is None:
            return
        needed = sum(
            self.members[n].file_size
            for n in set(names)
            if n in self.members and n not in self.opened
        )
        if self.read_bytes + needed > limit:
            raise OverBudget(needed, self.read_bytes, self.limits)

    def read(self, name: str, limit: int) -> bytes | None:
        """The member's bytes (None: not in the ZIP); MemberError past ``limit``."""
        info = self.members.get(name)
        if info is None:
            return None
        if info.file_size > limit:
            raise MemberError(f"{name} is {info.file_size} bytes; the limit is {limit}")
        self._charge(name, info.file_size)
        try:
            with self.archive.open(info) as member:
                data = member.read(limit + 1)
        except (zipfile.BadZipFile, *UNREADABLE_ENTRY) as exc:
            raise MemberError(f"{name} cannot be read: {exc}") from exc
        if len(data) > limit:
            raise MemberError(f"{name} is larger than {limit} bytes")
        return data

    def digest(self, name: str, expected_size: int) -> FileDigest | None:
        """SHA-256, SM3 and size of a member, read in chunks up to one byte past the size
        expected (a longer file is a mismatch, whatever else it holds)."""
        info = self.members.get(name)
        if info is None:
            return None
        self._charge(name, min(info.file_size, expected_size + 1))
        digest = DigestBuilder()
        try:
            with self.archive.open(info) as member:
                while digest.size <= expected_size:
                    chunk = member.read(min(READ_CHUNK, expected_size + 1 - digest.size))
                    if not chunk:
                        break
                    digest.update(chunk)
        except zipfile.BadZipFile as exc:
            return digest.result(f"the stored bytes were altered after packaging ({exc})")
        except UNREADABLE_ENTRY as exc:
            return digest.result(f"the entry cannot be read: {exc}")
        if digest.size > expected_size:
            return digest.result(f"the file is longer than the {expected_size} bytes listed")
        return digest.result()
