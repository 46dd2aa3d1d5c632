"""Domain errors of the evidence service, each mapped to one RFC 9457 problem type.

Every error carries a stable ``type`` URI (``https://evidence.example/problems/<slug>``), the HTTP
status it answers with and a human-readable ``detail``. The API layer turns them into
``application/problem+json``; nothing else in the service builds problem documents by hand.
"""

from __future__ import annotations

from typing import Any, ClassVar

from evidence_service.core.logs import current_request_id

PROBLEM_BASE = "https://evidence-custody.org/problems/"


class EvidenceError(Exception):
    """Root of every error the service raises on purpose."""

    slug: ClassVar[str] = "evidence-error"
    title: ClassVar[str] = "Evidence service error"
    status: ClassVar[int] = 400

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @classmethod
    def type_uri(cls) -> str:
        return PROBLEM_BASE + cls.slug

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type_uri(),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        request_id = current_request_id()
        if request_id is not None:
            body["request_id"] = request_id
        return body


class OversizeError(EvidenceError):
    slug, title, status = "oversize", "Upload exceeds the size limit", 413


class WrongMediaTypeError(EvidenceError):
    slug, title, status = "wrong-media-type", "Content does not match the capture port", 415


class HashMismatchError(EvidenceError):
    slug, title, status = "hash-mismatch", "Content hash does not match the declared hash", 422


class TruncatedUploadError(EvidenceError):
    slug, title, status = "truncated-upload", "Upload ended before all declared bytes arrived", 400


class BadMetadataError(EvidenceError):
    slug, title, status = "bad-metadata", "Capture metadata is invalid", 422


class UnknownPortError(EvidenceError):
    slug, title, status = "unknown-port", "Unknown capture port", 422


class DecompressionBombError(EvidenceError):
    slug, title, status = "decompression-bomb", "Image is too large to decode safely", 422


class PathTraversalError(EvidenceError):
    slug, title, status = "path-traversal", "File name tries to leave its directory", 422


class BadContentError(EvidenceError):
    """The bytes have the right type but are malformed (an IoT batch failing its schema, ...)."""

    slug, title, status = "bad-content", "Content is malformed for this capture port", 422


class MissingTokenError(EvidenceError):
    slug, title, status = "missing-token", "A bearer token is required", 401


class InvalidTokenError(EvidenceError):
    slug, title, status = "invalid-token", "The bearer token is not valid", 401


class InvalidEnrolmentCodeError(EvidenceError):
    slug, title, status = "invalid-enrolment-code", "The enrolment code is not valid", 401


class RateLimitedError(EvidenceError):
    """Too many requests (or bytes) from one address or token in the window; ``retry_after``
    (seconds) goes into the ``Retry-After`` header."""

    slug, title, status = "rate-limited", "Too many requests", 429


class ForbiddenError(EvidenceError):
    slug, title, status = "forbidden", "Your role does not allow this action", 403


class NotFoundError(EvidenceError):
    slug, title, status = "not-found", "No such resource", 404


class IdempotencyConflictError(EvidenceError):
    slug, title, status = (
        "idempotency-conflict",
        "Idempotency-Key reused with a different request",
        422,
    )


class UploadOffsetConflictError(EvidenceError):
    slug, title, status = "offset-conflict", "Upload-Offset does not match the received bytes", 409


class UploadStateError(EvidenceError):
    slug, title, status = "upload-state", "The upload session cannot take this action", 409


class BadRequestError(EvidenceError):
    slug, title, status = "bad-request", "The request is malformed", 400


class StoreUnavailableError(EvidenceError):
    slug, title, status = "store-unavailable", "The object store is unavailable", 503


class DatabaseUnavailableError(EvidenceError):
    """The database connection was lost (a restarted or failed-over server): the request did
    nothing and may be retried; the pool has already dropped the dead connections."""

    slug, title, status = "database-unavailable", "The database is unavailable", 503


class ChainUnavailableProblem(EvidenceError):
    slug, title, status = "chain-unavailable", "The chain is not available here", 503


class SignatureRejectedError(EvidenceError):
    slug, title, status = "bad-signature", "The officer's signature does not verify", 422


class StatementMismatchError(EvidenceError):
    slug, title, status = (
        "statement-mismatch",
        "The upload does not match the signed statement",
        422,
    )


class PreparedCaptureError(EvidenceError):
    slug, title, status = "prepared-capture", "The prepared capture cannot be used", 409


class UnsignedCaptureError(EvidenceError):
    """The officer's department requires signed captures and the service cannot sign this one
    (the officer has no usable custodial certificate: it was revoked, or they hold their own
    key and must use the two-step capture)."""

    slug, title, status = "unsigned-capture", "The capture cannot be signed", 422


class SigningCertificateChangedError(EvidenceError):
    """The certificate that signed a capture's statement was revoked before the capture was
    recorded, and so was the one that signed it again on a fresh read: nothing is kept; send
    it again. (The service signs again by itself once; this reaches a caller only when a second
    revocation races that.)"""

    slug = "signing-certificate-changed"
    title, status = "The signing certificate was revoked during the capture", 409


class BadJsonError(BadRequestError):
    """JSON the service will not parse: not UTF-8, nested too deep, absurd numbers, malformed."""

    slug, title, status = "bad-json", "The JSON text is not acceptable", 400


class BodyTooLargeError(OversizeError):
    """A request body over its route's declared limit (checked while reading, before parsing)."""

    slug, title = "body-too-large", "The request body exceeds this route's limit"


class CertificateTextError(EvidenceError):
    slug, title, status = "certificate-text", "The text cannot go into a certificate", 422


class SealTextError(EvidenceError):
    slug, title, status = "undrawable-seal", "The department seal cannot show this text", 422


class UndrawableSealError(SealTextError):
    """A department stored before its name was checked whose seal cannot be drawn: the
    service's own data, not the caller's request, is at fault (409 until an admin fixes it)."""

    title, status = "This department's seal cannot be drawn", 409


class ConflictError(EvidenceError):
    slug, title, status = "conflict", "The resource already exists", 409


class CoSignatureStateError(EvidenceError):
    """The co-signature request no longer takes answers (complete, declined or expired), or the
    department has answered it already."""

    slug, title, status = "cosignature-state", "The co-signature cannot take this action now", 409
