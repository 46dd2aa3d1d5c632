"""Keys, certificates and CRLs: round trips, the certificate profile, one case per failure."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from signing.cert_codec import load_certificate
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
from signing.errors import (
    REASONS,
    BadCertificateError,
    BadSignatureError,
    KeyFormatError,
    SigningError,
    VerificationError,
)
from signing.keys import (
    ALGORITHMS,
    Alg,
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
from tests.signing import DAY, T0, Pki, make_pki


@pytest.fixture(params=ALGORITHMS)
def pki(request: pytest.FixtureRequest) -> Pki:
    return make_pki(request.param)


def _serial(pem: bytes) -> int:
    return load_certificate(pem).serial_number


def _reason(exc_info: pytest.ExceptionInfo[VerificationError]) -> str:
    return exc_info.value.reason


# --------------------------------------------------------------------------- errors


def test_reasons_are_stable_and_free_text_stays_detail() -> None:
    assert BadSignatureError("x").reason == "bad-signature"
    assert VerificationError("x", reason="revoked").reason == "revoked"
    free = BadSignatureError(reason="the BLS aggregate does not verify")
    assert free.reason == "bad-signature"
    assert free.detail == "the BLS aggregate does not verify"
    assert isinstance(free, ValueError) and isinstance(free, SigningError)
    assert isinstance(KeyFormatError("x"), ValueError)
    assert {cls.reason for cls in VerificationError.__subclasses__()} == REASONS


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_sign_verify_round_trip(alg: Alg) -> None:
    key = generate_private_key(alg)
    signature = sign(key, b"statement bytes")
    assert len(signature) == 64
    assert alg_of(key.public_key()) == alg
    verify_signature(key.public_key(), signature, b"statement bytes", alg)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_tampered_signature_or_data(alg: Alg) -> None:
    key = generate_private_key(alg)
    signature = sign(key, b"data")
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    with pytest.raises(BadSignatureError) as exc_info:
        verify_signature(key.public_key(), flipped, b"data", alg)
    assert _reason(exc_info) == "bad-signature"
    with pytest.raises(BadSignatureError) as exc_info:
        verify_signature(key.public_key(), signature, b"datA", alg)
    assert _reason(exc_info) == "bad-signature"
    with pytest.raises(BadSignatureError, match="64 bytes"):
        verify_signature(key.public_key(), signature + b"\0", b"data", alg)
    with pytest.raises(BadSignatureError, match="does not match"):
        other: Alg = "ES256" if alg == "Ed25519" else "Ed25519"
        verify_signature(key.public_key(), signature, b"data", other)


def test_es256_signature_is_raw_r_s() -> None:
    key = generate_private_key("ES256")
    signature = sign(key, b"data")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    key.public_key().verify(encode_dss_signature(r, s), b"data", ec.ECDSA(hashes.SHA256()))


def test_es256_accepts_a_jose_signature_made_elsewhere() -> None:
    key = generate_private_key("ES256")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(key.sign(b"data", ec.ECDSA(hashes.SHA256())))
    verify_signature(
        key.public_key(), r.to_bytes(32, "big") + s.to_bytes(32, "big"), b"data", "ES256"
    )


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_key_encodings_round_trip(alg: Alg) -> None:
    key = generate_private_key(alg)
    spki = public_key_der(key.public_key())
    assert public_key_der(load_private_key(private_key_pem(key)).public_key()) == spki
    assert public_key_der(load_private_key(private_key_der(key)).public_key()) == spki
    assert public_key_der(load_public_key(public_key_pem(key.public_key()))) == spki
    assert public_key_der(load_public_key(spki)) == spki


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_encrypted_key_round_trip(alg: Alg) -> None:
    key = generate_private_key(alg)
    pem = encrypt_private_key(key, "正确的口令 correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    loaded = load_private_key(pem, "正确的口令 correct horse")
    assert public_key_der(loaded.public_key()) == public_key_der(key.public_key())
    signature = sign(loaded, b"x")
    verify_signature(key.public_key(), signature, b"x", alg)


def test_wrong_or_missing_passphrase() -> None:
    pem = encrypt_private_key(generate_private_key("Ed25519"), b"right")
    with pytest.raises(KeyFormatError):
        load_private_key(pem, b"wrong")
    with pytest.raises(KeyFormatError):
        load_private_key(pem)
    with pytest.raises(KeyFormatError, match="empty"):
        encrypt_private_key(generate_private_key("Ed25519"), "")
    with pytest.raises(KeyFormatError):
        load_private_key(private_key_pem(generate_private_key("Ed25519")), b"unexpected")


def test_refuses_other_key_types() -> None:
    with pytest.raises(KeyFormatError, match="P-256"):
        alg_of(ec.generate_private_key(ec.SECP384R1()).public_key())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(KeyFormatError):
        alg_of(rsa_key.public_key())
    with pytest.raises(KeyFormatError):
        sign(rsa_key, b"x")  # type: ignore[arg-type]
    with pytest.raises(KeyFormatError):
        load_private_key(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyFormatError):
        load_public_key(b"\x30\x03garbage")


# --------------------------------------------------------------------------- the profile


def test_department_ca_profile(pki: Pki) -> None:
    ca = load_certificate(pki.ca_pem)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    assert constraints.value.path_length is None
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(pki.ca_key.public_key())
    assert ca.issuer == ca.subject
    ca.verify_directly_issued_by(ca)
    assert ca.not_valid_before_utc == T0
    assert ca.not_valid_after_utc == T0 + 3650 * DAY


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_subordinate_department_ca(alg: Alg) -> None:
    root_key = generate_private_key(alg)
    root = create_department_ca(
        department_id="zj-root", department_name="浙江省根CA", key=root_key, now=T0
    )
    sub_key = generate_private_key(alg)
    sub = create_department_ca(
        department_id="dept-1", department_name="某局", key=sub_key, now=T0, issuer=(root, root_key)
    )
    sub_cert = load_certificate(sub)
    sub_cert.verify_directly_issued_by(load_certificate(root))
    assert sub_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    aki = sub_cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    root_ski = load_certificate(root).extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert aki.key_identifier == root_ski.value.digest
    with pytest.raises(KeyFormatError, match="does not match"):
        create_department_ca(
            department_id="d", department_name="n", key=sub_key, now=T0, issuer=(root, sub_key)
        )


def test_officer_certificate_profile(pki: Pki) -> None:
    cert = load_certificate(pki.officer_pem)
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "officer-0042"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == (
        "dept-330100-scjg"
    )
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "张三"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not (usage.value.content_commitment or usage.value.key_cert_sign)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ext = cert.extensions.get_extension_for_oid(OFFICER_IDENTITY_OID)
    assert not ext.critical
    assert isinstance(ext.value, x509.UnrecognizedExtension)
    raw = ext.value.value
    assert raw[0] == 0x0C  # DER UTF8String
    assert json.loads(raw[2:]) == {
        "cert_no": "33010012345",
        "department_id": "dept-330100-scjg",
        "officer_id": "officer-0042",
    }
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = load_certificate(pki.ca_pem).extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    )
    assert aki.key_identifier == ca_ski.value.digest
    assert cert.not_valid_before_utc == T0 and cert.not_valid_after_utc == T0 + 365 * DAY


def test_officer_identity_round_trip(pki: Pki) -> None:
    assert officer_identity(pki.officer_pem) == pki.identity
    assert officer_identity(pki.officer_pem.decode()) == pki.identity


def test_officer_identity_without_cert_no_and_long_names() -> None:
    long_name = "欧阳" * 10 + "娜"  # 63 bytes of UTF-8; the bound is 64 bytes
    pki = make_pki("Ed25519", cert_no=None, name=long_name, officer_id="o" * 64)
    expected = OfficerIdentity("o" * 64, pki.identity.department_id, None, long_name)
    assert officer_identity(pki.officer_pem) == expected


def test_identity_refuses_bad_fields() -> None:
    with pytest.raises(BadCertificateError):
        OfficerIdentity(officer_id="", department_id="d", cert_no=None, name="n")
    with pytest.raises(BadCertificateError):
        OfficerIdentity(officer_id="o", department_id="d", cert_no=None, name="张" * 22)


def test_officer_identity_of_a_certificate_without_one(pki: Pki) -> None:
    with pytest.raises(BadCertificateError) as exc_info:
        officer_identity(pki.ca_pem)
    assert _reason(exc_info) == "bad-certificate"


def test_seal_certificate(pki: Pki) -> None:
    seal_key = generate_private_key(pki.alg)
    pem = issue_seal_certificate(
        ca_cert_pem=pki.ca_pem,
        ca_key=pki.ca_key,
        department_id="dept-330100-scjg",
        department_name="杭州市市场监督管理局",
        public_key=seal_key.public_key(),
        now=T0,
        seal_code="3301000012345",
    )
    cert = load_certificate(pem)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not cert.extensions.get_extension_for_oid(SEAL_IDENTITY_OID).critical
    assert seal_identity(pem) == SealIdentity(
        "dept-330100-scjg", "杭州市市场监督管理局", "3301000012345"
    )
    assert verify_certificate(pem, trusted_cas=[pki.ca_pem], at=T0 + DAY) == cert
    with pytest.raises(BadCertificateError):
        officer_identity(pem)
    with pytest.raises(BadCertificateError):
        seal_identity(pki.officer_pem)


def test_validity_is_clipped_to_the_ca() -> None:
    ca_key = generate_private_key("Ed25519")
    ca = create_department_ca(
        department_id="d", department_name="n", key=ca_key, now=T0, valid_days=30
    )
    pki = make_pki("Ed25519")
    pem = issue_officer_certificate(
        ca_cert_pem=ca,
        ca_key=ca_key,
        identity=pki.identity,
        public_key=pki.officer_key.public_key(),
        now=T0,
        valid_days=365,
        serial=7,
    )
    cert = load_certificate(pem)
    assert cert.not_valid_after_utc == T0 + 30 * DAY
    assert cert.serial_number == 7


# --------------------------------------------------------------------------- verification


def test_verify_returns_the_certificate(pki: Pki) -> None:
    cert = verify_certificate(pki.officer_pem, trusted_cas=[pki.ca_pem], at=T0 + DAY)
    assert cert == load_certificate(pki.officer_pem)


def test_finds_the_issuer_among_several_cas(pki: Pki) -> None:
    others = [make_pki(pki.alg, department_id=f"dept-{i}").ca_pem for i in range(2)]
    verify_certificate(pki.officer_pem, trusted_cas=[*others, pki.ca_pem], at=T0 + DAY)


def test_certificate_from_another_ca(pki: Pki) -> None:
    other = make_pki(pki.alg, department_id="dept-elsewhere")
    with pytest.raises(VerificationError) as exc_info:
        verify_certificate(pki.officer_pem, trusted_cas=[other.ca_pem], at=T0 + DAY)
    assert _reason(exc_info) == "unknown-issuer"


def test_impostor_ca_with_the_same_name(pki: Pki) -> None:
    """A CA with the same subject but another key issued nothing here: unknown-issuer."""
    impostor = make_pki(pki.alg)  # same department id and name, fresh keys
    with pytest.raises(VerificationError) as exc_info:
        verify_certificate(pki.officer_pem, trusted_cas=[impostor.ca_pem], at=T0 + DAY)
    assert _reason(exc_info) == "unknown-issuer"


def test_non_ca_in_the_bundle_cannot_issue(pki: Pki) -> None:
    """An officer certificate pinned by mistake does not become a CA."""
    child_key = generate_private_key(pki.alg)
    child = issue_officer_certificate(
        ca_cert_pem=pki.officer_pem,
        ca_key=pki.officer_key,
        identity=pki.identity,
        public_key=child_key.public_key(),
        now=T0,
    )
    with pytest.raises(VerificationError) as exc_info:
        verify_certificate(child, trusted_cas=[pki.officer_pem], at=T0 + DAY)
    assert _reason(exc_info) == "unknown-issuer"


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (-timedelta(seconds=1), "not-yet-valid"),
        (timedelta(0), None),
        (365 * DAY, None),
        (365 * DAY + timedelta(microseconds=1), "expired"),
        (400 * DAY, "expired"),
    ],
)
def test_validity_window(pki: Pki, offset: timedelta, reason: str | None) -> None:
    at = T0 + offset
    if reason is None:
        verify_certificate(pki.officer_pem, trusted_cas=[pki.ca_pem], at=at)
        return
    with pytest.raises(VerificationError) as exc_info:
        verify_certificate(pki.officer_pem, trusted_cas=[pki.ca_pem], at=at)
    assert _reason(exc_info) == reason


def test_ca_not_yet_valid(pki: Pki) -> None:
    """The CA's own window counts too: a certificate issued before its CA existed."""
    early = issue_officer_certificate(
        ca_cert_pem=pki.ca_pem,
        ca_key=pki.ca_key,
        identity=pki.identity,
        public_key=pki.officer_key.public_key(),
        now=T0 - 10 * DAY,
    )
    with pytest.raises(VerificationError, match="issuing CA") as exc_info:
        verify_certificate(early, trusted_cas=[pki.ca_pem], at=T0 - DAY)
    assert _reason(exc_info) == "not-yet-valid"


