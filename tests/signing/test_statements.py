"""Officer signatures over statements: round trips and one named case per failure reason."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing.cert_codec import load_certificate
from signing.certs import create_crl, issue_officer_certificate
from signing.errors import (
    BadCertificateError,
    KeyFormatError,
    StatementFormatError,
    VerificationError,
)
from signing.jcs import canonicalize, loads
from signing.keys import ALGORITHMS, generate_private_key, sign
from signing.statements import (
    SignedStatement,
    StatementSignature,
    sign_statement,
    signing_payload,
    verify_statement,
)
from tests.signing import DAY, T0, Pki, make_pki

AT = T0 + 10 * DAY
"""The anchor time every statement here is verified at, unless a test says otherwise."""


def capture_statement(**overrides: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "evidence_id": "01JDQ8X4Y2ZB3C5D7E9F0G1H2J",
        "port": "physical",
        "sha256": "a" * 64,
        "sm3": "b" * 64,
        "size": 1048576,
        "media_type": "image/jpeg",
        "captured_at": "2026-01-11T08:00:00Z",
        "received_at": "2026-01-11T08:00:03Z",
        "officer_id": "officer-0042",
        "department_id": "dept-330100-scjg",
        "metadata_sha256": "c" * 64,
    }
    statement.update(overrides)
    return statement


@pytest.fixture(scope="module", params=ALGORITHMS)
def pki(request: pytest.FixtureRequest) -> Pki:
    return make_pki(request.param)


def _sign(pki: Pki, statement: dict[str, Any]) -> StatementSignature:
    return sign_statement(
        statement, key=pki.officer_key, certificate_pem=pki.officer_pem, signer="officer-0042"
    )


def _forge(pki: Pki, statement: dict[str, Any], **fields: str) -> StatementSignature:
    """Two-step signing with the real key, bypassing sign_statement's own checks."""
    value = base64.b64encode(sign(pki.officer_key, signing_payload(statement))).decode()
    block = {
        "alg": pki.alg,
        "signer": "officer-0042",
        "certificate": pki.officer_pem.decode(),
        "value": value,
    }
    block.update(fields)
    return StatementSignature.from_json(block)


def _reason_of(
    pki: Pki, statement: dict[str, Any], signature: StatementSignature, **kw: Any
) -> str:
    kw.setdefault("at", AT)
    with pytest.raises(VerificationError) as exc_info:
        verify_statement(statement, signature, trusted_cas=[pki.ca_pem], **kw)
    return exc_info.value.reason


# --------------------------------------------------------------------------- round trips


def test_round_trip(pki: Pki) -> None:
    statement = capture_statement()
    signature = _sign(pki, statement)
    assert signature.alg == pki.alg
    assert signature.signer == "officer-0042"
    assert len(base64.b64decode(signature.value, validate=True)) == 64
    identity = verify_statement(statement, signature, trusted_cas=[pki.ca_pem], at=AT)
    assert identity == pki.identity


def test_signature_block_json_round_trip(pki: Pki) -> None:
    signature = _sign(pki, capture_statement())
    block = signature.as_json()
    assert set(block) == {"alg", "signer", "certificate", "value"}
    assert block["certificate"].startswith("-----BEGIN CERTIFICATE-----")
    parsed = StatementSignature.from_json(json.loads(json.dumps(block)))
    assert parsed == signature
    assert SignedStatement is StatementSignature


def test_signing_payload_is_the_jcs_bytes() -> None:
    statement = capture_statement()
    assert signing_payload(statement) == canonicalize(statement)
    assert signing_payload(statement).startswith(b'{"captured_at":"2026-01-11T08:00:00Z",')


def test_two_step_client_signing(pki: Pki) -> None:
    statement = capture_statement()
    signature = _forge(pki, statement)
    assert verify_statement(statement, signature, trusted_cas=[pki.ca_pem], at=AT) == pki.identity


def test_key_order_does_not_matter(pki: Pki) -> None:
    statement = capture_statement()
    signature = _sign(pki, statement)
    reordered = dict(reversed(list(statement.items())))
    verify_statement(reordered, signature, trusted_cas=[pki.ca_pem], at=AT)


# --------------------------------------------------------------------------- golden failures


def test_tampered_statement(pki: Pki) -> None:
    statement = capture_statement()
    signature = _sign(pki, statement)
    assert _reason_of(pki, capture_statement(size=1048577), signature) == "bad-signature"
    assert _reason_of(pki, capture_statement(sha256="d" * 64), signature) == "bad-signature"
    assert _reason_of(pki, {**statement, "extra": 1}, signature) == "bad-signature"


