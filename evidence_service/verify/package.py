"""Verify an evidence package ZIP offline: the core of ``evidence verify-package`` and of
``POST /api/v1/packages/verify``.

Nothing here reads a database or the service: the ZIP, a chain reader (any node, or a stopped
service's embedded chain) and, ideally, the issuing service's trust bundle. Without one, trust
comes from the package's own ``trust/`` directory, and the verdict says so.

Cheap checks first, and the costly ones only when those hold: what the ZIP's central directory
says (no ZIP bombs), then the seals — the manifest seal and the contents seal, and the contents'
listing of every member with its size — reading only small documents. If any of that fails the
verdict says so and stops (``package``/``stopped``): nothing is hashed for a package whose seals
do not hold. Then, if what is left to read fits the verification's budget
(:attr:`PackageLimits.max_read_bytes`; else ``too-large``), every file is hashed as it streams
out of the ZIP (SHA-256 and SM3 in one pass), each proof, the custody chain and the evidence
list are checked, and — in an ``evidence-package/2`` package — every other member against the
digest ``seal/contents.json`` seals. Hashing time is reported apart from the checks.
"""

from __future__ import annotations

import hashlib
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from web3 import Web3

from evidence_service.verify.manifest import Manifest, parse_manifest
from evidence_service.verify.package_archive import MemberError, OverBudget, PackageArchive
from evidence_service.verify.package_checks import (
    AnchorCache,
    check_custody,
    check_evidence_list,
    check_file,
    check_proof,
    check_seal,
    pins_from_trust,
    seal_department,
    trust_source_check,
    unexpected_members,
)
from evidence_service.verify.package_contents import (
    UNSEALED_IN_V1,
    Contents,
    ContentsV1,
    ContentsV2,
    check_contents,
    check_listing,
    check_sealed_file,
    parse_contents,
    unverified_members,
)
from evidence_service.verify.package_format import (
    CONTENTS,
    CONTENTS_FILES,
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
from evidence_service.verify.verdict import Check, Status, Verdict, failed, passed

_GOOD = (Status.passed, Status.skipped)


def package_verdict(
    path: Path,
    *,
    w3: Web3 | None,
    pins: Pins | None,
    limits: PackageLimits = LIMITS,
    require_signature: bool = False,
) -> Verdict:
    """Every check of the package; raises PackageFormatError only if it is not a ZIP at all.
    ``pins`` None: trust the package's own ``trust/`` (and the verdict says so).
    ``require_signature``: an item whose capture statement is unsigned fails
    (``bad-signature``, unsigned) instead of its signature step being skipped."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise PackageFormatError(f"not a ZIP archive: {exc}") from exc
    with archive:
        started = time.perf_counter()
        verdict = Verdict(PACKAGE_FORMAT, trust_source="pinned" if pins is not None else "package")
        run = _Run(PackageArchive(archive, limits), verdict, w3, require_signature)
        try:
            run.check(pins)
        except OverBudget as exc:
            verdict.checks.append(exc.check())
        verdict.checking_seconds = time.perf_counter() - started - verdict.hashing_seconds
        return verdict


@dataclass
class _Sealed:
    """What the seals gave, for the costly checks: the manifest, the contents, the pins."""

    manifest: Manifest
    contents: Contents
    pins: Pins
    checked: set[str] = field(default_factory=set)  # members already held to the contents

    def check(self, name: str, raw: bytes | None) -> list[Check]:
        """The member's bytes against what the contents seal (``/1``: four documents only)."""
        self.checked.add(name)
        if isinstance(self.contents, ContentsV2):
            listed = self.contents.members.get(name)
            return check_sealed_file(name, raw, listed.sha256 if listed else None)
        sealed = self.contents.sealed_digests()
        if name not in sealed:
            return []
        return check_sealed_file(name, raw, sealed[name])


class _Run:
    """One verification: its archive, its verdict, its chain and options."""

    def __init__(
        self,
        package: PackageArchive,
        verdict: Verdict,
        w3: Web3 | None,
        require_signature: bool,
    ) -> None:
        self.package = package
        self.verdict = verdict
        self.w3 = w3
        self.require_signature = require_signature

    # -- reads ----------------------------------------------------------------------------------

    def read(self, name: str, limit: int, subject: str, failure: PackageFailure) -> bytes | None:
        try:
            return self.package.read(name, limit)
        except MemberError as exc:
            self.verdict.checks.append(failed(subject, "read", failure, str(exc)))
            return None

    def stop_if_failed(self, since: int, what: str) -> bool:
        """Whether a check appended since ``since`` did not pass; then says the rest was not
        run (a verdict is already not valid)."""
        problem = next((c for c in self.verdict.checks[since:] if c.status not in _GOOD), None)
        if problem is None:
            return False
        self.verdict.checks.append(
            Check(
                "package",
                "stopped",
                Status.skipped,
                None,
                f"no further checks ran and nothing was hashed: {what} did not hold "
                f"({problem.failure} at {problem.subject}), so nothing it covers can be trusted",
            )
        )
        return True

    # -- the cheap checks -----------------------------------------------------------------------

    def check(self, pinned: Pins | None) -> None:
        verdict = self.verdict
        directory = self.package.directory_checks()
        if directory:
            verdict.checks += directory
            self.stop_if_failed(0, "the ZIP's directory")
            return
        verdict.checks.append(trust_source_check(verdict.trust_source))
        sealed = self.seals(pinned)
        if sealed is None:
            return
        self.package.ensure_room(self.still_to_read(sealed))
        self.costly_checks(sealed)

    def seals(self, pinned: Pins | None) -> _Sealed | None:
        """The manifest seal, then the contents seal and the contents' listing: None (and the
        verdict says why it stopped) unless every one holds."""
        verdict, package, limits = self.verdict, self.package, self.package.limits
        since = len(verdict.checks)
        trust_raw, listed = self.package_trust()
        if self.stop_if_failed(since, "the package's trust bundle"):
            return None
        pins = pinned if pinned is not None else listed
        manifest_raw = self.read(
            MANIFEST, limits.max_manifest_bytes, "manifest", PackageFailure.bad_package
        )
        if manifest_raw is None:
            if MANIFEST not in package.members:
                detail = f"no {MANIFEST}"
                verdict.checks.append(
                    failed("manifest", "present", PackageFailure.missing_file, detail)
                )
            self.stop_if_failed(since, "the manifest")
            return None
        verdict.manifest_digest = hashlib.sha256(manifest_raw).hexdigest()
        parsed = parse_manifest(manifest_raw)
        seal_raw = self.read(SEAL_RECORD, limits.max_seal_bytes, "seal", PackageFailure.bad_seal)
        if seal_raw is not None or SEAL_RECORD not in package.members:
            sender = parsed.transfer.sender.id if isinstance(parsed, Manifest) else None
            verdict.checks += check_seal(manifest_raw, seal_raw, pins, sender_id=sender)
        if isinstance(parsed, Check):
            verdict.checks.append(parsed)
        else:
            verdict.transfer = parsed.transfer.model_dump()
            verdict.items = len(parsed.items)
        if self.stop_if_failed(since, "the manifest seal") or not isinstance(parsed, Manifest):
            return None
        since = len(verdict.checks)
        sealer = seal_department(seal_raw) or parsed.transfer.sender.id
        contents = self.contents(pins, sealer_id=sealer)
        if contents is None or self.stop_if_failed(since, "the contents seal"):
            return None
        verdict.format = contents.package_format
        if isinstance(contents, ContentsV2):
            verdict.checks += check_listing(contents, package.sizes(), parsed)
        else:
            verdict.checks += self.item_sizes(parsed)
        if self.stop_if_failed(since, "the contents seal"):
            return None
        sealed = _Sealed(parsed, contents, pins)
        verdict.checks += sealed.check(MANIFEST, manifest_raw)
        if trust_raw is not None:  # (none: the trust checks stopped the verification)
            verdict.checks += sealed.check(TRUST, trust_raw)
        if self.stop_if_failed(since, "the contents seal"):
            return None
        return sealed

    def package_trust(self) -> tuple[bytes | None, Pins]:
        """The package's ``trust/trust.json`` and the pins it lists, each PEM file under
        ``trust/`` one of them — checked whether or not the verifier pinned its own trust, as
        the contents seal covers trust.json."""
        verdict, package = self.verdict, self.package
        raw = self.read(TRUST, package.limits.max_trust_bytes, "trust", PackageFailure.bad_package)
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
                data = self.read(
                    name, package.limits.max_seal_bytes, name, PackageFailure.bad_package
                )
                if data is not None and data not in pems:
                    verdict.checks.append(
                        failed(name, "trust", PackageFailure.bad_package, f"not listed in {TRUST}")
                    )
        return raw, pins

    def contents(self, pins: Pins, *, sealer_id: str) -> Contents | None:
        """``seal/contents.json`` and its seal (by the manifest's sealer), when they parse."""
        verdict, limits = self.verdict, self.package.limits
        raw = self.read(CONTENTS, limits.max_contents_bytes, CONTENTS, PackageFailure.bad_package)
        if raw is None:
            if CONTENTS not in self.package.members:
                detail = f"no {CONTENTS}: the package's other members are sealed by nothing"
                verdict.checks.append(
                    failed(CONTENTS, "present", PackageFailure.missing_file, detail)
                )
            return None
        contents = parse_contents(raw)
        if isinstance(contents, Check):
            verdict.checks.append(contents)
            return None
        seal_raw = self.read(
            CONTENTS_SEAL, limits.max_seal_bytes, CONTENTS_SEAL, PackageFailure.bad_seal
        )
        if seal_raw is not None or CONTENTS_SEAL not in self.package.members:
            verdict.checks += check_contents(contents, seal_raw, pins, sealer_id=sealer_id)
        return contents

    def item_sizes(self, manifest: Manifest) -> list[Check]:
        """Each item file's size in the ZIP's central directory is the manifest's (``/1``; in
        ``/2`` the contents' listing checks it)."""
        sizes = self.package.sizes()
        return [
            failed(
                item.file,
                "size",
                PackageFailure.content_mismatch,
                f"the ZIP lists {sizes[item.file]} bytes, the manifest says {item.size}",
            )
            for item in manifest.items
            if item.file in sizes and sizes[item.file] != item.size
        ]

    def still_to_read(self, sealed: _Sealed) -> set[str]:
        """Every member the costly checks will read."""
        names = set(self.package.members) - CONTENTS_FILES
        if isinstance(sealed.contents, ContentsV1):
            names -= set(UNSEALED_IN_V1)
        return names

    # -- the costly checks ----------------------------------------------------------------------

    def costly_checks(self, sealed: _Sealed) -> None:
        verdict, package, limits = self.verdict, self.package, self.package.limits
        self.item_checks(sealed)
        custody = self.read(
            CUSTODY, limits.max_custody_bytes, "custody", PackageFailure.custody_broken
        )
        if custody is not None or CUSTODY not in package.members:
            verdict.checks += check_custody(custody, sealed.manifest)
            verdict.checks += sealed.check(CUSTODY, custody)
        listed_raw = self.list_checks(sealed)
        if listed_raw is not None or LIST_JSON not in package.members:
            verdict.checks += sealed.check(LIST_JSON, listed_raw)
        if isinstance(sealed.contents, ContentsV2):
            self.other_members(sealed.contents, sealed)
        else:
            expected = {MANIFEST, SEAL_RECORD, SEAL_IMAGE, TRUST, CUSTODY, *CONTENTS_FILES}
            expected |= {LIST_JSON, LIST_PDF, REPORT}
            expected |= {i.file for i in sealed.manifest.items}
            expected |= {i.proof for i in sealed.manifest.items}
            verdict.checks += unexpected_members(package.members, expected)
            verdict.checks += unverified_members(package.members)

    def item_checks(self, sealed: _Sealed) -> None:
        verdict, package = self.verdict, self.package
        anchors: AnchorCache = {}
        v2 = isinstance(sealed.contents, ContentsV2)
        for item in sealed.manifest.items:
            started = time.perf_counter()
            digest = package.digest(item.file, item.size)
            verdict.hashing_seconds += time.perf_counter() - started
            verdict.hashed_bytes += digest.size if digest else 0
            verdict.checks.append(check_file(item, digest))
            sealed.checked.add(item.file)  # the listing tied its digest to the manifest's
            try:
                proof = package.read(item.proof, package.limits.max_proof_bytes)
            except MemberError as exc:
                verdict.checks.append(
                    failed(item.proof, "read", PackageFailure.proof_mismatch, str(exc))
                )
                continue
            if v2 and proof is not None:
                verdict.checks += sealed.check(item.proof, proof)
            verdict.checks += check_proof(
                item,
                proof,
                digest,
                w3=self.w3,
                pins=sealed.pins,
                anchors=anchors,
                require_signature=self.require_signature,
            )

    def list_checks(self, sealed: _Sealed) -> bytes | None:
        """The evidence list's checks; its JSON bytes when the package has them."""
        verdict, package = self.verdict, self.package
        raw = self.read(
            LIST_JSON, package.limits.max_list_bytes, LIST_JSON, PackageFailure.bad_package
        )
        if raw is not None:
            verdict.checks += check_evidence_list(
                raw, sealed.manifest, w3=self.w3, pins=sealed.pins
            )
            if LIST_PDF not in package.members:
                verdict.checks.append(
                    failed(LIST_PDF, "present", PackageFailure.missing_file, "the list has no PDF")
                )
        elif LIST_PDF in package.members and LIST_JSON not in package.members:
            detail = "a list PDF without its JSON"
            verdict.checks.append(failed(LIST_JSON, "present", PackageFailure.missing_file, detail))
        return raw

    def other_members(self, contents: ContentsV2, sealed: _Sealed) -> None:
        """``/2``: every listed member no other check read (the list PDF, the report, the seal
        image and record, the trust PEMs), hashed as it streams, against its sealed digest."""
        for name, listed in sorted(contents.members.items()):
            if name in sealed.checked or name not in self.package.members:
                continue
            digest = self.package.digest(name, listed.size)
            if digest is None:  # not in the ZIP: the listing said so already
                continue
            if digest.problem is None and digest.sha256 == listed.sha256:
                detail = f"SHA-256 {digest.sha256} is what {CONTENTS} seals"
                self.verdict.checks.append(passed(name, "contents", detail))
                continue
            detail = digest.problem or (
                f"SHA-256 of {name} is {digest.sha256}, {CONTENTS} seals {listed.sha256}"
            )
            self.verdict.checks.append(
                failed(name, "contents", PackageFailure.contents_mismatch, detail)
            )
