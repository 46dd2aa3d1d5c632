"""X.509 issuing for officers and departments: department CAs, officer and seal certificates,
CRLs.

A department CA (self-signed, or under a provincial root) issues one certificate per officer key
and one per department seal key. The identities certificates carry (subjects and the identity
extensions) are :mod:`signing.cert_identity`; PEM/DER codecs are :mod:`signing.cert_codec`;
:func:`signing.cert_verify.verify_certificate` checks a certificate at a given time. Time is
always a parameter; nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from signing.cert_codec import (
    certificate_pem,
    der_utf8string,
    load_certificate,
    subject_key_id,
    utc_time,
)
from signing.cert_identity import (
    OFFICER_IDENTITY_OID,
    SEAL_IDENTITY_OID,
    OfficerIdentity,
    SealIdentity,
    check_identity_text,
)
from signing.errors import BadCertificateError, CertificateExpiredError, KeyFormatError
from signing.jcs import canonicalize
from signing.keys import PrivateKey, PublicKey, alg_of, public_key_der

__all__ = [
    "create_crl",
    "create_department_ca",
    "issue_officer_certificate",
    "issue_seal_certificate",
]


def _hash_for(key: PrivateKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _check_issuer_key(ca_cert: x509.Certificate, ca_key: PrivateKey) -> None:
    alg_of(ca_key)
    if public_key_der(ca_cert.public_key()) != public_key_der(ca_key.public_key()):  # type: ignore[arg-type]
        raise KeyFormatError("the CA key does not match the CA certificate")


def _serial(serial: int | None) -> int:
    if serial is None:
        return x509.random_serial_number()
    if not 0 < serial < 2**159:
        raise BadCertificateError("serial must be a positive integer below 2**159")
    return serial


# --------------------------------------------------------------------------- issuing


def create_department_ca(
    *,
    department_id: str,
    department_name: str,
    key: PrivateKey,
    now: datetime,
    valid_days: int = 3650,
    issuer: tuple[bytes, PrivateKey] | None = None,
    serial: int | None = None,
) -> bytes:
    """A department CA certificate (PEM): self-signed, or under ``issuer = (root PEM, root key)``.

    A self-signed CA has no path-length limit (it may act as a root for other department CAs);
    a subordinate CA has path length 0 (it issues only officer and seal certificates).
    """
    check_identity_text("department_id", department_id)
    check_identity_text("department_name", department_name)
    start = utc_time(now, "now")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, department_id),
            x509.NameAttribute(NameOID.COMMON_NAME, department_name),
        ]
    )
    public_key = key.public_key()
    alg_of(public_key)
    if issuer is None:
        issuer_name, signing_key, authority_ski = subject, key, None
        path_length: int | None = None
    else:
        issuer_cert = load_certificate(issuer[0])
        signing_key = issuer[1]
        _check_issuer_key(issuer_cert, signing_key)
        issuer_name, authority_ski, path_length = (
            issuer_cert.subject,
            subject_key_id(issuer_cert),
            0,
        )
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    aki = (
        x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        if authority_ski is None
        else x509.AuthorityKeyIdentifier(authority_ski, None, None)
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(_serial(serial))
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
    )
    return certificate_pem(builder.sign(signing_key, _hash_for(signing_key)))


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _end_entity_certificate(
    *,
    ca_cert_pem: bytes,
    ca_key: PrivateKey,
    subject: x509.Name,
    public_key: PublicKey,
    identity_extension: x509.UnrecognizedExtension,
    key_usage: x509.KeyUsage,
    now: datetime,
    valid_days: int,
    serial: int | None,
) -> bytes:
    ca_cert = load_certificate(ca_cert_pem)
    _check_issuer_key(ca_cert, ca_key)
    alg_of(public_key)
    start = utc_time(now, "now")
    end = min(start + timedelta(days=valid_days), ca_cert.not_valid_after_utc)
    if end <= start:
        raise CertificateExpiredError("the CA certificate has expired; it cannot issue")
    authority_ski = subject_key_id(ca_cert)
    aki = (
        x509.AuthorityKeyIdentifier(authority_ski, None, None)
        if authority_ski is not None
        else x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())  # type: ignore[arg-type]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(_serial(serial))
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(aki, critical=False)
        .add_extension(identity_extension, critical=False)
    )
    return certificate_pem(builder.sign(ca_key, _hash_for(ca_key)))


def issue_officer_certificate(
    *,
    ca_cert_pem: bytes,
    ca_key: PrivateKey,
    identity: OfficerIdentity,
    public_key: PublicKey,
    now: datetime,
    valid_days: int = 365,
    serial: int | None = None,
) -> bytes:
    """An officer certificate (PEM) binding ``public_key`` to ``identity``.

    KeyUsage is digitalSignature only (critical). The validity starts at ``now`` and ends after
    ``valid_days`` or at the CA's notAfter, whichever is first. ``serial`` defaults to a random
    159-bit number.
    """
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, identity.officer_id),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, identity.department_id),
            x509.NameAttribute(NameOID.COMMON_NAME, identity.name),
        ]
    )
    payload = {
        "cert_no": identity.cert_no,
        "department_id": identity.department_id,
        "officer_id": identity.officer_id,
    }
    extension = x509.UnrecognizedExtension(
        OFFICER_IDENTITY_OID, der_utf8string(canonicalize(payload).decode("utf-8"))
    )
    return _end_entity_certificate(
        ca_cert_pem=ca_cert_pem,
        ca_key=ca_key,
        subject=subject,
        public_key=public_key,
        identity_extension=extension,
        key_usage=_key_usage(digital_signature=True),
        now=now,
        valid_days=valid_days,
        serial=serial,
    )


def issue_seal_certificate(
    *,
    ca_cert_pem: bytes,
    ca_key: PrivateKey,
    department_id: str,
    department_name: str,
    public_key: PublicKey,
    now: datetime,
    seal_code: str | None = None,
    valid_days: int = 365,
    serial: int | None = None,
) -> bytes:
    """A department seal certificate (PEM) binding ``public_key`` to the department's e-seal.

    KeyUsage is digitalSignature + nonRepudiation (contentCommitment), critical: a seal attests.
    """
    identity = SealIdentity(department_id, department_name, seal_code)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, identity.department_id),
            x509.NameAttribute(NameOID.COMMON_NAME, identity.department_name),
        ]
    )
    payload = {"department_id": identity.department_id, "seal_code": identity.seal_code}
    extension = x509.UnrecognizedExtension(
        SEAL_IDENTITY_OID, der_utf8string(canonicalize(payload).decode("utf-8"))
    )
    return _end_entity_certificate(
        ca_cert_pem=ca_cert_pem,
        ca_key=ca_key,
        subject=subject,
        public_key=public_key,
        identity_extension=extension,
        key_usage=_key_usage(digital_signature=True, content_commitment=True),
        now=now,
        valid_days=valid_days,
        serial=serial,
    )


def create_crl(
    *,
    ca_cert_pem: bytes,
    ca_key: PrivateKey,
    revoked: Sequence[tuple[int, datetime]],
    now: datetime,
    next_update_days: int = 7,
    crl_number: int | None = None,
) -> bytes:
    """A CRL (PEM) signed by the CA listing ``(serial, revoked_at)`` pairs.

    ``crl_number`` defaults to ``now`` in Unix seconds, which increases with each issue.
    """
    ca_cert = load_certificate(ca_cert_pem)
    _check_issuer_key(ca_cert, ca_key)
    start = utc_time(now, "now")
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(start)
        .next_update(start + timedelta(days=next_update_days))
        .add_extension(
            x509.CRLNumber(int(start.timestamp()) if crl_number is None else crl_number),
            critical=False,
        )
    )
    authority_ski = subject_key_id(ca_cert)
    if authority_ski is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier(authority_ski, None, None), critical=False
        )
    for serial, revoked_at in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(utc_time(revoked_at, "revoked_at"))
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(ca_key, _hash_for(ca_key))
    return crl.public_bytes(serialization.Encoding.PEM)
