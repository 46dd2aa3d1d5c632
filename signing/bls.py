"""BLS co-signatures: several departments sign one joint record, one 96-byte aggregate proves it.

Ciphersuite ``BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`` of draft-irtf-cfrg-bls-signature
(minimal-pubkey-size: 48-byte compressed G1 public keys, 96-byte compressed G2 signatures), with
proof-of-possession (PoP) against rogue-key attacks: :func:`fast_aggregate_verify` is only sound
for public keys whose PoP was checked with :func:`pop_verify` when they were registered.

Two interchangeable backends produce byte-identical keys, signatures, PoPs and aggregates:

- :data:`PY_ECC`: ``py_ecc`` (the Ethereum reference implementation), pure Python, ~0.3 s a verify;
- :data:`FAST`: ``blspy`` (the Chia C++ library via relic), ~1 ms a verify, used when importable.

Key generation is always the IETF ``KeyGen`` (HKDF-mod-r with the hashed-salt loop, as in draft 05
and EIP-2333) computed once in Python, whichever backend signs: blspy's own ``key_gen`` follows an
older draft and derives different keys from the same IKM, so it is never used.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, NamedTuple

from py_ecc.bls.ciphersuites import G2ProofOfPossession as _PyEccScheme
from py_ecc.optimized_bls12_381.optimized_curve import curve_order as _CURVE_ORDER

from signing.errors import BadSignatureError, KeyFormatError, SigningError

__all__ = [
    "CIPHERSUITE",
    "FAST",
    "PUBLIC_KEY_SIZE",
    "PY_ECC",
    "SIGNATURE_SIZE",
    "BlsBackend",
    "BlsKeyPair",
    "aggregate",
    "aggregate_public_keys",
    "default_backend",
    "fast_aggregate_verify",
    "keygen",
    "pop_prove",
    "public_key",
    "pop_verify",
    "sign",
    "verify",
]

CIPHERSUITE = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
PUBLIC_KEY_SIZE = 48
SIGNATURE_SIZE = 96
MIN_IKM_SIZE = 32
"""IETF KeyGen: IKM MUST be at least 32 bytes of secret randomness."""

_INFINITY_G1 = bytes([0xC0]) + bytes(PUBLIC_KEY_SIZE - 1)


class BlsKeyPair(NamedTuple):
    """A secret scalar ``0 < secret_key < r`` and its 48-byte compressed G1 public key."""

    secret_key: int
    public_key: bytes


class BlsBackend(ABC):
    """One implementation of the ciphersuite. Inputs reaching a backend are already length-checked.

    Methods return booleans only internally; the module functions turn ``False`` into
    :class:`~signing.errors.BadSignatureError`.
    """

    name: str = "abstract"

    @property
    def available(self) -> bool:
        return True

    @abstractmethod
    def sk_to_pk(self, sk: int) -> bytes: ...

    @abstractmethod
    def sign(self, sk: int, message: bytes) -> bytes: ...

    @abstractmethod
    def verify(self, pk: bytes, message: bytes, signature: bytes) -> bool: ...

    @abstractmethod
    def pop_prove(self, sk: int) -> bytes: ...

    @abstractmethod
    def pop_verify(self, pk: bytes, proof: bytes) -> bool: ...

    @abstractmethod
    def aggregate(self, signatures: Sequence[bytes]) -> bytes: ...

    @abstractmethod
    def aggregate_public_keys(self, pks: Sequence[bytes]) -> bytes: ...

    @abstractmethod
    def fast_aggregate_verify(
        self, pks: Sequence[bytes], message: bytes, signature: bytes
    ) -> bool: ...

    def __repr__(self) -> str:
        return f"<BlsBackend {self.name}>"


class _PyEccBackend(BlsBackend):
    name = "py_ecc"

    def sk_to_pk(self, sk: int) -> bytes:
        return bytes(_PyEccScheme.SkToPk(sk))

    def sign(self, sk: int, message: bytes) -> bytes:
        return bytes(_PyEccScheme.Sign(sk, message))

    def verify(self, pk: bytes, message: bytes, signature: bytes) -> bool:
        return bool(_PyEccScheme.Verify(pk, message, signature))  # type: ignore[arg-type]

    def pop_prove(self, sk: int) -> bytes:
        return bytes(_PyEccScheme.PopProve(sk))

    def pop_verify(self, pk: bytes, proof: bytes) -> bool:
        return bool(_PyEccScheme.PopVerify(pk, proof))  # type: ignore[arg-type]

    def aggregate(self, signatures: Sequence[bytes]) -> bytes:
        try:
            return bytes(_PyEccScheme.Aggregate(signatures))  # type: ignore[arg-type]
        except Exception as exc:  # py_ecc raises ValidationError / ValueError on bad points
            raise BadSignatureError(f"cannot aggregate: invalid signature ({exc})") from exc

    def aggregate_public_keys(self, pks: Sequence[bytes]) -> bytes:
        try:
            return bytes(_PyEccScheme._AggregatePKs(pks))  # type: ignore[arg-type]
        except Exception as exc:
            raise KeyFormatError(f"cannot aggregate: invalid BLS public key ({exc})") from exc

    def fast_aggregate_verify(self, pks: Sequence[bytes], message: bytes, signature: bytes) -> bool:
        return bool(_PyEccScheme.FastAggregateVerify(pks, message, signature))  # type: ignore[arg-type]


class _BlspyBackend(BlsBackend):
    name = "blspy"

    @property
    def available(self) -> bool:
        try:
            import blspy  # noqa: F401
        except ImportError:
            return False
        return True

    @staticmethod
    def _lib() -> Any:
        try:
            import blspy
        except ImportError as exc:
            raise SigningError("the fast BLS backend needs blspy: pip install blspy") from exc
        return blspy

    def _sk(self, sk: int) -> Any:
        return self._lib().PrivateKey.from_bytes(sk.to_bytes(32, "big"))

    def _pk(self, pk: bytes) -> Any:
        """Deserialize with on-curve and subgroup checks; ``None`` if not a valid point."""
        try:
            return self._lib().G1Element.from_bytes(pk)
        except (ValueError, RuntimeError):
            return None

    def _sig(self, signature: bytes) -> Any:
        try:
            return self._lib().G2Element.from_bytes(signature)
        except (ValueError, RuntimeError):
            return None

    def sk_to_pk(self, sk: int) -> bytes:
        return bytes(self._sk(sk).get_g1())

    def sign(self, sk: int, message: bytes) -> bytes:
        return bytes(self._lib().PopSchemeMPL.sign(self._sk(sk), message))

    def verify(self, pk: bytes, message: bytes, signature: bytes) -> bool:
        point, sig = self._pk(pk), self._sig(signature)
        if point is None or sig is None:
            return False
        return bool(self._lib().PopSchemeMPL.verify(point, message, sig))

    def pop_prove(self, sk: int) -> bytes:
        return bytes(self._lib().PopSchemeMPL.pop_prove(self._sk(sk)))

    def pop_verify(self, pk: bytes, proof: bytes) -> bool:
        point, sig = self._pk(pk), self._sig(proof)
        if point is None or sig is None:
            return False
        return bool(self._lib().PopSchemeMPL.pop_verify(point, sig))

    def aggregate(self, signatures: Sequence[bytes]) -> bytes:
        points = [self._sig(s) for s in signatures]
        if any(p is None for p in points):
            raise BadSignatureError("cannot aggregate: invalid signature point")
        return bytes(self._lib().PopSchemeMPL.aggregate(points))

    def aggregate_public_keys(self, pks: Sequence[bytes]) -> bytes:
        points = [self._pk(pk) for pk in pks]
        if any(p is None for p in points):
            raise KeyFormatError("cannot aggregate: invalid BLS public key")
        total = points[0]
        for point in points[1:]:
            total = total + point
        return bytes(total)

    def fast_aggregate_verify(self, pks: Sequence[bytes], message: bytes, signature: bytes) -> bool:
        points, sig = [self._pk(pk) for pk in pks], self._sig(signature)
        if sig is None or any(p is None for p in points):
            return False
        return bool(self._lib().PopSchemeMPL.fast_aggregate_verify(points, message, sig))


PY_ECC: BlsBackend = _PyEccBackend()
FAST: BlsBackend = _BlspyBackend()


def default_backend() -> BlsBackend:
    """:data:`FAST` when blspy is importable, else :data:`PY_ECC`."""
    return FAST if FAST.available else PY_ECC


def _backend(backend: BlsBackend | None) -> BlsBackend:
    return default_backend() if backend is None else backend


def _check_sk(sk: int) -> int:
    if isinstance(sk, bool) or not isinstance(sk, int) or not 0 < sk < _CURVE_ORDER:
        raise KeyFormatError("BLS secret key must be an integer in 1 .. r-1")
    return sk


def _check_pk(pk: bytes) -> bytes:
    """Length and not the identity (IETF KeyValidate); curve/subgroup checks are the backend's."""
    if not isinstance(pk, bytes | bytearray) or len(pk) != PUBLIC_KEY_SIZE:
        raise KeyFormatError(f"BLS public key must be {PUBLIC_KEY_SIZE} bytes")
    if bytes(pk) == _INFINITY_G1:
        raise KeyFormatError("BLS public key is the identity point")
    return bytes(pk)


