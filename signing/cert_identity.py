"""Who a certificate names: officer and seal identities, and parsing them back out of certificates.

Identity extensions, under the placeholder arc ``1.3.6.1.4.1.55555.1`` (an IANA Private
Enterprise Number must be registered and substituted before production; changing it is a new
certificate profile, old certificates keep the old OID):

- ``1.3.6.1.4.1.55555.1.1`` officer identity, non-critical: a DER UTF8String holding the JCS JSON
  ``{"cert_no": <执法证号 or null>, "department_id": …, "officer_id": …}``.
- ``1.3.6.1.4.1.55555.1.2`` seal identity, non-critical: a DER UTF8String holding the JCS JSON
  ``{"department_id": …, "seal_code": <13-digit seal code or null>}``.

Subjects: officer ``UID=<officer id>, OU=<department id>, CN=<name>``; seal and CA
``OU=<department id>, CN=<department name>``. The extension is authoritative and must agree
with the subject. Parsing does not verify the certificate (see :mod:`signing.cert_verify`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

from signing.cert_codec import load_certificate, parse_der_utf8string
from signing.errors import BadCertificateError
from signing.jcs import check_depth

__all__ = [
    "OFFICER_IDENTITY_OID",
    "SEAL_IDENTITY_OID",
    "OfficerIdentity",
    "SealIdentity",
    "check_identity_text",
    "officer_identity",
    "seal_identity",
]

OFFICER_IDENTITY_OID = ObjectIdentifier("1.3.6.1.4.1.55555.1.1")
SEAL_IDENTITY_OID = ObjectIdentifier("1.3.6.1.4.1.55555.1.2")
_MAX_NAME_BYTES = 64
"""RFC 5280's upper bound for CN and OU, counted in UTF-8 bytes as ``cryptography`` does:
21 CJK characters."""


def check_identity_text(what: str, value: object, *, optional: bool = False) -> None:
    """A non-empty string of at most 64 UTF-8 bytes (RFC 5280's bound for CN and OU)."""
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
        check_identity_text("officer_id", self.officer_id)
        check_identity_text("department_id", self.department_id)
        check_identity_text("cert_no", self.cert_no, optional=True)
        check_identity_text("name", self.name)


@dataclass(frozen=True, slots=True)
class SealIdentity:
    """Which department seal a seal certificate names. ``seal_code`` is the 13-digit seal code."""

    department_id: str
    department_name: str
    seal_code: str | None

    def __post_init__(self) -> None:
        check_identity_text("department_id", self.department_id)
        check_identity_text("department_name", self.department_name)
        check_identity_text("seal_code", self.seal_code, optional=True)


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
        text = parse_der_utf8string(value.value)
        check_depth(text)
        payload = json.loads(text)
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
