"""The checks of an evidence package (``evidence-package/2`` and ``/1``), shared by the offline
verifier, the service and the report: pure functions over bytes and parsed documents, plus a
chain reader passed in for the anchor steps (as
:func:`~evidence_service.verify.proof_steps.proof_verdict` takes one).

The manifest seal, each file, each proof (tied to its manifest entry by the statement), the
custody events and the evidence list each give :class:`~evidence_service.verify.verdict.Check`
values; the contents seal's checks are in :mod:`~evidence_service.verify.package_contents`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from web3 import Web3

from chain.merkle import leaf_hash
from evidence_service.verify.custody import EVENT_KEYS, GENESIS_HASH, event_body_of, link_hash
from evidence_service.verify.manifest import Manifest, ManifestItem
from evidence_service.verify.package_contents import seal_signature_check
from evidence_service.verify.package_format import (
    CUSTODY,
    CUSTODY_FORMAT,
    LIST_JSON,
    MANIFEST,
    SEAL_RECORD,
    TRUST_PEM,
    PackageFailure,
)
from evidence_service.verify.proof import (
    AnchorSection,
    MerkleSection,
    ProofDocument,
    ProofFormatError,
)
from evidence_service.verify.proof_steps import (
    Content,
    Pins,
    check_anchor,
    check_inclusion,
    proof_verdict,
)
from evidence_service.verify.verdict import Check, Status, failed, passed
from signing.errors import SigningError
from signing.jcs import canonicalize, check_depth, loads
from signing.seal import SealRecord, verify_seal

# ------------------------------------------------------------------------------ the seal


def check_seal(
    manifest_raw: bytes, seal_raw: bytes | None, pins: Pins, *, sender_id: str | None
) -> list[Check]:
    """The seal record is the sender department's, chains to a trusted CA, and its signature
    verifies; then the manifest's SHA-256 is the digest it seals."""
    digest = hashlib.sha256(manifest_raw).hexdigest()
    if seal_raw is None:
        return [failed("seal", "present", PackageFailure.missing_file, f"no {SEAL_RECORD}")]
    try:
        record = SealRecord.from_json(seal_raw)
    except SigningError as exc:
        return [failed("seal", "parse", PackageFailure.bad_seal, str(exc))]
    checks = [seal_signature_check("seal", record, pins)]
    if sender_id is not None and record.department_id != sender_id:
        checks.append(
            failed(
                "seal",
                "sender",
                PackageFailure.bad_seal,
                f"sealed by department {record.department_id}, the sender is {sender_id}",
            )
        )
    if record.digest != digest:
        checks.append(
            failed(
                "manifest",
                "digest",
                PackageFailure.manifest_digest_mismatch,
                f"SHA-256 of {MANIFEST} is {digest}, the seal is over {record.digest}",
            )
        )
    else:
        checks.append(passed("manifest", "digest", f"SHA-256 {digest} is the sealed digest"))
    return checks


def seal_department(seal_raw: bytes | None) -> str | None:
    """The department a seal record names, if it parses (whether it verifies is another check)."""
    if seal_raw is None:
        return None
    try:
        return SealRecord.from_json(seal_raw).department_id
    except SigningError:
        return None


# ------------------------------------------------------------------------------ files and proofs


@dataclass(frozen=True)
class FileDigest:
    """What hashing a file gave (``problem`` when the bytes could not be read to the end)."""

    sha256: str
    sm3: str
    size: int
    problem: str | None = None


