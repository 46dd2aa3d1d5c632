"""What a co-signature signs and with which keys: the message, the subject it names, and each
department's BLS key.

The signed message names its subject and format, so an aggregate cannot be replayed for another
record: ``JCS({"format": "evidence-cosign/1", "subject": "statement" | "batch", "id": …,
"sha256": SHA-256 of the statement's JCS bytes | the batch root})``. Each department's key is
generated here on its first signature, with a proof of possession (checked before use, against
rogue-key attacks), and its secret is sealed with AES-GCM under a key derived (scrypt) from
EVIDENCE_KEY_PASSPHRASE. Nothing here decides *whether* a department signs: that is the request
workflow's (``cosign/workflow.py``), which calls :meth:`CoSigner.aggregate` only once every named
department has approved.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlmodel import Session, col, select

from evidence_service.access.models import Department, DepartmentBlsKey
from evidence_service.access.pki import Pki
from evidence_service.anchoring.models import AnchorBatch
from evidence_service.capture.models import Evidence
from evidence_service.core.errors import NotFoundError
from evidence_service.cosign.models import CoSignature
from signing import bls
from signing.errors import VerificationError
from signing.jcs import canonicalize

COSIGN_FORMAT = "evidence-cosign/1"
CIPHERSUITE = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
SECRET_AAD = b"evidence-bls-secret/1"
SubjectKind = Literal["statement", "batch"]
_MAX_BATCH_ID = 2**63 - 1  # the batch id column is a signed 64-bit integer


def cosign_message(kind: SubjectKind, subject_id: str, digest_hex: str) -> bytes:
    return canonicalize(
        {"format": COSIGN_FORMAT, "subject": kind, "id": subject_id, "sha256": digest_hex}
    )


@dataclass(frozen=True)
class Subject:
    """A record to co-sign, as it stands now."""

    kind: SubjectKind
    id: str
    message: bytes
    evidence_id: str | None  # a statement's item (custody events go there); None for a batch
    department_id: str | None  # the item's department; None for a batch (everyone sees one)


def find_subject(session: Session, kind: SubjectKind, subject_id: str) -> Subject:
    """The subject with this id and the message for it now; NotFoundError if there is none."""
    if kind == "statement":
        evidence = session.get(Evidence, subject_id)
        if evidence is None:
            raise NotFoundError(f"no evidence {subject_id}")
        digest = hashlib.sha256(canonicalize(evidence.statement)).hexdigest()
        message = cosign_message(kind, subject_id, digest)
        return Subject(kind, subject_id, message, evidence.id, evidence.department_id)
    batch = None
    if subject_id.isascii() and subject_id.isdigit() and int(subject_id) <= _MAX_BATCH_ID:
        batch = session.get(AnchorBatch, int(subject_id))
    if batch is None:
        raise NotFoundError(f"no batch {subject_id}")
    return Subject(kind, subject_id, cosign_message(kind, subject_id, batch.root), None, None)


@dataclass(frozen=True)
class Aggregate:
    public_keys: list[str]  # hex, one per department, in the departments' order
    signature: str  # hex, 96 bytes


class CoSigner:
    """The departments' BLS keys: created on first use, secrets sealed at rest."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self._secrets: dict[tuple[str, str], int] = {}  # (department, public key) -> secret
        self._lock = threading.Lock()

    def _kek(self, salt: bytes) -> AESGCM:
        key = Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(self.pki.passphrase)
        return AESGCM(key)

    def _seal(self, secret: int) -> str:
        salt, nonce = os.urandom(16), os.urandom(12)
        sealed = self._kek(salt).encrypt(nonce, secret.to_bytes(32, "big"), SECRET_AAD)
        return base64.b64encode(salt + nonce + sealed).decode()

    def _open(self, key: DepartmentBlsKey) -> int:
        # Keyed by the public key too: a key made in a transaction that rolled back must not
        # stand in for the one the department has now.
        cache_key = (key.department_id, key.public_key)
        with self._lock:
            cached = self._secrets.get(cache_key)
        if cached is not None:
            return cached
        raw = base64.b64decode(key.secret_key)
        secret = int.from_bytes(self._kek(raw[:16]).decrypt(raw[16:28], raw[28:], SECRET_AAD))
        with self._lock:
            self._secrets[cache_key] = secret
        return secret

    def department_key(self, session: Session, department_id: str) -> DepartmentBlsKey:
        """The department's key, made (with its proof of possession) on first use."""
        row = session.get(DepartmentBlsKey, department_id)
        if row is not None:
            return row
        if session.get(Department, department_id) is None:
            raise NotFoundError(f"no department {department_id}")
        pair = bls.keygen(os.urandom(32))
        proof = bls.pop_prove(pair.secret_key)
        bls.pop_verify(pair.public_key, proof)
        row = DepartmentBlsKey(
            department_id=department_id,
            public_key=pair.public_key.hex(),
            proof_of_possession=proof.hex(),
            secret_key=self._seal(pair.secret_key),
            created_at=self.pki.clock(),
        )
        session.add(row)
        session.flush()
        return row

    def aggregate(self, session: Session, department_ids: list[str], message: bytes) -> Aggregate:
        """Each department's key signs ``message``; the aggregate is checked before it is
        returned (a bad one is never stored). Call only with every department's consent."""
        keys = [self.department_key(session, d) for d in department_ids]
        aggregate = bls.aggregate([bls.sign(self._open(k), message) for k in keys])
        public_keys = [bytes.fromhex(k.public_key) for k in keys]
        bls.fast_aggregate_verify(public_keys, message, aggregate)
        return Aggregate([k.public_key for k in keys], aggregate.hex())


def registered_keys(session: Session, department_ids: list[str]) -> dict[str, DepartmentBlsKey]:
    rows = session.exec(
        select(DepartmentBlsKey).where(col(DepartmentBlsKey.department_id).in_(department_ids))
    ).all()
    return {k.department_id: k for k in rows}


def verify_aggregate(session: Session, row: CoSignature, message_now: bytes) -> None:
    """Check a stored aggregate against its subject's message now and the departments'
    registered keys (with their proofs of possession); VerificationError says what failed."""
    registered = registered_keys(session, row.department_ids)
    for department_id, public_key in zip(row.department_ids, row.public_keys, strict=True):
        key = registered.get(department_id)
        if key is None or key.public_key != public_key:
            raise VerificationError(f"department {department_id} has no such registered key")
        bls.pop_verify(bytes.fromhex(public_key), bytes.fromhex(key.proof_of_possession))
    if message_now.decode() != row.message:
        raise VerificationError("the record changed since it was co-signed")
    bls.fast_aggregate_verify(
        [bytes.fromhex(pk) for pk in row.public_keys],
        message_now,
        bytes.fromhex(row.aggregate),
    )
