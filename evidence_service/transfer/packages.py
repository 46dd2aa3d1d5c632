"""Court evidence packages (``evidence-package/2``): the sealed manifest and the streamed ZIP.

The manifest (JCS, format ``evidence-package/1``) lists every item with its digests and capture
statement; the sending department seals its SHA-256 when the transfer is made. The ZIP is
generated chunk by chunk as it is sent — files are STORED and read from the object store in
chunks, entries carry data descriptors and zip64, so neither the package nor any one file is
ever held in memory. Proofs, the custody log and the trust bundle are taken at download time (a
batch may have been anchored since the transfer was made); the verifier ties each proof to its
manifest entry through the statement.

Every member is hashed as it is written, and when the last one (the report) is out, the sending
department seals the list of them all — ``seal/contents.json``, each member's SHA-256 and size —
so no member of the package (custody.json, trust/, the list PDF, the report, the seal image …)
can be swapped, added or dropped. That seal is the one step that runs after the first byte is
sent: everything that can refuse runs before (the department seal it needs is the one that
sealed the manifest); a failure there (the database gone) ends the ZIP without its central
directory, which no unzip tool or verifier takes for a package.

Layout, in order::

    manifest.json                 the manifest, JCS bytes (the seal's digest is over these)
    seal/manifest-seal.json       the sender department's seal record over the manifest digest
    seal/seal.png                 the seal image
    trust/trust.json              CA certificates, CRLs, chain id, registry (/api/v1/trust)
    trust/ca/NN.pem, trust/crl/NN.pem   the same certificates and CRLs as PEM files
    proofs/<evidence id>.json     each item's proof (PROOF_FORMAT.md)
    files/<nn>-<evidence id>-<name>     each item's bytes
    custody.json                  every custody event of every item, with its hash chain
    evidence-list.pdf / .json     the case's latest issued evidence list (when there is one)
    report.html                   the service's verification at packaging time, with a QR code
    seal/contents.json            evidence-package-contents/2 (JCS): every member above, with
                                  its SHA-256 and size as written, and when it was packaged
    seal/contents-seal.json       the same department's seal over SHA-256(JCS(contents.json))
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from evidence_service.access.models import Department
from evidence_service.access.trust import service_pins, trust_document
from evidence_service.anchoring.models import AnchorLeaf
from evidence_service.anchoring.proofs import merkle_and_anchor
from evidence_service.capture.models import Evidence
from evidence_service.core.clock import rfc3339
from evidence_service.core.errors import BadRequestError, ConflictError, NotFoundError
from evidence_service.custody.log import chain_head, event_record
from evidence_service.custody.models import CustodyEvent
from evidence_service.custody.sequencer import integrate_pending
from evidence_service.render.package_report import render_report
from evidence_service.render.seal_image import seal_png
from evidence_service.transfer.needs import TransferNeeds
from evidence_service.transfer.zip_stream import ZipStream
from evidence_service.verify.manifest import (
    Manifest,
    manifest_bytes,
    validate_manifest,
)
from evidence_service.verify.package_checks import (
    AnchorCache,
    DigestBuilder,
    FileDigest,
    check_custody,
    check_evidence_list,
    check_file,
    check_proof,
    check_seal,
    seal_department,
    trust_source_check,
)
from evidence_service.verify.package_contents import ContentsV2
from evidence_service.verify.package_format import (
    CONTENTS,
    CONTENTS_FORMAT,
    CONTENTS_SEAL,
    CUSTODY,
    CUSTODY_FORMAT,
    CUSTODY_HASH,
    LIST_JSON,
    LIST_PDF,
    MANIFEST,
    MANIFEST_FORMAT,
    PACKAGE_FORMAT,
    REPORT,
    SEAL_IMAGE,
    SEAL_RECORD,
    TRUST,
)
from evidence_service.verify.proof import PROOF_FORMAT
from evidence_service.verify.verdict import Check, Status, Verdict

IN_QUERY = 500  # ids per SQL IN (...) clause
NAME_CHARS = 80


# ------------------------------------------------------------------------------ the manifest


def safe_name(name: str | None, fallback: str) -> str:
    """A file name that is safe in any unzip tool: letters, digits, ``._-``; the extension
    kept; at most 80 characters."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in (name or fallback))
    cleaned = re.sub(r"_+", "_", cleaned).strip("._-") or "file"
    stem, dot, ext = cleaned.rpartition(".")
    if not dot or len(ext) > 10:
        stem, ext = cleaned, ""
    return stem[: NAME_CHARS - len(ext) - 1].rstrip("._-") + (f".{ext}" if ext else "")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def load_items(session: Session, evidence_ids: list[str]) -> list[Evidence]:
    """The rows in the order asked; NotFoundError / ConflictError when one cannot be packaged."""
    if not evidence_ids:
        raise BadRequestError("a package holds at least one evidence item")
    if len(set(evidence_ids)) != len(evidence_ids):
        raise BadRequestError("an evidence item is listed twice")
    rows: dict[str, Evidence] = {}
    for start in range(0, len(evidence_ids), IN_QUERY):
        part = evidence_ids[start : start + IN_QUERY]
        rows.update(
            (e.id, e) for e in session.exec(select(Evidence).where(col(Evidence.id).in_(part)))
        )
    missing = [i for i in evidence_ids if i not in rows]
    if missing:
        raise NotFoundError(f"no evidence {missing[0]}", missing=missing)
    for evidence in rows.values():
        if evidence.disposed_at is not None:
            raise ConflictError(f"evidence {evidence.id} was disposed of; its bytes are gone")
        if not evidence.finalized:
            raise ConflictError(f"evidence {evidence.id} is still being stored; try again shortly")
    return [rows[i] for i in evidence_ids]


