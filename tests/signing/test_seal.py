"""Department e-seals: the drawn image, stamping it onto pages, and the signed seal record."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader

from signing.certs import create_crl, create_department_ca, issue_seal_certificate
from signing.errors import BadSignatureError, KeyFormatError, VerificationError
from signing.fonts import FontNotFoundError
from signing.keys import Alg, PrivateKey, alg_of, generate_private_key
from signing.seal import SealFormatError, SealRecord, seal_document, verify_seal
from signing.seal_image import DEFAULT_SEAL_COLOR, SealImageError, render_seal
from signing.stamp import stamp_pdf_page, stamp_png

DEPARTMENT = "杭州市市场监督管理局"
CODE = "3301000012345"
SIZE = 512


@pytest.fixture(scope="module")
def seal_png() -> bytes:
    return render_seal(department_name=DEPARTMENT, seal_code=CODE, size_px=SIZE)


@pytest.fixture(scope="module")
def seal_image(seal_png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(seal_png))
    image.load()
    return image


def _is_seal_red(pixel: tuple[int, ...]) -> bool:
    r, g, b, a = pixel
    return a > 200 and (r, g, b) == DEFAULT_SEAL_COLOR


# --------------------------------------------------------------------------- image


def test_rendering_is_deterministic(seal_png: bytes) -> None:
    assert render_seal(department_name=DEPARTMENT, seal_code=CODE, size_px=SIZE) == seal_png


def test_seal_is_an_rgba_png_with_print_dpi(seal_image: Image.Image) -> None:
    assert seal_image.format == "PNG"
    assert seal_image.mode == "RGBA"
    assert seal_image.size == (SIZE, SIZE)
    dpi = seal_image.info["dpi"][0]
    assert SIZE / dpi * 25.4 == pytest.approx(42.0, abs=0.1)  # prints 42 mm wide


def test_corners_are_transparent(seal_image: Image.Image) -> None:
    for xy in [(0, 0), (SIZE - 1, 0), (0, SIZE - 1), (SIZE - 1, SIZE - 1), (40, 40)]:
        assert seal_image.getpixel(xy)[3] == 0


def test_ring_is_red_all_round(seal_image: Image.Image) -> None:
    """Sample the middle of the ring band at 12, 3, 6 and 9 o'clock."""
    outer = SIZE / 2 * 0.98
    mid_band = outer - outer * 0.075 / 2
    c = SIZE / 2
    for x, y in [(c, c - mid_band), (c + mid_band, c), (c, c + mid_band), (c - mid_band, c)]:
        assert _is_seal_red(seal_image.getpixel((int(x), int(y))))


def test_centre_star_is_filled(seal_image: Image.Image) -> None:
    c = SIZE // 2
    block = [seal_image.getpixel((c + dx, c + dy)) for dx in range(-5, 6) for dy in range(-5, 6)]
    assert all(_is_seal_red(p) for p in block)
    # just inside the ring, between the star and the text, there is no ink at 3 o'clock's inside
    assert seal_image.getpixel((c + int(SIZE * 0.22), c + int(SIZE * 0.02)))[3] == 0


def test_name_is_drawn_on_the_upper_arc_and_code_on_the_lower(seal_image: Image.Image) -> None:
    alpha = seal_image.getchannel("A")
    c = SIZE // 2
    upper = alpha.crop((c - 60, int(SIZE * 0.08), c + 60, int(SIZE * 0.24)))
    lower = alpha.crop((c - 60, int(SIZE * 0.84), c + 60, int(SIZE * 0.92)))
    assert upper.getbbox() is not None
    assert lower.getbbox() is not None


def test_different_text_gives_a_different_seal(seal_png: bytes) -> None:
    other = render_seal(department_name="杭州市生态环境局", seal_code=CODE, size_px=SIZE)
    assert other != seal_png


