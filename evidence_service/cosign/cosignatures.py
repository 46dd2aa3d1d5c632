"""Multi-department co-signatures: several departments attest one record with one BLS aggregate.

The signed message names its subject and format, so an aggregate cannot be replayed for another
record: ``JCS({"format": "evidence-cosign/1", "subject": "statement" | "batch", "id": …,
"sha256": SHA-256 of the statement's JCS bytes | the batch root})``. Each department's key is
generated here with a proof of possession (checked before use, against rogue-key attacks) and
its secret is sealed with AES-GCM under a key derived (scrypt) from EVIDENCE_KEY_PASSPHRASE.
Creating and verifying a co-signature are custody events.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from typing import Any, Literal

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from evidence_service.access.models import Department, DepartmentBlsKey
from evidence_service.access.pki import Pki
from evidence_service.anchoring.models import AnchorBatch
from evidence_service.capture.ingest import new_id
from evidence_service.capture.models import Evidence
from evidence_service.core.db import session_scope
from evidence_service.core.errors import BadRequestError, NotFoundError
from evidence_service.cosign.models import CoSignature
from evidence_service.custody.log import append_event
from signing import bls
from signing.errors import VerificationError
from signing.jcs import canonicalize

COSIGN_FORMAT = "evidence-cosign/1"
SECRET_AAD = b"evidence-bls-secret/1"
MAX_SIGNERS = 32
SubjectKind = Literal["statement", "batch"]


def cosign_message(kind: SubjectKind, subject_id: str, digest_hex: str) -> bytes:
    return canonicalize(
        {"format": COSIGN_FORMAT, "subject": kind, "id": subject_id, "sha256": digest_hex}
    )


class CoSigner:
    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self._secrets: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- sealed secrets -------------------------------------------------------------------------
    def _kek(self, salt: bytes) -> AESGCM:
        key = Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(self.pki.passphrase)
        return AESGCM(key)

    def _seal(self, secret: int) -> str:
        salt, nonce = os.urandom(16), os.urandom(12)
        sealed = self._kek(salt).encrypt(nonce, secret.to_bytes(32, "big"), SECRET_AAD)
        return base64.b64encode(salt + nonce + sealed).decode()

    def _open(self, department_id: str, sealed_b64: str) -> int:
        with self._lock:
            cached = self._secrets.get(department_id)
        if cached is not None:
            return cached
        raw = base64.b64decode(sealed_b64)
        secret = int.from_bytes(self._kek(raw[:16]).decrypt(raw[16:28], raw[28:], SECRET_AAD))
        with self._lock:
            self._secrets[department_id] = secret
        return secret

    def _department_key(self, session: Session, department_id: str) -> DepartmentBlsKey:
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

    # -- subjects -------------------------------------------------------------------------------
    def _message(
        self, session: Session, kind: SubjectKind, subject_id: str
    ) -> tuple[bytes, str | None]:
        """The message for a subject as it stands now, and the evidence id it concerns."""
        if kind == "statement":
            evidence = session.get(Evidence, subject_id)
            if evidence is None:
                raise NotFoundError(f"no evidence {subject_id}")
            digest = hashlib.sha256(canonicalize(evidence.statement)).hexdigest()
            return cosign_message(kind, subject_id, digest), evidence.id
        batch = session.get(AnchorBatch, int(subject_id)) if subject_id.isdigit() else None
        if batch is None:
            raise NotFoundError(f"no batch {subject_id}")
        return cosign_message(kind, subject_id, batch.root), None

    # -- co-sign and verify ---------------------------------------------------------------------
    def cosign(
        self, kind: SubjectKind, subject_id: str, department_ids: list[str], *, actor_id: str
    ) -> CoSignature:
        if not department_ids or len(set(department_ids)) != len(department_ids):
            raise BadRequestError("name each co-signing department once")
        if len(department_ids) > MAX_SIGNERS:
            raise BadRequestError(f"at most {MAX_SIGNERS} departments co-sign one record")
        with session_scope(self.pki.engine) as session:
            message, evidence_id = self._message(session, kind, subject_id)
            keys = [self._department_key(session, d) for d in department_ids]
            signatures = [
                bls.sign(self._open(k.department_id, k.secret_key), message) for k in keys
            ]
            aggregate = bls.aggregate(signatures)
            public_keys = [bytes.fromhex(k.public_key) for k in keys]
            bls.fast_aggregate_verify(public_keys, message, aggregate)  # never store a bad one
            now = self.pki.clock()
            row = CoSignature(
                id=new_id(),
                subject_kind=kind,
                subject_id=subject_id,
                message=message.decode(),
                department_ids=department_ids,
                public_keys=[k.public_key for k in keys],
                aggregate=aggregate.hex(),
                created_by=actor_id,
                created_at=now,
            )
            session.add(row)
            append_event(
                session,
                action="co_signed",
                at=now,
                evidence_id=evidence_id,
                actor_id=actor_id,
                details={"cosignature_id": row.id, "departments": department_ids},
            )
        return row

    def verify(self, cosignature_id: str, *, actor_id: str, department_id: str) -> dict[str, Any]:
        """Check the stored aggregate against the subject as it stands now and the departments'
        registered keys (with their proofs of possession). A custody event either way."""
        with session_scope(self.pki.engine) as session:
            row = session.get(CoSignature, cosignature_id)
            if row is None:
                raise NotFoundError(f"no co-signature {cosignature_id}")
            kind: SubjectKind = "statement" if row.subject_kind == "statement" else "batch"
            message, evidence_id = self._message(session, kind, row.subject_id)
            keys = session.exec(
                select(DepartmentBlsKey).where(
                    col(DepartmentBlsKey.department_id).in_(row.department_ids)
                )
            ).all()
            by_department = {k.department_id: k for k in keys}
            problem = None
            try:
                for d, pk in zip(row.department_ids, row.public_keys, strict=True):
                    registered = by_department.get(d)
                    if registered is None or registered.public_key != pk:
                        raise VerificationError(f"department {d} has no such registered key")
                    bls.pop_verify(bytes.fromhex(pk), bytes.fromhex(registered.proof_of_possession))
                if message.decode() != row.message:
                    raise VerificationError("the record changed since it was co-signed")
                bls.fast_aggregate_verify(
                    [bytes.fromhex(pk) for pk in row.public_keys],
                    message,
                    bytes.fromhex(row.aggregate),
                )
            except VerificationError as exc:
                problem = exc.detail
            append_event(
                session,
                action="co_signature_verified",
                at=self.pki.clock(),
                evidence_id=evidence_id,
                actor_id=actor_id,
                department_id=department_id,
                details={"cosignature_id": row.id, "valid": problem is None},
            )
        return {"valid": problem is None, "detail": problem or "every department's key signed"}


def cosignature_public(row: CoSignature, session: Session) -> dict[str, Any]:
    keys = {
        k.department_id: k
        for k in session.exec(
            select(DepartmentBlsKey).where(
                col(DepartmentBlsKey.department_id).in_(row.department_ids)
            )
        ).all()
    }
    return {
        "id": row.id,
        "subject": {"kind": row.subject_kind, "id": row.subject_id},
        "ciphersuite": "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
        "message": row.message,
        "signers": [
            {
                "department_id": d,
                "public_key": pk,
                "proof_of_possession": keys[d].proof_of_possession if d in keys else None,
            }
            for d, pk in zip(row.department_ids, row.public_keys, strict=True)
        ],
        "aggregate_signature": row.aggregate,
        "created_at": row.created_at,
    }


def cosignature_document(engine: Engine, row: CoSignature) -> dict[str, Any]:
    """A co-signature as the API shows it (:func:`cosignature_public`), read now."""
    with Session(engine) as session:
        return cosignature_public(row, session)


def find_cosignature(engine: Engine, cosignature_id: str) -> dict[str, Any]:
    """The co-signature with this id as the API shows it; NotFoundError for no such one."""
    with Session(engine) as session:
        row = session.get(CoSignature, cosignature_id)
        if row is None:
            raise NotFoundError(f"no co-signature {cosignature_id}")
        return cosignature_public(row, session)