def build_manifest(
    session: Session, evidence_ids: list[str], *, transfer: dict[str, Any]
) -> dict[str, Any]:
    """The manifest (format ``evidence-package/1``) of the items, in the order given."""
    items = load_items(session, evidence_ids)
    width = max(2, len(str(len(items))))
    manifest = {
        "format": MANIFEST_FORMAT,
        "transfer": _jsonable(transfer),
        "items": [
            {
                "evidence_id": e.id,
                "title": e.title,
                "port": e.port,
                "file": f"files/{n:0{width}d}-{e.id}-{safe_name(e.original_filename, e.title)}",
                "sha256": e.sha256,
                "sm3": e.sm3,
                "size": e.size,
                "media_type": e.media_type,
                "statement": e.statement,
                "statement_sha256": e.statement_sha256,
                "proof": f"proofs/{e.id}.json",
            }
            for n, e in enumerate(items, start=1)
        ],
    }
    parsed = validate_manifest(manifest)
    if isinstance(parsed, Check):
        raise BadRequestError(f"cannot build the manifest: {parsed.detail}")
    return manifest


def manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 (hex) of the manifest's JCS bytes: what the sender's seal signs."""
    return _sha256(manifest_bytes(manifest))


# ------------------------------------------------------------------------------ documents


def custody_document(session: Session, evidence_ids: list[str]) -> dict[str, Any]:
    """Every chained custody event of the items (in log order) and the log head now; the
    caller integrates pending events (``integrate_pending``) before its session begins."""
    events: list[CustodyEvent] = []
    for start in range(0, len(evidence_ids), IN_QUERY):
        part = evidence_ids[start : start + IN_QUERY]
        events.extend(
            session.exec(
                select(CustodyEvent).where(
                    col(CustodyEvent.evidence_id).in_(part), col(CustodyEvent.seq).is_not(None)
                )
            )
        )
    events.sort(key=lambda e: e.seq or 0)
    head = chain_head(session)
    return {
        "format": CUSTODY_FORMAT,
        "hash": CUSTODY_HASH,
        "head": {"seq": head.seq, "hash": head.hash},
        "events": [event_record(e) for e in events],
    }


def item_proofs(services: TransferNeeds, items: list[Evidence]) -> dict[str, dict[str, Any]]:
    """Each item's proof as it stands now — what ``proofs.build_proof`` gives, item by item,
    built here in one session and one query per few hundred items (a 1,000-item package)."""
    out: dict[str, dict[str, Any]] = {}
    with Session(services.engine) as session:
        leaves: dict[str, AnchorLeaf] = {}
        for start in range(0, len(items), IN_QUERY):
            part = [e.id for e in items[start : start + IN_QUERY]]
            query = select(AnchorLeaf).where(col(AnchorLeaf.evidence_id).in_(part))
            leaves.update((leaf.evidence_id or "", leaf) for leaf in session.exec(query))
        for evidence in items:
            leaf = leaves.get(evidence.id)
            if leaf is None:
                raise NotFoundError(f"evidence {evidence.id} has no Merkle leaf")
            merkle, anchor = merkle_and_anchor(session, leaf, services.trees)
            out[evidence.id] = {
                "format": PROOF_FORMAT,
                "statement": evidence.statement,
                "signature": evidence.signature,
                "merkle": merkle,
                "anchor": anchor,
            }
    return out


def custody_bytes(doc: dict[str, Any]) -> Iterator[bytes]:
    """Readable JSON: one event per line."""
    head = {k: v for k, v in doc.items() if k != "events"}
    yield json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "events": ['
    for n, event in enumerate(doc["events"]):
        yield (b",\n" if n else b"\n") + json.dumps(event, ensure_ascii=False).encode()
    yield b"\n]}\n"


def _pretty(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode()


# ------------------------------------------------------------------------------ the package


@dataclass(frozen=True)
class _Plan:
    """Everything the package holds but the files' bytes, made before its first byte."""

    services: TransferNeeds
    department_id: str  # the sender, who sealed the manifest and seals the contents
    actor_id: str
    manifest: Manifest
    manifest_raw: bytes
    seal_raw: bytes
    seal_image: bytes
    trust: dict[str, Any]
    trust_raw: bytes
    items: list[Evidence]
    proofs: dict[str, dict[str, Any]]
    custody: dict[str, Any]
    custody_raw: bytes
    evidence_list: tuple[bytes, dict[str, Any], bytes] | None  # PDF, document, JSON bytes
    verify_url: str


