"""Verify an evidence package ZIP offline: the core of ``evidence verify-package`` and of
``POST /api/v1/packages/verify``.

Nothing here reads a database or the service: the ZIP, a chain reader (any node, or a stopped
service's embedded chain) and, ideally, the issuing service's trust bundle. Without one, trust
comes from the package's own ``trust/`` directory, and the verdict says so. Files are hashed as
they stream out of the ZIP (SHA-256 and SM3 in one pass), each read capped; hashing time is
reported apart from the checks.
"""

from __future__ import annotations

import hashlib
import time
import zipfile
from collections import Counter
from pathlib import Path

from web3 import Web3

from evidence_service.verify.manifest import Manifest, parse_manifest
from evidence_service.verify.package_checks import (
    AnchorCache,
    DigestBuilder,
    FileDigest,
    SealedContents,
    check_contents,
    check_custody,
    check_evidence_list,
    check_file,
    check_proof,
    check_seal,
    check_sealed_file,
    parse_contents,
    pins_from_trust,
    seal_department,
    trust_source_check,
    unexpected_members,
)
from evidence_service.verify.package_format import (
    CONTENTS,
    CONTENTS_SEAL,
    CUSTODY,
    LIMITS,
    LIST_JSON,
    LIST_PDF,
    MANIFEST,
    PACKAGE_FORMAT,
    REPORT,
    SEAL_IMAGE,
    SEAL_RECORD,
    TRUST,
    PackageFailure,
    PackageFormatError,
    PackageLimits,
)
from evidence_service.verify.proof_steps import Pins
from evidence_service.verify.verdict import Check, Verdict, failed

READ_CHUNK = 1024 * 1024
#: What reading a ZIP entry raises besides BadZipFile (a CRC mismatch): an I/O error, an
#: encrypted entry (RuntimeError), a compression method zipfile lacks (NotImplementedError —
#: zipfile's own signal, not a stub here), a truncated stream (EOFError).
UNREADABLE_ENTRY = (OSError, RuntimeError, NotImplementedError, EOFError)


class _MemberError(Exception):
    """A member could not be read whole (too large, fails its CRC, unreadable entry)."""


class PackageArchive:
    """Capped, streaming reads of the members of a package ZIP."""

    def __init__(self, archive: zipfile.ZipFile, limits: PackageLimits) -> None:
        self.archive = archive
        self.limits = limits
        self.members = {i.filename: i for i in archive.infolist() if not i.is_dir()}
        self.duplicates = sorted(
            n for n, c in Counter(i.filename for i in archive.infolist()).items() if c > 1
        )

    def read(self, name: str, limit: int) -> bytes | None:
        info = self.members.get(name)
        if info is None:
            return None
        if info.file_size > limit:
            raise _MemberError(f"{name} is {info.file_size} bytes; the limit is {limit}")
        try:
            with self.archive.open(info) as member:
                data = member.read(limit + 1)
        except (zipfile.BadZipFile, *UNREADABLE_ENTRY) as exc:
            raise _MemberError(f"{name} cannot be read: {exc}") from exc
        if len(data) > limit:
            raise _MemberError(f"{name} is larger than {limit} bytes")
        return data

    def digest(self, name: str, expected_size: int) -> FileDigest | None:
        """SHA-256, SM3 and size of a member, read in chunks up to one byte past the size the
        manifest states (a longer file is a mismatch, whatever else it holds)."""
        info = self.members.get(name)
        if info is None:
            return None
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


