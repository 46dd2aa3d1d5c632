"""Verify: the auditor's checks of proofs, evidence lists and packages. Pure: no database, no web
stack, no other wing — only the standard library, pydantic, web3 and the ``chain`` and
``signing`` libraries (and ``core.clock`` / ``core.errors``), so ``evidence verify`` runs where
the service is not installed. Every check gives a :class:`Verdict`.
"""

from evidence_service.verify.list_steps import ListDocument, ListFormatError, list_verdict
from evidence_service.verify.package import package_verdict
from evidence_service.verify.package_format import PackageFormatError
from evidence_service.verify.proof import ProofDocument, ProofFormatError
from evidence_service.verify.proof_steps import Content, Pins, proof_verdict
from evidence_service.verify.statement import CaptureStatement
from evidence_service.verify.verdict import Check, Status, Verdict

__all__ = [
    "CaptureStatement",
    "Check",
    "Content",
    "ListDocument",
    "ListFormatError",
    "PackageFormatError",
    "Pins",
    "ProofDocument",
    "ProofFormatError",
    "Status",
    "Verdict",
    "list_verdict",
    "package_verdict",
    "proof_verdict",
]
