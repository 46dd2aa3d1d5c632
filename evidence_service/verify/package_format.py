"""What checking an evidence package (``evidence-package/1``) yields: the package layout, the
named read limits, the failure names, and the verdict.

Every check names its subject (a path in the package, or ``manifest`` / ``seal`` / ``custody``
/ ``trust``), its step, its status and, when it did not pass, a stable failure name: the five of
PROOF_FORMAT.md plus the package-level ones of :class:`PackageFailure`. The verdict is valid only
when every check passed or was skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from evidence_service.anchoring.proofs import MAX_PROOF_BYTES
from evidence_service.core.errors import EvidenceError

PACKAGE_FORMAT = "evidence-package/1"
CUSTODY_FORMAT = "evidence-custody/1"
CUSTODY_HASH = (
    "SHA-256(prev_hash ‖ JCS({seq, evidence_id, action, actor_id, department_id, at, details}))"
)

MANIFEST = "manifest.json"
SEAL_RECORD = "seal/manifest-seal.json"
CONTENTS = "seal/contents.json"
CONTENTS_SEAL = "seal/contents-seal.json"
CONTENTS_FORMAT: Final = "evidence-package-contents/1"
SEAL_IMAGE = "seal/seal.png"
TRUST = "trust/trust.json"
CUSTODY = "custody.json"
LIST_JSON = "evidence-list.json"
LIST_PDF = "evidence-list.pdf"
REPORT = "report.html"
TRUST_PEM = re.compile(r"^trust/(ca|crl)/\d{2,4}\.pem$")


@dataclass(frozen=True)
class PackageLimits:
    """Every read of a package is capped (a package is untrusted input)."""

    max_items: int = 10_000
    max_manifest_bytes: int = 64 * 1024 * 1024
    max_proof_bytes: int = MAX_PROOF_BYTES
    max_seal_bytes: int = 64 * 1024
    max_trust_bytes: int = 16 * 1024 * 1024
    max_custody_bytes: int = 256 * 1024 * 1024
    max_list_bytes: int = 16 * 1024 * 1024
    max_members: int = 2 * 10_000 + 1_000


LIMITS = PackageLimits()


class PackageFormatError(EvidenceError):
    """Not a package at all (not a ZIP, unreadable): nothing to give a verdict on."""

    slug, title, status = "bad-package", "The upload is not an evidence package", 422


class PackageFailure(StrEnum):
    content_mismatch = "content-mismatch"
    leaf_mismatch = "leaf-mismatch"
    inclusion_failed = "inclusion-failed"
    bad_signature = "bad-signature"
    not_anchored = "not-anchored"
    manifest_digest_mismatch = "manifest-digest-mismatch"
    bad_seal = "bad-seal"
    missing_file = "missing-file"
    unexpected_file = "unexpected-file"
    proof_mismatch = "proof-mismatch"
    custody_broken = "custody-broken"
    contents_mismatch = "contents-mismatch"  # a file is not the one seal/contents.json seals
    bad_package = "bad-package"


class CheckStatus(StrEnum):
    passed = "pass"
    failed = "fail"
    skipped = "skipped"
    error = "error"  # could not be decided (the chain did not answer, no trust to check with)
    pending = "pending"  # the item's batch is not anchored yet: fetch the package again later


UNDECIDED = frozenset({CheckStatus.error, CheckStatus.pending})


@dataclass(frozen=True)
class PackageCheck:
    subject: str
    step: str
    status: CheckStatus
    failure: PackageFailure | None
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "step": self.step,
            "status": str(self.status),
            "failure": str(self.failure) if self.failure else None,
            "detail": self.detail,
        }


def passed(subject: str, step: str, detail: str) -> PackageCheck:
    return PackageCheck(subject, step, CheckStatus.passed, None, detail)


def failed(subject: str, step: str, failure: PackageFailure, detail: str) -> PackageCheck:
    return PackageCheck(subject, step, CheckStatus.failed, failure, detail)


@dataclass
class PackageVerdict:
    checks: list[PackageCheck] = field(default_factory=list)
    manifest_digest: str | None = None
    #: "pinned" (the verifier's trust bundle), "package" (the package's own trust/), "service"
    trust_source: str = "package"
    transfer: dict[str, Any] | None = None
    items: int = 0
    hashed_bytes: int = 0
    hashing_seconds: float = 0.0
    checking_seconds: float = 0.0

    @property
    def valid(self) -> bool:
        return all(c.status in (CheckStatus.passed, CheckStatus.skipped) for c in self.checks)

    @property
    def first_problem(self) -> PackageCheck | None:
        """The first failed check, else the first undecided one."""
        for wanted in ({CheckStatus.failed}, UNDECIDED):
            found = next((c for c in self.checks if c.status in wanted), None)
            if found is not None:
                return found
        return None

    @property
    def failure(self) -> PackageFailure | None:
        problem = self.first_problem
        return problem.failure if problem else None

    def problems(self) -> list[PackageCheck]:
        return [c for c in self.checks if c.status not in (CheckStatus.passed, CheckStatus.skipped)]

    def as_json(self) -> dict[str, Any]:
        problem = self.first_problem
        return {
            "format": PACKAGE_FORMAT,
            "valid": self.valid,
            "failure": str(problem.failure) if problem and problem.failure else None,
            "subject": problem.subject if problem else None,
            "manifest_sha256": self.manifest_digest,
            "trust_source": self.trust_source,
            "transfer": self.transfer,
            "items": self.items,
            "hashed_bytes": self.hashed_bytes,
            "hashing_seconds": round(self.hashing_seconds, 3),
            "checking_seconds": round(self.checking_seconds, 3),
            "problems": [c.as_json() for c in self.problems()],
            "checks": [c.as_json() for c in self.checks],
        }
