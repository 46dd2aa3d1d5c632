"""X.509 codecs: certificates and CRLs from PEM or DER (size-bounded), the DER UTF8String the
identity extensions hold, key identifiers, and X.509 times. Time is always a parameter."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing.errors import BadCertificateError, SigningError

__all__ = [
    "MAX_CERTIFICATE_BYTES",
    "MAX_CRL_BYTES",
    "authority_key_id",
    "certificate_pem",
    "der_utf8string",
    "load_certificate",
    "load_crl",
    "parse_der_utf8string",
    "subject_key_id",
    "utc_time",
]

MAX_CERTIFICATE_BYTES = 16_384
"""A certificate or CRL longer than this (PEM or DER) is refused before parsing."""
MAX_CRL_BYTES = 4_194_304
"""A CRL may list many serials (~40 bytes each); 4 MiB is ~100 k entries."""


def der_utf8string(text: str) -> bytes:
    """``text`` as a DER UTF8String (tag, minimal length, UTF-8 bytes)."""
    raw = text.encode("utf-8")
    n = len(raw)
    if n < 0x80:
        length = bytes([n])
    else:
        digits = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(digits)]) + digits
    return b"\x0c" + length + raw


def parse_der_utf8string(der: bytes) -> str:
    """The text of a DER UTF8String; :class:`BadCertificateError` unless strictly DER."""
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


def utc_time(moment: datetime, what: str, *, whole_seconds: bool = True) -> datetime:
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


def load_crl(data: bytes | str) -> x509.CertificateRevocationList:
    """A CRL from PEM or DER; :class:`BadCertificateError` if it is neither."""
    raw = _bounded(data, MAX_CRL_BYTES, "CRL")
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(raw)
        return x509.load_der_x509_crl(raw)
    except ValueError as exc:
        raise BadCertificateError(f"not an X.509 CRL: {exc}") from exc


def certificate_pem(cert: x509.Certificate) -> bytes:
    """The certificate as PEM bytes."""
    return cert.public_bytes(serialization.Encoding.PEM)


def subject_key_id(cert: x509.Certificate) -> bytes | None:
    """The SubjectKeyIdentifier, or ``None`` when the certificate has none."""
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def authority_key_id(
    cert_or_crl: x509.Certificate | x509.CertificateRevocationList,
) -> bytes | None:
    """The AuthorityKeyIdentifier's key identifier, or ``None`` when absent."""
    try:
        ext = cert_or_crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        return None
    return ext.value.key_identifier