def _crl(pki: Pki, revoked_at: datetime, *, now: datetime | None = None) -> bytes:
    return create_crl(
        ca_cert_pem=pki.ca_pem,
        ca_key=pki.ca_key,
        revoked=[(_serial(pki.officer_pem), revoked_at)],
        now=now or revoked_at,
    )


def test_crl_contents(pki: Pki) -> None:
    crl = x509.load_pem_x509_crl(_crl(pki, T0 + 5 * DAY))
    assert crl.issuer == load_certificate(pki.ca_pem).subject
    entry = crl.get_revoked_certificate_by_serial_number(_serial(pki.officer_pem))
    assert entry is not None and entry.revocation_date_utc == T0 + 5 * DAY
    assert crl.next_update_utc == T0 + 12 * DAY
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == int(
        (T0 + 5 * DAY).timestamp()
    )


def test_revoked_before_at(pki: Pki) -> None:
    crl = _crl(pki, T0 + 5 * DAY)
    for at in (T0 + 5 * DAY, T0 + 6 * DAY):
        with pytest.raises(VerificationError) as exc_info:
            verify_certificate(pki.officer_pem, trusted_cas=[pki.ca_pem], crls=[crl], at=at)
        assert _reason(exc_info) == "revoked"


def test_revoked_after_at_is_still_valid(pki: Pki) -> None:
    """Long-term validation: the anchor proves the signature predates the revocation."""
    crl = _crl(pki, T0 + 5 * DAY, now=T0 + 30 * DAY)
    at = T0 + 5 * DAY - timedelta(seconds=1)
    verify_certificate(pki.officer_pem, trusted_cas=[pki.ca_pem], crls=[crl], at=at)


