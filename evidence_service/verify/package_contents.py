"""``seal/contents.json``: what the sending department seals when a package is made, besides the
manifest — and so what tells the two package versions apart.

- ``evidence-package-contents/2`` (an ``evidence-package/2`` package) lists the SHA-256 and size
  of every member of the ZIP but ``seal/contents.json`` and ``seal/contents-seal.json``: a member
  it does not list is ``unexpected-file``, a listed one that is absent ``missing-file``, one
  whose size (in the ZIP's central directory) or bytes differ ``contents-mismatch``.
- ``evidence-package-contents/1`` (``evidence-package/1``) seals the digests of the manifest,
  ``custody.json``, ``trust/trust.json`` and ``evidence-list.json`` only. The members nothing
  seals (``evidence-list.pdf``, ``report.html``, ``seal/seal.png``) are reported ``unverified``.

Either way the contents seal is over SHA-256(JCS(the document)) and must be by the department
that sealed the manifest. Pure: bytes and parsed documents in, checks out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evidence_service.core.digests import HEX64
from evidence_service.verify.manifest import Manifest
from evidence_service.verify.package_format import (
    CONTENTS,
    CONTENTS_FILES,
    CONTENTS_FORMAT,
    CONTENTS_FORMAT_1,
    CONTENTS_SEAL,
    CUSTODY,
    LIMITS,
    LIST_JSON,
    LIST_PDF,
    MANIFEST,
    PACKAGE_FORMAT,
    PACKAGE_FORMAT_1,
    REPORT,
    SEAL_IMAGE,
    TRUST,
    PackageFailure,
)
from evidence_service.verify.proof_steps import Pins
from evidence_service.verify.verdict import Check, Status, failed, passed
from signing.errors import SigningError
from signing.jcs import canonicalize, loads
from signing.seal import SealRecord, verify_seal

#: What an evidence-package/1 package holds that no seal covers.
UNSEALED_IN_V1 = (LIST_PDF, REPORT, SEAL_IMAGE)


class _Contents(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    def jcs(self) -> bytes:
        return canonicalize(self.model_dump())

    def digest(self) -> str:
        """What the contents seal signs: SHA-256(JCS(this document))."""
        return hashlib.sha256(self.jcs()).hexdigest()


class ContentsV1(_Contents):
    """``evidence-package-contents/1``: the digests of the four documents the manifest does not
    cover, taken at download time."""

    format: Literal["evidence-package-contents/1"]
    manifest_digest: str = Field(pattern=HEX64)
    custody_sha256: str = Field(pattern=HEX64)
    trust_sha256: str = Field(pattern=HEX64)
    evidence_list_sha256: str | None = Field(pattern=HEX64)
    packaged_at: str

    @property
    def package_format(self) -> str:
        return PACKAGE_FORMAT_1

    def sealed_digests(self) -> dict[str, str | None]:
        """Each covered member's SHA-256 (over its bytes as written), None: not in the package."""
        return {
            MANIFEST: self.manifest_digest,
            TRUST: self.trust_sha256,
            CUSTODY: self.custody_sha256,
            LIST_JSON: self.evidence_list_sha256,
        }


