"""The JSON the routes answer with, as pydantic models for the OpenAPI document.

Routes build their bodies as dicts in the wings (``evidence_public``, ``case_public``,
``PackageVerdict.as_json``, ...); these models describe those dicts field for field and are
used with :func:`evidence_service.api.responses.ok`, i.e. for documentation only: they never
validate or filter an answer. Objects that are open by design (statements, signatures,
extracted facts, manifests) stay ``dict``; models whose dict may gain members allow extras.
Times are RFC 3339 strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    """A documented object that may carry further members."""

    model_config = ConfigDict(extra="allow")


# --- system ------------------------------------------------------------------------------------


class Health(BaseModel):
    status: str = Field(description="ok: the process answers (no dependency is asked)")


class Readiness(BaseModel):
    status: str = Field(description="ok, warn (ready, with warnings) or not_ready (503)")
    checks: dict[str, str] = Field(
        description="database, object_store, chain, anchor_lag, chain_balance: ok, "
        "warn: …, skipped: … or error: …"
    )
    failing: list[str] = Field(description="the checks that make it not ready")
    warnings: list[str] = Field(description="the checks that warn (chain_balance)")
    anchor_lag_seconds: float | None = Field(
        description="age of the oldest leaf not yet anchored; 0 when all are anchored"
    )
    pending_leaves: int | None
    chain_balance_wei: str | None = Field(
        description="the anchoring account's balance (decimal string), when this process "
        "can ask the chain"
    )


class Port(BaseModel):
    id: str
    label: str
    max_size: int | None = Field(description="largest upload in bytes; null: the service's limit")


# --- evidence ----------------------------------------------------------------------------------


class Location(BaseModel):
    lat: float | None
    lon: float | None
    address: str | None


class DerivedFile(BaseModel):
    role: str = Field(description="thumbnail, rendering, document, ...")
    media_type: str
    size: int
    sha256: str


class ChunkChain(BaseModel):
    count: int | None
    head: str


class Evidence(BaseModel):
    """An evidence item (``capture.views.evidence_public``)."""

    id: str
    port: str
    title: str
    description: str
    captured_at: datetime
    received_at: datetime
    officer_id: str
    department_id: str
    original_filename: str | None
    location: Location
    tags: list[dict[str, str]] = Field(description="tags given at capture: {type, value}")
    media_type: str
    size: int
    sha256: str
    sm3: str
    extracted: dict[str, Any] = Field(description="what the capture port read from the file")
    statement: dict[str, Any] = Field(description="the capture statement (PROOF_FORMAT.md)")
    derived: list[DerivedFile]
    chunk_chain: ChunkChain | None = Field(description="resumable uploads: the chunk hash chain")
    finalized: bool


class EvidencePage(BaseModel):
    items: list[Evidence]
    next_cursor: str | None


class PreparedCapture(BaseModel):
    prepared_id: str = Field(description="the evidence id the upload will get")
    statement: dict[str, Any]
    payload: str = Field(description="base64 of the statement's JCS bytes, to sign")
    expires_at: datetime


class CustodyEventPublic(BaseModel):
    seq: int
    evidence_id: str | None
    action: str
    actor_id: str | None
    department_id: str | None
    at: datetime
    details: dict[str, Any]
    prev_hash: str
    hash: str


class EvidenceCustody(BaseModel):
    evidence_id: str
    events: list[CustodyEventPublic]


class CustodyCheckpoint(BaseModel):
    """The last anchored log head a check found whole and the chain confirmed."""

    seq: int
    hash: str
    batch_id: int
    verified_at: datetime


class CustodyVerification(BaseModel):
    """``CustodyReport.as_json``: the last three members only when the chain is not valid.
    ``events`` is the log's length; ``events_checked`` how many this check walked (after
    ``from_checkpoint``, or all when it is null); ``checkpoint`` the one stored after it."""

    valid: bool
    events: int
    head: str | None
    anchored_heads_checked: int
    chain_checked: bool
    events_checked: int
    from_checkpoint: CustodyCheckpoint | None
    checkpoint: CustodyCheckpoint | None
    broken_at_seq: int | None = None
    batch_id: int | None = None
    reason: str | None = None


class CustodyVerifyJob(BaseModel):
    """A full walk of the custody log (``anchoring.custody_jobs.job_public``)."""

    id: int
    status: str = Field(description="queued, running, done (see result) or failed (see error)")
    events_checked: int
    events_total: int = Field(description="the log's length when the walk started or reached")
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None
    result: CustodyVerification | None
    error: str | None


class UploadState(BaseModel):
    """A resumable upload (``capture.uploads.session_public``)."""

    id: str
    port: str
    status: str = Field(description="open, completed, aborted, ...")
    offset: int
    total_size: int | None
    chunk_count: int
    chain_head: str
    tail_received: bool
    min_part_size: int
    evidence_id: str | None
    expires_at: datetime


class Tag(BaseModel):
    type: str
    value: str
    created_at: datetime


class StoredObjectLock(BaseModel):
    role: str = Field(description="content, or a derived file's role")
    present: bool
    retain_until: datetime | None
    legal_hold: bool


class Retention(BaseModel):
    evidence_id: str
    port: str
    finalized: bool
    retention_until: datetime | None
    legal_hold: bool
    disposed_at: datetime | None
    store: list[StoredObjectLock] = Field(description="the object store's own view")


class Relation(BaseModel):
    kind: str
    direction: str = Field(description="outgoing or incoming")
    evidence_id: str = Field(description="the other item")
    title: str | None
    created_by: str
    created_at: datetime


class EvidenceRelations(BaseModel):
    evidence_id: str
    relations: list[Relation]


class EvidenceParties(BaseModel):
    evidence_id: str
    party_ids: list[str]


# --- proofs ------------------------------------------------------------------------------------


class MerklePath(BaseModel):
    hash: str
    leaf_index: int
    tree_size: int
    leaf_hash: str
    path: list[str]
    root: str


class AnchorSection(BaseModel):
    chain_id: int | None
    contract: str | None
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    block_timestamp: int | None
    batch_id: int


class AnchoredDocument(BaseModel):
    id: str
    digest: str = Field(description="SHA-256 (hex) of the document's JCS bytes")
    leaf_hash: str = Field(description="SHA-256(0x00 ‖ JCS(document)), hex")
    size: int
    created_by: str
    department_id: str
    created_at: str
    state: str = Field(description="pending, batched (tree built, not mined) or anchored")
    merkle: MerklePath | None = Field(description="null until the leaf's batch closes")
    anchor: AnchorSection | None = Field(description="null until the batch's root is mined")


class Proof(BaseModel):
    format: str
    statement: dict[str, Any]
    signature: dict[str, Any] | None
    merkle: MerklePath | None = Field(description="null until the item's batch closes")
    anchor: AnchorSection | None = Field(description="null until the batch's root is mined")


class VerificationStep(BaseModel):
    step: int
    name: str
    status: str = Field(description="pass, fail, skipped or error")
    failure: str | None
    detail: str


class Verdict(BaseModel):
    valid: bool
    failure: str | None = Field(description="the first failed step's failure name")
    steps: list[VerificationStep]


# --- people, certificates, seals, co-signatures -----------------------------------------------


class IssuedToken(BaseModel):
    officer_id: str
    kind: str = Field(description="device or service")
    token: str | None = Field(description="shown once; null on an Idempotency-Key replay")
    token_id: str


class Token(BaseModel):
    """A token as listed (never the token or its hash)."""

    id: str
    officer_id: str
    kind: str = Field(description="person, device or service")
    label: str
    created_at: datetime
    expires_at: datetime | None = Field(description="person tokens only")
    issued_by: str | None = Field(description="the admin who issued a device/service token")
    revoked_at: datetime | None


class EnrolmentCode(BaseModel):
    officer_id: str
    code: str = Field(description="shown once; works once, until expires_at")
    expires_at: datetime


class EnrolledToken(BaseModel):
    officer_id: str
    token: str = Field(description="the officer's own bearer token, shown once")
    token_id: str
    expires_at: datetime


class Certificate(BaseModel):
    serial: str
    officer_id: str
    department_id: str
    alg: str
    certificate: str = Field(description="PEM")
    custodial: bool
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None


class RetiredCA(BaseModel):
    serial: str
    certificate: str = Field(description="PEM")
    not_before: datetime
    not_after: datetime
    created_at: datetime
    retired_at: datetime


class DepartmentCA(BaseModel):
    """A department's current CA certificate and the ones it replaced (all in the trust
    bundle)."""

    department_id: str
    serial: str
    certificate: str = Field(description="PEM")
    not_before: datetime
    not_after: datetime
    created_at: datetime
    retired: list[RetiredCA] = Field(description="replaced CAs, newest first")


class SealRecord(BaseModel):
    department_id: str
    seal_code: str
    alg: str
    certificate: str
    digest: str
    signed_at: str
    value: str


class SealVerdict(BaseModel):
    """Valid: the sealing department; not valid: the stable ``reason`` and a ``detail``."""

    valid: bool
    reason: str | None = None
    detail: str | None = None
    department_id: str | None = None
    seal_code: str | None = None
    signed_at: str | None = None


class CoSigner(BaseModel):
    department_id: str
    public_key: str
    proof_of_possession: str | None


class CoSignatureSubject(BaseModel):
    kind: str = Field(description="statement or batch")
    id: str


class CoSignatureRequester(BaseModel):
    officer_id: str
    department_id: str


class CoSignatureDepartment(BaseModel):
    """A named department and its answer (null until it answers; the requester's department
    approved with the request)."""

    department_id: str
    answer: str | None = Field(description="approved, declined, or null")
    officer_id: str | None = Field(description="the reviewer who answered")
    at: datetime | None
    reason: str | None = Field(description="a decline's reason, if given")


class CoSignature(BaseModel):
    id: str
    subject: CoSignatureSubject
    status: str = Field(description="pending, complete, declined or expired")
    requested_by: CoSignatureRequester
    requested_at: datetime
    expires_at: datetime = Field(description="a pending request expires then")
    decided_at: datetime | None = Field(description="when it completed or was declined")
    departments: list[CoSignatureDepartment] = Field(description="the signers, in order")
    ciphersuite: str
    message: str = Field(description="the bytes every department signs (JCS), as text")
    signers: list[CoSigner] = Field(description="empty until complete")
    aggregate_signature: str | None = Field(description="hex; null until complete")


class CoSignatureVerdict(BaseModel):
    valid: bool
    detail: str


# --- parties, causes, cases, places, graph -----------------------------------------------------


class Party(BaseModel):
    id: str
    kind: str
    name: str
    identifier_kind: str | None
    identifier: str | None = Field(description="masked; the clear number is never kept")
    department_id: str
    created_at: datetime


class Cause(BaseModel):
    code: str
    name: str


class CaseSummary(BaseModel):
    id: str
    department_id: str
    case_number: str
    kind: str
    title: str
    status: str
    cause_code: str | None
    opened_at: datetime
    closed_at: datetime | None


class CaseDetail(CaseSummary):
    evidence_ids: list[str]
    party_ids: list[str]
    place_ids: list[str]


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None


class PlacePublic(BaseModel):
    id: str
    address: str
    lat: float | None
    lon: float | None
    department_id: str
    created_at: datetime
    distance_m: float | None = Field(None, description="only in a search near a point")


class PlacePage(BaseModel):
    items: list[PlacePublic]
    next_cursor: str | None


class GraphNode(BaseModel):
    id: str
    kind: str
    label: str
    depth: int


class GraphEdge(BaseModel):
    source: str
    target: str
    kind: str


class Graph(BaseModel):
    nodes: list[GraphNode]
    edges: list[GraphEdge]


# --- evidence lists ----------------------------------------------------------------------------


class ListCase(Open):
    id: str
    case_number: str
    title: str
    kind: str
    department_id: str
    department: str


class ListParty(BaseModel):
    name: str
    identifier: str | None


class ListItemSource(Open):
    officer: str
    captured_at: str
    place: str | None
    port: str


class ListItem(Open):
    number: int
    evidence_id: str
    name: str
    source: ListItemSource
    purpose: str
    size: int
    pages: int | None
    sha256: str


class EvidenceListBody(Open):
    """The list's body (``evidence-list/1``); an issued one also carries its issue facts."""

    format: str
    case: ListCase
    parties: list[ListParty]
    items: list[ListItem]


