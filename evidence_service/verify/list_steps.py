"""Verify an issued evidence list (证据清单) against its department seal and the chain.

An issued list document (``GET /api/v1/evidence-lists/{id}``) is ``{id, body, digest, seal,
merkle, anchor}``. ``digest`` is SHA-256(JCS(body)) — printed on every page of the PDF — and is
what the department seal signs; SHA-256(0x00 ‖ JCS(body)) is the list's leaf in an RFC 9162
batch whose root the registry anchors. The steps, each naming its failure:

1. ``digest``: SHA-256(JCS(body)) is the document's digest (and the one typed off the paper)
   → ``digest-mismatch``
2. ``seal``: the seal record verifies over that digest with a trusted department CA, at the
   anchor's block time (the seal's own time if not anchored), and is the case department's
   → ``bad-seal``
3. ``leaf``: ``merkle.leaf_hash`` is SHA-256(0x00 ‖ JCS(body)) → ``leaf-mismatch``
4. ``inclusion``: the audit path gives the root → ``inclusion-failed``
5. ``anchor``: the pinned registry anchored the root in that transaction and block, exactly as
   step 5 of PROOF_FORMAT.md → ``not-anchored``

Every step runs and reports, as in :mod:`evidence_service.verify.proof_steps`. Steps 1–4 are pure;
step 5 reads the chain through any web3 instance. A list whose batch has not closed has no
Merkle section: steps 3 and 4 are skipped and step 5 fails ``not-anchored``.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from web3 import Web3

from chain.merkle import leaf_hash
from evidence_service.core.clock import rfc3339
from evidence_service.core.digests import HEX64, is_hex64
from evidence_service.core.errors import EvidenceError
from evidence_service.verify.proof import AnchorSection, MerkleSection
from evidence_service.verify.proof_steps import Pins, check_anchor, check_inclusion
from evidence_service.verify.verdict import Check, Status, Verdict, failed, passed
from signing import jcs
from signing.errors import SigningError
from signing.seal import SealFormatError, SealRecord, verify_seal

LIST_FORMAT = "evidence-list/1"
MAX_LIST_DOCUMENT_BYTES = 4 * 1024 * 1024
"""An issued list of the most items the PDF takes (2,000) is about 1 MiB of JSON."""


class ListFailure(StrEnum):
    """The failure names of an evidence list's steps, one per step."""

    digest_mismatch = "digest-mismatch"
    bad_seal = "bad-seal"
    leaf_mismatch = "leaf-mismatch"
    inclusion_failed = "inclusion-failed"
    not_anchored = "not-anchored"


class ListFormatError(EvidenceError):
    slug, title, status = "malformed-list", "The evidence list document is malformed", 422


def typed_digest(text: str) -> str:
    """A digest as a reader types it off the paper: 64 hex digits, spaces around allowed."""
    digest = text.strip()
    if not is_hex64(digest, any_case=True):
        raise ValueError("a list digest is 64 hex digits (SHA-256)")
    return digest.lower()


