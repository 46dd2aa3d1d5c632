"""The package manifest (format ``evidence-package/1``, in packages of either version): parsed
strictly, checked for consistency.

``manifest.json`` is the JCS form of the manifest, and the sender's seal is over its SHA-256, so
the verifier reads exactly the bytes that were sealed; :func:`parse_manifest` refuses anything
that is not JCS, not the format, or contradicts itself (a statement describing another file).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evidence_service.core.digests import HEX64
from evidence_service.verify.package_format import LIMITS, MANIFEST, MANIFEST_FORMAT, PackageFailure
from evidence_service.verify.statement import CaptureStatement
from evidence_service.verify.verdict import Check, failed
from signing.jcs import canonicalize, loads


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PartyRef(_Frozen):
    id: str
    name: str
    code: str


class CaseRef(_Frozen):
    id: str
    case_number: str
    title: str


class TransferSection(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    id: str
    sender: PartyRef
    recipient: PartyRef
    case: CaseRef | None
    created_at: str
    created_by: str


class ManifestItem(_Frozen):
    evidence_id: str = Field(pattern=r"^[0-9A-Za-z]{1,64}$")
    title: str
    port: str
    file: str = Field(pattern=r"^files/[^/\\]+$", max_length=300)
    sha256: str = Field(pattern=HEX64)
    sm3: str = Field(pattern=HEX64)
    size: int = Field(ge=0)
    media_type: str
    statement: CaptureStatement
    statement_sha256: str = Field(pattern=HEX64)
    proof: str


class Manifest(_Frozen):
    format: Literal["evidence-package/1"]
    transfer: TransferSection
    items: list[ManifestItem] = Field(min_length=1, max_length=LIMITS.max_items)

    def consistency_problem(self) -> str | None:
        """What makes the manifest contradict itself, if anything."""
        seen_ids: set[str] = set()
        seen_files: set[str] = set()
        for item in self.items:
            st = item.statement
            if item.evidence_id in seen_ids:
                return f"item {item.evidence_id} is listed twice"
            if item.file in seen_files or ".." in item.file:
                return f"file path {item.file!r} is repeated or leaves its folder"
            seen_ids.add(item.evidence_id)
            seen_files.add(item.file)
            if item.proof != f"proofs/{item.evidence_id}.json":
                return f"item {item.evidence_id}: proof path {item.proof!r} is not its own"
            facts = (st.evidence_id, st.sha256, st.sm3, st.size, st.port, st.media_type)
            if facts != (
                item.evidence_id,
                item.sha256,
                item.sm3,
                item.size,
                item.port,
                item.media_type,
            ):
                return f"item {item.evidence_id}: its statement describes another file"
            if st.sha256_hex() != item.statement_sha256:
                return f"item {item.evidence_id}: statement_sha256 is not SHA-256(JCS(statement))"
        return None


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The exact bytes of ``manifest.json``: the JCS form the seal's digest is over."""
    return canonicalize(manifest)


_MAX_SAFE_INTEGER = 2**53 - 1


def _plain(value: Any) -> bool:
    """True when Python's sorted compact JSON of ``value`` is its JCS form: no floats, integers
    in the IEEE-754 safe range, keys without characters beyond the BMP (where code-point and
    UTF-16 orders differ)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(max(map(ord, k), default=0) > 0xFFFF for k in item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float) or (
            isinstance(item, int) and not -_MAX_SAFE_INTEGER <= item <= _MAX_SAFE_INTEGER
        ):
            return False
    return True


def is_jcs(data: Any, raw: bytes) -> bool:
    """Whether ``raw`` is the JCS form of ``data`` (its parse). A fast path for the common
    case — a large manifest takes RFC 8785's pure-Python encoder a good part of a second."""
    if _plain(data):
        try:
            fast = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return fast.encode() == raw
        except UnicodeEncodeError:  # a lone surrogate: let the exact encoder decide
            pass
    try:
        return canonicalize(data) == raw
    except ValueError:
        return False


def parse_manifest(raw: bytes) -> Manifest | Check:
    """The manifest read from ``manifest.json``, or the check that says why it cannot be."""
    try:
        data = loads(raw)
        if not is_jcs(data, raw):
            return failed(MANIFEST, "parse", PackageFailure.bad_package, "not in JCS form")
    except (ValueError, UnicodeDecodeError) as exc:
        return failed(MANIFEST, "parse", PackageFailure.bad_package, f"not JSON: {exc}")
    return validate_manifest(data)


def validate_manifest(data: Any) -> Manifest | Check:
    """The manifest (an already decoded object), or the check that says what is wrong."""
    try:
        manifest = Manifest.model_validate(data, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        return failed(
            MANIFEST,
            "parse",
            PackageFailure.bad_package,
            f"not {MANIFEST_FORMAT}: {where}: {first['msg']}",
        )
    problem = manifest.consistency_problem()
    if problem is not None:
        return failed(MANIFEST, "consistency", PackageFailure.bad_package, problem)
    return manifest
