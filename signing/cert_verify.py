"""Checking a certificate against pinned trusted CAs and their CRLs *at a given time*.

Evidence is verified years after it was signed, against the time the chain anchor proves, so a
revocation dated after that time does not invalidate it (long-term validation). Time is always a
parameter; nothing here reads the clock.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from signing.cert_codec import (
    authority_key_id,
    load_certificate,
    load_crl,
    subject_key_id,
    utc_time,
)
from signing.errors import (
    BadCertificateError,
    CertificateExpiredError,
    CertificateNotYetValidError,
    CertificateRevokedError,
    UnknownIssuerError,
)

__all__ = ["verify_certificate"]


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca and usage.key_cert_sign


def _find_issuer(cert: x509.Certificate, trusted: Sequence[x509.Certificate]) -> x509.Certificate:
    aki = authority_key_id(cert)
    for ca in trusted:
        if ca.subject != cert.issuer or not _is_ca(ca):
            continue
        if aki is not None and subject_key_id(ca) not in (None, aki):
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
    return load_crl(crl_data).is_signature_valid(ca_key)


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
    ca_ski = subject_key_id(ca)
    for index, data in enumerate(crls):
        crl = load_crl(data)
        if crl.issuer != ca.subject:
            continue  # another department's CRL
        crl_aki = authority_key_id(crl)
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
    moment = utc_time(at, "at", whole_seconds=False)
    cert = load_certificate(cert_pem)
    _check_end_entity(cert)
    trusted = [load_certificate(ca) for ca in trusted_cas]
    ca = _find_issuer(cert, trusted)
    _check_validity(cert, moment, "the certificate")
    _check_validity(ca, moment, "the issuing CA")
    _check_revocation(cert, ca, crls, moment)
    return cert
