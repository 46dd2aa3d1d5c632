"""X.509 for officers and departments: department CAs, officer and seal certificates, CRLs.

A department CA (self-signed, or under a provincial root) issues one certificate per officer key
and one per department seal key. :func:`verify_certificate` checks a certificate against a pinned
set of trusted CAs and their CRLs *at a given time*: evidence is verified years after it was
signed, against the time the chain anchor proves, so a revocation dated after that time does not
invalidate it (long-term validation). Time is always a parameter; nothing here reads the clock.

Identity extensions, under the placeholder arc ``1.3.6.1.4.1.55555.1`` (an IANA Private
Enterprise Number must be registered and substituted before production; changing it is a new
certificate profile, old certificates keep the old OID):

- ``1.3.6.1.4.1.55555.1.1`` officer identity, non-critical: a DER UTF8String holding the JCS JSON
  ``{"cert_no": <执法证号 or null>, "department_id": …, "officer_id": …}``.
- ``1.3.6.1.4.1.55555.1.2`` seal identity, non-critical: a DER UTF8String holding the JCS JSON
  ``{"department_id": …, "seal_code": <13-digit seal code or null>}``.

Subjects: officer ``UID=<officer id>, OU=<department id>, CN=<name>``; seal and CA
``OU=<department id>, CN=<department name>``. The extension is authoritative and must agree
with the subject.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID, ObjectIdentifier

from signing.errors import (
    BadCertificateError,
    CertificateExpiredError,
    CertificateNotYetValidError,
    CertificateRevokedError,
    KeyFormatError,
    SigningError,
    UnknownIssuerError,
)
from signing.jcs import canonicalize
from signing.keys import PrivateKey, PublicKey, alg_of, public_key_der

__all__ = [
    "MAX_CERTIFICATE_BYTES",
    "OFFICER_IDENTITY_OID",
    "SEAL_IDENTITY_OID",
    "OfficerIdentity",
    "SealIdentity",
    "create_crl",
    "create_department_ca",
    "issue_officer_certificate",
    "issue_seal_certificate",
    "load_certificate",
    "officer_identity",
    "seal_identity",
    "verify_certificate",
]

OFFICER_IDENTITY_OID = ObjectIdentifier("1.3.6.1.4.1.55555.1.1")
SEAL_IDENTITY_OID = ObjectIdentifier("1.3.6.1.4.1.55555.1.2")
MAX_CERTIFICATE_BYTES = 16_384
"""A certificate or CRL longer than this (PEM or DER) is refused before parsing."""
MAX_CRL_BYTES = 4_194_304
"""A CRL may list many serials (~40 bytes each); 4 MiB is ~100 k entries."""
_MAX_NAME_BYTES = 64
"""RFC 5280's upper bound for CN and OU, counted in UTF-8 bytes as ``cryptography`` does:
21 CJK characters."""


# --------------------------------------------------------------------------- identities


def _check_text(what: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise BadCertificateError(f"{what} must be a non-empty string")
    if len(value.encode("utf-8")) > _MAX_NAME_BYTES:
        raise BadCertificateError(f"{what} is longer than {_MAX_NAME_BYTES} bytes of UTF-8")


@dataclass(frozen=True, slots=True)
class OfficerIdentity:
    """Who an officer certificate names. ``cert_no`` is the 执法证号 (enforcement ID card no.)."""

    officer_id: str
    department_id: str
    cert_no: str | None
    name: str

    def __post_init__(self) -> None:
        _check_text("officer_id", self.officer_id)
        _check_text("department_id", self.department_id)
        _check_text("cert_no", self.cert_no, optional=True)
        _check_text("name", self.name)


@dataclass(frozen=True, slots=True)
class SealIdentity:
    """Which department seal a seal certificate names. ``seal_code`` is the 13-digit seal code."""

    department_id: str
    department_name: str
    seal_code: str | None

    def __post_init__(self) -> None:
        _check_text("department_id", self.department_id)
        _check_text("department_name", self.department_name)
        _check_text("seal_code", self.seal_code, optional=True)


# --------------------------------------------------------------------------- small codecs


def _der_utf8string(text: str) -> bytes:
    raw = text.encode("utf-8")
    n = len(raw)
    if n < 0x80:
        length = bytes([n])
    else:
        digits = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(digits)]) + digits
    return b"\x0c" + length + raw


def _parse_der_utf8string(der: bytes) -> str:
    if len(der) < 2 or der[0] != 0x0C:
        raise BadCertificateError("identity extension is not a DER UTF8String")
    first, offset = der[1], 2
    if first < 0x80:
        n = first
    else:
        count = first & 0x7F
        digits = der[2 : 2 + count]
        if count == 0 or count > 4 or len(digits) != count or digits[0] == 0:
            raise BadCertificateError("identity extension has a bad DER length")
        n, offset = int.from_bytes(digits, "big"), 2 + count
        if n < 0x80:
            raise BadCertificateError("identity extension has a non-minimal DER length")
    if len(der) != offset + n:
        raise BadCertificateError("identity extension length does not match its content")
    try:
        return der[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadCertificateError("identity extension is not valid UTF-8") from exc


def _utc(moment: datetime, what: str, *, whole_seconds: bool = True) -> datetime:
    """``moment`` in UTC; to whole seconds when it becomes an X.509 time (which has no fraction)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SigningError(f"{what} must be a timezone-aware datetime")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=0) if whole_seconds else moment


