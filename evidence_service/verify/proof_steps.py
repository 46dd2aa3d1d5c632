"""Verify a proof document, step by step, as PROOF_FORMAT.md orders it.

Every step runs and reports (pass, fail, skipped, or error when the chain could not be asked),
so an auditor sees all that is wrong at once. The verdict is valid only if no step failed or
erred. Steps 1–4 are pure; step 5 reads the chain through any web3 instance.

The Merkle-path and anchor checks work on the ``merkle`` and ``anchor`` sections alone, so other
anchored documents (evidence lists, :mod:`evidence_service.verify.list_steps`) reuse them with
their own step numbers, subject and failure names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from web3 import Web3

from chain.anchor_check import AnchorClaim, verify_anchor
from chain.errors import ChainUnavailableError, VerificationError
from chain.merkle import verify_inclusion
from evidence_service.core.clock import rfc3339
from evidence_service.verify.proof import PROOF_FORMAT, AnchorSection, MerkleSection, ProofDocument
from evidence_service.verify.verdict import Check, Status, Verdict, failed, passed
from signing.errors import SigningError
from signing.statements import StatementSignature, verify_statement


class Failure(StrEnum):
    """The failure names of PROOF_FORMAT.md, one per step."""

    content_mismatch = "content-mismatch"
    leaf_mismatch = "leaf-mismatch"
    inclusion_failed = "inclusion-failed"
    bad_signature = "bad-signature"
    not_anchored = "not-anchored"


@dataclass(frozen=True)
class Content:
    """What the verifier knows of the file: its digest, and its size when it had the bytes."""

    sha256: str
    size: int | None = None

    @classmethod
    def of_chunks(cls, chunks: Iterable[bytes]) -> Content:
        digest, size = hashlib.sha256(), 0
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
        return cls(digest.hexdigest(), size)


def _result(
    step: int, name: str, failure: StrEnum, problem: str | None, ok: str, subject: str = "proof"
) -> Check:
    if problem is None:
        return passed(subject, name, ok, step)
    return failed(subject, name, failure, problem, step)


def check_content(proof: ProofDocument, content: Content) -> Check:
    statement = proof.statement
    problem = None
    if content.sha256.lower() != statement.sha256:
        problem = (
            f"SHA-256 of the file is {content.sha256.lower()}, "
            f"the statement says {statement.sha256}"
        )
    elif content.size is not None and content.size != statement.size:
        problem = f"the file has {content.size} bytes, the statement says {statement.size}"
    ok = "SHA-256 matches the statement" + (
        " and so does the size" if content.size is not None else " (size not checked: digest only)"
    )
    return _result(1, "content", Failure.content_mismatch, problem, ok)


def check_leaf(proof: ProofDocument) -> Check:
    if proof.merkle is None:
        return _result(
            2,
            "leaf",
            Failure.leaf_mismatch,
            "the proof has no Merkle section yet (its "
            "batch has not closed); fetch the proof again later",
            "",
        )
    expected = proof.statement.leaf_hash().hex()
    problem = None
    if proof.merkle.leaf_hash != expected:
        problem = (
            f"SHA-256(0x00 ‖ JCS(statement)) is {expected}, the proof says {proof.merkle.leaf_hash}"
        )
    return _result(
        2, "leaf", Failure.leaf_mismatch, problem, "leaf hash is SHA-256(0x00 ‖ JCS(statement))"
    )


def check_inclusion(
    merkle: MerkleSection | None,
    *,
    step: int = 3,
    failure: StrEnum = Failure.inclusion_failed,
    document: str = "proof",
) -> Check:
    """The RFC 9162 audit path of ``merkle`` gives its root."""
    if merkle is None:
        return _result(
            step, "inclusion", failure, f"no Merkle path in the {document}", "", document
        )
    try:
        verify_inclusion(
            merkle.leaf_index,
            merkle.tree_size,
            bytes.fromhex(merkle.leaf_hash),
            merkle.path_bytes(),
            bytes.fromhex(merkle.root),
        )
    except (VerificationError, ValueError) as exc:
        return _result(step, "inclusion", failure, str(exc), "", document)
    return _result(
        step,
        "inclusion",
        failure,
        None,
        f"RFC 9162 audit path of leaf {merkle.leaf_index} of {merkle.tree_size} gives the root",
        document,
    )


@dataclass(frozen=True)
class Pins:
    """What the verifier trusts beforehand (the trust bundle): without pins, a proof could name
    a registry its forger deployed. Empty means "not pinned" and is reported as such."""

    chain_id: int | None = None
    contracts: frozenset[str] = frozenset()
    ca_certificates: tuple[bytes, ...] = ()  # department CAs (PEM) for step 4
    crls: tuple[bytes, ...] = ()

    def problem(self, anchor: AnchorSection, document: str = "proof") -> str | None:
        if self.chain_id is not None and anchor.chain_id != self.chain_id:
            return (
                f"the {document} names chain {anchor.chain_id}; "
                f"the trusted chain is {self.chain_id}"
            )
        if self.contracts and anchor.contract.lower() not in {c.lower() for c in self.contracts}:
            return (
                f"the {document} names registry {anchor.contract}, which is not a trusted registry "
                f"({', '.join(sorted(self.contracts))})"
            )
        return None


#: What step 4 says of a statement without a signature (PROOF_FORMAT.md allows one).
UNSIGNED = "unsigned statement: it carries no officer signature"


def check_signature(proof: ProofDocument, pins: Pins, *, require_signature: bool = False) -> Check:
    """Step 4, with long-term validation: the certificate must have been valid and unrevoked
    at the anchor's block time (the chain proves the statement existed then). An unsigned
    statement is ``skipped`` and said to be unsigned — or, with ``require_signature``, fails
    ``bad-signature`` with the reason ``unsigned``."""
    if proof.signature is None:
        if require_signature:
            return failed(
                "proof",
                "signature",
                Failure.bad_signature,
                f"unsigned: {UNSIGNED}, and this verification requires one",
                4,
            )
        return Check("proof", "signature", Status.skipped, None, UNSIGNED, 4)
    if not pins.ca_certificates:
        return Check(
            "proof",
            "signature",
            Status.error,
            Failure.bad_signature,
            "no department CA certificates to check the signature against (give a trust bundle)",
            4,
        )
    if proof.anchor is not None:
        at = datetime.fromtimestamp(proof.anchor.block_timestamp, UTC)
        when = f"at the anchor's block time {rfc3339(at)}"
    else:
        at = datetime.fromisoformat(proof.statement.received_at)
        when = f"at the claimed receipt time {proof.statement.received_at} (not anchored yet)"
    try:
        signature = StatementSignature.from_json(proof.signature.model_dump())
        identity = verify_statement(
            proof.statement.as_json(),
            signature,
            trusted_cas=pins.ca_certificates,
            crls=pins.crls,
            at=at,
        )
    except SigningError as exc:
        return _result(4, "signature", Failure.bad_signature, f"{exc} ({when})", "")
    return _result(
        4,
        "signature",
        Failure.bad_signature,
        None,
        f"{signature.alg} signature of officer {identity.officer_id} ({identity.name}) verifies; "
        f"the certificate chains to a trusted department CA and was valid and unrevoked {when}",
    )


def check_anchor(
    merkle: MerkleSection | None,
    anchor: AnchorSection | None,
    w3: Web3 | None,
    pins: Pins,
    *,
    step: int = 5,
    failure: StrEnum = Failure.not_anchored,
    document: str = "proof",
) -> Check:
    """The pinned registry anchored ``merkle.root`` in the claimed transaction and block; error
    (undecided) when there is no chain to ask or it did not answer."""
    if anchor is None or merkle is None:
        return _result(
            step,
            "anchor",
            failure,
            f"the {document} carries no anchor yet (its batch is pending); "
            f"fetch the {document} again later",
            "",
            document,
        )
    pin_problem = pins.problem(anchor, document)
    if pin_problem is not None:
        return _result(step, "anchor", failure, pin_problem, "", document)
    if w3 is None:
        return Check(document, "anchor", Status.error, failure, "no chain to ask", step)
    claim = AnchorClaim(
        chain_id=anchor.chain_id,
        contract=anchor.contract,
        tx_hash=anchor.tx_hash,
        block_number=anchor.block_number,
        block_hash=anchor.block_hash,
        block_timestamp=anchor.block_timestamp,
        batch_id=anchor.batch_id,
        root=bytes.fromhex(merkle.root),
        tree_size=merkle.tree_size,
    )
    try:
        verify_anchor(w3, claim)
    except ChainUnavailableError as exc:
        return Check(document, "anchor", Status.error, failure, str(exc), step)
    except VerificationError as exc:
        return _result(step, "anchor", failure, str(exc), "", document)
    unpinned = "" if pins.contracts else " (registry address not pinned by the verifier)"
    return _result(
        step,
        "anchor",
        failure,
        None,
        f"anchoredAt(root) = block {anchor.block_number} on chain {anchor.chain_id}; "
        f"tx {anchor.tx_hash} logs Anchored(root, {merkle.tree_size}, {anchor.batch_id}); "
        f"block timestamp {anchor.block_timestamp}{unpinned}",
        document,
    )


def proof_verdict(
    proof: ProofDocument,
    content: Content,
    *,
    w3: Web3 | None,
    pins: Pins | None = None,
    require_signature: bool = False,
) -> Verdict:
    """Every step of PROOF_FORMAT.md, in order (each runs whatever the others gave).
    ``require_signature``: an unsigned statement fails step 4 instead of skipping it."""
    return Verdict(
        PROOF_FORMAT,
        [
            check_content(proof, content),
            check_leaf(proof),
            check_inclusion(proof.merkle),
            check_signature(proof, pins or Pins(), require_signature=require_signature),
            check_anchor(proof.merkle, proof.anchor, w3, pins or Pins()),
        ],
    )