class ListDocument(BaseModel):
    """An issued list document, parsed strictly: unknown fields, a body that is not an
    ``evidence-list/1`` body or cannot be canonicalized, or a malformed seal record are refused
    before any step runs."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str = Field(min_length=1, max_length=64)
    body: dict[str, Any]
    digest: str = Field(pattern=HEX64)
    seal: dict[str, Any]
    merkle: MerkleSection | None
    anchor: AnchorSection | None

    @field_validator("body")
    @classmethod
    def _list_body(cls, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("format") != LIST_FORMAT:
            raise ValueError(f"the body is not an {LIST_FORMAT} body")
        jcs.canonicalize(body)  # ValueError when JSON cannot carry it faithfully
        return body

    @field_validator("seal")
    @classmethod
    def _seal_record(cls, seal: dict[str, Any]) -> dict[str, Any]:
        SealRecord(**_seal_fields(seal))
        return seal

    @classmethod
    def from_json(cls, data: bytes | str | dict[str, Any]) -> ListDocument:
        try:
            if isinstance(data, bytes | str):
                if len(data) > MAX_LIST_DOCUMENT_BYTES:
                    raise ListFormatError(
                        f"a list document is at most {MAX_LIST_DOCUMENT_BYTES} bytes"
                    )
                data = jcs.loads(data)
            if not isinstance(data, dict):
                raise ListFormatError("a list document is a JSON object")
            return cls.model_validate(data, strict=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(document)"
            raise ListFormatError(
                f"the list document is malformed: {where}: {first['msg']}",
                errors=[
                    {"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]}
                    for e in exc.errors()
                ],
            ) from exc
        except (ValueError, UnicodeDecodeError) as exc:  # not JSON, duplicate keys, NaN
            raise ListFormatError(f"the list document is not JSON: {exc}") from exc

    def body_jcs(self) -> bytes:
        return jcs.canonicalize(self.body)

    def seal_record(self) -> SealRecord:
        return SealRecord(**_seal_fields(self.seal))

    def case_department(self) -> str | None:
        case = self.body.get("case")
        department = case.get("department_id") if isinstance(case, dict) else None
        return department if isinstance(department, str) else None


def _seal_fields(seal: dict[str, Any]) -> dict[str, Any]:
    expected = {f.name for f in fields(SealRecord)}
    if set(seal) != expected:
        missing, extra = sorted(expected - set(seal)), sorted(set(seal) - expected)
        raise SealFormatError(f"seal record fields wrong: missing {missing}, unexpected {extra}")
    return seal


def _result(step: int, name: str, failure: ListFailure, problem: str | None, ok: str) -> Check:
    if problem is None:
        return passed("list", name, ok, step)
    return failed("list", name, failure, problem, step)


def check_digest(document: ListDocument, typed: str | None) -> Check:
    computed = hashlib.sha256(document.body_jcs()).hexdigest()
    problems = []
    if computed != document.digest:
        problems.append(
            f"SHA-256(JCS(body)) is {computed}, the document says {document.digest} "
            "(the body or the digest was changed)"
        )
    if typed is not None and typed != computed:
        problems.append(
            f"the digest typed off the paper, {typed}, is not SHA-256(JCS(body)) {computed}: "
            "this file is not the printed list"
        )
    ok = "SHA-256(JCS(body)) is the list's digest" + (
        " and the digest typed off the paper"
        if typed is not None
        else " (no digest from the paper given: --digest)"
    )
    return _result(1, "digest", ListFailure.digest_mismatch, "; ".join(problems) or None, ok)


def check_seal(document: ListDocument, pins: Pins) -> Check:
    """Long-term validation as for officer signatures: the seal certificate must chain to a
    trusted department CA and have been valid and unrevoked when the chain says the list
    existed (its block time), or at the seal's own time while the list is not anchored."""
    if not pins.ca_certificates:
        return Check(
            "list",
            "seal",
            Status.error,
            ListFailure.bad_seal,
            "no department CA certificates to check the seal against (give a trust bundle)",
            2,
        )
    record = document.seal_record()
    if document.anchor is not None:
        at = datetime.fromtimestamp(document.anchor.block_timestamp, UTC)
        when = f"at the anchor's block time {rfc3339(at)}"
    else:
        at = record.signed_at_datetime
        when = f"at the seal's signing time {record.signed_at} (not anchored yet)"
    department = document.case_department()
    try:
        verify_seal(
            record,
            trusted_cas=pins.ca_certificates,
            crls=pins.crls,
            at=at,
            expected_digest=hashlib.sha256(document.body_jcs()).hexdigest(),
        )
    except SigningError as exc:
        return _result(2, "seal", ListFailure.bad_seal, f"{exc} ({when})", "")
    if record.department_id != department:
        return _result(
            2,
            "seal",
            ListFailure.bad_seal,
            f"the seal is department {record.department_id}'s; the list's case belongs to "
            f"{department}",
            "",
        )
    return _result(
        2,
        "seal",
        ListFailure.bad_seal,
        None,
        f"{record.alg} seal {record.seal_code} of department {record.department_id} (the case's) "
        f"over SHA-256(JCS(body)) verifies; the seal certificate chains to a trusted department "
        f"CA and was valid and unrevoked {when}",
    )


def check_leaf(document: ListDocument) -> Check:
    if document.merkle is None:
        return Check(
            "list",
            "leaf",
            Status.skipped,
            None,
            "no Merkle section yet: the list's batch is pending",
            3,
        )
    expected = leaf_hash(document.body_jcs()).hex()
    problem = None
    if document.merkle.leaf_hash != expected:
        problem = (
            f"SHA-256(0x00 ‖ JCS(body)) is {expected}, "
            f"the document says {document.merkle.leaf_hash}"
        )
    return _result(
        3, "leaf", ListFailure.leaf_mismatch, problem, "leaf hash is SHA-256(0x00 ‖ JCS(body))"
    )


def check_list_inclusion(document: ListDocument) -> Check:
    if document.merkle is None:
        return Check(
            "list",
            "inclusion",
            Status.skipped,
            None,
            "no Merkle path yet: the list's batch is pending",
            4,
        )
    return check_inclusion(
        document.merkle, step=4, failure=ListFailure.inclusion_failed, document="list"
    )


def list_verdict(
    document: ListDocument,
    *,
    w3: Web3 | None,
    pins: Pins | None = None,
    typed: str | None = None,
) -> Verdict:
    """Every step, in order; ``typed`` is the digest as read off the printed list (checked as
    :func:`typed_digest` gives it)."""
    pins = pins or Pins()
    return Verdict(
        LIST_FORMAT,
        [
            check_digest(document, typed.lower() if typed is not None else None),
            check_seal(document, pins),
            check_leaf(document),
            check_list_inclusion(document),
            check_anchor(
                document.merkle,
                document.anchor,
                w3,
                pins,
                step=5,
                failure=ListFailure.not_anchored,
                document="list",
            ),
        ],
    )
