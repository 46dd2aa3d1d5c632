"""Frame validation: one accepted frame read exactly, one named case per rejection reason, the
signed envelope, and the tampering flag."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from evidence_service.modules.catering.factors import load_factors
from evidence_service.modules.catering.hj212 import (
    CHINA,
    FRAME_REASONS,
    CrcVariant,
    build_frame,
)
from evidence_service.modules.catering.simulate import SimulatedDevice, envelope, frames
from evidence_service.modules.catering.validation import (
    ENVELOPE_REASONS,
    REJECT_REASONS,
    Accepted,
    DeviceInfo,
    EnvelopeError,
    Reading,
    Rejected,
    parse_envelope,
    password_digest,
    validate,
    validate_envelope,
)

FACTORS = load_factors()
MN = "CY310000000001"
NOON = datetime(2026, 7, 6, 12, 0, tzinfo=CHINA)
NOW = NOON + timedelta(minutes=5)
DEVICE = DeviceInfo.with_password(MN, "123456")
SIM = SimulatedDevice(mn=MN, password="123456", codes=("a34041", "cy0201"))
KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key().public_bytes_raw()
SIGNING_DEVICE = DeviceInfo.with_password(MN, "123456", public_key=PUBLIC)


def simulated(moment: datetime = NOON, **options: object) -> bytes:
    return next(frames(SIM, start=moment, interval=timedelta(minutes=1), count=1, **options))  # type: ignore[arg-type]


def frame(
    values: str = "a34041-Rtd=0.82,a34041-Flag=N",
    *,
    data_time: str | None = "20260706120000",
    qn: str = "20260706120000350",
    cn: str = "2011",
    pw: str = "123456",
    mn: str = MN,
) -> bytes:
    cp = ";".join(part for part in (data_time and f"DataTime={data_time}", values) if part)
    return build_frame(qn=qn, st="31", cn=cn, pw=pw, mn=mn, cp=cp)


def verdict(raw: bytes, **options: object) -> Accepted | Rejected:
    arguments: dict[str, object] = {
        "device": DEVICE,
        "last_qn": None,
        "factors": FACTORS,
        "now": NOW,
    }
    arguments.update(options)
    return validate(raw, **arguments)  # type: ignore[arg-type]


def reason(raw: bytes, **options: object) -> str:
    result = verdict(raw, **options)
    assert isinstance(result, Rejected), result
    assert result.reason in REJECT_REASONS
    return result.reason


def test_a_simulated_frame_is_accepted_with_its_readings() -> None:
    result = verdict(simulated())
    assert isinstance(result, Accepted)
    assert result.frame.qn == "20260706120000350"
    assert result.readings == (
        Reading("a34041", "Rtd", "1.70", "N", NOON, "20260706120000350"),
        Reading("cy0201", "Rtd", "1.00", "N", NOON, "20260706120000350"),
    )
    assert result.readings[0].number == 1.7
    assert (result.ignored_codes, result.signed) == ((), False)


def test_every_statistic_becomes_a_reading() -> None:
    result = verdict(frame("a34041-Avg=0.80,a34041-Max=1.90,a34041-Cou=250,a34041-Flag=N"))
    assert isinstance(result, Accepted)
    assert [(r.statistic, r.value) for r in result.readings] == [
        ("Avg", "0.80"),
        ("Max", "1.90"),
        ("Cou", "250"),  # a total: not held to the concentration range
    ]


def test_unknown_factors_are_ignored_by_default_and_listed() -> None:
    raw = frame("a01012-Rtd=35.0,a01012-Flag=N;a34041-Rtd=0.82,a34041-Flag=N")
    result = verdict(raw)
    assert isinstance(result, Accepted)
    assert result.ignored_codes == ("a01012",)
    assert [r.code for r in result.readings] == ["a34041"]
    assert reason(raw, reject_unknown_factors=True) == "unknown-factor"


def test_a_value_the_device_flags_abnormal_is_kept_even_out_of_range() -> None:
    result = verdict(frame("a34041-Rtd=-9999,a34041-Flag=D"))
    assert isinstance(result, Accepted)
    assert [(r.value, r.flag) for r in result.readings] == [("-9999", "D")]


def test_unflagged_values_are_held_to_the_range() -> None:
    assert isinstance(verdict(frame("a34041-Rtd=100")), Accepted)
    assert reason(frame("a34041-Rtd=100.01")) == "implausible-value"


def test_the_time_bounds_are_inclusive_and_configurable() -> None:
    assert isinstance(verdict(frame(data_time="20260706121500")), Accepted)  # now + 10 min
    assert reason(frame(data_time="20260706121501")) == "future-time"
    assert isinstance(verdict(frame(data_time="20260703120500")), Accepted)  # now − 72 h
    assert reason(frame(data_time="20260703120459")) == "old-time"
    assert reason(frame(data_time="20260706120000"), max_age=timedelta(minutes=4)) == "old-time"
    later = frame(data_time="20260706120600")
    assert isinstance(verdict(later, max_future=timedelta(minutes=1)), Accepted)


def test_qn_must_rise() -> None:
    raw = frame(qn="20260706120000350")
    assert isinstance(verdict(raw, last_qn="20260706120000349"), Accepted)
    assert reason(raw, last_qn="20260706120000350") == "stale-qn"
    assert reason(raw, last_qn="20260706120100350") == "stale-qn"


REJECTIONS: dict[str, tuple[bytes, dict[str, object]]] = {
    "unknown-mn": (frame(), {"device": None}),
    "crc": (frame(), {"device": DeviceInfo.with_password(MN, "123456", CrcVariant.MODBUS)}),
    "framing": (b"not a frame", {}),
    "mn-mismatch": (frame(mn="CY310000000002"), {}),
    "bad-password": (frame(pw="654321"), {}),
    "stale-qn": (frame(), {"last_qn": "20260706120000350"}),
    "unsupported-cn": (frame(cn="9014"), {}),
    "missing-field": (frame(data_time=None), {}),
    "future-time": (frame(data_time="20260707120000"), {}),
    "old-time": (frame(data_time="20260701120000"), {}),
    "unknown-factor": (frame("zz0001-Rtd=1"), {"reject_unknown_factors": True}),
    "bad-flag": (frame("a34041-Rtd=0.82,a34041-Flag=X"), {}),
    "implausible-value": (frame("cy0401-Rtd=2,cy0401-Flag=N"), {}),
    "key-not-registered": (frame(), {"signature": b"\0" * 64}),
}


@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_each_rejection_reason(case: str) -> None:
    raw, options = REJECTIONS[case]
    result = verdict(raw, **options)
    assert isinstance(result, Rejected)
    assert (result.reason, result.tampering) == (case, False)
    assert result.detail


def test_the_reasons_are_distinct_and_include_the_frame_and_envelope_ones() -> None:
    assert len(set(REJECT_REASONS)) == len(REJECT_REASONS) == 25
    assert set(FRAME_REASONS) | set(ENVELOPE_REASONS) <= set(REJECT_REASONS)


def test_a_device_with_a_key_must_sign() -> None:
    raw = simulated()
    signed = verdict(raw, device=SIGNING_DEVICE, signature=KEY.sign(raw))
    assert isinstance(signed, Accepted) and signed.signed
    unsigned = verdict(raw, device=SIGNING_DEVICE)
    assert unsigned == Rejected(
        "unsigned", "this device signs its frames; this one is not signed", tampering=True
    )
    other_key = ed25519.Ed25519PrivateKey.from_private_bytes(b"\1" * 32)
    forged = verdict(raw, device=SIGNING_DEVICE, signature=other_key.sign(raw))
    assert isinstance(forged, Rejected)
    assert (forged.reason, forged.tampering) == ("bad-signature", True)
    altered = raw.replace(b"1.70", b"0.70")
    changed = verdict(altered, device=SIGNING_DEVICE, signature=KEY.sign(raw))
    assert isinstance(changed, Rejected) and changed.reason == "bad-signature"


def test_the_signature_is_checked_before_the_frame() -> None:
    result = verdict(b"garbage", device=SIGNING_DEVICE)
    assert isinstance(result, Rejected) and (result.reason, result.tampering) == ("unsigned", True)


def test_a_device_keeps_the_sha256_of_its_password_and_a_32_byte_key() -> None:
    assert password_digest("123456") == (
        "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92"
    )
    assert DEVICE == DeviceInfo(MN, password_digest("123456"))
    with pytest.raises(ValueError, match="64 lower-case hex digits"):
        DeviceInfo(MN, "123456")
    with pytest.raises(ValueError, match="32 bytes, not 31"):
        DeviceInfo.with_password(MN, "123456", public_key=b"\0" * 31)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        verdict(frame(), now=datetime(2026, 7, 6, 12, 5))


def test_the_signed_envelope_round_trips() -> None:
    raw = simulated()
    payload = envelope(raw, KEY)
    assert parse_envelope(payload) == (raw, KEY.sign(raw))
    result = validate_envelope(
        payload, device=SIGNING_DEVICE, last_qn=None, factors=FACTORS, now=NOW
    )
    assert isinstance(result, Accepted) and result.signed


SIG = base64.b64encode(b"\0" * 64).decode()
BAD_ENVELOPES = {
    "envelope-too-long: 4097 bytes": json.dumps({"frame": "#" * 4070, "sig": SIG}).encode(),
    "envelope-format: not JSON": b"{frame",
    "envelope-format: nested 2,000 deep": b"[" * 2000 + b"]" * 2000,
    "envelope-format: not UTF-8": b'{"frame": "\xff", "sig": ""}',
    "envelope-format: a list": json.dumps(["##", SIG]).encode(),
    "envelope-format: an extra key": json.dumps({"frame": "##", "sig": SIG, "v": 1}).encode(),
    "envelope-format: a missing key": json.dumps({"frame": "##"}).encode(),
    "envelope-format: a repeated key": b'{"frame": "##", "sig": "", "sig": "'
    + SIG.encode()
    + b'"}',
    "envelope-format: sig not a string": json.dumps({"frame": "##", "sig": 5}).encode(),
    "envelope-signature: not base64": json.dumps({"frame": "##", "sig": "***"}).encode(),
    "envelope-signature: url-safe base64": json.dumps(
        {"frame": "##", "sig": base64.urlsafe_b64encode(b"\xff" * 64).decode()}
    ).encode(),
    "envelope-signature: 63 bytes": json.dumps(
        {"frame": "##", "sig": base64.b64encode(b"\0" * 63).decode()}
    ).encode(),
}


@pytest.mark.parametrize("case", sorted(BAD_ENVELOPES))
def test_each_envelope_refusal(case: str) -> None:
    with pytest.raises(EnvelopeError) as caught:
        parse_envelope(BAD_ENVELOPES[case])
    assert caught.value.reason == case.split(":")[0]


def test_a_broken_envelope_is_tampering_only_for_a_device_with_a_key() -> None:
    payload = BAD_ENVELOPES["envelope-signature: 63 bytes"]
    common = {"last_qn": None, "factors": FACTORS, "now": NOW}
    keyed = validate_envelope(payload, device=SIGNING_DEVICE, **common)  # type: ignore[arg-type]
    assert isinstance(keyed, Rejected)
    assert (keyed.reason, keyed.tampering) == ("envelope-signature", True)
    keyless = validate_envelope(payload, device=DEVICE, **common)  # type: ignore[arg-type]
    assert isinstance(keyless, Rejected)
    assert (keyless.reason, keyless.tampering) == ("envelope-signature", False)
    nobody = validate_envelope(payload, device=None, **common)  # type: ignore[arg-type]
    assert isinstance(nobody, Rejected) and nobody.reason == "unknown-mn"
