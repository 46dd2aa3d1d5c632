"""The evidence package format (``evidence-package/2``, and ``/1`` still read): its layout, the
named read limits and the failure names its checks give.

The two versions differ in ``seal/contents.json`` only: ``/1`` (``evidence-package-contents/1``)
seals the digests of four documents, ``/2`` (``evidence-package-contents/2``) the SHA-256 and
size of every member but the contents seal itself. The manifest keeps its format
(``evidence-package/1``): it is sealed and anchored when a transfer is made, whatever ZIP later
carries it.

Every check of a package (a :class:`~evidence_service.verify.verdict.Check`) names its subject
(a path in the package, or ``manifest`` / ``seal`` / ``custody`` / ``trust`` / ``package``), its
step, its status and, when it did not pass, a stable failure name: the five of PROOF_FORMAT.md
plus the package-level ones of :class:`PackageFailure`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from evidence_service.core.errors import EvidenceError
from evidence_service.verify.proof import MAX_PROOF_BYTES

PACKAGE_FORMAT_1: Final = "evidence-package/1"
#: What the service writes: ``seal/contents.json`` seals every member.
PACKAGE_FORMAT: Final = "evidence-package/2"
PACKAGE_FORMATS: Final = frozenset({PACKAGE_FORMAT_1, PACKAGE_FORMAT})
#: The manifest's own ``format`` (unchanged by /2: it is sealed when the transfer is made).
MANIFEST_FORMAT: Final = PACKAGE_FORMAT_1
CUSTODY_FORMAT = "evidence-custody/1"
CUSTODY_HASH = (
    "SHA-256(prev_hash ‖ JCS({seq, evidence_id, action, actor_id, department_id, at, details}))"
)

MANIFEST = "manifest.json"
SEAL_RECORD = "seal/manifest-seal.json"
CONTENTS = "seal/contents.json"
CONTENTS_SEAL = "seal/contents-seal.json"
CONTENTS_FORMAT_1: Final = "evidence-package-contents/1"
CONTENTS_FORMAT: Final = "evidence-package-contents/2"
#: The members ``seal/contents.json`` cannot list: itself and the seal over it.
CONTENTS_FILES: Final = frozenset({CONTENTS, CONTENTS_SEAL})
SEAL_IMAGE = "seal/seal.png"
TRUST = "trust/trust.json"
CUSTODY = "custody.json"
LIST_JSON = "evidence-list.json"
LIST_PDF = "evidence-list.pdf"
REPORT = "report.html"
TRUST_PEM = re.compile(r"^trust/(ca|crl)/\d{2,4}\.pem$")


@dataclass(frozen=True)
class PackageLimits:
    """Every read of a package is capped (a package is untrusted input).

    ``max_read_bytes`` caps what one verification decompresses and hashes in all (None: only
    each read's own cap); past it the verdict says so (``too-large``) instead of working.
    A member whose uncompressed size is over ``max_compression_ratio`` times its compressed
    size (and over ``ratio_exempt_bytes``) is refused unread: a ZIP bomb, never what the
    service writes (its members are STORED)."""

    max_items: int = 10_000
    max_manifest_bytes: int = 64 * 1024 * 1024
    max_proof_bytes: int = MAX_PROOF_BYTES
    max_seal_bytes: int = 64 * 1024
    max_trust_bytes: int = 16 * 1024 * 1024
    max_custody_bytes: int = 256 * 1024 * 1024
    max_list_bytes: int = 16 * 1024 * 1024
    max_members: int = 2 * 10_000 + 1_000
    max_contents_bytes: int = 16 * 1024 * 1024  # seal/contents.json of /2 lists every member
    max_compression_ratio: int = 200
    ratio_exempt_bytes: int = 1024 * 1024
    max_read_bytes: int | None = None
    #: What the ``too-large`` verdict tells the caller to do instead.
    over_limit_advice: str = "verify the package offline with `evidence verify-package`"


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
    unsealed_file = "unsealed-file"  # /1: a member no seal covers (status ``unverified``)
    too_large = "too-large"  # more to read than this verification may (status ``error``)
