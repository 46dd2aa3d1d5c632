"""The exact bytes of each verdict kind's JSON: API answers, ``--json`` output and the verdicts
sealed into transfer receipts depend on them, so the one verdict type must keep both shapes."""

from __future__ import annotations

import json

from chain.merkle import MerkleTree
from evidence_service.verify import Content, ProofDocument, Verdict, proof_verdict
from evidence_service.verify.list_steps import LIST_FORMAT, ListFailure
from evidence_service.verify.package_format import MANIFEST_FORMAT, PackageFailure
from evidence_service.verify.verdict import Check, Status, failed, passed

STATEMENT = {
    "evidence_id": "E1",
    "port": "electronic",
    "sha256": "a" * 64,
    "sm3": "b" * 64,
    "size": 3,
    "media_type": "text/plain",
    "captured_at": "2026-01-02T03:04:05Z",
    "received_at": "2026-01-02T03:04:06Z",
    "officer_id": "U1",
    "department_id": "D1",
    "metadata_sha256": "c" * 64,
}


def dumps(verdict: Verdict) -> str:
    return json.dumps(verdict.as_json(), ensure_ascii=False)


def test_a_proof_verdict_keeps_its_bytes() -> None:
    document = ProofDocument.from_json(
        {
            "format": "evidence-proof/1",
            "statement": STATEMENT,
            "signature": None,
            "merkle": None,
            "anchor": None,
        }  # fmt: skip
    )
    leaf = document.statement.leaf_hash()
    tree = MerkleTree.from_leaf_hashes([leaf, b"\x01" * 32])
    merkle = {
        "hash": "sha256-rfc9162",
        "leaf_index": 0,
        "tree_size": 2,
        "leaf_hash": leaf.hex(),
        "path": [h.hex() for h in tree.inclusion_proof(0)],
        "root": tree.root.hex(),
    }
    proof = ProofDocument.from_json({**document.as_json(), "merkle": merkle})
    verdict = proof_verdict(proof, Content("a" * 64, 3), w3=None)
    assert dumps(verdict) == (
        '{"valid": false, "failure": "not-anchored", "steps": ['
        '{"step": 1, "name": "content", "status": "pass", "failure": null, '
        '"detail": "SHA-256 matches the statement and so does the size"}, '
        '{"step": 2, "name": "leaf", "status": "pass", "failure": null, '
        '"detail": "leaf hash is SHA-256(0x00 ‖ JCS(statement))"}, '
        '{"step": 3, "name": "inclusion", "status": "pass", "failure": null, '
        '"detail": "RFC 9162 audit path of leaf 0 of 2 gives the root"}, '
        '{"step": 4, "name": "signature", "status": "skipped", "failure": null, "detail": '
        '"unsigned statement: it carries no officer signature"}, '
        '{"step": 5, "name": "anchor", "status": "fail", "failure": "not-anchored", "detail": '
        '"the proof carries no anchor yet (its batch is pending); fetch the proof again later"}]}'
    )


def test_a_required_signature_fails_an_unsigned_proof_with_the_reason_unsigned() -> None:
    proof = ProofDocument.from_json(
        {
            "format": "evidence-proof/1",
            "statement": STATEMENT,
            "signature": None,
            "merkle": None,
            "anchor": None,
        }  # fmt: skip
    )
    content = Content("a" * 64, 3)
    lenient = proof_verdict(proof, content, w3=None).as_json()["steps"][3]
    assert (lenient["status"], lenient["failure"]) == ("skipped", None)
    verdict = proof_verdict(proof, content, w3=None, require_signature=True)
    assert json.dumps(verdict.as_json()["steps"][3], ensure_ascii=False) == (
        '{"step": 4, "name": "signature", "status": "fail", "failure": "bad-signature", '
        '"detail": "unsigned: unsigned statement: it carries no officer signature, and this '
        'verification requires one"}'
    )
    # step 2 fails first (no Merkle path yet); the signature failure is named all the same
    assert verdict.valid is False
    assert [c.failure for c in verdict.problems()][1:3] == ["inclusion-failed", "bad-signature"]


def test_a_list_verdict_names_its_first_step_that_did_not_pass() -> None:
    verdict = Verdict(
        LIST_FORMAT,
        [
            passed("list", "digest", "ok", 1),
            Check("list", "seal", Status.error, ListFailure.bad_seal, "no CAs", 2),
            failed("list", "leaf", ListFailure.leaf_mismatch, "leaf differs", 3),
        ],
    )
    assert dumps(verdict) == (
        '{"valid": false, "failure": "bad-seal", "steps": ['
        '{"step": 1, "name": "digest", "status": "pass", "failure": null, "detail": "ok"}, '
        '{"step": 2, "name": "seal", "status": "error", "failure": "bad-seal", '
        '"detail": "no CAs"}, '
        '{"step": 3, "name": "leaf", "status": "fail", "failure": "leaf-mismatch", '
        '"detail": "leaf differs"}]}'
    )


def test_a_package_verdict_keeps_its_bytes() -> None:
    verdict = Verdict(
        MANIFEST_FORMAT,  # a transfer's verdict, as its sealed receipt embeds it
        [
            passed("manifest", "digest", "sealed"),
            Check("proofs/E1.json", "anchor", Status.pending, PackageFailure.not_anchored, "p"),
            failed("files/01-E1.txt", "content", PackageFailure.content_mismatch, "differs"),
            Check("trust", "source", Status.skipped, None, "own"),
        ],
        manifest_digest="d" * 64,
        trust_source="package",
        transfer={"id": "T1"},
        items=1,
        hashed_bytes=3,
        hashing_seconds=0.12345,
        checking_seconds=1.0004,
    )
    check = '{{"subject": "{}", "step": "{}", "status": "{}", "failure": {}, "detail": "{}"}}'
    pending = check.format("proofs/E1.json", "anchor", "pending", '"not-anchored"', "p")
    mismatch = check.format("files/01-E1.txt", "content", "fail", '"content-mismatch"', "differs")
    assert dumps(verdict) == (
        '{"format": "evidence-package/1", "valid": false, "failure": "content-mismatch", '
        f'"subject": "files/01-E1.txt", "manifest_sha256": "{"d" * 64}", '
        '"trust_source": "package", "transfer": {"id": "T1"}, "items": 1, "hashed_bytes": 3, '
        '"hashing_seconds": 0.123, "checking_seconds": 1.0, '
        f'"problems": [{pending}, {mismatch}], '
        '"checks": ['
        f"{check.format('manifest', 'digest', 'pass', 'null', 'sealed')}, {pending}, "
        f"{mismatch}, {check.format('trust', 'source', 'skipped', 'null', 'own')}]}}"
    )