class CurrentEvidenceList(BaseModel):
    body: EvidenceListBody
    digest: str = Field(description="SHA-256 of the body's JCS bytes")


class IssuedEvidenceList(BaseModel):
    id: str
    body: EvidenceListBody
    digest: str
    seal: dict[str, Any] = Field(description="the department's seal record over the digest")
    merkle: MerklePath | None
    anchor: AnchorSection | None


class IssuedEvidenceListRow(BaseModel):
    id: str
    digest: str
    issued_at: datetime
    issued_by: str


class ListReference(BaseModel):
    id: str
    case_number: str
    issued_at: str


class EvidenceListVerdict(Verdict):
    list: ListReference
    document: IssuedEvidenceList | None = Field(None, description="for a signed-in caller only")


# --- anchoring ---------------------------------------------------------------------------------


class Trust(Open):
    proof_format: str
    merkle_hash: str
    chain_id: int | None
    contract: str | None
    ca_certificates: list[str] = Field(description="the department CAs (PEM)")
    crls: list[str] = Field(description="their current revocation lists (PEM)")
    chain: str = Field(description="embedded or json-rpc")
    chain_rpc: str | None


class Batch(BaseModel):
    id: int
    status: str
    root: str
    tree_size: int
    custody_seq: int
    custody_head: str
    closed_at: datetime
    chain_id: int | None
    contract: str | None
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    block_timestamp: int | None
    gas_used: int | None
    anchored_at: datetime | None
    attempts: int
    last_error: str | None


