"""SQL tables (SQLModel), one model family per resource.

``<Name>`` is the table; ``<Name>Public`` what the API returns; ``<Name>Create`` what it accepts.
Identifiers are ULIDs (sortable by creation time). Datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from evidence_service.db import UTCDateTime


def _utc_column(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kw))


class DepartmentKind(StrEnum):
    inspection = "inspection"
    penalty = "penalty"
    court = "court"
    audit = "audit"


class Role(StrEnum):
    officer = "officer"
    reviewer = "reviewer"
    penalty = "penalty"
    court = "court"
    auditor = "auditor"
    admin = "admin"


# --- departments -------------------------------------------------------------------------------


class DepartmentBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    kind: DepartmentKind
    code: str = Field(min_length=1, max_length=64, unique=True, index=True)


class Department(DepartmentBase, table=True):
    id: str = Field(primary_key=True, max_length=26)
    created_at: datetime = _utc_column(nullable=False)


class DepartmentCreate(DepartmentBase):
    pass


class DepartmentPublic(DepartmentBase):
    id: str
    created_at: datetime


# --- officers (every person or device account) -------------------------------------------------


class OfficerBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    department_id: str = Field(foreign_key="department.id", index=True, max_length=26)
    cert_no: str | None = Field(default=None, max_length=64, description="执法证号")


class Officer(OfficerBase, table=True):
    id: str = Field(primary_key=True, max_length=26)
    active: bool = True
    created_at: datetime = _utc_column(nullable=False)


class OfficerCreate(OfficerBase):
    pass


class OfficerPublic(OfficerBase):
    id: str
    active: bool
    created_at: datetime


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 is stored."""

    id: str = Field(primary_key=True, max_length=26)
    token_sha256: str = Field(unique=True, index=True, max_length=64)
    officer_id: str = Field(foreign_key="officer.id", index=True, max_length=26)
    kind: str = Field(default="person", max_length=16)  # person | device
    label: str = Field(default="", max_length=200)
    created_at: datetime = _utc_column(nullable=False)
    revoked_at: datetime | None = _utc_column(nullable=True)


# --- evidence ----------------------------------------------------------------------------------


class Evidence(SQLModel, table=True):
    __table_args__ = (
        Index("ix_evidence_dept_received", "department_id", "received_at", "id"),
        Index("ix_evidence_officer_received", "officer_id", "received_at", "id"),
        Index("ix_evidence_port_received", "port", "received_at", "id"),
        Index("ix_evidence_captured", "captured_at", "id"),
        Index("ix_evidence_position", "location_lat", "location_lon"),
    )

    id: str = Field(primary_key=True, max_length=26)
    port: str = Field(max_length=32)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    captured_at: datetime = _utc_column(nullable=False)
    received_at: datetime = _utc_column(nullable=False)
    officer_id: str = Field(foreign_key="officer.id", max_length=26)
    department_id: str = Field(foreign_key="department.id", max_length=26)
    original_filename: str | None = Field(default=None, max_length=255)
    location_lat: float | None = None
    location_lon: float | None = None
    location_address: str | None = Field(default=None, max_length=500)
    tags: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    capture_metadata: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    metadata_sha256: str = Field(max_length=64)
    media_type: str = Field(max_length=128)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64, index=True)
    sm3: str = Field(max_length=64)
    extracted: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    statement: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    statement_sha256: str = Field(max_length=64)
    #: The PROOF_FORMAT.md `signature` block, when the officer's statement is signed.
    signature: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    object_key: str = Field(max_length=512)
    #: Where the bytes sit until finalize when they were assembled elsewhere (resumable uploads).
    temp_key: str | None = Field(default=None, max_length=512)
    finalized: bool = Field(default=False, index=True)
    upload_session_id: str | None = Field(default=None, max_length=26)
    chunk_chain_head: str | None = Field(default=None, max_length=64)
    chunk_count: int | None = None
    #: COMPLIANCE retention set on the stored objects (per port category); removal is refused
    #: before it passes.
    retention_until: datetime | None = _utc_column(nullable=True)
    #: A legal hold set by an admin (with a reason, as a custody event); removal is refused.
    legal_hold: bool = False
    #: When the stored bytes were removed after retention ran out (the row, statement and proof
    #: stay, so the record of what existed survives its disposal).
    disposed_at: datetime | None = _utc_column(nullable=True)