def test_tampered_signature(pki: Pki) -> None:
    statement = capture_statement()
    raw = bytearray(_sign(pki, statement).signature_bytes)
    raw[10] ^= 0x40
    tampered = _forge(pki, statement, value=base64.b64encode(bytes(raw)).decode())
    assert _reason_of(pki, statement, tampered) == "bad-signature"


def test_certificate_from_another_ca(pki: Pki) -> None:
    other = make_pki(pki.alg, department_id="dept-330100-scjg")  # same names, other keys
    statement = capture_statement()
    signature = sign_statement(
        statement, key=other.officer_key, certificate_pem=other.officer_pem, signer="officer-0042"
    )
    assert _reason_of(pki, statement, signature) == "unknown-issuer"


def test_before_not_before(pki: Pki) -> None:
    statement = capture_statement()
    signature = _sign(pki, statement)
    assert _reason_of(pki, statement, signature, at=T0 - DAY) == "not-yet-valid"


def test_after_not_after(pki: Pki) -> None:
    statement = capture_statement()
    signature = _sign(pki, statement)
    assert _reason_of(pki, statement, signature, at=T0 + 366 * DAY) == "expired"


def _revocation(pki: Pki, revoked_at_offset: timedelta) -> bytes:
    serial = load_certificate(pki.officer_pem).serial_number
    return create_crl(
        ca_cert_pem=pki.ca_pem,
        ca_key=pki.ca_key,
        revoked=[(serial, AT + revoked_at_offset)],
        now=AT + 30 * DAY,
    )


def test_revoked_before_at(pki: Pki) -> None:
    statement = capture_statement()
    signature = _sign(pki, statement)
    crl = _revocation(pki, -timedelta(seconds=1))
    assert _reason_of(pki, statement, signature, crls=[crl]) == "revoked"


def test_revoked_after_at_is_still_valid(pki: Pki) -> None:
    """Long-term validation: the anchor at AT proves the statement predates the revocation."""
    statement = capture_statement()
    signature = _sign(pki, statement)
    crl = _revocation(pki, timedelta(seconds=1))
    identity = verify_statement(statement, signature, trusted_cas=[pki.ca_pem], crls=[crl], at=AT)
    assert identity == pki.identity


def test_forged_crl(pki: Pki) -> None:
    """A CRL under the CA's name from someone else's key is refused, not silently used."""
    impostor = make_pki(pki.alg)  # same CA name, other key; the CRL claims the real CA's name
    ca = load_certificate(pki.ca_pem)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import Encoding

    digest = None if isinstance(impostor.ca_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    forged = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(T0)
        .next_update(AT)
        .sign(impostor.ca_key, digest)
        .public_bytes(Encoding.PEM)
    )
    statement = capture_statement()
    signature = _sign(pki, statement)
    assert _reason_of(pki, statement, signature, crls=[forged]) == "bad-certificate"


def test_signer_is_not_the_certificate_officer(pki: Pki) -> None:
    statement = capture_statement()
    signature = _forge(pki, statement, signer="officer-0099")
    with pytest.raises(VerificationError, match="signer 'officer-0099'") as exc_info:
        verify_statement(statement, signature, trusted_cas=[pki.ca_pem], at=AT)
    assert exc_info.value.reason == "bad-signature"


def test_statement_officer_is_not_the_certificate_officer(pki: Pki) -> None:
    statement = capture_statement(officer_id="officer-0099")
    signature = _forge(pki, statement)  # a valid signature by officer-0042's key
    with pytest.raises(VerificationError, match="statement officer_id") as exc_info:
        verify_statement(statement, signature, trusted_cas=[pki.ca_pem], at=AT)
    assert exc_info.value.reason == "bad-signature"


def test_statement_without_officer_id(pki: Pki) -> None:
    statement = capture_statement()
    del statement["officer_id"]
    signature = _forge(pki, statement)
    assert _reason_of(pki, statement, signature) == "bad-signature"


def test_statement_department_is_not_the_certificate_department(pki: Pki) -> None:
    statement = capture_statement(department_id="dept-other")
    signature = _forge(pki, statement)
    with pytest.raises(VerificationError, match="department_id") as exc_info:
        verify_statement(statement, signature, trusted_cas=[pki.ca_pem], at=AT)
    assert exc_info.value.reason == "bad-signature"


def test_alg_does_not_match_the_key(pki: Pki) -> None:
    statement = capture_statement()
    other_alg = "ES256" if pki.alg == "Ed25519" else "Ed25519"
    signature = _forge(pki, statement, alg=other_alg)
    with pytest.raises(VerificationError, match="does not match") as exc_info:
        verify_statement(statement, signature, trusted_cas=[pki.ca_pem], at=AT)
    assert exc_info.value.reason == "bad-signature"