def _check_sig(signature: bytes, what: str = "signature") -> bytes:
    if not isinstance(signature, bytes | bytearray) or len(signature) != SIGNATURE_SIZE:
        raise BadSignatureError(f"BLS {what} must be {SIGNATURE_SIZE} bytes")
    return bytes(signature)


def keygen(ikm: bytes, *, key_info: bytes = b"", backend: BlsBackend | None = None) -> BlsKeyPair:
    """IETF ``KeyGen(IKM, key_info)``: the same key pair from the same IKM on every backend.

    ``ikm`` must be at least 32 bytes of secret randomness; passing it in (rather than drawing it
    here) keeps this function deterministic and testable.
    """
    if len(ikm) < MIN_IKM_SIZE:
        raise KeyFormatError(f"BLS IKM must be at least {MIN_IKM_SIZE} bytes")
    sk = int(_PyEccScheme.KeyGen(bytes(ikm), key_info))
    return BlsKeyPair(sk, _backend(backend).sk_to_pk(sk))


def public_key(sk: int, *, backend: BlsBackend | None = None) -> bytes:
    """The 48-byte public key of ``sk``."""
    return _backend(backend).sk_to_pk(_check_sk(sk))


def sign(sk: int, message: bytes, *, backend: BlsBackend | None = None) -> bytes:
    """A 96-byte signature over ``message`` (deterministic: BLS signing uses no randomness)."""
    return _backend(backend).sign(_check_sk(sk), bytes(message))