def _bounded(data: bytes | str, limit: int, what: str) -> bytes:
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    if len(raw) > limit:
        raise BadCertificateError(f"{what} is longer than {limit} bytes")
    return raw


def load_certificate(data: bytes | str) -> x509.Certificate:
    """A certificate from PEM or DER; :class:`BadCertificateError` if it is neither."""
    raw = _bounded(data, MAX_CERTIFICATE_BYTES, "certificate")
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(raw)
    except ValueError as exc:
        raise BadCertificateError(f"not an X.509 certificate: {exc}") from exc


def _load_crl(data: bytes | str) -> x509.CertificateRevocationList:
    raw = _bounded(data, MAX_CRL_BYTES, "CRL")
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(raw)
        return x509.load_der_x509_crl(raw)
    except ValueError as exc:
        raise BadCertificateError(f"not an X.509 CRL: {exc}") from exc


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _hash_for(key: PrivateKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _check_issuer_key(ca_cert: x509.Certificate, ca_key: PrivateKey) -> None:
    alg_of(ca_key)
    if public_key_der(ca_cert.public_key()) != public_key_der(ca_key.public_key()):  # type: ignore[arg-type]
        raise KeyFormatError("the CA key does not match the CA certificate")


def _ski(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def _aki(cert_or_crl: x509.Certificate | x509.CertificateRevocationList) -> bytes | None:
    try:
        ext = cert_or_crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        return None
    return ext.value.key_identifier


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
    _check_text("department_id", department_id)
    _check_text("department_name", department_name)
    start = _utc(now, "now")
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
        issuer_name, authority_ski, path_length = issuer_cert.subject, _ski(issuer_cert), 0
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
    return _pem(builder.sign(signing_key, _hash_for(signing_key)))


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
    start = _utc(now, "now")
    end = min(start + timedelta(days=valid_days), ca_cert.not_valid_after_utc)
    if end <= start:
        raise CertificateExpiredError("the CA certificate has expired; it cannot issue")
    authority_ski = _ski(ca_cert)
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
    return _pem(builder.sign(ca_key, _hash_for(ca_key)))


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
        OFFICER_IDENTITY_OID, _der_utf8string(canonicalize(payload).decode("utf-8"))
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
        SEAL_IDENTITY_OID, _der_utf8string(canonicalize(payload).decode("utf-8"))
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
    start = _utc(now, "now")
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
    authority_ski = _ski(ca_cert)
    if authority_ski is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier(authority_ski, None, None), critical=False
        )
    for serial, revoked_at in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(_utc(revoked_at, "revoked_at"))
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(ca_key, _hash_for(ca_key))
    return crl.public_bytes(serialization.Encoding.PEM)


# --------------------------------------------------------------------------- parsing back


def _identity_payload(cert: x509.Certificate, oid: ObjectIdentifier) -> dict[str, Any]:
    try:
        ext = cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound as exc:
        raise BadCertificateError(
            f"certificate has no identity extension {oid.dotted_string}"
        ) from exc
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension):
        raise BadCertificateError("identity extension has an unexpected type")
    try:
        payload = json.loads(_parse_der_utf8string(value.value))
    except ValueError as exc:
        raise BadCertificateError("identity extension is not JSON") from exc
    if not isinstance(payload, dict):
        raise BadCertificateError("identity extension is not a JSON object")
    return payload


def _subject_value(cert: x509.Certificate, oid: ObjectIdentifier, what: str) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    if len(values) != 1 or not isinstance(values[0].value, str):
        raise BadCertificateError(f"certificate subject must carry exactly one {what}")
    return values[0].value


def officer_identity(cert_pem: bytes | str | x509.Certificate) -> OfficerIdentity:
    """The identity an officer certificate names; BadCertificateError if it names none.

    Does not verify the certificate (see :func:`verify_certificate`).
    """
    cert = cert_pem if isinstance(cert_pem, x509.Certificate) else load_certificate(cert_pem)
    payload = _identity_payload(cert, OFFICER_IDENTITY_OID)
    if set(payload) != {"cert_no", "department_id", "officer_id"}:
        raise BadCertificateError("officer identity extension has the wrong fields")
    identity = OfficerIdentity(
        officer_id=payload["officer_id"],
        department_id=payload["department_id"],
        cert_no=payload["cert_no"],
        name=_subject_value(cert, NameOID.COMMON_NAME, "CN"),
    )
    if (
        _subject_value(cert, NameOID.USER_ID, "UID") != identity.officer_id
        or _subject_value(cert, NameOID.ORGANIZATIONAL_UNIT_NAME, "OU") != identity.department_id
    ):
        raise BadCertificateError("officer identity extension disagrees with the subject")
    return identity