class DerivedObject(SQLModel, table=True):
    """A file a port derived from an evidence item (thumbnail, rendering, readable record)."""

    id: str = Field(primary_key=True, max_length=26)
    evidence_id: str = Field(foreign_key="evidence.id", index=True, max_length=26)
    role: str = Field(max_length=32)
    media_type: str = Field(max_length=128)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    object_key: str = Field(max_length=512)


class PendingIntake(SQLModel, table=True):
    """Written before an upload's bytes go to its final key; removed with the evidence row's
    commit. A row left behind by a crash tells the reaper which unlocked objects to remove."""

    id: str = Field(primary_key=True, max_length=26)  # the evidence id
    object_key: str = Field(max_length=512)
    started_at: datetime = _utc_column(nullable=False, index=True)


# --- custody log -------------------------------------------------------------------------------


class CustodyEvent(SQLModel, table=True):
    """One append-only row of the custody log: hash = SHA-256(prev_hash ‖ JCS(event))."""

    __table_args__ = (Index("ix_custody_evidence_seq", "evidence_id", "seq"),)

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    evidence_id: str | None = Field(default=None, max_length=26)
    action: str = Field(max_length=32)
    actor_id: str | None = Field(default=None, max_length=26)
    department_id: str | None = Field(default=None, max_length=26)
    at: datetime = _utc_column(nullable=False)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


# --- resumable uploads -------------------------------------------------------------------------


class UploadStatus(StrEnum):
    open = "open"
    completed = "completed"
    aborted = "aborted"
    expired = "expired"


class UploadSession(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=26)
    port: str = Field(max_length=32)
    capture_metadata: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    filename: str | None = Field(default=None, max_length=255)
    officer_id: str = Field(foreign_key="officer.id", index=True, max_length=26)
    department_id: str = Field(foreign_key="department.id", max_length=26)
    declared_size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    declared_sha256: str | None = Field(default=None, max_length=64)
    offset: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    chunk_count: int = 0
    chain_head: str = Field(max_length=64)
    tail_received: bool = False  # a short (final) part arrived; only completion may follow
    status: UploadStatus = Field(default=UploadStatus.open, index=True)
    temp_key: str = Field(max_length=512)
    store_upload_id: str = Field(max_length=1024)
    evidence_id: str | None = Field(default=None, max_length=26)
    created_at: datetime = _utc_column(nullable=False)
    updated_at: datetime = _utc_column(nullable=False)
    expires_at: datetime = _utc_column(nullable=False)


class UploadChunk(SQLModel, table=True):
    """One received chunk; ``chain_hash`` = SHA-256(previous chain hash ‖ sha256(chunk))."""

    session_id: str = Field(foreign_key="uploadsession.id", primary_key=True, max_length=26)
    part_number: int = Field(primary_key=True)
    offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    etag: str = Field(max_length=128)
    chain_hash: str = Field(max_length=64)
    received_at: datetime = _utc_column(nullable=False)


# --- idempotency -------------------------------------------------------------------------------


class IdempotencyRecord(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("actor_id", "key", name="uq_idempotency_actor_key"),)

    id: int | None = Field(default=None, primary_key=True)
    actor_id: str = Field(max_length=26)
    key: str = Field(max_length=255)
    route: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc_column(nullable=False)


# --- anchoring ---------------------------------------------------------------------------------

#: A 64-bit integer key that SQLite still treats as its auto-incrementing rowid.
AutoBigInt = BigInteger().with_variant(Integer(), "sqlite")


class LeafKind(StrEnum):
    statement = "statement"  # JCS bytes of a capture statement
    evidence_list = "evidence_list"  # JCS bytes of an issued evidence list
    custody_head = "custody_head"  # the custody log head when the batch closed
    transfer_manifest = "transfer_manifest"  # JCS bytes of a sealed transfer manifest
    transfer_receipt = "transfer_receipt"  # JCS bytes of a recipient's sealed receipt