class JsonRpcError(Open):
    code: int
    message: str
    data: Any = None


class JsonRpcAnswer(BaseModel):
    """One JSON-RPC 2.0 answer: ``result``, or ``error``."""

    jsonrpc: str
    id: Any = None
    result: Any = None
    error: JsonRpcError | None = None


# --- packages and transfers --------------------------------------------------------------------


class PackageCheck(BaseModel):
    subject: str
    step: str
    status: str
    failure: str | None
    detail: str


class PackageVerdict(Open):
    """Every check of an evidence package (``PackageVerdict.as_json``)."""

    format: str
    valid: bool
    failure: str | None
    subject: str | None
    manifest_sha256: str | None
    trust_source: str
    transfer: dict[str, Any] | None
    items: int
    hashed_bytes: int
    hashing_seconds: float
    checking_seconds: float
    problems: list[PackageCheck]
    checks: list[PackageCheck]


class DepartmentRef(BaseModel):
    id: str
    name: str
    code: str


class TransferCase(BaseModel):
    id: str
    case_number: str
    title: str


class TransferSummary(BaseModel):
    id: str
    status: str
    from_department: DepartmentRef
    to_department: DepartmentRef
    case: TransferCase | None
    note: str | None
    manifest_digest: str
    item_count: int
    created_by: str
    created_at: datetime
    opened_at: datetime | None
    valid: bool | None = Field(description="the last opening's verdict; null before one")
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    receipt_digest: str | None