def stream_package(
    services: TransferNeeds,
    manifest: dict[str, Any],
    seal_json: str,
    *,
    department_id: str,
    actor_id: str,
    evidence_list: tuple[bytes, dict[str, Any]] | None = None,
    public_verify_url: str | None = None,
) -> Iterator[bytes]:
    """The package as ZIP chunks. Everything that can refuse (unknown items, a disposed file,
    an unknown department, a manifest sealed by another department, an item without a proof)
    is checked before this returns, so a refusal is still an error answer and not a truncated
    download.

    When the last member is written the sending department seals the package contents
    (``seal/contents.json``: the SHA-256 and size of every member as written) — a ``sealed``
    custody event by ``actor_id``; a download abandoned before that seals nothing."""
    parsed = validate_manifest(manifest)
    if isinstance(parsed, Check):
        raise BadRequestError(f"the manifest is not {MANIFEST_FORMAT}: {parsed.detail}")
    raw = manifest_bytes(manifest)
    integrate_pending(services.engine)  # custody.json holds every event recorded until now
    with Session(services.engine) as session:
        department = session.get(Department, department_id)
        if department is None:
            raise NotFoundError(f"no department {department_id}")
        if seal_department(seal_json.encode()) != department.id:
            raise ConflictError(f"the manifest is not sealed by the sender {department.id}")
        items = load_items(session, [i.evidence_id for i in parsed.items])
        trust = trust_document(session, services)
        custody = custody_document(session, [e.id for e in items])
    proofs = item_proofs(services, items)
    listed = None
    if evidence_list is not None:
        listed = (*evidence_list, _pretty(evidence_list[1]))
    url = public_verify_url or services.settings.public_url.rstrip("/") + "/api/v1/packages/verify"
    plan = _Plan(
        services=services,
        department_id=department.id,
        actor_id=actor_id,
        manifest=parsed,
        manifest_raw=raw,
        seal_raw=seal_json.encode(),
        seal_image=seal_png(department),
        trust=trust,
        trust_raw=_pretty(trust),
        items=items,
        proofs=proofs,
        custody=custody,
        custody_raw=b"".join(custody_bytes(custody)),
        evidence_list=listed,
        verify_url=url,
    )
    return _package_chunks(plan)


def _package_chunks(plan: _Plan) -> Iterator[bytes]:
    services = plan.services
    zipped = ZipStream(services.clock())
    yield from zipped.entry(MANIFEST, [plan.manifest_raw])
    yield from zipped.entry(SEAL_RECORD, [plan.seal_raw])
    yield from zipped.entry(SEAL_IMAGE, [plan.seal_image])
    yield from zipped.entry(TRUST, [plan.trust_raw])
    for n, pem in enumerate(plan.trust["ca_certificates"], start=1):
        yield from zipped.entry(f"trust/ca/{n:02d}.pem", [pem.encode()])
    for n, pem in enumerate(plan.trust["crls"], start=1):
        yield from zipped.entry(f"trust/crl/{n:02d}.pem", [pem.encode()])
    for evidence in plan.items:
        yield from zipped.entry(f"proofs/{evidence.id}.json", [_pretty(plan.proofs[evidence.id])])
    digests: dict[str, FileDigest] = {}
    for item, evidence in zip(plan.manifest.items, plan.items, strict=True):
        digest = DigestBuilder()
        chunks = services.store.get(evidence.object_key)
        yield from zipped.entry(item.file, chunks, item.size, digest)
        digests[item.evidence_id] = digest.result()
    yield from zipped.entry(CUSTODY, [plan.custody_raw])
    list_doc = None
    if plan.evidence_list is not None:
        pdf, list_doc, list_raw = plan.evidence_list
        yield from zipped.entry(LIST_PDF, [pdf])
        yield from zipped.entry(LIST_JSON, [list_raw])
    verdict = _verdict(
        services,
        plan.manifest,
        plan.manifest_raw,
        plan.seal_raw,
        digests=lambda item: digests[item.evidence_id],
        proofs=plan.proofs,
        custody=plan.custody,
        list_doc=list_doc,
        contents=_CONTENTS_SEALED_LAST,
        package_format=PACKAGE_FORMAT,
    )
    report = render_report(
        plan.manifest,
        verdict,
        proofs=plan.proofs,
        verify_url=plan.verify_url,
        generated_at=services.clock(),
        evidence_list=list_doc,
    )
    yield from zipped.entry(REPORT, [report])
    contents = ContentsV2(
        format=CONTENTS_FORMAT,
        members=dict(zipped.written),
        packaged_at=rfc3339(services.clock()),
    )
    record = services.pki.seal_digest(plan.department_id, contents.digest(), actor_id=plan.actor_id)
    yield from zipped.entry(CONTENTS, [contents.jcs()])
    yield from zipped.entry(CONTENTS_SEAL, [record.as_json().encode()])
    yield from zipped.finish()