class AnchorLeaf(SQLModel, table=True):
    """One Merkle leaf. Written pending (no batch) in the capture transaction; the anchoring
    worker assigns it a batch and its index in that batch's tree."""

    __table_args__ = (
        Index("ix_anchorleaf_pending", "batch_id", "seq"),
        Index("ix_anchorleaf_batch_index", "batch_id", "leaf_index", unique=True),
    )

    seq: int | None = Field(default=None, sa_column=Column(AutoBigInt, primary_key=True))
    kind: LeafKind = Field(max_length=20)
    evidence_id: str | None = Field(default=None, max_length=26, unique=True)
    leaf_hash: str = Field(max_length=64)
    batch_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("anchorbatch.id"), nullable=True)
    )
    leaf_index: int | None = None
    created_at: datetime = _utc_column(nullable=False)


class BatchStatus(StrEnum):
    closed = "closed"  # tree built and recorded; waiting for (or retrying) its anchor
    anchored = "anchored"  # the root is mined on chain; the anchor facts are recorded


class AnchorBatch(SQLModel, table=True):
    id: int | None = Field(default=None, sa_column=Column(AutoBigInt, primary_key=True))
    status: BatchStatus = Field(default=BatchStatus.closed, max_length=16, index=True)
    root: str = Field(max_length=64, unique=True)
    tree_size: int
    custody_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    custody_head: str = Field(max_length=64)
    closed_at: datetime = _utc_column(nullable=False)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=1000)
    next_attempt_at: datetime | None = _utc_column(nullable=True)
    chain_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    contract: str | None = Field(default=None, max_length=42)
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    block_hash: str | None = Field(default=None, max_length=66)
    block_timestamp: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    gas_used: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    anchored_at: datetime | None = _utc_column(nullable=True)


class ChainDeployment(SQLModel, table=True):
    """The AnchorRegistry this service anchors into, per chain."""

    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    contract: str = Field(max_length=42)
    created_at: datetime = _utc_column(nullable=False)


# --- certificates (department CAs, officer certificates) ----------------------------------------


class DepartmentCA(SQLModel, table=True):
    """A department's certificate authority; its key is encrypted at rest."""

    department_id: str = Field(primary_key=True, foreign_key="department.id", max_length=26)
    certificate: str = Field(sa_column=Column(Text, nullable=False))  # PEM
    private_key: str = Field(sa_column=Column(Text, nullable=False))  # encrypted PKCS#8 PEM
    crl: str = Field(sa_column=Column(Text, nullable=False))  # PEM, reissued on each revocation
    created_at: datetime = _utc_column(nullable=False)


class OfficerCertificate(SQLModel, table=True):
    """An officer certificate issued by the department CA. Custodial certificates keep the
    officer's private key here, encrypted, and the service signs captures with it."""

    serial: str = Field(primary_key=True, max_length=64)  # decimal; X.509 serials exceed int64
    officer_id: str = Field(foreign_key="officer.id", index=True, max_length=26)
    department_id: str = Field(foreign_key="department.id", max_length=26)
    alg: str = Field(max_length=16)
    certificate: str = Field(sa_column=Column(Text, nullable=False))
    custodial: bool = False
    private_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    not_before: datetime = _utc_column(nullable=False)
    not_after: datetime = _utc_column(nullable=False)
    revoked_at: datetime | None = _utc_column(nullable=True)
    created_at: datetime = _utc_column(nullable=False)


class PreparedCapture(SQLModel, table=True):
    """Step one of a client-signed capture: the statement the server will build, handed to the
    officer's own key (a phone, a USB key) to sign before the file is sent."""

    id: str = Field(primary_key=True, max_length=26)  # the evidence id it reserves
    officer_id: str = Field(foreign_key="officer.id", index=True, max_length=26)
    port: str = Field(max_length=32)
    statement: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = _utc_column(nullable=False)
    expires_at: datetime = _utc_column(nullable=False, index=True)


class DepartmentSeal(SQLModel, table=True):
    """A department's e-seal (电子印章): a seal certificate from the department CA and its key,
    encrypted at rest. The seal code is the department's code."""

    department_id: str = Field(primary_key=True, foreign_key="department.id", max_length=26)
    seal_code: str = Field(max_length=64)
    certificate: str = Field(sa_column=Column(Text, nullable=False))
    private_key: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _utc_column(nullable=False)