class SealedMember(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    sha256: str = Field(pattern=HEX64)
    size: int = Field(ge=0)


class ContentsV2(_Contents):
    """``evidence-package-contents/2``: every member of the package but the contents seal's two
    files, each with its SHA-256 and size as written."""

    format: Literal["evidence-package-contents/2"]
    members: dict[str, SealedMember] = Field(max_length=LIMITS.max_members)
    packaged_at: str

    @field_validator("members")
    @classmethod
    def _names(cls, members: dict[str, SealedMember]) -> dict[str, SealedMember]:
        for name in members:
            if name in CONTENTS_FILES:
                raise ValueError(f"{name} cannot list itself or its seal")
            if not name or len(name) > 1000 or name.endswith("/"):
                raise ValueError(f"{name!r} is not a member name")
        if MANIFEST not in members:
            raise ValueError(f"lists no {MANIFEST}")
        return members

    @property
    def package_format(self) -> str:
        return PACKAGE_FORMAT


Contents = ContentsV1 | ContentsV2


def parse_contents(raw: bytes) -> Contents | Check:
    """The contents document of either version, or the check that says why it is neither."""
    try:
        document = loads(raw)
        kind = document.get("format") if isinstance(document, dict) else None
        if kind == CONTENTS_FORMAT_1:
            return ContentsV1.model_validate(document)
        if kind == CONTENTS_FORMAT:
            return ContentsV2.model_validate(document)
        detail = f"not {CONTENTS_FORMAT} (nor {CONTENTS_FORMAT_1}): format {kind!r}"
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        detail = f"not {kind}: {where}: {first['msg']}"
    except (ValueError, UnicodeDecodeError) as exc:
        detail = f"not JSON: {exc}"
    return failed(CONTENTS, "parse", PackageFailure.bad_package, detail)


def seal_signature_check(subject: str, record: SealRecord, pins: Pins) -> Check:
    """The seal's certificate chains to a trusted CA (unrevoked at its time) and it verifies."""
    if not pins.ca_certificates:
        return Check(
            subject,
            "signature",
            Status.error,
            PackageFailure.bad_seal,
            "no department CA certificates to check the seal against",
        )
    try:
        verify_seal(record, trusted_cas=pins.ca_certificates, crls=pins.crls)
    except SigningError as exc:
        return failed(subject, "signature", PackageFailure.bad_seal, str(exc))
    return passed(
        subject,
        "signature",
        f"{record.alg} seal {record.seal_code} of department {record.department_id} "
        f"verifies; its certificate chains to a trusted CA at {record.signed_at}",
    )


def check_contents(
    contents: Contents, seal_raw: bytes | None, pins: Pins, *, sealer_id: str | None
) -> list[Check]:
    """The contents seal is by the department that sealed the manifest, chains to a trusted CA
    and verifies, and it is over these contents."""
    if seal_raw is None:
        return [
            failed(CONTENTS_SEAL, "present", PackageFailure.missing_file, f"no {CONTENTS_SEAL}")
        ]
    try:
        record = SealRecord.from_json(seal_raw)
    except SigningError as exc:
        return [failed(CONTENTS_SEAL, "parse", PackageFailure.bad_seal, str(exc))]
    checks = [seal_signature_check(CONTENTS_SEAL, record, pins)]
    if sealer_id is not None and record.department_id != sealer_id:
        checks.append(
            failed(
                CONTENTS_SEAL,
                "sender",
                PackageFailure.bad_seal,
                f"sealed by department {record.department_id}; the manifest by {sealer_id}",
            )
        )
    digest = contents.digest()
    if record.digest != digest:
        checks.append(
            failed(
                CONTENTS,
                "digest",
                PackageFailure.contents_mismatch,
                f"SHA-256 of JCS({CONTENTS}) is {digest}; the seal is over {record.digest}",
            )
        )
    else:
        checks.append(passed(CONTENTS, "digest", f"SHA-256 {digest} is the sealed digest"))
    return checks


def check_sealed_file(name: str, raw: bytes | None, sealed: str | None) -> list[Check]:
    """The member's bytes are the ones ``seal/contents.json`` seals (``raw`` None: not in the
    package; ``sealed`` None: the contents say it is not)."""
    if raw is None:
        if sealed is None:
            return []
        detail = f"{CONTENTS} seals one (SHA-256 {sealed}); the package has none"
        return [failed(name, "contents", PackageFailure.missing_file, detail)]
    digest = hashlib.sha256(raw).hexdigest()
    if sealed is None:
        detail = f"{CONTENTS} says the package has no {name}"
        return [failed(name, "contents", PackageFailure.contents_mismatch, detail)]
    if digest != sealed:
        detail = f"SHA-256 of {name} is {digest}, {CONTENTS} seals {sealed}"
        return [failed(name, "contents", PackageFailure.contents_mismatch, detail)]
    return [passed(name, "contents", f"SHA-256 {digest} is what {CONTENTS} seals")]


def check_listing(
    contents: ContentsV2, sizes: Mapping[str, int], manifest: Manifest
) -> list[Check]:
    """What needs no member read (the ZIP's central directory gives each member's size): every
    member is listed, every listed member is there with its sealed size, and the contents seal
    each item file with the digest and size its manifest entry gives."""
    checks: list[Check] = []
    listed = contents.members
    for name, size in sizes.items():
        if name in CONTENTS_FILES:
            continue
        sealed = listed.get(name)
        if sealed is None:
            detail = f"{CONTENTS} does not list it: added after packaging"
            checks.append(failed(name, "listed", PackageFailure.unexpected_file, detail))
        elif size != sealed.size:
            detail = f"the ZIP says {size} bytes; {CONTENTS} seals {sealed.size}"
            checks.append(failed(name, "size", PackageFailure.contents_mismatch, detail))
    for name, sealed in listed.items():
        if name not in sizes:
            detail = f"{CONTENTS} seals one (SHA-256 {sealed.sha256}); the package has none"
            checks.append(failed(name, "present", PackageFailure.missing_file, detail))
    for item in manifest.items:
        sealed = listed.get(item.file)
        if sealed is not None and (sealed.sha256, sealed.size) != (item.sha256, item.size):
            detail = (
                f"{CONTENTS} seals SHA-256 {sealed.sha256} ({sealed.size} bytes); the manifest "
                f"lists {item.sha256} ({item.size} bytes)"
            )
            checks.append(failed(item.file, "contents", PackageFailure.contents_mismatch, detail))
    if not checks:
        checks.append(
            passed(
                CONTENTS,
                "listing",
                f"{len(listed)} members, each listed with its size; item files as the manifest "
                "lists them",
            )
        )
    return checks


def unverified_members(names: Iterable[str]) -> list[Check]:
    """The members of an evidence-package/1 package that no seal covers."""
    detail = (
        f"{PACKAGE_FORMAT_1} seals no digest of this file: it may have been replaced since "
        f"packaging. Download the package again: {PACKAGE_FORMAT} seals every member"
    )
    present = set(names)
    return [
        Check(name, "sealed", Status.unverified, PackageFailure.unsealed_file, detail)
        for name in UNSEALED_IN_V1
        if name in present
    ]
