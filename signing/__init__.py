"""Keys, certificates, canonical statements, e-seals and co-signatures. Pure: no I/O.

The names below are the package's public face; each also lives in its module:

- :mod:`signing.errors` the error family; :mod:`signing.jcs` RFC 8785 canonical JSON;
  :mod:`signing.keys` Ed25519 / ES256 keys and signatures;
- :mod:`signing.certs` issuing CAs, officer and seal certificates and CRLs;
  :mod:`signing.cert_codec` PEM/DER codecs; :mod:`signing.cert_identity` who a certificate
  names; :mod:`signing.cert_verify` chain and CRL checks at a given time;
- :mod:`signing.statements` signed capture statements;
- :mod:`signing.seal` the signed seal record; :mod:`signing.seal_image` drawing the seal;
  :mod:`signing.stamp` stamping it onto PNG and PDF pages; :mod:`signing.fonts` the CJK font;
- :mod:`signing.bls` BLS co-signatures (a submodule only: ``from signing import bls``).

Importing ``signing`` loads only :mod:`signing.errors`; every other name is imported from its
module on first use, so ``from signing.jcs import canonicalize`` does not pay for X.509,
Pillow or BLS.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from signing.errors import (
    REASONS,
    BadCertificateError,
    BadSignatureError,
    CertificateExpiredError,
    CertificateNotYetValidError,
    CertificateRevokedError,
    KeyFormatError,
    SigningError,
    StatementFormatError,
    UnknownIssuerError,
    VerificationError,
)

if TYPE_CHECKING:
    from signing import bls, jcs, keys
    from signing.cert_codec import MAX_CERTIFICATE_BYTES, load_certificate
    from signing.cert_identity import (
        OFFICER_IDENTITY_OID,
        SEAL_IDENTITY_OID,
        OfficerIdentity,
        SealIdentity,
        officer_identity,
        seal_identity,
    )
    from signing.cert_verify import verify_certificate
    from signing.certs import (
        create_crl,
        create_department_ca,
        issue_officer_certificate,
        issue_seal_certificate,
    )
    from signing.fonts import FontBook, FontNotFoundError, default_cjk_font, find_cjk_font
    from signing.jcs import canonicalize
    from signing.keys import (
        ALGORITHMS,
        Alg,
        PrivateKey,
        PublicKey,
        alg_of,
        encrypt_private_key,
        generate_private_key,
        load_private_key,
        load_public_key,
        private_key_der,
        private_key_pem,
        public_key_der,
        public_key_pem,
        sign,
        verify_signature,
    )
    from signing.seal import SealFormatError, SealRecord, seal_document, verify_seal
    from signing.seal_image import DEFAULT_SEAL_COLOR, SealImageError, render_seal
    from signing.stamp import stamp_pdf_page, stamp_png
    from signing.statements import (
        SignedStatement,
        StatementSignature,
        sign_statement,
        signing_payload,
        verify_statement,
    )

_LAZY: dict[str, tuple[str, ...]] = {
    "signing.cert_codec": ("MAX_CERTIFICATE_BYTES", "load_certificate"),
    "signing.cert_identity": (
        "OFFICER_IDENTITY_OID",
        "SEAL_IDENTITY_OID",
        "OfficerIdentity",
        "SealIdentity",
        "officer_identity",
        "seal_identity",
    ),
    "signing.cert_verify": ("verify_certificate",),
    "signing.certs": (
        "create_crl",
        "create_department_ca",
        "issue_officer_certificate",
        "issue_seal_certificate",
    ),
    "signing.fonts": ("FontBook", "FontNotFoundError", "default_cjk_font", "find_cjk_font"),
    "signing.jcs": ("canonicalize",),
    "signing.keys": (
        "ALGORITHMS",
        "Alg",
        "PrivateKey",
        "PublicKey",
        "alg_of",
        "encrypt_private_key",
        "generate_private_key",
        "load_private_key",
        "load_public_key",
        "private_key_der",
        "private_key_pem",
        "public_key_der",
        "public_key_pem",
        "sign",
        "verify_signature",
    ),
    "signing.seal": ("SealFormatError", "SealRecord", "seal_document", "verify_seal"),
    "signing.seal_image": ("DEFAULT_SEAL_COLOR", "SealImageError", "render_seal"),
    "signing.stamp": ("stamp_pdf_page", "stamp_png"),
    "signing.statements": (
        "SignedStatement",
        "StatementSignature",
        "sign_statement",
        "signing_payload",
        "verify_statement",
    ),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}
_SUBMODULES = ("bls", "jcs", "keys")

__all__ = [
    "ALGORITHMS",
    "DEFAULT_SEAL_COLOR",
    "MAX_CERTIFICATE_BYTES",
    "OFFICER_IDENTITY_OID",
    "REASONS",
    "SEAL_IDENTITY_OID",
    "Alg",
    "BadCertificateError",
    "BadSignatureError",
    "CertificateExpiredError",
    "CertificateNotYetValidError",
    "CertificateRevokedError",
    "FontBook",
    "FontNotFoundError",
    "KeyFormatError",
    "OfficerIdentity",
    "PrivateKey",
    "PublicKey",
    "SealFormatError",
    "SealIdentity",
    "SealImageError",
    "SealRecord",
    "SignedStatement",
    "SigningError",
    "StatementFormatError",
    "StatementSignature",
    "UnknownIssuerError",
    "VerificationError",
    "alg_of",
    "bls",
    "canonicalize",
    "create_crl",
    "create_department_ca",
    "default_cjk_font",
    "encrypt_private_key",
    "find_cjk_font",
    "generate_private_key",
    "issue_officer_certificate",
    "issue_seal_certificate",
    "jcs",
    "keys",
    "load_certificate",
    "load_private_key",
    "load_public_key",
    "officer_identity",
    "private_key_der",
    "private_key_pem",
    "public_key_der",
    "public_key_pem",
    "render_seal",
    "seal_document",
    "seal_identity",
    "sign",
    "sign_statement",
    "signing_payload",
    "stamp_pdf_page",
    "stamp_png",
    "verify_certificate",
    "verify_seal",
    "verify_signature",
    "verify_statement",
]


if not TYPE_CHECKING:  # type checkers see the imports above; at run time, load on first use

    def __getattr__(name: str) -> Any:
        """Import a public name's module on first use (PEP 562) and remember the name."""
        if name in _SUBMODULES:
            value = importlib.import_module(f"{__name__}.{name}")
        elif name in _MODULE_OF:
            value = getattr(importlib.import_module(_MODULE_OF[name]), name)
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(__all__))
