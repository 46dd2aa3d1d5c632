"""Department e-seals (电子印章): the signed seal record.

What a court relies on is the :class:`SealRecord`, a signature by the department's seal key
(bound to an X.509 certificate) over the SHA-256 digest of the sealed document.
:func:`verify_seal` checks both the certificate chain at the signing time and the signature.
The drawn seal image is :mod:`signing.seal_image`; stamping it onto a page is :mod:`signing.stamp`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from signing.cert_identity import SealIdentity, seal_identity
from signing.cert_verify import verify_certificate
from signing.errors import (
    BadCertificateError,
    BadSignatureError,
    KeyFormatError,
    SigningError,
    VerificationError,
)
from signing.jcs import canonicalize, check_depth
from signing.keys import (
    PrivateKey,
    alg_of,
    load_public_key,
    public_key_der,
    sign,
    verify_signature,
)

__all__ = ["SealFormatError", "SealRecord", "seal_document", "verify_seal"]

_DIGEST_RE = re.compile(r"[0-9a-f]{64}")
_RFC3339_Z = "%Y-%m-%dT%H:%M:%SZ"
_RECORD_FIELDS = frozenset(
    {"department_id", "seal_code", "alg", "certificate", "digest", "signed_at", "value"}
)


class SealFormatError(SigningError, ValueError):
    """A seal record is malformed: missing or extra fields, wrong types, bad digest or time."""


def _format_time(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SealFormatError("signed_at must be timezone-aware")
    return moment.astimezone(UTC).strftime(_RFC3339_Z)


def _parse_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, _RFC3339_Z).replace(tzinfo=UTC)
    except ValueError as exc:
        raise SealFormatError(
            f"signed_at {text!r} is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)"
        ) from exc


@dataclass(frozen=True, slots=True)
class SealRecord:
    """A department's seal over one document digest: who sealed what, when, and the proof.

    ``value`` is the base64 signature by the seal key over :meth:`signed_bytes`, the JCS bytes
    of ``{"department_id", "digest", "seal_code", "signed_at"}``; ``certificate`` is the PEM of
    the seal certificate whose key made it.
    """

    department_id: str
    seal_code: str
    alg: str
    certificate: str
    digest: str
    signed_at: str
    value: str

    def __post_init__(self) -> None:
        for name in _RECORD_FIELDS:
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise SealFormatError(f"seal record field {name!r} must be a non-empty string")
        if not _DIGEST_RE.fullmatch(self.digest):
            raise SealFormatError("digest must be 64 lowercase hex characters (SHA-256)")
        _parse_time(self.signed_at)
        try:
            base64.b64decode(self.value, validate=True)
        except binascii.Error as exc:
            raise SealFormatError("value is not valid base64") from exc

    @property
    def signed_at_datetime(self) -> datetime:
        return _parse_time(self.signed_at)

    def signed_bytes(self) -> bytes:
        """The exact bytes the seal key signs."""
        return _signed_bytes(self.digest, self.seal_code, self.department_id, self.signed_at)

    def as_json(self) -> str:
        """Canonical (JCS) JSON text of all fields."""
        return canonicalize({name: getattr(self, name) for name in sorted(_RECORD_FIELDS)}).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> SealRecord:
        """Parse and check shape; raises :class:`SealFormatError`. Does not verify the seal."""
        try:
            check_depth(text)
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SealFormatError(f"seal record is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise SealFormatError("seal record must be a JSON object")
        if set(data) != _RECORD_FIELDS:
            missing, extra = _RECORD_FIELDS - set(data), set(data) - _RECORD_FIELDS
            raise SealFormatError(
                f"seal record fields wrong: missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        return cls(**data)


def _signed_bytes(digest: str, seal_code: str, department_id: str, signed_at: str) -> bytes:
    return canonicalize(
        {
            "department_id": department_id,
            "digest": digest,
            "seal_code": seal_code,
            "signed_at": signed_at,
        }
    )


def _identity_mismatch(identity: SealIdentity, department_id: str, seal_code: str) -> str | None:
    if identity.department_id != department_id:
        return f"the seal certificate is {identity.department_id!r}'s, not {department_id!r}'s"
    if identity.seal_code is not None and identity.seal_code != seal_code:
        return f"the seal certificate is for seal {identity.seal_code!r}, not {seal_code!r}"
    return None


def seal_document(
    digest_hex: str,
    *,
    key: PrivateKey,
    certificate_pem: bytes,
    department_id: str,
    seal_code: str,
    signed_at: datetime,
) -> SealRecord:
    """Seal a document by its SHA-256 digest with the department's seal key.

    ``signed_at`` is kept to the second, in UTC. The certificate must hold the public half of
    ``key``; it is not chain-checked here (that is :func:`verify_seal`'s job).
    """
    digest = digest_hex.lower()
    if not _DIGEST_RE.fullmatch(digest):
        raise SealFormatError("digest_hex must be a SHA-256 digest in hex (64 characters)")
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError as exc:
        raise SealFormatError(f"seal certificate is not PEM X.509: {exc}") from exc
    cert_spki = certificate.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    if cert_spki != public_key_der(key.public_key()):
        raise KeyFormatError("the seal key does not match the seal certificate")
    mismatch = _identity_mismatch(seal_identity(certificate_pem), department_id, seal_code)
    if mismatch is not None:
        raise SealFormatError(mismatch)
    when = _format_time(signed_at)
    message = _signed_bytes(digest, seal_code, department_id, when)
    signature = sign(key, message)
    return SealRecord(
        department_id=department_id,
        seal_code=seal_code,
        alg=alg_of(certificate.public_key()),
        certificate=certificate_pem.decode("ascii"),
        digest=digest,
        signed_at=when,
        value=base64.b64encode(signature).decode("ascii"),
    )


def verify_seal(
    record: SealRecord,
    *,
    trusted_cas: Sequence[bytes],
    crls: Sequence[bytes] = (),
    at: datetime | None = None,
    expected_digest: str | None = None,
) -> None:
    """Return ``None`` if the seal is valid; raise a :class:`~signing.errors.VerificationError`.

    Checks, in order: the digest is the one expected (when given); the seal certificate chains
    to ``trusted_cas`` and is unrevoked at ``at`` (default: the record's ``signed_at``); the
    record's ``alg`` is the certificate key's; the signature verifies.
    """
    if expected_digest is not None and record.digest != expected_digest.lower():
        raise VerificationError("seal digest mismatch: the seal is over another document")
    certificate = verify_certificate(
        record.certificate.encode("ascii"),
        trusted_cas=trusted_cas,
        crls=crls,
        at=at if at is not None else record.signed_at_datetime,
    )
    mismatch = _identity_mismatch(
        seal_identity(record.certificate), record.department_id, record.seal_code
    )
    if mismatch is not None:
        raise BadCertificateError(mismatch)
    try:
        public_key = load_public_key(
            certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        )
    except KeyFormatError as exc:
        raise BadSignatureError(f"seal certificate key is not usable: {exc}") from exc
    if alg_of(public_key) != record.alg:
        raise BadSignatureError(f"seal alg {record.alg!r} does not match the certificate key")
    verify_signature(public_key, base64.b64decode(record.value), record.signed_bytes(), record.alg)