def verify(
    pk: bytes, message: bytes, signature: bytes, *, backend: BlsBackend | None = None
) -> None:
    """Return ``None`` if ``signature`` by ``pk`` over ``message`` is valid; else raise."""
    pk, signature = _check_pk(pk), _check_sig(signature)
    if not _backend(backend).verify(pk, bytes(message), signature):
        raise BadSignatureError("BLS signature does not verify for this key and message")


def pop_prove(sk: int, *, backend: BlsBackend | None = None) -> bytes:
    """Proof that the holder of ``pk`` knows its secret key; publish it with the key."""
    return _backend(backend).pop_prove(_check_sk(sk))


def pop_verify(pk: bytes, proof: bytes, *, backend: BlsBackend | None = None) -> None:
    """Check a proof of possession; do this once for every key before aggregating with it."""
    pk, proof = _check_pk(pk), _check_sig(proof, "proof of possession")
    if not _backend(backend).pop_verify(pk, proof):
        raise BadSignatureError("BLS proof of possession does not verify for this key")


def aggregate(signatures: Sequence[bytes], *, backend: BlsBackend | None = None) -> bytes:
    """Sum signatures into one 96-byte aggregate. Order does not matter."""
    if not signatures:
        raise BadSignatureError("cannot aggregate zero signatures")
    checked = [_check_sig(s) for s in signatures]
    return _backend(backend).aggregate(checked)


def aggregate_public_keys(pks: Sequence[bytes], *, backend: BlsBackend | None = None) -> bytes:
    """Sum public keys into the 48-byte key that verifies an aggregate over one message."""
    if not pks:
        raise KeyFormatError("cannot aggregate zero public keys")
    checked = [_check_pk(pk) for pk in pks]
    return _backend(backend).aggregate_public_keys(checked)


def fast_aggregate_verify(
    pks: Sequence[bytes],
    message: bytes,
    aggregate_signature: bytes,
    *,
    backend: BlsBackend | None = None,
) -> None:
    """Check that every key in ``pks`` signed ``message``; each key's PoP must be verified already.

    Raises :class:`~signing.errors.BadSignatureError` on a wrong message, a missing or extra
    signer, or a tampered aggregate; :class:`~signing.errors.KeyFormatError` on a malformed key.
    """
    if not pks:
        raise BadSignatureError("no signers given for the BLS aggregate")
    checked = [_check_pk(pk) for pk in pks]
    signature = _check_sig(aggregate_signature, "aggregate signature")
    if not _backend(backend).fast_aggregate_verify(checked, bytes(message), signature):
        raise BadSignatureError(
            reason=f"BLS aggregate does not verify for these {len(checked)} signers and message"
        )
