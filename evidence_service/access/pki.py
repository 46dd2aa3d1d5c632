"""The service's certificate authority work: department CAs (and their rotation), officer
certificates, revocation, the trust bundle, and signing capture statements with custodial
officer keys — renewed before they expire (:mod:`evidence_service.access.custodial`).

Private keys (each department CA's, retired ones included, and custodial officer keys) are
stored encrypted (PKCS#8, ``EVIDENCE_KEY_PASSPHRASE``; by default a random passphrase generated
once into the data dir). Every issue, renewal, revocation and CA rotation is a custody event.

A rotated department CA is kept (:class:`RetiredDepartmentCA`): the trust bundle lists it with
its own validity, so statements its officer certificates signed still verify at their anchor
time, and revoking one of those certificates still reissues that CA's CRL.

The certificate that signs an officer's captures is read once and then remembered for
:data:`REMEMBER_SIGNING_SECONDS` (as long as it stays valid and not due for renewal), so a
stream of captures does not read it once each. That is safe because the capture confirms the
certificate unrevoked in the very transaction that records it
(:func:`~evidence_service.access.custodial.certificates_revoked`); what the remembered choice
can miss is a certificate issued, or a department CA rotated, on another replica in those
seconds (the certificate remembered, still valid and unrevoked, signs meanwhile; this process's
own revocations forget it at once).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from evidence_service.access.custodial import (
    custodial_certificate,
    custodial_plan,
    issued_by,
    signing_as_is,
    signs_as_is,
    unsigned_capture_refusal,
)
from evidence_service.access.models import (
    Department,
    DepartmentCA,
    DepartmentSeal,
    Officer,
    OfficerCertificate,
    RetiredDepartmentCA,
)
from evidence_service.core.clock import Clock, utcnow
from evidence_service.core.config import Settings
from evidence_service.core.db import lock_issuers, one_statement_bind, session_scope
from evidence_service.core.errors import BadRequestError, NotFoundError, UnsignedCaptureError
from evidence_service.core.ids import new_id
from evidence_service.core.remembered import Remembered
from evidence_service.core.secrets import generated_secret
from evidence_service.custody.log import append_event
from signing.cert_codec import load_certificate
from signing.cert_identity import OfficerIdentity
from signing.certs import (
    create_crl,
    create_department_ca,
    issue_officer_certificate,
    issue_seal_certificate,
)
from signing.errors import KeyFormatError
from signing.keys import (
    PrivateKey,
    PublicKey,
    alg_of,
    encrypt_private_key,
    generate_private_key,
    load_private_key,
    load_public_key,
)
from signing.seal import SealRecord, seal_document
from signing.statements import StatementSigner

PASSPHRASE_FILE = "keys.passphrase"
CA_VALID_DAYS = 3650
SEAL_VALID_DAYS = 1825
#: How long an officer's signing certificate, once read, is taken without reading it again.
REMEMBER_SIGNING_SECONDS = 2.0


def key_passphrase(settings: Settings) -> bytes:
    """The passphrase that encrypts keys at rest: the setting, else one generated once."""
    if settings.key_passphrase is not None:
        return settings.key_passphrase.get_secret_value().encode()
    return generated_secret(settings.data_dir / PASSPHRASE_FILE).encode()


@dataclass(frozen=True)
class TrustBundle:
    ca_certificates: list[str]
    crls: list[str]

    def as_bytes(self) -> tuple[list[bytes], list[bytes]]:
        return [c.encode() for c in self.ca_certificates], [c.encode() for c in self.crls]


def ca_public(certificate_pem: str, **facts: Any) -> dict[str, Any]:
    """A department CA certificate as the API shows it (PEM, serial, validity) and ``facts``."""
    cert = load_certificate(certificate_pem)
    return {
        "serial": str(cert.serial_number),
        "certificate": certificate_pem,
        "not_before": cert.not_valid_before_utc,
        "not_after": cert.not_valid_after_utc,
        **facts,
    }


def certificate_public(row: OfficerCertificate) -> dict[str, Any]:
    return {
        "serial": row.serial,
        "officer_id": row.officer_id,
        "department_id": row.department_id,
        "alg": row.alg,
        "certificate": row.certificate,
        "custodial": row.custodial,
        "not_before": row.not_before,
        "not_after": row.not_after,
        "revoked_at": row.revoked_at,
    }


def officer_certificates(engine: Engine, officer_id: str) -> list[OfficerCertificate]:
    """An officer's certificates, newest first; NotFoundError for no such officer."""
    with Session(engine) as session:
        if session.get(Officer, officer_id) is None:
            raise NotFoundError(f"no officer {officer_id}")
        return list(
            session.exec(
                select(OfficerCertificate)
                .where(OfficerCertificate.officer_id == officer_id)
                .order_by(col(OfficerCertificate.not_before).desc())
            ).all()
        )