def test_purpose_line_and_colour(seal_image: Image.Image) -> None:
    png = render_seal(
        department_name=DEPARTMENT,
        seal_code=CODE,
        purpose="电子证据专用章",
        size_px=SIZE,
        color=(0, 0, 255),
    )
    image = Image.open(io.BytesIO(png))
    assert image.getpixel((SIZE // 2, SIZE // 2)) == (0, 0, 255, 255)
    row = (SIZE // 4, int(SIZE * 0.70), SIZE * 3 // 4, int(SIZE * 0.78))
    assert image.getchannel("A").crop(row).getbbox() is not None
    assert seal_image.getchannel("A").crop(row).getbbox() is None


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(SealImageError):
        render_seal(department_name=" ", seal_code=CODE)
    with pytest.raises(SealImageError):
        render_seal(department_name=DEPARTMENT, seal_code=CODE, size_px=10_000)
    with pytest.raises(SealImageError):
        render_seal(department_name=DEPARTMENT, seal_code=CODE, color=(300, 0, 0))


def test_missing_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FontNotFoundError, match="cannot load seal font"):
        render_seal(department_name=DEPARTMENT, seal_code=CODE, font_path=tmp_path / "no.otf")


# --------------------------------------------------------------------------- stamping


def _page_png(width: int = 1240, height: int = 1754, dpi: int = 150) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def test_stamp_keeps_page_size_and_puts_red_bottom_right(seal_png: bytes) -> None:
    stamped = Image.open(io.BytesIO(stamp_png(_page_png(), seal_png)))
    assert stamped.size == (1240, 1754)
    assert stamped.mode == "RGB"
    side = round(SIZE * 150 / Image.open(io.BytesIO(seal_png)).info["dpi"][0])  # 42 mm at 150 dpi
    margin = side // 10
    centre = (1240 - margin - side // 2, 1754 - margin - side // 2)
    r, g, b = stamped.getpixel(centre)
    assert r > 200 and g < 100 and b < 120  # the star, through 85 % opacity on white
    assert stamped.getpixel((100, 100)) == (255, 255, 255)
    assert stamped.getpixel((1240 - 3, 1754 - 3)) == (255, 255, 255)


def test_stamp_at_a_given_place_and_size(seal_png: bytes) -> None:
    stamped = Image.open(
        io.BytesIO(stamp_png(_page_png(), seal_png, at=(100, 200), size_px=300, opacity=1.0))
    )
    assert stamped.getpixel((250, 350)) == DEFAULT_SEAL_COLOR
    assert stamped.getpixel((1000, 1500)) == (255, 255, 255)


def test_stamp_refuses_non_png_and_oversize_pages(seal_png: bytes) -> None:
    with pytest.raises(SealImageError):
        stamp_png(b"not an image", seal_png)
    jpeg = io.BytesIO()
    Image.new("RGB", (10, 10)).save(jpeg, format="JPEG")
    with pytest.raises(SealImageError):
        stamp_png(jpeg.getvalue(), seal_png)
    with pytest.raises(SealImageError):
        stamp_png(_page_png(8000, 8000), seal_png)


def test_stamp_pdf_page_adds_a_transparent_seal_image(seal_png: bytes) -> None:
    page = io.BytesIO()
    Image.new("RGB", (1240, 1754), "white").save(page, format="PDF", resolution=150)
    stamped = PdfReader(io.BytesIO(stamp_pdf_page(page.getvalue(), seal_png)))
    assert len(stamped.pages) == 1
    images = list(stamped.pages[0].images)
    seal = [im for im in images if im.image is not None and im.image.mode == "RGBA"]
    assert seal, [im.image.mode for im in images if im.image is not None]


# --------------------------------------------------------------------------- the signed record

NOW = datetime(2024, 5, 20, 9, 30, tzinfo=UTC)
DEPT_ID = "330100-SCJG"
DOCUMENT_DIGEST = hashlib.sha256(b"evidence list of case 2024-017").hexdigest()


@dataclass(frozen=True)
class SealAuthority:
    ca_pem: bytes
    ca_key: PrivateKey
    seal_key: PrivateKey
    seal_cert: bytes


def _authority(alg: Alg) -> SealAuthority:
    ca_key = generate_private_key(alg)
    ca_pem = create_department_ca(
        department_id=DEPT_ID, department_name=DEPARTMENT, key=ca_key, now=NOW - timedelta(days=1)
    )
    seal_key = generate_private_key(alg)
    seal_cert = issue_seal_certificate(
        ca_cert_pem=ca_pem,
        ca_key=ca_key,
        department_id=DEPT_ID,
        department_name=DEPARTMENT,
        public_key=seal_key.public_key(),
        now=NOW - timedelta(hours=1),
        seal_code=CODE,
        serial=4242,
    )
    return SealAuthority(ca_pem, ca_key, seal_key, seal_cert)


@pytest.fixture(scope="module", params=["Ed25519", "ES256"])
def authority(request: pytest.FixtureRequest) -> SealAuthority:
    return _authority(request.param)


@pytest.fixture(scope="module")
def record(authority: SealAuthority) -> SealRecord:
    return seal_document(
        DOCUMENT_DIGEST,
        key=authority.seal_key,
        certificate_pem=authority.seal_cert,
        department_id=DEPT_ID,
        seal_code=CODE,
        signed_at=NOW.replace(microsecond=123456),
    )


def test_seal_round_trip(authority: SealAuthority, record: SealRecord) -> None:
    assert record.signed_at == "2024-05-20T09:30:00Z"
    assert record.alg == alg_of(authority.seal_key)
    assert record.digest == DOCUMENT_DIGEST
    verify_seal(record, trusted_cas=[authority.ca_pem], expected_digest=DOCUMENT_DIGEST)
    parsed = SealRecord.from_json(record.as_json())
    assert parsed == record
    verify_seal(parsed, trusted_cas=[authority.ca_pem])


def test_as_json_is_canonical(record: SealRecord) -> None:
    text = record.as_json()
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert " " not in text.replace(" CERTIFICATE", "")


def test_tampered_digest_is_a_bad_signature(authority: SealAuthority, record: SealRecord) -> None:
    forged = replace(record, digest=hashlib.sha256(b"another document").hexdigest())
    with pytest.raises(BadSignatureError) as info:
        verify_seal(forged, trusted_cas=[authority.ca_pem])
    assert info.value.reason == "bad-signature"


def test_tampered_signature_is_a_bad_signature(
    authority: SealAuthority, record: SealRecord
) -> None:
    raw = bytearray(base64.b64decode(record.value))
    raw[5] ^= 0x01
    forged = replace(record, value=base64.b64encode(bytes(raw)).decode())
    with pytest.raises(BadSignatureError):
        verify_seal(forged, trusted_cas=[authority.ca_pem])


def test_moved_signing_time_is_a_bad_signature(
    authority: SealAuthority, record: SealRecord
) -> None:
    forged = replace(record, signed_at="2024-05-20T09:31:00Z")
    with pytest.raises(BadSignatureError):
        verify_seal(forged, trusted_cas=[authority.ca_pem])


def test_seal_over_another_document_is_refused(
    authority: SealAuthority, record: SealRecord
) -> None:
    with pytest.raises(VerificationError, match="digest mismatch"):
        verify_seal(record, trusted_cas=[authority.ca_pem], expected_digest="00" * 32)


def test_untrusted_ca_is_refused(record: SealRecord) -> None:
    stranger = _authority("Ed25519")
    with pytest.raises(VerificationError) as info:
        verify_seal(record, trusted_cas=[stranger.ca_pem])
    assert info.value.reason == "unknown-issuer"


def test_revoked_seal_certificate(authority: SealAuthority, record: SealRecord) -> None:
    crl = create_crl(
        ca_cert_pem=authority.ca_pem,
        ca_key=authority.ca_key,
        revoked=[(4242, NOW + timedelta(days=2))],
        now=NOW + timedelta(days=2),
    )
    verify_seal(record, trusted_cas=[authority.ca_pem], crls=[crl])  # sealed before revocation
    with pytest.raises(VerificationError) as info:
        verify_seal(record, trusted_cas=[authority.ca_pem], crls=[crl], at=NOW + timedelta(days=3))
    assert info.value.reason == "revoked"


def test_record_for_another_department_is_refused(
    authority: SealAuthority, record: SealRecord
) -> None:
    """The signature covers department_id, but even a re-signed claim must match the cert."""
    with pytest.raises(SealFormatError, match="330100-HJ"):
        seal_document(
            DOCUMENT_DIGEST,
            key=authority.seal_key,
            certificate_pem=authority.seal_cert,
            department_id="330100-HJ",
            seal_code=CODE,
            signed_at=NOW,
        )
    with pytest.raises(VerificationError):
        verify_seal(replace(record, department_id="330100-HJ"), trusted_cas=[authority.ca_pem])


def test_key_must_match_certificate(authority: SealAuthority) -> None:
    with pytest.raises(KeyFormatError):
        seal_document(
            DOCUMENT_DIGEST,
            key=authority.ca_key,
            certificate_pem=authority.seal_cert,
            department_id=DEPT_ID,
            seal_code=CODE,
            signed_at=NOW,
        )


def test_naive_time_and_bad_digest_are_refused(authority: SealAuthority) -> None:
    kwargs = {
        "key": authority.seal_key,
        "certificate_pem": authority.seal_cert,
        "department_id": DEPT_ID,
        "seal_code": CODE,
    }
    with pytest.raises(SealFormatError):
        seal_document(DOCUMENT_DIGEST, signed_at=NOW.replace(tzinfo=None), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(SealFormatError):
        seal_document("abc", signed_at=NOW, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda d: d.pop("value"), id="missing-field"),
        pytest.param(lambda d: d.update(extra="x"), id="extra-field"),
        pytest.param(lambda d: d.update(digest="XYZ"), id="bad-digest"),
        pytest.param(lambda d: d.update(signed_at="2024-05-20 09:30"), id="bad-time"),
        pytest.param(lambda d: d.update(value="***"), id="bad-base64"),
        pytest.param(lambda d: d.update(seal_code=7), id="wrong-type"),
    ],
)
def test_from_json_refuses_malformed_records(record: SealRecord, mutate: object) -> None:
    data = json.loads(record.as_json())
    mutate(data)  # type: ignore[operator]
    with pytest.raises(SealFormatError):
        SealRecord.from_json(json.dumps(data))


def test_from_json_refuses_non_objects() -> None:
    for text in ["[]", "not json", '"a"']:
        with pytest.raises(SealFormatError):
            SealRecord.from_json(text)


@settings(max_examples=20, deadline=None)
@given(
    document=st.binary(max_size=64),
    seconds=st.integers(min_value=0, max_value=20 * 365 * 86400),
)
def test_seal_verify_round_trip(document: bytes, seconds: int) -> None:
    authority = _ED25519_AUTHORITY
    signed_at = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    record = seal_document(
        hashlib.sha256(document).hexdigest(),
        key=authority.seal_key,
        certificate_pem=authority.seal_cert,
        department_id=DEPT_ID,
        seal_code=CODE,
        signed_at=signed_at,
    )
    parsed = SealRecord.from_json(record.as_json())
    assert parsed == record
    assert parsed.signed_at_datetime == signed_at
    verify_seal(parsed, trusted_cas=[authority.ca_pem], at=NOW)


_ED25519_AUTHORITY = _authority("Ed25519")