def package_verdict(
    path: Path, *, w3: Web3 | None, pins: Pins | None, limits: PackageLimits = LIMITS
) -> Verdict:
    """Every check of the package; raises PackageFormatError only if it is not a ZIP at all.
    ``pins`` None: trust the package's own ``trust/`` (and the verdict says so)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise PackageFormatError(f"not a ZIP archive: {exc}") from exc
    with archive:
        started = time.perf_counter()
        verdict = _archive_verdict(PackageArchive(archive, limits), w3, pins)
        verdict.checking_seconds = time.perf_counter() - started - verdict.hashing_seconds
        return verdict


def _read_checked(
    package: PackageArchive,
    name: str,
    limit: int,
    subject: str,
    failure: PackageFailure,
    verdict: Verdict,
) -> bytes | None:
    try:
        return package.read(name, limit)
    except _MemberError as exc:
        verdict.checks.append(failed(subject, "read", failure, str(exc)))
        return None


def _package_trust(package: PackageArchive, verdict: Verdict) -> tuple[bytes | None, Pins]:
    """The package's ``trust/trust.json`` and the pins it lists, each PEM file under ``trust/``
    one of them — checked whether or not the verifier pinned its own trust, as the contents
    seal covers trust.json."""
    raw = _read_checked(
        package,
        TRUST,
        package.limits.max_trust_bytes,
        "trust",
        PackageFailure.bad_package,
        verdict,
    )
    if raw is None:
        if TRUST not in package.members:
            verdict.checks.append(
                failed("trust", "present", PackageFailure.missing_file, f"no {TRUST}")
            )
        return None, Pins()
    try:
        pins = pins_from_trust(raw)
    except (ValueError, TypeError, AttributeError) as exc:
        verdict.checks.append(failed("trust", "parse", PackageFailure.bad_package, str(exc)))
        return raw, Pins()
    for kind, pems in (("ca", pins.ca_certificates), ("crl", pins.crls)):
        for name in sorted(n for n in package.members if n.startswith(f"trust/{kind}/")):
            try:
                data = package.read(name, package.limits.max_seal_bytes)
            except _MemberError as exc:
                verdict.checks.append(failed(name, "read", PackageFailure.bad_package, str(exc)))
                continue
            if data not in pems:
                verdict.checks.append(
                    failed(name, "trust", PackageFailure.bad_package, f"not listed in {TRUST}")
                )
    return raw, pins


def _archive_verdict(package: PackageArchive, w3: Web3 | None, pins: Pins | None) -> Verdict:
    limits = package.limits
    verdict = Verdict(PACKAGE_FORMAT, trust_source="pinned" if pins is not None else "package")
    if len(package.members) > limits.max_members:
        verdict.checks.append(
            failed("manifest", "members", PackageFailure.bad_package, "too many entries")
        )
        return verdict
    for name in package.duplicates:
        verdict.checks.append(
            failed(name, "unique", PackageFailure.bad_package, "the ZIP holds this name twice")
        )
    verdict.checks.append(trust_source_check(verdict.trust_source))
    trust_raw, listed = _package_trust(package, verdict)
    if pins is None:
        pins = listed
    manifest_raw = _read_checked(
        package,
        MANIFEST,
        limits.max_manifest_bytes,
        "manifest",
        PackageFailure.manifest_digest_mismatch,
        verdict,
    )
    if manifest_raw is None:
        if MANIFEST not in package.members:
            verdict.checks.append(
                failed("manifest", "present", PackageFailure.missing_file, f"no {MANIFEST}")
            )
        return verdict
    parsed = parse_manifest(manifest_raw)
    seal_raw = _read_checked(
        package, SEAL_RECORD, limits.max_seal_bytes, "seal", PackageFailure.bad_seal, verdict
    )
    if seal_raw is not None or SEAL_RECORD not in package.members:
        sender = parsed.transfer.sender.id if isinstance(parsed, Manifest) else None
        verdict.checks += check_seal(manifest_raw, seal_raw, pins, sender_id=sender)
    verdict.manifest_digest = hashlib.sha256(manifest_raw).hexdigest()
    if isinstance(parsed, Check):
        verdict.checks.append(parsed)
        return verdict
    sealer = seal_department(seal_raw) or parsed.transfer.sender.id
    contents = _add_contents_checks(package, verdict, pins, sealer_id=sealer)
    sealed = contents.sealed_digests() if contents else None
    if sealed is not None:
        verdict.checks += check_sealed_file(MANIFEST, manifest_raw, sealed[MANIFEST])
        if trust_raw is not None:
            verdict.checks += check_sealed_file(TRUST, trust_raw, sealed[TRUST])
    verdict.transfer = parsed.transfer.model_dump()
    verdict.items = len(parsed.items)
    _add_item_checks(package, parsed, verdict, w3, pins)
    custody = _read_checked(
        package,
        CUSTODY,
        limits.max_custody_bytes,
        "custody",
        PackageFailure.custody_broken,
        verdict,
    )
    if custody is not None or CUSTODY not in package.members:
        verdict.checks += check_custody(custody, parsed)
    if sealed is not None and custody is not None:
        verdict.checks += check_sealed_file(CUSTODY, custody, sealed[CUSTODY])
    listed_raw = _add_list_checks(package, parsed, verdict, w3, pins)
    if sealed is not None and (listed_raw is not None or LIST_JSON not in package.members):
        verdict.checks += check_sealed_file(LIST_JSON, listed_raw, sealed[LIST_JSON])
    expected = {MANIFEST, SEAL_RECORD, CONTENTS, CONTENTS_SEAL, SEAL_IMAGE, TRUST, CUSTODY}
    expected |= {LIST_JSON, LIST_PDF, REPORT}
    expected |= {i.file for i in parsed.items} | {i.proof for i in parsed.items}
    verdict.checks += unexpected_members(package.members, expected)
    return verdict


def _add_contents_checks(
    package: PackageArchive, verdict: Verdict, pins: Pins, *, sealer_id: str
) -> SealedContents | None:
    """``seal/contents.json`` and its seal (by the manifest's sealer); the contents when they
    parse, for the members they cover to be checked against."""
    limit = package.limits.max_seal_bytes
    raw = _read_checked(package, CONTENTS, limit, CONTENTS, PackageFailure.bad_package, verdict)
    if raw is None:
        if CONTENTS not in package.members:
            detail = f"no {CONTENTS}: custody.json and trust/ are sealed by nothing"
            verdict.checks.append(failed(CONTENTS, "present", PackageFailure.missing_file, detail))
        return None
    contents = parse_contents(raw)
    if isinstance(contents, Check):
        verdict.checks.append(contents)
        return None
    seal_raw = _read_checked(
        package, CONTENTS_SEAL, limit, CONTENTS_SEAL, PackageFailure.bad_seal, verdict
    )
    if seal_raw is not None or CONTENTS_SEAL not in package.members:
        verdict.checks += check_contents(contents, seal_raw, pins, sealer_id=sealer_id)
    return contents


def _add_item_checks(
    package: PackageArchive,
    manifest: Manifest,
    verdict: Verdict,
    w3: Web3 | None,
    pins: Pins,
) -> None:
    anchors: AnchorCache = {}
    for item in manifest.items:
        started = time.perf_counter()
        digest = package.digest(item.file, item.size)
        verdict.hashing_seconds += time.perf_counter() - started
        verdict.hashed_bytes += digest.size if digest else 0
        verdict.checks.append(check_file(item, digest))
        try:
            proof = package.read(item.proof, package.limits.max_proof_bytes)
        except _MemberError as exc:
            verdict.checks.append(
                failed(item.proof, "read", PackageFailure.proof_mismatch, str(exc))
            )
            continue
        verdict.checks += check_proof(item, proof, digest, w3=w3, pins=pins, anchors=anchors)


def _add_list_checks(
    package: PackageArchive,
    manifest: Manifest,
    verdict: Verdict,
    w3: Web3 | None,
    pins: Pins,
) -> bytes | None:
    """The evidence list's checks; its JSON bytes when the package has them."""
    raw = _read_checked(
        package,
        LIST_JSON,
        package.limits.max_list_bytes,
        LIST_JSON,
        PackageFailure.bad_package,
        verdict,
    )
    if raw is not None:
        verdict.checks += check_evidence_list(raw, manifest, w3=w3, pins=pins)
        if LIST_PDF not in package.members:
            verdict.checks.append(
                failed(LIST_PDF, "present", PackageFailure.missing_file, "the list has no PDF")
            )
    elif LIST_PDF in package.members and LIST_JSON not in package.members:
        verdict.checks.append(
            failed(LIST_JSON, "present", PackageFailure.missing_file, "a list PDF without its JSON")
        )
    return raw
