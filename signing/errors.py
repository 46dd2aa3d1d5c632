"""The errors of ``signing``: one root, and a verification family with stable reasons.

Every ``verify_*`` in this package returns ``None`` (or the verified value) or raises a
:class:`VerificationError`. Callers branch on :attr:`VerificationError.reason`, one of
:data:`REASONS`, never on the message text, which is for people.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "REASONS",
    "BadCertificateError",
    "BadSignatureError",
    "CertificateExpiredError",
    "CertificateNotYetValidError",
    "CertificateRevokedError",
    "KeyFormatError",
    "SigningError",
    "StatementFormatError",
    "UnknownIssuerError",
    "VerificationError",
]

REASONS: Final = frozenset(
    {"bad-signature", "unknown-issuer", "expired", "revoked", "not-yet-valid", "bad-certificate"}
)
"""The stable values of :attr:`VerificationError.reason`."""


class SigningError(Exception):
    """Root of every error raised by ``signing``."""


class VerificationError(SigningError, ValueError):
    """A signature, certificate or CRL did not verify.

    ``reason`` is a stable machine-readable code from :data:`REASONS`; ``detail`` (also the
    message) says what a person should look at. Each subclass fixes its own ``reason``; the base
    class defaults to ``"bad-signature"``, the failure name of proof-format step 4.

    For convenience ``reason=`` may be passed a free-text explanation instead of a code: a value
    outside :data:`REASONS` is taken as the detail and the class's code is kept, so ``reason`` is
    always one of the stable values.
    """

    reason: str = "bad-signature"

    def __init__(self, detail: str = "", *, reason: str | None = None) -> None:
        if reason is not None and reason not in REASONS:
            detail = f"{detail}: {reason}" if detail else reason
            reason = None
        if reason is not None:
            self.reason = reason
        self.detail = detail or self.reason
        super().__init__(self.detail)

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail != self.reason else self.reason


class BadSignatureError(VerificationError):
    """The signature does not verify, or does not belong to the claimed signer."""

    reason = "bad-signature"


class UnknownIssuerError(VerificationError):
    """No trusted CA issued (and signed) the certificate."""

    reason = "unknown-issuer"


class CertificateExpiredError(VerificationError):
    """The certificate (or its CA) was past its notAfter at the reference time."""

    reason = "expired"


class CertificateRevokedError(VerificationError):
    """A CRL signed by the issuing CA revoked the certificate at or before the reference time."""

    reason = "revoked"


class CertificateNotYetValidError(VerificationError):
    """The certificate (or its CA) was before its notBefore at the reference time."""

    reason = "not-yet-valid"


class BadCertificateError(VerificationError):
    """A certificate or CRL is malformed, has the wrong shape, or a CRL is forged."""

    reason = "bad-certificate"


class KeyFormatError(SigningError, ValueError):
    """A key is unreadable, of an unsupported type, or its passphrase is wrong."""


class StatementFormatError(SigningError, ValueError):
    """A statement is not a JSON object that RFC 8785 can canonicalize."""