class DigestBuilder:
    """SHA-256, SM3 and size in one pass."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._sm3 = hashlib.new("sm3")
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._sha256.update(chunk)
        self._sm3.update(chunk)
        self.size += len(chunk)

    def result(self, problem: str | None = None) -> FileDigest:
        return FileDigest(self._sha256.hexdigest(), self._sm3.hexdigest(), self.size, problem)


def check_file(item: ManifestItem, digest: FileDigest | None) -> Check:
    if digest is None:
        return failed(item.file, "present", PackageFailure.missing_file, "not in the package")
    problem = digest.problem
    if problem is None and digest.size != item.size:
        problem = f"the file has {digest.size} bytes, the manifest says {item.size}"
    if problem is None and digest.sha256 != item.sha256:
        problem = f"SHA-256 of the file is {digest.sha256}, the manifest says {item.sha256}"
    if problem is None and digest.sm3 != item.sm3:
        problem = f"SM3 of the file is {digest.sm3}, the manifest says {item.sm3}"
    if problem is not None:
        return failed(item.file, "content", PackageFailure.content_mismatch, problem)
    return passed(item.file, "content", f"SHA-256, SM3 and size ({item.size} bytes) match")


#: Anchor steps of a chain claim already asked about, so items of one batch ask once.
AnchorCache = dict[tuple[Any, ...], Check]


def _claim_key(proof: ProofDocument) -> tuple[Any, ...] | None:
    if proof.anchor is None or proof.merkle is None:
        return None
    return (*proof.anchor.model_dump().values(), proof.merkle.root, proof.merkle.tree_size)


def check_proof(
    item: ManifestItem,
    proof_raw: bytes | dict[str, Any] | None,
    digest: FileDigest | None,
    *,
    w3: Web3 | None,
    pins: Pins,
    anchors: AnchorCache,
    require_signature: bool = False,
) -> list[Check]:
    """The proof is this item's (its statement is the manifest's, byte for byte), then steps 2–5
    of PROOF_FORMAT.md (step 1 is :func:`check_file`, against the same statement).
    ``require_signature``: an unsigned statement fails step 4 (``bad-signature``, unsigned)
    instead of skipping it."""
    subject = item.proof
    if proof_raw is None:
        return [failed(subject, "present", PackageFailure.missing_file, "not in the package")]
    try:
        proof = ProofDocument.from_json(proof_raw)
    except ProofFormatError as exc:
        return [failed(subject, "parse", PackageFailure.proof_mismatch, exc.detail)]
    checks: list[Check] = []
    if proof.statement != item.statement:
        checks.append(
            failed(
                subject,
                "statement",
                PackageFailure.proof_mismatch,
                f"the proof's statement (item {proof.statement.evidence_id}, SHA-256 "
                f"{proof.statement.sha256_hex()}) is not the manifest's statement of "
                f"{item.evidence_id} ({item.statement_sha256})",
            )
        )
    else:
        checks.append(passed(subject, "statement", "the proof's statement is the manifest's"))
    content = Content(digest.sha256, digest.size) if digest else Content(item.sha256, item.size)
    key = _claim_key(proof)
    if key is not None and key in anchors:
        steps = proof_verdict(proof, content, w3=None, pins=pins).checks
        steps = [anchors[key] if s.number == 5 else s for s in steps]
    else:
        steps = proof_verdict(proof, content, w3=w3, pins=pins).checks
        if key is not None:
            anchors[key] = next(s for s in steps if s.number == 5)
    for step in steps:
        if step.number == 1:
            continue
        if require_signature and step.step == "signature" and proof.signature is None:
            checks.append(_unsigned(subject))
            continue
        checks.append(_proof_step(subject, proof, step))
    return checks


def _unsigned(subject: str) -> Check:
    return failed(
        subject,
        "signature",
        PackageFailure.bad_signature,
        "unsigned: the capture statement carries no officer signature, and this verification "
        "requires every item to be signed",
    )


def _proof_step(subject: str, proof: ProofDocument, step: Check) -> Check:
    if proof.merkle is None and step.step in ("leaf", "inclusion"):
        return Check(subject, step.step, Status.skipped, None, "no Merkle path yet (batch open)")
    if proof.anchor is None and step.step == "anchor":
        return Check(
            subject,
            "anchor",
            Status.pending,
            PackageFailure.not_anchored,
            "pending: the item's batch is not anchored yet (normally seconds to minutes); "
            "download the package again later for a proof with its anchor",
        )
    return _from_step(subject, step)


def _from_step(subject: str, step: Check) -> Check:
    """A step of the proof or list verifier, as a check of the package's ``subject``."""
    failure = PackageFailure(str(step.failure)) if step.failure else None
    return Check(subject, step.step, step.status, failure, step.detail)