def seal_identity(cert_pem: bytes | str | x509.Certificate) -> SealIdentity:
    """The department seal a seal certificate names; BadCertificateError if it names none."""
    cert = cert_pem if isinstance(cert_pem, x509.Certificate) else load_certificate(cert_pem)
    payload = _identity_payload(cert, SEAL_IDENTITY_OID)
    if set(payload) != {"department_id", "seal_code"}:
        raise BadCertificateError("seal identity extension has the wrong fields")
    identity = SealIdentity(
        department_id=payload["department_id"],
        department_name=_subject_value(cert, NameOID.COMMON_NAME, "CN"),
        seal_code=payload["seal_code"],
    )
    if _subject_value(cert, NameOID.ORGANIZATIONAL_UNIT_NAME, "OU") != identity.department_id:
        raise BadCertificateError("seal identity extension disagrees with the subject")
    return identity


# --------------------------------------------------------------------------- verification


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca and usage.key_cert_sign


def _find_issuer(cert: x509.Certificate, trusted: Sequence[x509.Certificate]) -> x509.Certificate:
    aki = _aki(cert)
    for ca in trusted:
        if ca.subject != cert.issuer or not _is_ca(ca):
            continue
        if aki is not None and _ski(ca) not in (None, aki):
            continue
        if _signed_by(cert, ca):
            return ca
    raise UnknownIssuerError(
        f"no trusted CA issued this certificate (issuer {cert.issuer.rfc4514_string()})"
    )


@functools.lru_cache(maxsize=256)
def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether ``ca``'s key signed ``cert``. A pure fact of the two certificates (equal when
    their DER is), so remembered: a package's thousand statements are signed under a handful
    of officer certificates, and checking each one again was most of its verification time."""
    try:
        cert.verify_directly_issued_by(ca)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@functools.lru_cache(maxsize=256)
def _crl_signed_by(crl_data: bytes | str, ca: x509.Certificate) -> bool:
    """Whether ``ca``'s key signed the CRL ``crl_data`` (remembered, as :func:`_signed_by`)."""
    ca_key = ca.public_key()
    if not isinstance(ca_key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise BadCertificateError("the CA key type is not supported")
    return _load_crl(crl_data).is_signature_valid(ca_key)


def _check_validity(cert: x509.Certificate, at: datetime, what: str) -> None:
    if at < cert.not_valid_before_utc:
        raise CertificateNotYetValidError(
            f"{what} is valid from {cert.not_valid_before_utc.isoformat()}, after {at.isoformat()}"
        )
    if at > cert.not_valid_after_utc:
        raise CertificateExpiredError(
            f"{what} expired {cert.not_valid_after_utc.isoformat()}, before {at.isoformat()}"
        )


def _check_end_entity(cert: x509.Certificate) -> None:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is not None and constraints.ca:
        raise BadCertificateError("a CA certificate cannot sign statements or seals")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not usage.digital_signature:
        raise BadCertificateError("the certificate's KeyUsage does not allow digitalSignature")


def _check_revocation(
    cert: x509.Certificate, ca: x509.Certificate, crls: Sequence[bytes], at: datetime
) -> None:
    ca_ski = _ski(ca)
    for index, data in enumerate(crls):
        crl = _load_crl(data)
        if crl.issuer != ca.subject:
            continue  # another department's CRL
        crl_aki = _aki(crl)
        if crl_aki is not None and ca_ski is not None and crl_aki != ca_ski:
            continue  # the same name under another CA key
        if not _crl_signed_by(data, ca):
            raise BadCertificateError(
                f"CRL #{index} names the CA but its signature does not verify (forged?)"
            )
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None and entry.revocation_date_utc <= at:
            raise CertificateRevokedError(
                f"serial {cert.serial_number:x} revoked {entry.revocation_date_utc.isoformat()}"
            )


def verify_certificate(
    cert_pem: bytes | str,
    *,
    trusted_cas: Sequence[bytes],
    crls: Sequence[bytes] = (),
    at: datetime,
) -> x509.Certificate:
    """The certificate, if a trusted CA issued it and it stood unrevoked at ``at``; else raise.

    In order: the certificate parses and is an end-entity signing certificate
    (``bad-certificate``); a CA among ``trusted_cas`` with the issuer's name and key identifier
    signed it (``unknown-issuer``); it and that CA are within their validity at ``at``
    (``not-yet-valid`` / ``expired``); no CRL by that CA lists its serial with a revocation date
    at or before ``at`` (``revoked``). A CRL naming the CA whose signature does not verify is
    refused (``bad-certificate``); CRLs of other CAs are skipped. Every trusted CA is an anchor:
    chains are one level deep. Any CRL entry counts, whatever its reason code.
    """
    moment = _utc(at, "at", whole_seconds=False)
    cert = load_certificate(cert_pem)
    _check_end_entity(cert)
    trusted = [load_certificate(ca) for ca in trusted_cas]
    ca = _find_issuer(cert, trusted)
    _check_validity(cert, moment, "the certificate")
    _check_validity(ca, moment, "the issuing CA")
    _check_revocation(cert, ca, crls, moment)
    return cert