@pytest.mark.parametrize("claims_real_key_id", [True, False])
def test_forged_crl_is_refused(pki: Pki, claims_real_key_id: bool) -> None:
    """A CRL naming the CA, signed by another key: refused, whatever it lists.

    The forger copies the CA's name and (or omits) its key identifier, so nothing but the
    signature tells it apart. (A CRL carrying *another* key identifier belongs to another CA
    key of the same name, as after a key rollover, and is skipped.)
    """
    impostor_key = generate_private_key(pki.alg)
    ca = load_certificate(pki.ca_pem)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(T0)
        .next_update(T0 + DAY)
    )
    if claims_real_key_id:
        ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier(ski.digest, None, None), critical=False
        )
    digest = None if isinstance(impostor_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    forged = builder.sign(impostor_key, digest).public_bytes(Encoding.PEM)
    with pytest.raises(VerificationError, match="signature does not verify") as exc_info:
        verify_certificate(pki.officer_pem, trusted_cas=[pki.ca_pem], crls=[forged], at=T0 + DAY)
    assert _reason(exc_info) == "bad-certificate"


def test_tampered_crl_is_refused(pki: Pki) -> None:
    crl_pem = _crl(pki, T0 + 5 * DAY)
    der = bytearray(x509.load_pem_x509_crl(crl_pem).public_bytes(Encoding.DER))
    der[-1] ^= 1  # a bit of the signature
    with pytest.raises(VerificationError) as exc_info:
        verify_certificate(
            pki.officer_pem, trusted_cas=[pki.ca_pem], crls=[bytes(der)], at=T0 + DAY
        )
    assert _reason(exc_info) == "bad-certificate"


def test_crls_of_other_cas_are_skipped(pki: Pki) -> None:
    other = make_pki(pki.alg, department_id="dept-elsewhere")
    other_crl = create_crl(
        ca_cert_pem=other.ca_pem,
        ca_key=other.ca_key,
        revoked=[(_serial(pki.officer_pem), T0)],
        now=T0,
    )
    verify_certificate(pki.officer_pem, trusted_cas=[pki.ca_pem], crls=[other_crl], at=T0 + DAY)


@pytest.mark.parametrize(
    "garbage",
    [b"", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", b"\x00" * 20000],
)
def test_malformed_certificate(pki: Pki, garbage: bytes) -> None:
    with pytest.raises(VerificationError) as exc_info:
        verify_certificate(garbage, trusted_cas=[pki.ca_pem], at=T0 + DAY)
    assert _reason(exc_info) == "bad-certificate"


def test_malformed_crl(pki: Pki) -> None:
    with pytest.raises(VerificationError) as exc_info:
        verify_certificate(
            pki.officer_pem, trusted_cas=[pki.ca_pem], crls=[b"not a crl"], at=T0 + DAY
        )
    assert _reason(exc_info) == "bad-certificate"


def test_a_ca_certificate_is_not_a_signing_certificate(pki: Pki) -> None:
    with pytest.raises(VerificationError, match="CA certificate") as exc_info:
        verify_certificate(pki.ca_pem, trusted_cas=[pki.ca_pem], at=T0 + DAY)
    assert _reason(exc_info) == "bad-certificate"


def test_tampered_certificate(pki: Pki) -> None:
    """Change one byte inside the signed part: the CA signature no longer holds."""
    der = bytearray(base64.b64decode(b"".join(pki.officer_pem.splitlines()[1:-1])))
    index = der.find("张三".encode())
    der[index + 2] ^= 1
    with pytest.raises(VerificationError) as exc_info:
        verify_certificate(bytes(der), trusted_cas=[pki.ca_pem], at=T0 + DAY)
    assert _reason(exc_info) == "unknown-issuer"


def test_time_must_be_aware(pki: Pki) -> None:
    with pytest.raises(SigningError, match="timezone-aware"):
        verify_certificate(pki.officer_pem, trusted_cas=[pki.ca_pem], at=datetime(2026, 2, 1))