def unexpected_members(names: Iterable[str], expected: set[str]) -> list[Check]:
    return [
        failed(name, "listed", PackageFailure.unexpected_file, "not named by the manifest")
        for name in names
        if name not in expected and not TRUST_PEM.match(name)
    ]


# ------------------------------------------------------------------------------ custody

_RECORD_KEYS = frozenset({*EVENT_KEYS, "prev_hash", "hash"})


def check_custody(raw: bytes | dict[str, Any] | None, manifest: Manifest) -> list[Check]:
    """Each event's hash is SHA-256(its prev_hash ‖ JCS(its body)); consecutive events link;
    every event is about a listed item and every item's capture event records its statement."""
    if raw is None:
        return [failed("custody", "present", PackageFailure.missing_file, f"no {CUSTODY}")]
    try:
        doc = loads(raw) if isinstance(raw, bytes) else raw
        if not isinstance(doc, dict) or doc.get("format") != CUSTODY_FORMAT:
            raise ValueError(f"not {CUSTODY_FORMAT}")
        events, head = doc["events"], doc["head"]
        if not isinstance(events, list) or not isinstance(head, dict):
            raise ValueError("events must be a list and head an object")
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        return [failed("custody", "parse", PackageFailure.custody_broken, str(exc))]
    problem = _custody_problem(events, head, manifest)
    if problem is not None:
        return [failed("custody", "chain", PackageFailure.custody_broken, problem)]
    return [
        passed(
            "custody",
            "chain",
            f"{len(events)} events of {len(manifest.items)} items: every hash recomputes, "
            f"consecutive events link, log head at packaging: seq {head.get('seq')}",
        )
    ]


def _custody_problem(events: list[Any], head: dict[str, Any], manifest: Manifest) -> str | None:
    items = {item.evidence_id: item for item in manifest.items}
    captured: set[str] = set()
    previous: dict[str, Any] | None = None
    for event in events:
        if not isinstance(event, dict) or not _RECORD_KEYS <= set(event):
            return "an event lacks fields (seq, action, at, details, prev_hash, hash, ...)"
        seq = event["seq"]
        try:
            recomputed = link_hash(str(event["prev_hash"]), event_body_of(event))
        except ValueError as exc:
            return f"event seq {seq}: cannot be hashed ({exc})"
        if recomputed != event["hash"]:
            return f"event seq {seq} ({event['action']}): its content does not match its hash"
        if previous is not None:
            if not isinstance(seq, int) or seq <= previous["seq"]:
                return f"event seq {seq} is out of order (after seq {previous['seq']})"
            if seq == previous["seq"] + 1 and event["prev_hash"] != previous["hash"]:
                return f"event seq {seq} does not link to event seq {previous['seq']}"
        elif seq == 1 and event["prev_hash"] != GENESIS_HASH:
            return "the first event of the log does not start from the genesis hash"
        evidence_id = event["evidence_id"]
        if evidence_id not in items:
            return f"event seq {seq} is about {evidence_id}, which the manifest does not list"
        if event["action"] == "captured":
            details = event["details"] if isinstance(event["details"], dict) else {}
            recorded = details.get("statement_sha256")
            if recorded != items[evidence_id].statement_sha256:
                return f"the capture event of {evidence_id} (seq {seq}) records another statement"
            captured.add(evidence_id)
        previous = event
    missing = [i for i in items if i not in captured]
    if missing:
        return f"no capture event for {len(missing)} item(s), e.g. {missing[0]}"
    if previous is not None:
        head_seq = head.get("seq")
        if not isinstance(head_seq, int) or head_seq < previous["seq"]:
            return f"the log head (seq {head_seq}) is older than the last event"
        if head_seq == previous["seq"] and head.get("hash") != previous["hash"]:
            return "the log head's hash is not the last event's"
    return None