#: The report's word on the contents seal, made after the report is written.
_CONTENTS_SEALED_LAST = (
    f"sealed when the package is complete, after this report: {CONTENTS} lists the SHA-256 and "
    f"size of every member, this report included, and {CONTENTS_SEAL} is the sending "
    "department's seal over it"
)
#: The same word when there is no package (a recipient opening a transfer).
_NO_PACKAGE_CONTENTS = (
    "checked in the package: the contents (every member) are sealed when the package is downloaded"
)


def _verdict(
    services: TransferNeeds,
    manifest: Manifest,
    manifest_raw: bytes,
    seal_raw: bytes,
    *,
    digests: Callable[[Any], FileDigest],
    proofs: dict[str, dict[str, Any]],
    custody: dict[str, Any],
    list_doc: dict[str, Any] | None,
    contents: str,
    package_format: str = MANIFEST_FORMAT,
) -> Verdict:
    pins = service_pins(services)
    w3 = services.chain_reader()
    verdict = Verdict(
        package_format,
        manifest_digest=_sha256(manifest_raw),
        trust_source="service",
        transfer=manifest.transfer.model_dump(),
        items=len(manifest.items),
    )
    verdict.checks.append(trust_source_check("service"))
    verdict.checks += check_seal(
        manifest_raw, seal_raw, pins, sender_id=manifest.transfer.sender.id
    )
    verdict.checks.append(Check(CONTENTS, "seal", Status.skipped, None, contents))
    anchors: AnchorCache = {}
    for item in manifest.items:
        started = time.perf_counter()
        digest = digests(item)
        verdict.hashing_seconds += time.perf_counter() - started
        verdict.hashed_bytes += digest.size
        started = time.perf_counter()
        verdict.checks.append(check_file(item, digest))
        verdict.checks += check_proof(
            item, proofs[item.evidence_id], digest, w3=w3, pins=pins, anchors=anchors
        )
        verdict.checking_seconds += time.perf_counter() - started
    verdict.checks += check_custody(custody, manifest)
    if list_doc is not None:
        verdict.checks += check_evidence_list(list_doc, manifest, w3=w3, pins=pins)
    return verdict


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def service_verdict(services: TransferNeeds, manifest: dict[str, Any], seal_json: str) -> Verdict:
    """The package's checks run here without a ZIP: files hashed from the store, proofs and
    custody as they stand now, trust from this service. For a recipient opening a transfer.

    The contents seal is a ``skipped`` check: it is made per download, over the members of that
    package, and here there is no package — the custody events and trust are read from this
    service's own database, which is what the seal would vouch for."""
    raw = manifest_bytes(manifest)
    parsed = validate_manifest(manifest)
    if isinstance(parsed, Check):
        return Verdict(
            MANIFEST_FORMAT, checks=[parsed], manifest_digest=_sha256(raw), trust_source="service"
        )
    integrate_pending(services.engine)
    with Session(services.engine) as session:
        items = {e.id: e for e in load_items(session, [i.evidence_id for i in parsed.items])}
        custody = custody_document(session, list(items))
    proofs = item_proofs(services, list(items.values()))

    def digest_of(item: Any) -> FileDigest:
        digest = DigestBuilder()
        for chunk in services.store.get(items[item.evidence_id].object_key):
            digest.update(chunk)
        return digest.result()

    return _verdict(
        services,
        parsed,
        raw,
        seal_json.encode(),
        digests=digest_of,
        proofs=proofs,
        custody=custody,
        list_doc=None,
        contents=_NO_PACKAGE_CONTENTS,  # no package here: nothing was sealed but the manifest
    )