class DepartmentBlsKey(SQLModel, table=True):
    """A department's BLS co-signing key (IETF BLS, G2 proof-of-possession suite)."""

    department_id: str = Field(primary_key=True, foreign_key="department.id", max_length=26)
    public_key: str = Field(max_length=96)  # hex, 48 bytes
    proof_of_possession: str = Field(max_length=192)  # hex, 96 bytes
    secret_key: str = Field(sa_column=Column(Text, nullable=False))  # AES-GCM sealed
    created_at: datetime = _utc_column(nullable=False)


class CoSignature(SQLModel, table=True):
    """One BLS aggregate signature by several departments over one record."""

    id: str = Field(primary_key=True, max_length=26)
    subject_kind: str = Field(max_length=16)  # statement | batch
    subject_id: str = Field(max_length=26, index=True)
    message: str = Field(sa_column=Column(Text, nullable=False))  # the signed bytes, as text
    department_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    public_keys: list[str] = Field(sa_column=Column(JSON, nullable=False))  # hex, same order
    aggregate: str = Field(max_length=192)  # hex, 96 bytes
    created_by: str = Field(max_length=26)
    created_at: datetime = _utc_column(nullable=False)


# --- cases, parties and the evidence graph --------------------------------------------------------


class PartyKind(StrEnum):
    person = "person"  # 自然人
    organisation = "organisation"  # 法人或其他组织


class Party(SQLModel, table=True):
    """行政相对人. The identifier is kept only as a keyed hash and a masked display form."""

    __table_args__ = (
        UniqueConstraint("identifier_kind", "identifier_hmac", name="uq_party_identifier"),
    )

    id: str = Field(primary_key=True, max_length=26)
    kind: PartyKind = Field(max_length=16)
    name: str = Field(max_length=200)
    identifier_kind: str | None = Field(default=None, max_length=16)
    identifier_hmac: str | None = Field(default=None, max_length=64, index=True)
    identifier_masked: str | None = Field(default=None, max_length=32)
    department_id: str = Field(foreign_key="department.id", max_length=26)
    created_at: datetime = _utc_column(nullable=False)


class Place(SQLModel, table=True):
    """A place where evidence was captured or that a case concerns: an address, with an
    optional position (WGS-84 degrees). Capture locations become places automatically."""

    __table_args__ = (Index("ix_place_position", "lat", "lon"),)

    id: str = Field(primary_key=True, max_length=26)
    address: str = Field(default="", max_length=500)
    lat: float | None = None
    lon: float | None = None
    department_id: str = Field(foreign_key="department.id", index=True, max_length=26)
    created_at: datetime = _utc_column(nullable=False)


class CaseKind(StrEnum):
    inspection = "inspection"
    penalty = "penalty"
    complaint = "complaint"
    permit = "permit"
    reconsideration = "reconsideration"


class CaseStatus(StrEnum):
    open = "open"
    closed = "closed"


class Cause(SQLModel, table=True):
    """违法案由: an extendable catalogue of violation causes."""

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)


class Case(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("department_id", "case_number", name="uq_case_department_number"),
    )

    id: str = Field(primary_key=True, max_length=26)
    department_id: str = Field(foreign_key="department.id", index=True, max_length=26)
    case_number: str = Field(max_length=64)
    kind: CaseKind = Field(max_length=16)
    title: str = Field(max_length=200)
    status: CaseStatus = Field(default=CaseStatus.open, max_length=16)
    cause_code: str | None = Field(default=None, foreign_key="cause.code", max_length=32)
    opened_at: datetime = _utc_column(nullable=False)
    closed_at: datetime | None = _utc_column(nullable=True)
    created_by: str = Field(max_length=26)


class GraphEdge(SQLModel, table=True):
    """A typed edge between two graph nodes (evidence, case, party, place, officer, cause)."""

    __table_args__ = (
        UniqueConstraint("kind", "source_id", "target_id", name="uq_edge"),
        Index("ix_edge_source", "source_id", "kind"),
        Index("ix_edge_target", "target_id", "kind"),
    )

    id: int | None = Field(default=None, sa_column=Column(AutoBigInt, primary_key=True))
    kind: str = Field(max_length=32)
    source_kind: str = Field(max_length=16)
    source_id: str = Field(max_length=64)
    target_kind: str = Field(max_length=16)
    target_id: str = Field(max_length=64)
    created_by: str | None = Field(default=None, max_length=26)
    created_at: datetime = _utc_column(nullable=False)