class TransferPage(BaseModel):
    items: list[TransferSummary]
    next_cursor: str | None


class TransferItem(BaseModel):
    evidence_id: str
    title: str
    port: str
    media_type: str
    size: int
    sha256: str


class LeafState(BaseModel):
    state: str = Field(description="pending, batched or anchored")
    leaf_hash: str
    merkle: MerklePath | None
    anchor: AnchorSection | None


class TransferReceipt(BaseModel):
    transfer_id: str
    receipt: dict[str, Any] = Field(description="evidence-transfer-receipt/1")
    digest: str | None
    seal: dict[str, Any] | None
    anchor: LeafState | None


class TransferDocument(TransferSummary):
    items: list[TransferItem]
    evidence_list: dict[str, Any] | None
    seal: dict[str, Any] = Field(description="the sender's seal record over the manifest")
    manifest_anchor: LeafState | None
    verdict: PackageVerdict | None
    receipt: TransferReceipt | None


class ReceiptState(BaseModel):
    digest: str
    anchor: LeafState | None


class CheckedPackageVerdict(PackageVerdict):
    checked_at: str | None = None


class TransferVerification(BaseModel):
    manifest_digest: str
    transfer_id: str
    status: str
    sender: DepartmentRef
    recipient: DepartmentRef
    created_at: str
    decided_at: datetime | None
    manifest_anchor: LeafState | None
    receipt: ReceiptState | None
    verdict: CheckedPackageVerdict = Field(
        description="whole for the transfer's two ends; without titles and file names otherwise"
    )
