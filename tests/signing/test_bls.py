"""BLS co-signatures: both backends agree byte for byte and reject every kind of forgery.

py_ecc costs ~0.3 s per pairing check, so it is used sparingly; the fast backend carries the
bulk of the failure cases and the property test.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signing import bls
from signing.bls import FAST, PY_ECC, BlsKeyPair
from signing.errors import BadSignatureError, KeyFormatError

MESSAGE = b'{"joint_record":"JI-2024-0001","digest":"ab"}'


def _ikm(seed: int) -> bytes:
    return hashlib.sha256(b"bls test ikm %d" % seed).digest()


@pytest.fixture(scope="module")
def signers() -> list[BlsKeyPair]:
    return [bls.keygen(_ikm(i), backend=FAST) for i in range(10)]


def test_fast_backend_is_installed_and_default() -> None:
    assert FAST.available
    assert bls.default_backend() is FAST


def test_keygen_matches_the_eip2333_master_key_vector() -> None:
    """EIP-2333 test case 0: derive_master_SK is the IETF KeyGen with empty key_info."""
    seed = bytes.fromhex(
        "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c9"
        "2f2cf141630c7a3c4ab7c81b2f001698e7463b04"
    )
    expected = 6083874454709270928345386274498605044986640685124978867557563392430687146096
    for backend in (PY_ECC, FAST):
        assert bls.keygen(seed, backend=backend).secret_key == expected


def test_keygen_rejects_short_ikm() -> None:
    with pytest.raises(KeyFormatError):
        bls.keygen(b"\x01" * 31)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backends_are_byte_identical(seed: int) -> None:
    sk, pk = bls.keygen(_ikm(seed), backend=FAST)
    assert bls.keygen(_ikm(seed), backend=PY_ECC) == (sk, pk)
    assert len(pk) == bls.PUBLIC_KEY_SIZE
    signature = bls.sign(sk, MESSAGE, backend=FAST)
    assert len(signature) == bls.SIGNATURE_SIZE
    assert bls.sign(sk, MESSAGE, backend=PY_ECC) == signature
    assert bls.pop_prove(sk, backend=PY_ECC) == bls.pop_prove(sk, backend=FAST)


def test_aggregates_are_byte_identical(signers: list[BlsKeyPair]) -> None:
    signatures = [bls.sign(s.secret_key, MESSAGE, backend=FAST) for s in signers[:4]]
    keys = [s.public_key for s in signers[:4]]
    assert bls.aggregate(signatures, backend=PY_ECC) == bls.aggregate(signatures, backend=FAST)
    assert bls.aggregate_public_keys(keys, backend=PY_ECC) == bls.aggregate_public_keys(
        keys, backend=FAST
    )
    assert bls.aggregate(signatures[::-1], backend=FAST) == bls.aggregate(signatures, backend=FAST)


def test_each_backend_verifies_the_others_output(signers: list[BlsKeyPair]) -> None:
    sk, pk = signers[0]
    bls.verify(pk, MESSAGE, bls.sign(sk, MESSAGE, backend=FAST), backend=PY_ECC)
    bls.verify(pk, MESSAGE, bls.sign(sk, MESSAGE, backend=PY_ECC), backend=FAST)
    bls.pop_verify(pk, bls.pop_prove(sk, backend=FAST), backend=PY_ECC)
    bls.pop_verify(pk, bls.pop_prove(sk, backend=PY_ECC), backend=FAST)

    three = signers[:3]
    keys = [s.public_key for s in three]
    by_fast = bls.aggregate([bls.sign(s.secret_key, MESSAGE, backend=FAST) for s in three])
    bls.fast_aggregate_verify(keys, MESSAGE, by_fast, backend=PY_ECC)
    by_py_ecc = bls.aggregate(
        [bls.sign(s.secret_key, MESSAGE, backend=FAST) for s in three], backend=PY_ECC
    )
    bls.fast_aggregate_verify(keys, MESSAGE, by_py_ecc, backend=FAST)


def test_ten_departments_co_sign(signers: list[BlsKeyPair]) -> None:
    for signer in signers:
        bls.pop_verify(signer.public_key, bls.pop_prove(signer.secret_key))
    aggregate = bls.aggregate([bls.sign(s.secret_key, MESSAGE) for s in signers])
    keys = [s.public_key for s in signers]
    bls.fast_aggregate_verify(keys, MESSAGE, aggregate)
    bls.fast_aggregate_verify(keys[::-1], MESSAGE, aggregate)
    bls.verify(bls.aggregate_public_keys(keys), MESSAGE, aggregate)


def test_ten_signers_on_py_ecc(signers: list[BlsKeyPair]) -> None:
    aggregate = bls.aggregate([bls.sign(s.secret_key, MESSAGE) for s in signers])
    bls.fast_aggregate_verify([s.public_key for s in signers], MESSAGE, aggregate, backend=PY_ECC)


@pytest.fixture(scope="module")
def joint(signers: list[BlsKeyPair]) -> tuple[list[bytes], bytes]:
    five = signers[:5]
    return [s.public_key for s in five], bls.aggregate(
        [bls.sign(s.secret_key, MESSAGE) for s in five]
    )


@pytest.mark.parametrize("backend", [FAST, PY_ECC], ids=["fast", "py_ecc"])
def test_aggregate_over_another_message_is_rejected(
    joint: tuple[list[bytes], bytes], backend: bls.BlsBackend
) -> None:
    keys, aggregate = joint
    with pytest.raises(BadSignatureError):
        bls.fast_aggregate_verify(keys, MESSAGE + b" ", aggregate, backend=backend)


def test_missing_signer_is_rejected(joint: tuple[list[bytes], bytes]) -> None:
    keys, aggregate = joint
    with pytest.raises(BadSignatureError):
        bls.fast_aggregate_verify(keys[:-1], MESSAGE, aggregate)


def test_claimed_extra_signer_is_rejected(
    joint: tuple[list[bytes], bytes], signers: list[BlsKeyPair]
) -> None:
    keys, aggregate = joint
    with pytest.raises(BadSignatureError):
        bls.fast_aggregate_verify([*keys, signers[9].public_key], MESSAGE, aggregate)


@pytest.mark.parametrize("position", [0, 1, 47, 95])
def test_tampered_aggregate_byte_is_rejected(
    joint: tuple[list[bytes], bytes], position: int
) -> None:
    keys, aggregate = joint
    tampered = bytearray(aggregate)
    tampered[position] ^= 0x01
    with pytest.raises(BadSignatureError):
        bls.fast_aggregate_verify(keys, MESSAGE, bytes(tampered))


def test_tampered_signature_is_rejected_by_py_ecc(signers: list[BlsKeyPair]) -> None:
    sk, pk = signers[0]
    tampered = bytearray(bls.sign(sk, MESSAGE))
    tampered[50] ^= 0x80
    with pytest.raises(BadSignatureError):
        bls.verify(pk, MESSAGE, bytes(tampered), backend=PY_ECC)


def test_signature_by_another_key_is_rejected(signers: list[BlsKeyPair]) -> None:
    signature = bls.sign(signers[0].secret_key, MESSAGE)
    with pytest.raises(BadSignatureError):
        bls.verify(signers[1].public_key, MESSAGE, signature)


@pytest.mark.parametrize("backend", [FAST, PY_ECC], ids=["fast", "py_ecc"])
def test_pop_for_another_key_is_rejected(
    signers: list[BlsKeyPair], backend: bls.BlsBackend
) -> None:
    proof = bls.pop_prove(signers[0].secret_key)
    with pytest.raises(BadSignatureError):
        bls.pop_verify(signers[1].public_key, proof, backend=backend)


def test_signature_is_not_a_pop(signers: list[BlsKeyPair]) -> None:
    """Signing and PoP use different domain tags: a signature over the key bytes is no PoP."""
    sk, pk = signers[0]
    with pytest.raises(BadSignatureError):
        bls.pop_verify(pk, bls.sign(sk, pk))


def test_malformed_keys_and_signatures(signers: list[BlsKeyPair]) -> None:
    sk, pk = signers[0]
    signature = bls.sign(sk, MESSAGE)
    identity = bytes([0xC0]) + bytes(47)
    with pytest.raises(KeyFormatError):
        bls.verify(pk[:-1], MESSAGE, signature)
    with pytest.raises(KeyFormatError):
        bls.verify(identity, MESSAGE, signature)
    with pytest.raises(KeyFormatError):
        bls.aggregate_public_keys([pk, b"\x00" * 48])
    with pytest.raises(BadSignatureError):
        bls.verify(pk, MESSAGE, signature + b"\x00")
    with pytest.raises(BadSignatureError):
        bls.verify(pk, MESSAGE, b"\x01" * 96)
    with pytest.raises(BadSignatureError):
        bls.aggregate([])
    with pytest.raises(BadSignatureError):
        bls.fast_aggregate_verify([], MESSAGE, signature)
    with pytest.raises(KeyFormatError):
        bls.sign(0, MESSAGE)


@settings(max_examples=25, deadline=None)
@given(message=st.binary(max_size=200), seed=st.integers(min_value=0, max_value=9))
def test_sign_verify_round_trip(message: bytes, seed: int) -> None:
    sk, pk = bls.keygen(_ikm(seed))
    signature = bls.sign(sk, message)
    bls.verify(pk, message, signature)
    with pytest.raises(BadSignatureError):
        bls.verify(pk, message + b"x", signature)
