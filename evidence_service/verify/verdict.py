"""The one verdict of every verification: proofs, evidence lists and packages.

A verdict is a list of :class:`Check` values, each naming its subject, its step, its
:class:`Status` and, when it did not pass, a stable failure name of the document's kind (a
``StrEnum``: the proof's, the list's or the package's failure names). It is valid only when
every check passed or was skipped.

Two JSON shapes, as PROOF_FORMAT.md and the package format publish them (API answers, ``--json``
output, and verdicts embedded in sealed transfer receipts depend on these exact bytes):

- a proof or an evidence list: ``{valid, failure, steps: [{step, name, status, failure,
  detail}]}``, the steps numbered in the document's order; ``failure`` is the first step's that
  did not pass;
- a package: ``{format, valid, failure, subject, manifest_sha256, trust_source, transfer, items,
  hashed_bytes, hashing_seconds, checking_seconds, problems, checks}``, each check ``{subject,
  step, status, failure, detail}``; ``failure`` is the first failed check's, else the first
  undecided one's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from evidence_service.verify.package_format import PACKAGE_FORMATS


class Status(StrEnum):
    passed = "pass"
    failed = "fail"
    skipped = "skipped"
    error = "error"  # could not be decided (the chain did not answer, no trust to check with)
    pending = "pending"  # a package item's batch is not anchored yet: fetch the package later
    unverified = "unverified"  # a package member no seal covers (evidence-package/1)


#: Neither passed nor failed: the verdict is not valid, but nothing was shown to be wrong.
UNDECIDED = frozenset({Status.error, Status.pending, Status.unverified})
_GOOD = frozenset({Status.passed, Status.skipped})


@dataclass(frozen=True)
class Check:
    """One check. ``step`` is its name (``content``, ``leaf``, ``seal`` …); ``number`` its place
    in the document's order when the document has numbered steps (a proof's or a list's)."""

    subject: str  # "proof", "list", or what in a package: a member path, "manifest", "seal" …
    step: str
    status: Status
    failure: StrEnum | None  # the document kind's failure name; set when it did not pass
    detail: str
    number: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The check of a package."""
        return {
            "subject": self.subject,
            "step": self.step,
            "status": str(self.status),
            "failure": str(self.failure) if self.failure else None,
            "detail": self.detail,
        }

    def as_step_json(self) -> dict[str, Any]:
        """The numbered step of a proof or a list."""
        return {
            "step": self.number,
            "name": self.step,
            "status": self.status,
            "failure": self.failure,
            "detail": self.detail,
        }


def passed(subject: str, step: str, detail: str, number: int | None = None) -> Check:
    return Check(subject, step, Status.passed, None, detail, number)


def failed(
    subject: str, step: str, failure: StrEnum, detail: str, number: int | None = None
) -> Check:
    return Check(subject, step, Status.failed, failure, detail, number)


@dataclass
class Verdict:
    """What verifying one document (``format``) gave. The package's facts (its manifest digest,
    where trust came from, its transfer, counts and timings) are set for packages only."""

    format: str  # evidence-proof/1, evidence-list/1, evidence-package/1 or /2
    checks: list[Check] = field(default_factory=list)
    manifest_digest: str | None = None
    #: "pinned" (the verifier's trust bundle), "package" (the package's own trust/), "service"
    trust_source: str = "package"
    transfer: dict[str, Any] | None = None
    items: int = 0
    hashed_bytes: int = 0
    hashing_seconds: float = 0.0
    checking_seconds: float = 0.0

    @property
    def is_package(self) -> bool:
        return self.format in PACKAGE_FORMATS

    @property
    def valid(self) -> bool:
        return all(c.status in _GOOD for c in self.checks)

    @property
    def first_problem(self) -> Check | None:
        """A package's first failed check, else its first undecided one; a proof's or a list's
        first step that did not pass (its steps are in the order they depend on each other)."""
        ranks = ({Status.failed}, UNDECIDED) if self.is_package else ({Status.failed} | UNDECIDED,)
        for wanted in ranks:
            found = next((c for c in self.checks if c.status in wanted), None)
            if found is not None:
                return found
        return None

    @property
    def failure(self) -> StrEnum | None:
        problem = self.first_problem
        return problem.failure if problem else None

    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status not in _GOOD]

    def as_json(self) -> dict[str, Any]:
        if not self.is_package:
            return {
                "valid": self.valid,
                "failure": self.failure,
                "steps": [c.as_step_json() for c in self.checks],
            }
        problem = self.first_problem
        return {
            "format": self.format,
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
