"""Officer and seal keys: Ed25519 and ECDSA P-256 (ES256), their encodings and raw signatures.

Two algorithms only, named as in JOSE (RFC 8037 ``Ed25519``, RFC 7518 ``ES256``). Signatures
are fixed-size 64-byte strings for both:

- Ed25519: the RFC 8032 signature (``R ‖ S``), deterministic.
- ES256: ECDSA over P-256 with SHA-256, in the JOSE raw form ``r ‖ s`` (RFC 7518 §3.4), each
  a 32-byte big-endian integer, *not* the DER ``ECDSA-Sig-Value`` X.509 uses. ECDSA signing is
  randomized, so two signatures over the same bytes differ; both verify.

Every ``cryptography`` error is translated to :class:`~signing.errors.KeyFormatError` (bad key
material) or :class:`~signing.errors.BadSignatureError` (a signature that does not verify).
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from signing.errors import BadSignatureError, KeyFormatError

__all__ = [
    "ALGORITHMS",
    "SIGNATURE_SIZE",
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
]

Alg: TypeAlias = Literal["Ed25519", "ES256"]
ALGORITHMS: tuple[Alg, ...] = ("Ed25519", "ES256")
PrivateKey: TypeAlias = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey: TypeAlias = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

SIGNATURE_SIZE = 64
"""Bytes in a signature of either algorithm (ES256 in the raw ``r ‖ s`` form)."""
_P256_SCALAR_SIZE = 32
_MAX_KEY_BYTES = 16_384
"""Key material longer than this is refused before parsing (a PEM key is ~250-600 bytes)."""


def generate_private_key(alg: Alg) -> PrivateKey:
    """A fresh private key for ``alg`` from the operating system's CSPRNG."""
    if alg == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise KeyFormatError(f"unsupported algorithm {alg!r}; expected one of {ALGORITHMS}")


def alg_of(key: PublicKey | PrivateKey | object) -> Alg:
    """The algorithm name of a public (or private) key; anything else is a KeyFormatError."""
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "Ed25519"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if isinstance(key.curve, ec.SECP256R1):
            return "ES256"
        raise KeyFormatError(f"ECDSA curve {key.curve.name} is not supported; use P-256")
    raise KeyFormatError(f"unsupported key type {type(key).__name__}; use Ed25519 or P-256")


def _checked_private(key: object) -> PrivateKey:
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyFormatError(f"unsupported private key type {type(key).__name__}")
    alg_of(key)
    return key


def _checked_public(key: object) -> PublicKey:
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise KeyFormatError(f"unsupported public key type {type(key).__name__}")
    alg_of(key)
    return key


def _passphrase_bytes(passphrase: bytes | str) -> bytes:
    raw = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    if not raw:
        raise KeyFormatError("the passphrase is empty")
    return raw


# --------------------------------------------------------------------------- encodings


def private_key_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM. Prefer :func:`encrypt_private_key` for anything stored."""
    return _checked_private(key).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_key_der(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 DER."""
    return _checked_private(key).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def encrypt_private_key(key: PrivateKey, passphrase: bytes | str) -> bytes:
    """PKCS#8 PEM encrypted under ``passphrase`` with ``cryptography``'s best available scheme.

    (Today PBES2 with a scrypt or PBKDF2 key and AES-256-CBC; :func:`load_private_key` reads
    whatever the installed version wrote.)
    """
    return _checked_private(key).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_passphrase_bytes(passphrase)),
    )


def load_private_key(data: bytes, passphrase: bytes | str | None = None) -> PrivateKey:
    """A private key from PKCS#8 (or traditional) PEM or DER, decrypted with ``passphrase``.

    Raises :class:`KeyFormatError` for malformed data, a wrong or missing passphrase, and key
    types other than Ed25519 and P-256.
    """
    if len(data) > _MAX_KEY_BYTES:
        raise KeyFormatError("private key data is too long")
    password = None if passphrase is None else _passphrase_bytes(passphrase)
    loader = (
        serialization.load_pem_private_key
        if data.lstrip().startswith(b"-----BEGIN")
        else serialization.load_der_private_key
    )
    try:
        key = loader(data, password=password)
    except TypeError as exc:  # encrypted without a passphrase, or a passphrase for a plain key
        raise KeyFormatError(f"cannot load the private key: {exc}") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:  # malformed, or a wrong passphrase
        raise KeyFormatError(
            "cannot load the private key (malformed, or wrong passphrase)"
        ) from exc
    return _checked_private(key)


def public_key_pem(key: PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM."""
    return _checked_public(key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_der(key: PublicKey) -> bytes:
    """SubjectPublicKeyInfo DER: the bytes two keys compare equal by."""
    return _checked_public(key).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(data: bytes) -> PublicKey:
    """A public key from SubjectPublicKeyInfo PEM or DER; KeyFormatError otherwise."""
    if len(data) > _MAX_KEY_BYTES:
        raise KeyFormatError("public key data is too long")
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"cannot load the public key: {exc}") from exc
    return _checked_public(key)


# --------------------------------------------------------------------------- signatures


def sign(key: PrivateKey, data: bytes) -> bytes:
    """The 64-byte signature of ``data`` (ES256 as raw ``r ‖ s``, see the module docstring)."""
    key = _checked_private(key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(_P256_SCALAR_SIZE, "big") + s.to_bytes(_P256_SCALAR_SIZE, "big")


def _verify_ed25519_openssl(key: ed25519.Ed25519PublicKey, signature: bytes, data: bytes) -> None:
    key.verify(signature, data)


def _verify_ed25519_sodium(key: ed25519.Ed25519PublicKey, signature: bytes, data: bytes) -> None:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        _sodium_open(signature + data, raw)
    except _SodiumBadSignature as exc:
        raise InvalidSignature() from exc


try:  # libsodium (PyNaCl) verifies Ed25519 about twice as fast as this OpenSSL build
    from nacl.bindings import crypto_sign_open as _sodium_open
    from nacl.exceptions import BadSignatureError as _SodiumBadSignature

    _verify_ed25519 = _verify_ed25519_sodium
except ImportError:  # pragma: no cover - PyNaCl is a declared dependency
    _verify_ed25519 = _verify_ed25519_openssl


def verify_signature(public_key: PublicKey, signature: bytes, data: bytes, alg: str) -> None:
    """Return ``None`` if ``signature`` is ``alg``'s signature of ``data`` by ``public_key``.

    Raises :class:`BadSignatureError` if it is not, if ``alg`` is not the key's algorithm, or if
    the signature is not 64 bytes; :class:`KeyFormatError` for an unsupported key type.
    """
    key_alg = alg_of(_checked_public(public_key))
    if alg != key_alg:
        raise BadSignatureError(f"alg {alg!r} does not match the {key_alg} key")
    if len(signature) != SIGNATURE_SIZE:
        raise BadSignatureError(
            f"{alg} signature must be {SIGNATURE_SIZE} bytes, got {len(signature)}"
        )
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            _verify_ed25519(public_key, signature, data)
        else:
            r = int.from_bytes(signature[:_P256_SCALAR_SIZE], "big")
            s = int.from_bytes(signature[_P256_SCALAR_SIZE:], "big")
            public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise BadSignatureError(f"the {alg} signature does not verify") from exc