class Pki:
    def __init__(self, engine: Engine, settings: Settings, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self._passphrase: bytes | None = None
        #: Decrypted custodial keys with their certificates, by serial (checked once each).
        self._signers: dict[str, StatementSigner] = {}
        #: By officer: the custodial certificate that last signed for them and its department's
        #: CA PEM, as read (:meth:`signing_certificate`).
        self._signing: Remembered[str, tuple[OfficerCertificate, str | None]] = Remembered(
            REMEMBER_SIGNING_SECONDS
        )
        self._lock = threading.Lock()

    @property
    def passphrase(self) -> bytes:
        if self._passphrase is None:
            self._passphrase = key_passphrase(self.settings)
        return self._passphrase

    # -- department CAs -------------------------------------------------------------------------
    def _department_ca(
        self, session: Session, department: Department, valid_from: datetime | None = None
    ) -> DepartmentCA:
        """The department's current CA: made on first use, and rotated when it would cut an
        officer certificate issued now short (it expires within ``officer_cert_days``).
        ``valid_from``: the earliest time a CA made here must cover (a capture's receipt time,
        when its officer's first certificate is issued for it)."""
        ca = session.get(DepartmentCA, department.id)
        if ca is None:
            return self._new_ca(session, department, valid_from=valid_from)
        expires = load_certificate(ca.certificate).not_valid_after_utc
        if expires - self.clock() < timedelta(days=self.settings.officer_cert_days):
            return self._rotate_ca_in(
                session, department, actor_id=None, reason="expiring", valid_from=valid_from
            )
        return ca

    def _new_ca(
        self,
        session: Session,
        department: Department,
        into: DepartmentCA | None = None,
        valid_from: datetime | None = None,
    ) -> DepartmentCA:
        """A fresh CA key and certificate for the department (written ``into`` its row), valid
        from now or the earlier ``valid_from``: a certificate it issues backdated to a capture's
        receipt time must chain to a CA that was valid then too."""
        now = self.clock()
        start = min(now, valid_from) if valid_from is not None else now
        key = generate_private_key("Ed25519")
        cert = create_department_ca(
            department_id=department.id,
            department_name=department.name,
            key=key,
            now=start,
            valid_days=CA_VALID_DAYS,
        )
        crl = create_crl(ca_cert_pem=cert, ca_key=key, revoked=[], now=start)
        ca = DepartmentCA(
            department_id=department.id,
            certificate=cert.decode(),
            private_key=encrypt_private_key(key, self.passphrase).decode(),
            crl=crl.decode(),
            created_at=now,
        )
        if into is not None:  # the department's row takes the new CA
            into.sqlmodel_update(ca.model_dump(exclude={"department_id"}))
            ca = into
        session.add(ca)
        session.flush()
        return ca

    def _ca_key(self, ca: DepartmentCA | RetiredDepartmentCA) -> PrivateKey:
        return load_private_key(ca.private_key.encode(), self.passphrase)

    def rotate_ca(
        self, department_id: str, *, actor_id: str | None, reason: str = "rotated"
    ) -> dict[str, Any]:
        """Replace the department's CA with a new key and certificate; the old one is kept
        (:class:`RetiredDepartmentCA`, still in the trust bundle), so everything it certified
        still verifies at its anchor time. Custodial officer certificates move to the new CA
        when their officer next captures; the department seal is certified anew when next
        used. A custody event. Answers :meth:`department_ca`."""
        with session_scope(self.engine) as session:
            lock_issuers(session)  # one CA writer at a time
            department = session.get(Department, department_id)
            if department is None:
                raise NotFoundError(f"no department {department_id}")
            self._rotate_ca_in(session, department, actor_id=actor_id, reason=reason)
        return self.department_ca(department_id)

    def _rotate_ca_in(
        self,
        session: Session,
        department: Department,
        *,
        actor_id: str | None,
        reason: str,
        valid_from: datetime | None = None,
    ) -> DepartmentCA:
        old = session.get(DepartmentCA, department.id)
        if old is None:
            return self._new_ca(session, department, valid_from=valid_from)
        now = self.clock()
        retired_serial = str(load_certificate(old.certificate).serial_number)
        session.add(
            RetiredDepartmentCA(
                id=new_id(),
                department_id=department.id,
                certificate=old.certificate,
                private_key=old.private_key,
                crl=old.crl,
                created_at=old.created_at,
                retired_at=now,
            )
        )
        ca = self._new_ca(session, department, into=old, valid_from=valid_from)
        seal = session.get(DepartmentSeal, department.id)
        if seal is not None:  # certified by the retired CA: the next seal gets a new key
            session.delete(seal)
        append_event(
            session,
            action="ca_rotated",
            at=now,
            actor_id=actor_id,
            department_id=department.id,
            details={
                "retired_serial": retired_serial,
                "serial": str(load_certificate(ca.certificate).serial_number),
                "reason": reason,
            },
        )
        return ca

    def department_ca(self, department_id: str) -> dict[str, Any]:
        """The department's current CA certificate and those it replaced, newest first (a
        department that never needed a CA has one made now)."""
        with session_scope(self.engine) as session:
            department = session.get(Department, department_id)
            if department is None:
                raise NotFoundError(f"no department {department_id}")
            ca = self._department_ca(session, department)
            retired = session.exec(
                select(RetiredDepartmentCA)
                .where(RetiredDepartmentCA.department_id == department_id)
                .order_by(col(RetiredDepartmentCA.retired_at).desc())
            ).all()
            return ca_public(
                ca.certificate,
                department_id=department_id,
                created_at=ca.created_at,
                retired=[
                    ca_public(r.certificate, created_at=r.created_at, retired_at=r.retired_at)
                    for r in retired
                ],
            )

    # -- officer certificates -------------------------------------------------------------------
    def issue(
        self,
        officer_id: str,
        *,
        public_key_pem: bytes | None = None,
        alg: Literal["Ed25519", "ES256"] = "Ed25519",
        actor_id: str | None = None,
    ) -> OfficerCertificate:
        """Issue an officer certificate for ``public_key_pem`` (the officer holds the key), or
        for a new custodial key kept here encrypted when no public key is given."""
        private_key: PrivateKey | None = None
        if public_key_pem is None:
            private_key = generate_private_key(alg)
            public_key = private_key.public_key()
        else:
            try:
                public_key = load_public_key(public_key_pem)
            except KeyFormatError as exc:
                raise BadRequestError(f"public_key_pem: {exc}") from exc
        with session_scope(self.engine) as session:
            officer = session.get(Officer, officer_id)
            if officer is None or not officer.active:
                raise NotFoundError(f"no active officer {officer_id}")
            return self.issue_in(
                session,
                officer,
                public_key=public_key,
                private_key=private_key,
                actor_id=actor_id,
            )

    def issue_in(
        self,
        session: Session,
        officer: Officer,
        *,
        public_key: PublicKey | None = None,
        private_key: PrivateKey | None = None,
        actor_id: str | None = None,
        renews: str | None = None,
        now: datetime | None = None,
    ) -> OfficerCertificate:
        """Issue in the caller's write ``session`` (so the certificate commits with what needs
        it, e.g. the officer it is made for): for ``public_key`` (the officer holds the key),
        else for ``private_key`` or a new Ed25519 key, kept here encrypted (custodial).
        ``renews``: the serial of the custodial certificate it replaces."""
        if public_key is None:
            private_key = private_key or generate_private_key("Ed25519")
            public_key = private_key.public_key()
        lock_issuers(session)  # one issuer at a time: a department's first CA is made once
        department = session.get(Department, officer.department_id)
        assert department is not None
        now = now or self.clock()
        ca = self._department_ca(session, department, valid_from=now)
        pem = issue_officer_certificate(
            ca_cert_pem=ca.certificate.encode(),
            ca_key=self._ca_key(ca),
            identity=OfficerIdentity(
                officer_id=officer.id,
                department_id=department.id,
                cert_no=officer.cert_no,
                name=officer.name,
            ),
            public_key=public_key,
            now=now,
            valid_days=self.settings.officer_cert_days,
        )
        cert = load_certificate(pem)
        row = OfficerCertificate(
            serial=str(cert.serial_number),
            officer_id=officer.id,
            department_id=department.id,
            alg=alg_of(public_key),
            certificate=pem.decode(),
            custodial=private_key is not None,
            private_key=(
                encrypt_private_key(private_key, self.passphrase).decode()
                if private_key is not None
                else None
            ),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            created_at=now,
        )
        session.add(row)
        details: dict[str, Any] = {
            "serial": row.serial,
            "officer_id": officer.id,
            "custodial": row.custodial,
        }
        if renews is not None:
            details["renews"] = renews
        append_event(
            session,
            action="certificate_issued",
            at=now,
            actor_id=actor_id,
            department_id=department.id,
            details=details,
        )
        return row

    def _issuing_ca(
        self, session: Session, row: OfficerCertificate
    ) -> DepartmentCA | RetiredDepartmentCA:
        current = session.get(DepartmentCA, row.department_id)
        if current is not None and issued_by(row.certificate, current.certificate):
            return current
        for retired in session.exec(
            select(RetiredDepartmentCA).where(
                RetiredDepartmentCA.department_id == row.department_id
            )
        ):
            if issued_by(row.certificate, retired.certificate):
                return retired
        raise AssertionError(f"no CA of department {row.department_id} issued {row.serial}")

    def revoke(self, serial: str, *, actor_id: str | None = None) -> OfficerCertificate:
        with session_scope(self.engine) as session:
            row = session.get(OfficerCertificate, serial)
            if row is None:
                raise NotFoundError(f"no certificate {serial}")
            if row.revoked_at is not None:
                return row
            now = self.clock().replace(microsecond=0)  # X.509 times are whole seconds
            row.revoked_at = now
            session.add(row)
            session.flush()
            ca = self._issuing_ca(session, row)  # a retired CA's CRL is reissued too
            revoked = session.exec(
                select(OfficerCertificate).where(
                    OfficerCertificate.department_id == row.department_id,
                    col(OfficerCertificate.revoked_at).is_not(None),
                )
            ).all()
            ca.crl = create_crl(
                ca_cert_pem=ca.certificate.encode(),
                ca_key=self._ca_key(ca),
                revoked=[
                    (int(r.serial), r.revoked_at)
                    for r in revoked
                    if r.revoked_at and issued_by(r.certificate, ca.certificate)
                ],
                now=now,
            ).decode()
            session.add(ca)
            append_event(
                session,
                action="certificate_revoked",
                at=now,
                actor_id=actor_id,
                department_id=row.department_id,
                details={"serial": serial, "officer_id": row.officer_id},
            )
        with self._lock:
            self._signers.pop(serial, None)
        self.forget_signing(row.officer_id)
        return row

    def forget_signing(self, officer_id: str) -> None:
        """Read the officer's signing certificate afresh on their next capture."""
        self._signing.forget(officer_id)

    def trust_bundle(self, session: Session) -> TrustBundle:
        """Every department CA and its CRL: the current ones by department, then the retired
        ones, oldest retirement first (each certificate carries its own validity)."""
        cas = session.exec(select(DepartmentCA).order_by(col(DepartmentCA.department_id))).all()
        retired = session.exec(
            select(RetiredDepartmentCA).order_by(
                col(RetiredDepartmentCA.department_id), col(RetiredDepartmentCA.retired_at)
            )
        ).all()
        return TrustBundle(
            [c.certificate for c in cas] + [r.certificate for r in retired],
            [c.crl for c in cas] + [r.crl for r in retired],
        )

    # -- department seals -----------------------------------------------------------------------
    def _department_seal(self, session: Session, department: Department) -> DepartmentSeal:
        seal = session.get(DepartmentSeal, department.id)
        if seal is not None:
            return seal
        ca = self._department_ca(session, department)
        now = self.clock()
        key = generate_private_key("Ed25519")
        cert = issue_seal_certificate(
            ca_cert_pem=ca.certificate.encode(),
            ca_key=self._ca_key(ca),
            department_id=department.id,
            department_name=department.name,
            public_key=key.public_key(),
            now=now,
            seal_code=department.code,
            valid_days=SEAL_VALID_DAYS,
        )
        seal = DepartmentSeal(
            department_id=department.id,
            seal_code=department.code,
            certificate=cert.decode(),
            private_key=encrypt_private_key(key, self.passphrase).decode(),
            created_at=now,
        )
        session.add(seal)
        session.flush()
        return seal

    def seal_digest(
        self,
        department_id: str,
        digest_hex: str,
        *,
        actor_id: str,
        session: Session | None = None,
    ) -> SealRecord:
        """Seal a document digest with the department's e-seal (a custody event) — in the
        caller's write ``session`` when given, so the seal commits with what it seals."""
        if session is None:
            with session_scope(self.engine) as own:
                return self.seal_digest(department_id, digest_hex, actor_id=actor_id, session=own)
        department = session.get(Department, department_id)
        if department is None:
            raise NotFoundError(f"no department {department_id}")
        seal = self._department_seal(session, department)
        now = self.clock().replace(microsecond=0)
        record = seal_document(
            digest_hex,
            key=load_private_key(seal.private_key.encode(), self.passphrase),
            certificate_pem=seal.certificate.encode(),
            department_id=department.id,
            seal_code=seal.seal_code,
            signed_at=now,
        )
        append_event(
            session,
            action="sealed",
            at=now,
            actor_id=actor_id,
            department_id=department.id,
            details={"digest": record.digest, "seal_code": record.seal_code},
        )
        return record

    # -- signing captures -----------------------------------------------------------------------
    def custodial_certificate(
        self, session: Session, officer_id: str, at: datetime
    ) -> OfficerCertificate | None:
        """The newest unrevoked custodial certificate of the officer valid at ``at``."""
        return custodial_certificate(session, officer_id, at)

    def signing_certificate(self, officer_id: str, at: datetime) -> OfficerCertificate | None:
        """The custodial certificate that signs the officer's capture at ``at``: the current
        one, or a fresh one issued now when it is due for renewal, has aged out, or the officer
        never had a certificate (:mod:`evidence_service.access.custodial`); None when the
        service may not sign for them (revoked, or they hold their own key)."""
        renew_within = timedelta(days=self.settings.officer_cert_renew_days)
        remembered = self._signing.get(officer_id)
        if remembered is not None:
            cert, ca_pem = remembered
            if signs_as_is(cert, ca_pem, at, renew_within=renew_within):
                return cert
        with one_statement_bind(self.engine).connect() as connection:  # the common case
            as_is = signing_as_is(connection, officer_id, at, renew_within=renew_within)
        if as_is is not None:
            self._signing.put(officer_id, as_is)
            return as_is[0]
        self._signing.forget(officer_id)
        with Session(one_statement_bind(self.engine)) as session:  # decided again below to issue
            plan = custodial_plan(session, officer_id, at, renew_within=renew_within)
        if not plan.issue:
            return plan.current
        with session_scope(self.engine) as session:
            lock_issuers(session)  # decide again under the issuers' lock: renew once
            plan = custodial_plan(session, officer_id, at, renew_within=renew_within)
            officer = session.get(Officer, officer_id)
            if not plan.issue or officer is None or not officer.active:
                return plan.current
            previous = session.get(OfficerCertificate, plan.renews) if plan.renews else None
            alg: Literal["Ed25519", "ES256"] = (
                "ES256" if previous is not None and previous.alg == "ES256" else "Ed25519"
            )
            return self.issue_in(
                session,
                officer,
                private_key=generate_private_key(alg),
                renews=plan.renews,
                now=min(at, self.clock()),  # valid from the capture's own receipt time
            )

    def sign_capture(
        self, statement: dict[str, Any], officer_id: str, at: datetime, *, fresh: bool = False
    ) -> tuple[dict[str, Any], str] | None:
        """The signature block over the statement with the officer's custodial key (renewed
        first when due), and the serial of the certificate that signed. Without a usable
        custodial certificate: UnsignedCaptureError when the officer's department requires
        signed captures, else None (the statement stays unsigned). ``fresh``: read the signing
        certificate afresh rather than as remembered (the module docstring)."""
        if fresh:
            self.forget_signing(officer_id)
        row = self.signing_certificate(officer_id, at)
        if row is None or row.private_key is None:
            refusal = unsigned_capture_refusal(self.engine, officer_id, at)
            if refusal is not None:
                raise UnsignedCaptureError(refusal, officer_id=officer_id)
            return None
        with self._lock:
            signer = self._signers.get(row.serial)
        if signer is None:
            key = load_private_key(row.private_key.encode(), self.passphrase)
            signer = StatementSigner(key, row.certificate)
            with self._lock:
                self._signers[row.serial] = signer
        return dict(signer.sign(statement, signer=officer_id).as_json()), row.serial
