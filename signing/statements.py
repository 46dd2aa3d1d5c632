"""Officer signatures over capture statements: the ``signature`` block of PROOF_FORMAT.md.

The signed bytes are exactly ``JCS(statement)`` (:func:`signing_payload`), so any verifier with
an RFC 8785 implementation, the certificate and the trust bundle can check a signature without
this service. A client holding its key elsewhere (a phone's keystore, a smart card) fetches the
payload, signs it, and sends back the :class:`StatementSignature`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signing.cert_codec import load_certificate
from signing.cert_identity import OfficerIdentity, officer_identity
from signing.cert_verify import verify_certificate
from signing.errors import (
    BadCertificateError,
    BadSignatureError,
    KeyFormatError,
    StatementFormatError,
)
from signing.jcs import canonicalize
from signing.keys import (
    ALGORITHMS,
    SIGNATURE_SIZE,
    PrivateKey,
    alg_of,
    public_key_der,
    sign,
    verify_signature,
)

__all__ = [
    "SignedStatement",
    "StatementSignature",
    "StatementSigner",
    "sign_statement",
    "signing_payload",
    "verify_statement",
]

_FIELDS = frozenset({"alg", "signer", "certificate", "value"})


@dataclass(frozen=True, slots=True)
class StatementSignature:
    """One officer's signature over a statement, as carried in a proof's ``signature`` block.

    ``alg`` is ``"Ed25519"`` or ``"ES256"``; ``signer`` the officer id; ``certificate`` the PEM
    of the officer certificate; ``value`` the standard (padded) base64 of the 64-byte signature
    over :func:`signing_payload` (ES256 in the raw ``r ‖ s`` form, see :mod:`signing.keys`).
    Construction checks the shape (not the signature): :class:`KeyFormatError` for an unknown
    ``alg``, :class:`BadCertificateError` for anything else malformed.
    """

    alg: str
    signer: str
    certificate: str
    value: str

    def __post_init__(self) -> None:
        for name in ("alg", "signer", "certificate", "value"):
            field = getattr(self, name)
            if not isinstance(field, str) or not field:
                raise BadCertificateError(f"signature field {name!r} must be a non-empty string")
        if self.alg not in ALGORITHMS:
            raise KeyFormatError(f"signature alg {self.alg!r} is not one of {ALGORITHMS}")
        try:
            raw = base64.b64decode(self.value, validate=True)
        except binascii.Error as exc:
            raise BadCertificateError("signature value is not standard base64") from exc
        if len(raw) != SIGNATURE_SIZE:
            raise BadCertificateError(
                f"signature value must decode to {SIGNATURE_SIZE} bytes, got {len(raw)}"
            )
        load_certificate(self.certificate)

    @property
    def signature_bytes(self) -> bytes:
        """The raw 64-byte signature."""
        return base64.b64decode(self.value, validate=True)

    def as_json(self) -> dict[str, str]:
        """The ``signature`` block of a proof document."""
        return {
            "alg": self.alg,
            "signer": self.signer,
            "certificate": self.certificate,
            "value": self.value,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StatementSignature:
        """Parse a ``signature`` block: exactly the four fields, each well formed.

        Raises :class:`BadCertificateError` (or :class:`KeyFormatError` for an unknown
        ``alg``); does not verify anything cryptographic.
        """
        if not isinstance(data, Mapping):
            raise BadCertificateError("the signature block must be a JSON object")
        keys = set(data)
        if keys != _FIELDS:
            raise BadCertificateError(
                f"signature block fields wrong: missing {sorted(_FIELDS - keys)}, "
                f"unexpected {sorted(str(k) for k in keys - _FIELDS)}"
            )
        return cls(
            alg=data["alg"],
            signer=data["signer"],
            certificate=data["certificate"],
            value=data["value"],
        )


SignedStatement = StatementSignature
"""Alias: the name some callers use for the same value."""


def signing_payload(statement: Mapping[str, Any]) -> bytes:
    """The exact bytes an officer signs: ``JCS(statement)``.

    Raises :class:`StatementFormatError` if ``statement`` is not a mapping RFC 8785 can encode.
    """
    if not isinstance(statement, Mapping):
        raise StatementFormatError("a statement must be a JSON object (a mapping)")
    try:
        return canonicalize(dict(statement))
    except (ValueError, TypeError) as exc:
        raise StatementFormatError(f"the statement cannot be canonicalized: {exc}") from exc


def sign_statement(
    statement: Mapping[str, Any],
    *,
    key: PrivateKey,
    certificate_pem: bytes | str,
    signer: str,
) -> StatementSignature:
    """Sign ``JCS(statement)`` with ``key`` and package it with its certificate.

    Refuses (before signing) a key that is not the certificate's (:class:`KeyFormatError`) and a
    ``signer`` or ``statement["officer_id"]`` other than the certificate's officer
    (:class:`BadCertificateError`), so nothing is signed that :func:`verify_statement` would reject
    for those reasons. Does not check the certificate chain or validity.
    """
    return StatementSigner(key, certificate_pem).sign(statement, signer=signer)


class StatementSigner:
    """A key and its certificate, checked to belong together once, for signing many statements
    (:func:`sign_statement` for one): a service that signs every capture with an officer's
    custodial key keeps one per certificate instead of parsing the certificate each time."""

    def __init__(self, key: PrivateKey, certificate_pem: bytes | str) -> None:
        certificate = load_certificate(certificate_pem)
        public_key = certificate.public_key()
        self.alg = alg_of(public_key)
        if public_key_der(public_key) != public_key_der(key.public_key()):  # type: ignore[arg-type]
            raise KeyFormatError("the signing key does not match the certificate")
        self.officer_id = officer_identity(certificate).officer_id
        self._key = key
        self._pem = (
            certificate_pem.decode("ascii")
            if isinstance(certificate_pem, bytes)
            else certificate_pem
        )

    def sign(self, statement: Mapping[str, Any], *, signer: str) -> StatementSignature:
        """The signature block over ``JCS(statement)``; refuses (before signing) a ``signer`` or
        ``statement["officer_id"]`` other than the certificate's officer."""
        if signer != self.officer_id:
            raise BadCertificateError(
                f"signer {signer!r} is not the certificate's officer {self.officer_id!r}"
            )
        if statement.get("officer_id") != self.officer_id:
            raise BadCertificateError(
                f"statement officer_id {statement.get('officer_id')!r} is not the certificate's "
                f"officer {self.officer_id!r}"
            )
        signature = sign(self._key, signing_payload(statement))
        return StatementSignature(
            alg=self.alg,
            signer=signer,
            certificate=self._pem,
            value=base64.b64encode(signature).decode("ascii"),
        )


