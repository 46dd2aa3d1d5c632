"""Court evidence packages (``evidence-package/1``): the sealed manifest and the streamed ZIP.

The manifest (JCS) lists every item with its digests and capture statement; the sending
department seals its SHA-256 when the transfer is made. The ZIP is generated chunk by chunk as
it is sent — files are STORED and read from the object store in chunks, entries carry data
descriptors and zip64, so neither the package nor any one file is ever held in memory. Proofs,
the custody log and the trust bundle are taken at download time (a batch may have been anchored
since the transfer was made); the verifier ties each proof to its manifest entry through the
statement, and the sending department seals, again at download time, the digests of what the
manifest cannot cover (``seal/contents.json``), so custody.json and trust/ cannot be swapped.

Layout::

    manifest.json                 the manifest, JCS bytes (the seal's digest is over these)
    seal/manifest-seal.json       the sender department's seal record over the manifest digest
    seal/contents.json            evidence-package-contents/1 (JCS): the SHA-256 of the manifest,
                                  custody.json, trust/trust.json and evidence-list.json (or
                                  null) as written, and when it was packaged
    seal/contents-seal.json       the same department's seal over SHA-256(JCS(contents.json))
    seal/seal.png                 the seal image
    trust/trust.json              CA certificates, CRLs, chain id, registry (/api/v1/trust)
    trust/ca/NN.pem, trust/crl/NN.pem   the same certificates and CRLs as PEM files
    proofs/<evidence id>.json     each item's proof (PROOF_FORMAT.md)
    files/<nn>-<evidence id>-<name>     each item's bytes
    custody.json                  every custody event of every item, with its hash chain
    evidence-list.pdf / .json     the case's latest issued evidence list (when there is one)
    report.html                   the service's verification at packaging time, with a QR code
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
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
from evidence_service.render.package_report import render_report
from evidence_service.render.seal_image import seal_png
from evidence_service.transfer.needs import TransferNeeds
from evidence_service.verify.manifest import (
    Manifest,
    manifest_bytes,
    validate_manifest,
)
from evidence_service.verify.package_checks import (
    AnchorCache,
    DigestBuilder,
    FileDigest,
    SealedContents,
    check_contents,
    check_custody,
    check_evidence_list,
    check_file,
    check_proof,
    check_seal,
    check_sealed_file,
    parse_contents,
    seal_department,
    trust_source_check,
)
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
    PACKAGE_FORMAT,
    REPORT,
    SEAL_IMAGE,
    SEAL_RECORD,
    TRUST,
)
from evidence_service.verify.proof import PROOF_FORMAT
from evidence_service.verify.proof_steps import Pins
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
    """The ``evidence-package/1`` manifest of the items, in the order given."""
    items = load_items(session, evidence_ids)
    width = max(2, len(str(len(items))))
    manifest = {
        "format": PACKAGE_FORMAT,
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
    """Every custody event of the items (in log order) and the log head now."""
    events: list[CustodyEvent] = []
    for start in range(0, len(evidence_ids), IN_QUERY):
        part = evidence_ids[start : start + IN_QUERY]
        events.extend(
            session.exec(select(CustodyEvent).where(col(CustodyEvent.evidence_id).in_(part)))
        )
    events.sort(key=lambda e: e.seq)
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


# ------------------------------------------------------------------------------ the ZIP stream


class _Sink(io.RawIOBase):
    """An unseekable file that keeps what zipfile writes until the generator takes it."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        parts, self._parts = self._parts, []
        return parts[0] if len(parts) == 1 else b"".join(parts)


class ZipStream:
    """A ZIP written to an unseekable sink: data descriptors, zip64 when needed, STORED."""

    def __init__(self, when: datetime) -> None:
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(
            self._sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True
        )
        moment = max(when.astimezone(UTC), datetime(1980, 1, 1, tzinfo=UTC))
        self._date_time = moment.timetuple()[:6]

    def entry(self, name: str, chunks: Iterable[bytes], size: int | None = None) -> Iterator[bytes]:
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o100444 << 16
        if size is not None:
            info.file_size = size  # lets zipfile choose zip64 up front for large files
        with self._zip.open(info, "w") as out:
            for chunk in chunks:
                out.write(chunk)
                data = self._sink.take()
                if data:
                    yield data
        data = self._sink.take()
        if data:
            yield data

    def finish(self) -> Iterator[bytes]:
        self._zip.close()
        yield self._sink.take()


# ------------------------------------------------------------------------------ the package