def test_unsignable_statement(pki: Pki) -> None:
    with pytest.raises(StatementFormatError):
        _sign(pki, capture_statement(size=float("nan")))
    signature = _sign(pki, capture_statement())
    assert _reason_of(pki, capture_statement(size=float("inf")), signature) == "bad-signature"


# --------------------------------------------------------------------------- signing refusals


def test_sign_refuses_a_key_that_is_not_the_certificates(pki: Pki) -> None:
    with pytest.raises(KeyFormatError, match="does not match"):
        sign_statement(
            capture_statement(),
            key=generate_private_key(pki.alg),
            certificate_pem=pki.officer_pem,
            signer="officer-0042",
        )


def test_sign_refuses_another_signer_or_officer(pki: Pki) -> None:
    with pytest.raises(BadCertificateError, match="signer"):
        sign_statement(
            capture_statement(),
            key=pki.officer_key,
            certificate_pem=pki.officer_pem,
            signer="officer-0099",
        )
    with pytest.raises(BadCertificateError, match="officer_id"):
        _sign(pki, capture_statement(officer_id="officer-0099"))


# --------------------------------------------------------------------------- parse, then check


def _block(pki: Pki) -> dict[str, Any]:
    return _sign(pki, capture_statement()).as_json()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"alg": "RS256"}, KeyFormatError),
        ({"alg": ""}, BadCertificateError),
        ({"signer": 42}, BadCertificateError),
        ({"value": "not base64!"}, BadCertificateError),
        ({"value": base64.b64encode(b"\0" * 63).decode()}, BadCertificateError),
        ({"value": base64.urlsafe_b64encode(b"\xff" * 64).decode()}, BadCertificateError),
        (
            {"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
            BadCertificateError,
        ),
        ({"extra": "field"}, BadCertificateError),
    ],
)
def test_from_json_refuses_bad_shapes(
    pki: Pki, change: dict[str, Any], error: type[Exception]
) -> None:
    block = {**_block(pki), **change}
    with pytest.raises(error):
        StatementSignature.from_json(block)


def test_from_json_refuses_missing_fields_and_non_objects(pki: Pki) -> None:
    block = _block(pki)
    del block["value"]
    with pytest.raises(BadCertificateError, match="missing \\['value'\\]"):
        StatementSignature.from_json(block)
    with pytest.raises(BadCertificateError):
        StatementSignature.from_json(["not", "an", "object"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"), max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
statements = st.dictionaries(
    st.text(st.characters(codec="utf-8"), max_size=12).filter(
        lambda k: k not in {"officer_id", "department_id"}
    ),
    json_values,
    max_size=8,
).map(lambda d: {**d, "officer_id": "officer-0042", "department_id": "dept-330100-scjg"})


@pytest.mark.parametrize("alg_index", range(len(ALGORITHMS)))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(statement=statements)
def test_sign_verify_round_trip_over_random_statements(
    alg_index: int, statement: dict[str, Any]
) -> None:
    pki = _PKIS[alg_index]
    signature = _sign(pki, statement)
    block = json.loads(json.dumps(signature.as_json()))
    proof_statement = loads(canonicalize(statement))  # as a verifier reads a proof
    parsed = StatementSignature.from_json(block)
    identity = verify_statement(proof_statement, parsed, trusted_cas=[pki.ca_pem], at=AT)
    assert identity == pki.identity


_PKIS = [make_pki(alg) for alg in ALGORITHMS]


def test_reissued_certificate_with_the_same_key_still_verifies(pki: Pki) -> None:
    """Renewal re-binds the same key: old signatures verify under either certificate."""
    statement = capture_statement()
    signature = _sign(pki, statement)
    renewed = issue_officer_certificate(
        ca_cert_pem=pki.ca_pem,
        ca_key=pki.ca_key,
        identity=pki.identity,
        public_key=pki.officer_key.public_key(),
        now=T0 + 300 * DAY,
    )
    moved = _forge(pki, statement, certificate=renewed.decode())
    assert signature.value != "" and moved.certificate != signature.certificate
    verify_statement(statement, moved, trusted_cas=[pki.ca_pem], at=T0 + 301 * DAY)


def test_ed25519_backends_agree() -> None:
    """libsodium (the fast path) and OpenSSL give the same verdicts on good and bad signatures."""
    from signing import keys

    key = keys.generate_private_key("Ed25519")
    public = key.public_key()
    data = b"statement bytes"
    good = keys.sign(key, data)
    bad = bytes([good[0] ^ 1]) + good[1:]
    for check in (keys._verify_ed25519_sodium, keys._verify_ed25519_openssl):
        check(public, good, data)
        for signature, message in ((bad, data), (good, data + b"!")):
            with pytest.raises(keys.InvalidSignature):
                check(public, signature, message)
    assert keys._verify_ed25519 is keys._verify_ed25519_sodium