class EvidenceTag(SQLModel, table=True):
    """A typed tag on an item as it stands now (capture-time tags included). Tags are later
    facts about an item: adding and removing them are custody events; the statement stays."""

    __table_args__ = (
        UniqueConstraint("evidence_id", "type", "value", name="uq_evidence_tag"),
        Index("ix_evidencetag_type_value", "type", "value", "evidence_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(AutoBigInt, primary_key=True))
    evidence_id: str = Field(foreign_key="evidence.id", max_length=26)
    type: str = Field(max_length=16)
    value: str = Field(max_length=200)
    created_by: str | None = Field(default=None, max_length=26)
    created_at: datetime = _utc_column(nullable=False)


class CaseEvidenceEntry(SQLModel, table=True):
    """An item's place in its case's evidence list (证据清单) and what it proves (证明目的)."""

    case_id: str = Field(primary_key=True, foreign_key="case.id", max_length=26)
    evidence_id: str = Field(primary_key=True, foreign_key="evidence.id", max_length=26)
    position: int
    purpose: str = Field(default="", max_length=1000)


class EvidenceList(SQLModel, table=True):
    """An issued evidence list: its JCS body, sealed by the department and anchored as a leaf."""

    id: str = Field(primary_key=True, max_length=26)
    case_id: str = Field(foreign_key="case.id", index=True, max_length=26)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    digest: str = Field(max_length=64, index=True)  # SHA-256 of JCS(body); public look-up
    seal: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the seal record
    leaf_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    issued_by: str = Field(max_length=26)
    issued_at: datetime = _utc_column(nullable=False)


# --- transfers (移送) --------------------------------------------------------------------------


class TransferStatus(StrEnum):
    pending = "pending"  # sealed and in the recipient's inbox
    accepted = "accepted"  # the recipient sealed a receipt; its department may read the items
    rejected = "rejected"  # refused by the recipient, with a reason; grants nothing
    withdrawn = "withdrawn"  # taken back by the sender before a decision; grants nothing


class Transfer(SQLModel, table=True):
    """A package of evidence sent from one department to another, sealed by the sender."""

    __table_args__ = (
        Index("ix_transfer_to_created", "to_department_id", "created_at", "id"),
        Index("ix_transfer_from_created", "from_department_id", "created_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=26)
    from_department_id: str = Field(foreign_key="department.id", max_length=26)
    to_department_id: str = Field(foreign_key="department.id", max_length=26)
    case_id: str | None = Field(default=None, foreign_key="case.id", max_length=26)
    status: TransferStatus = Field(max_length=16)
    note: str | None = Field(default=None, max_length=2000)
    manifest: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # evidence-package/1
    manifest_digest: str = Field(max_length=64, unique=True, index=True)  # SHA-256 of JCS
    seal: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # sender's seal record
    manifest_leaf_seq: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_by: str = Field(max_length=26)
    created_at: datetime = _utc_column(nullable=False)
    verdict: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # last open
    opened_at: datetime | None = _utc_column(nullable=True)
    decided_by: str | None = Field(default=None, max_length=26)
    decided_at: datetime | None = _utc_column(nullable=True)
    reason: str | None = Field(default=None, max_length=2000)  # of a rejection or withdrawal
    receipt: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # JCS body
    receipt_digest: str | None = Field(default=None, max_length=64, index=True)
    receipt_seal: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    receipt_leaf_seq: int | None = Field(default=None, sa_column=Column(BigInteger))


class TransferGrant(SQLModel, table=True):
    """What an accepted transfer lets the recipient department read: one row per item."""

    department_id: str = Field(primary_key=True, foreign_key="department.id", max_length=26)
    evidence_id: str = Field(primary_key=True, foreign_key="evidence.id", max_length=26)
    transfer_id: str = Field(foreign_key="transfer.id", max_length=26, index=True)
    granted_at: datetime = _utc_column(nullable=False)