# ------------------------------------------------------------------------------ evidence list


def check_evidence_list(
    raw: bytes | dict[str, Any],
    manifest: Manifest,
    *,
    w3: Web3 | None,
    pins: Pins,
) -> list[Check]:
    """The issued list: its digest, its department seal, its Merkle leaf and its anchor."""
    subject = LIST_JSON
    try:
        doc = loads(raw) if isinstance(raw, bytes) else raw
        body, digest = doc["body"], doc["digest"]
        record = SealRecord.from_json(json.dumps(doc["seal"]))
        merkle = MerkleSection.model_validate(doc["merkle"]) if doc["merkle"] else None
        anchor = AnchorSection.model_validate(doc["anchor"]) if doc["anchor"] else None
    except (ValueError, KeyError, TypeError, SigningError) as exc:
        return [failed(subject, "parse", PackageFailure.bad_package, str(exc))]
    checks: list[Check] = []
    data = canonicalize(body)
    case = manifest.transfer.case
    if case is None or not isinstance(body, dict) or body.get("case", {}).get("id") != case.id:
        checks.append(
            failed(subject, "case", PackageFailure.bad_package, "the list is of another case")
        )
    if hashlib.sha256(data).hexdigest() != digest:
        checks.append(
            failed(subject, "digest", PackageFailure.content_mismatch, "digest ≠ SHA-256(body)")
        )
    try:
        verify_seal(
            record, trusted_cas=pins.ca_certificates, crls=pins.crls, expected_digest=digest
        )
        checks.append(passed(subject, "seal", f"sealed by {record.department_id}"))
    except SigningError as exc:
        checks.append(failed(subject, "seal", PackageFailure.bad_seal, str(exc)))
    if merkle is None or anchor is None:
        checks.append(
            Check(
                subject,
                "anchor",
                Status.pending,
                PackageFailure.not_anchored,
                "pending: the list's batch is not anchored yet",
            )
        )
        return checks
    checks.append(_list_leaf_and_path(subject, data, merkle))
    anchored = check_anchor(
        merkle, anchor, w3, pins, failure=PackageFailure.not_anchored, document="list"
    )
    checks.append(_from_step(subject, anchored))
    return checks


def _list_leaf_and_path(subject: str, data: bytes, merkle: MerkleSection) -> Check:
    if merkle.leaf_hash != leaf_hash(data).hex():
        return failed(subject, "leaf", PackageFailure.leaf_mismatch, "leaf ≠ SHA-256(0x00 ‖ body)")
    included = check_inclusion(merkle, failure=PackageFailure.inclusion_failed, document="list")
    return _from_step(subject, included)


# ------------------------------------------------------------------------------ trust


def pins_from_trust(raw: bytes) -> Pins:
    """Pins from a trust bundle (the ``/api/v1/trust`` shape), e.g. the package's own."""
    check_depth(raw)
    bundle = json.loads(raw)
    if not isinstance(bundle, dict):
        raise ValueError("a trust bundle is a JSON object")
    chain_id = bundle.get("chain_id")
    contract = bundle.get("contract")
    return Pins(
        int(chain_id) if chain_id is not None else None,
        frozenset({str(contract)}) if contract else frozenset(),
        tuple(str(pem).encode() for pem in bundle.get("ca_certificates", [])),
        tuple(str(pem).encode() for pem in bundle.get("crls", [])),
    )


def trust_source_check(source: str) -> Check:
    if source == "package":
        return Check(
            "trust",
            "source",
            Status.skipped,
            None,
            "trust (CA certificates, chain id, registry) taken from the package's own trust/ — "
            "a package cannot vouch for itself: pass --trust with the issuing service's "
            "/api/v1/trust",
        )
    if source == "service":
        return passed("trust", "source", "the service's own trust bundle and registry")
    return passed("trust", "source", "the verifier's pinned trust bundle")