@dataclass(frozen=True)
class _Plan:
    """Everything the package holds but the files' bytes, made before its first byte."""

    services: TransferNeeds
    manifest: Manifest
    manifest_raw: bytes
    seal_raw: bytes
    seal_image: bytes
    contents_raw: bytes
    contents_seal_raw: bytes
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

    Before returning it also seals the package contents (``seal/contents.json``: the digests of
    the manifest, custody.json, trust/trust.json and the evidence list as they will be written)
    with the sending department's seal — a ``sealed`` custody event by ``actor_id``."""
    parsed = validate_manifest(manifest)
    if isinstance(parsed, Check):
        raise BadRequestError(f"the manifest is not {PACKAGE_FORMAT}: {parsed.detail}")
    raw = manifest_bytes(manifest)
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
    trust_raw, custody_raw = _pretty(trust), b"".join(custody_bytes(custody))
    contents = SealedContents(
        format=CONTENTS_FORMAT,
        manifest_digest=_sha256(raw),
        custody_sha256=_sha256(custody_raw),
        trust_sha256=_sha256(trust_raw),
        evidence_list_sha256=_sha256(listed[2]) if listed else None,
        packaged_at=rfc3339(services.clock()),
    )
    seal_image = seal_png(department)
    contents_seal = services.pki.seal_digest(department.id, contents.digest(), actor_id=actor_id)
    url = public_verify_url or services.settings.public_url.rstrip("/") + "/api/v1/packages/verify"
    plan = _Plan(
        services=services,
        manifest=parsed,
        manifest_raw=raw,
        seal_raw=seal_json.encode(),
        seal_image=seal_image,
        contents_raw=contents.jcs(),
        contents_seal_raw=contents_seal.as_json().encode(),
        trust=trust,
        trust_raw=trust_raw,
        items=items,
        proofs=proofs,
        custody=custody,
        custody_raw=custody_raw,
        evidence_list=listed,
        verify_url=url,
    )
    return _package_chunks(plan)


def _package_chunks(plan: _Plan) -> Iterator[bytes]:
    services = plan.services
    zipped = ZipStream(services.clock())
    yield from zipped.entry(MANIFEST, [plan.manifest_raw])
    yield from zipped.entry(SEAL_RECORD, [plan.seal_raw])
    yield from zipped.entry(CONTENTS, [plan.contents_raw])
    yield from zipped.entry(CONTENTS_SEAL, [plan.contents_seal_raw])
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
        yield from zipped.entry(
            item.file, _tee(services.store.get(evidence.object_key), digest.update), item.size
        )
        digests[item.evidence_id] = digest.result()
    yield from zipped.entry(CUSTODY, [plan.custody_raw])
    list_doc = None
    sealed_members = {MANIFEST: plan.manifest_raw, TRUST: plan.trust_raw, CUSTODY: plan.custody_raw}
    if plan.evidence_list is not None:
        pdf, list_doc, list_raw = plan.evidence_list
        sealed_members[LIST_JSON] = list_raw
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
        sealed=_SealedPart(plan.contents_raw, plan.contents_seal_raw, sealed_members),
    )
    report = render_report(
        plan.manifest,
        verdict,
        proofs=plan.proofs,
        verify_url=plan.verify_url,
        generated_at=services.clock(),
        evidence_list=list_doc,
        contents_sha256=_sha256(plan.contents_raw),
    )
    yield from zipped.entry(REPORT, [report])
    yield from zipped.finish()


def _tee(chunks: Iterable[bytes], see: Callable[[bytes], None]) -> Iterator[bytes]:
    for chunk in chunks:
        see(chunk)
        yield chunk


@dataclass(frozen=True)
class _SealedPart:
    """What the contents seal covers, as written into the package."""

    contents_raw: bytes
    seal_raw: bytes
    members: dict[str, bytes]  # manifest.json, trust/trust.json, custody.json, evidence-list.json


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
    sealed: _SealedPart | None,
) -> Verdict:
    pins = service_pins(services)
    w3 = services.chain_reader()
    verdict = Verdict(
        PACKAGE_FORMAT,
        manifest_digest=_sha256(manifest_raw),
        trust_source="service",
        transfer=manifest.transfer.model_dump(),
        items=len(manifest.items),
    )
    verdict.checks.append(trust_source_check("service"))
    verdict.checks += check_seal(
        manifest_raw, seal_raw, pins, sender_id=manifest.transfer.sender.id
    )
    verdict.checks += _contents_checks(sealed, seal_raw, pins, manifest)
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


def _contents_checks(
    sealed: _SealedPart | None, manifest_seal_raw: bytes, pins: Pins, manifest: Manifest
) -> list[Check]:
    if sealed is None:
        return [
            Check(
                CONTENTS,
                "seal",
                Status.skipped,
                None,
                "checked in the package: the contents (custody.json, trust/) are sealed when "
                "the package is downloaded",
            )
        ]
    contents = parse_contents(sealed.contents_raw)
    if isinstance(contents, Check):
        return [contents]
    sealer = seal_department(manifest_seal_raw) or manifest.transfer.sender.id
    checks = check_contents(contents, sealed.seal_raw, pins, sealer_id=sealer)
    for name, digest in contents.sealed_digests().items():
        checks += check_sealed_file(name, sealed.members.get(name), digest)
    return checks


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def service_verdict(services: TransferNeeds, manifest: dict[str, Any], seal_json: str) -> Verdict:
    """The package's checks run here without a ZIP: files hashed from the store, proofs and
    custody as they stand now, trust from this service. For a recipient opening a transfer.

    The contents seal is a ``skipped`` check: it is made per download, over the custody.json and
    trust.json bytes of that package, and here there is no package — the custody events and
    trust are read from this service's own database, which is what the seal would vouch for."""
    raw = manifest_bytes(manifest)
    parsed = validate_manifest(manifest)
    if isinstance(parsed, Check):
        return Verdict(
            PACKAGE_FORMAT, checks=[parsed], manifest_digest=_sha256(raw), trust_source="service"
        )
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
        sealed=None,  # no package here: nothing was sealed but the manifest
    )