def verify_statement(
    statement: Mapping[str, Any],
    signature: StatementSignature,
    *,
    trusted_cas: Sequence[bytes],
    crls: Sequence[bytes] = (),
    at: datetime,
) -> OfficerIdentity:
    """The signing officer's identity if ``signature`` is a valid signature over ``statement``.

    In order, each failure with its :attr:`~signing.errors.VerificationError.reason`:

    1. the certificate chains to a trusted CA and was valid and unrevoked at ``at`` — see
       :func:`~signing.certs.verify_certificate` (``bad-certificate``, ``unknown-issuer``,
       ``not-yet-valid``, ``expired``, ``revoked``);
    2. it names an officer (``bad-certificate``);
    3. ``signature.alg`` is the certificate key's algorithm (``bad-signature``);
    4. the signature verifies over ``JCS(statement)`` with that key (``bad-signature``);
    5. ``signature.signer`` and ``statement["officer_id"]`` are the certificate's officer, and
       ``statement["department_id"]``, when present, its department (``bad-signature``).

    ``at`` is the time the statement is proven to have existed (the anchor block's timestamp),
    not the time of verification.
    """
    certificate = verify_certificate(
        signature.certificate, trusted_cas=trusted_cas, crls=crls, at=at
    )
    identity = officer_identity(certificate)
    public_key = certificate.public_key()
    key_alg = alg_of(public_key)
    if signature.alg != key_alg:
        raise BadSignatureError(
            f"signature alg {signature.alg!r} does not match the certificate's {key_alg} key"
        )
    try:
        payload = signing_payload(statement)
    except StatementFormatError as exc:
        raise BadSignatureError(f"no signature can be over this statement: {exc}") from exc
    verify_signature(
        public_key,  # type: ignore[arg-type]  # alg_of above refused other key types
        signature.signature_bytes,
        payload,
        key_alg,
    )
    if signature.signer != identity.officer_id:
        raise BadSignatureError(
            f"signer {signature.signer!r} is not the certificate's officer {identity.officer_id!r}"
        )
    if statement.get("officer_id") != identity.officer_id:
        raise BadSignatureError(
            f"statement officer_id {statement.get('officer_id')!r} is not the certificate's "
            f"officer {identity.officer_id!r}"
        )
    if "department_id" in statement and statement["department_id"] != identity.department_id:
        raise BadSignatureError(
            f"statement department_id {statement['department_id']!r} is not the certificate's "
            f"department {identity.department_id!r}"
        )
    return identity
