"""Is this frame from this device to be believed? One verdict per MQTT message.

:func:`validate` takes the payload of ``catering/<MN>/hj212`` (or, with ``signature``, the frame
of a ``catering/<MN>/hj212s`` envelope read by :func:`parse_envelope`), the device the topic
names, the last QN accepted from it, the factor table and ``now``, and returns
:class:`Accepted` (the frame and its readings) or :class:`Rejected` (a reason from
:data:`REJECT_REASONS`); it never raises for bad input, so every refusal can be counted per
device and reason. Checks run in this order; the first that fails is the reason:

1. ``unknown-mn``: no device is registered under the topic's MN.
2. Signature, for a device with an Ed25519 key: ``unsigned`` (no signature) or
   ``bad-signature`` (it does not verify over the frame's bytes); both set ``tampering``.
   A device *without* a key that sends a signature is refused as ``key-not-registered``
   (a signature nobody can check must not look like one that was checked).
3. The frame itself (:func:`.hj212.parse_frame`, with the device's CRC variant): the reasons
   of :data:`.hj212.FRAME_REASONS`.
4. ``mn-mismatch`` (the frame's MN is not the topic's), ``bad-password`` (PW's SHA-256 is
   not the registered one).
5. ``stale-qn``: QN not greater than the last accepted one (a replay or a reordered resend).
6. ``unsupported-cn``: not a data upload (:data:`DATA_CNS`); ``missing-field`` if it has no
   DataTime; ``future-time`` / ``old-time``: DataTime more than ``max_future`` ahead of
   ``now`` or more than ``max_age`` behind (devices resend buffered data, hence 72 h).
7. Per factor, in code order: ``unknown-factor`` only when ``reject_unknown_factors``; by
   default a code missing from the table is *ignored* and listed in
   :attr:`Accepted.ignored_codes` (a monitor with an extra sensor must not lose its oil-fume
   data); ``bad-flag`` for a ``-Flag`` outside :data:`DATA_FLAGS`; ``implausible-value`` for a
   value outside the factor's range. Only values flagged ``N`` (or unflagged) are held to the
   range: a value the device itself marks abnormal (F, M, S, D, C, T, B) is kept as reported,
   with its flag.

Pure: no clock, no I/O; QN bookkeeping is the caller's (store ``Accepted.frame.qn``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from evidence_service.modules.catering.factors import FactorTable
from evidence_service.modules.catering.hj212 import (
    FRAME_REASONS,
    CrcVariant,
    Frame,
    FrameError,
    parse_frame,
)

#: HJ 212 data flags: N 正常, F 停运, M 维护, S 手工输入, D 故障, C 校准, T 超限, B 通讯异常.
DATA_FLAGS = frozenset("NFMSDCTB")
#: Data uploads: 2011 real-time, 2021 facility state, 2051 minute, 2061 hour, 2031 day.
DATA_CNS = frozenset({"2011", "2021", "2051", "2061", "2031"})
#: Suffixes held to the factor's plausible range (not ``Cou`` totals or ``RT`` run times).
RANGE_SUFFIXES = frozenset({"Rtd", "Avg", "Min", "Max", "ZsRtd", "ZsAvg", "ZsMin", "ZsMax", "RS"})
DEFAULT_MAX_FUTURE = timedelta(minutes=10)
DEFAULT_MAX_AGE = timedelta(hours=72)
MAX_ENVELOPE_BYTES = 4096
SIGNATURE_BYTES = 64
_SHA256_HEX = re.compile(r"[0-9a-f]{64}\Z")
ENVELOPE_REASONS = ("envelope-too-long", "envelope-format", "envelope-signature")
REJECT_REASONS = (
    ("unknown-mn", "unsigned", "bad-signature", "key-not-registered")
    + FRAME_REASONS
    + ("mn-mismatch", "bad-password", "stale-qn", "unsupported-cn", "future-time", "old-time")
    + ("unknown-factor", "bad-flag", "implausible-value")
    + ENVELOPE_REASONS
)


@dataclass(frozen=True)
class DeviceInfo:
    """A registered monitor: its MN, the SHA-256 of its PW (lower-case hex, so the password is
    not kept in the clear; :func:`password_digest`), its CRC variant, and its Ed25519 public
    key (raw 32 bytes) if it signs its frames."""

    mn: str
    password_sha256: str
    crc: CrcVariant = CrcVariant.HJ212
    public_key: bytes | None = None

    def __post_init__(self) -> None:
        if not _SHA256_HEX.match(self.password_sha256):
            raise ValueError("password_sha256 is 64 lower-case hex digits")
        if self.public_key is not None and len(self.public_key) != 32:
            raise ValueError(f"an Ed25519 public key is 32 bytes, not {len(self.public_key)}")

    @classmethod
    def with_password(
        cls,
        mn: str,
        password: str,
        crc: CrcVariant = CrcVariant.HJ212,
        public_key: bytes | None = None,
    ) -> DeviceInfo:
        return cls(mn, password_digest(password), crc, public_key)


def password_digest(password: str) -> str:
    """The SHA-256 (hex) of a PW as :class:`DeviceInfo` keeps it."""
    return hashlib.sha256(password.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Reading:
    """One number of an accepted frame, exactly as received (``value`` is the text)."""

    code: str
    statistic: str  # Rtd, Avg, Min, Max, ZsRtd, …, Cou, RS, RT
    value: str
    flag: str | None
    data_time: datetime
    qn: str

    @property
    def number(self) -> float:
        return float(self.value)


@dataclass(frozen=True)
class Accepted:
    frame: Frame
    readings: tuple[Reading, ...]
    ignored_codes: tuple[str, ...] = ()
    signed: bool = False


@dataclass(frozen=True)
class Rejected:
    reason: str  # one of REJECT_REASONS
    detail: str
    tampering: bool = False


class EnvelopeError(ValueError):
    """A ``hj212s`` payload refused; ``reason`` is one of :data:`ENVELOPE_REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.detail = message


def parse_envelope(payload: bytes) -> tuple[bytes, bytes]:
    """``(frame bytes, 64-byte signature)`` from ``{"frame": "##…", "sig": "<base64>"}``:
    at most 4 KiB of UTF-8 JSON, an object with exactly these two string keys (no repeats),
    ``sig`` standard base64 of exactly 64 bytes. :class:`EnvelopeError` otherwise."""
    if len(payload) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError("envelope-too-long", f"{len(payload)} bytes, at most 4096")
    try:
        document = json.loads(payload, object_pairs_hook=_no_repeated_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # 4 KiB nest too deep
        raise EnvelopeError("envelope-format", f"not a JSON object: {exc}") from exc
    if not isinstance(document, dict) or set(document) != {"frame", "sig"}:
        raise EnvelopeError("envelope-format", 'the envelope has exactly "frame" and "sig"')
    frame, sig = document["frame"], document["sig"]
    if not isinstance(frame, str) or not isinstance(sig, str):
        raise EnvelopeError("envelope-format", '"frame" and "sig" must be strings')
    try:
        signature = base64.b64decode(sig.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise EnvelopeError("envelope-signature", "sig is not standard base64") from exc
    if len(signature) != SIGNATURE_BYTES:
        raise EnvelopeError("envelope-signature", f"sig is {len(signature)} bytes, not 64")
    return frame.encode("utf-8"), signature


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key appears twice")
    return dict(pairs)


def validate_envelope(
    payload: bytes,
    *,
    device: DeviceInfo | None,
    last_qn: str | None,
    factors: FactorTable,
    now: datetime,
    **limits: Any,
) -> Accepted | Rejected:
    """:func:`validate` for a ``hj212s`` payload. A broken envelope from a device with a key
    is tampering too: it is as good as unsigned."""
    try:
        frame, signature = parse_envelope(payload)
    except EnvelopeError as exc:
        if device is None:
            return Rejected("unknown-mn", "no device is registered under this MN")
        return Rejected(exc.reason, exc.detail, tampering=device.public_key is not None)
    return validate(
        frame,
        device=device,
        last_qn=last_qn,
        factors=factors,
        now=now,
        signature=signature,
        **limits,
    )


def validate(
    raw: bytes,
    *,
    device: DeviceInfo | None,
    last_qn: str | None,
    factors: FactorTable,
    now: datetime,
    signature: bytes | None = None,
    max_future: timedelta = DEFAULT_MAX_FUTURE,
    max_age: timedelta = DEFAULT_MAX_AGE,
    reject_unknown_factors: bool = False,
) -> Accepted | Rejected:
    """The verdict on one frame; the order of the checks is in the module's docstring."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if device is None:
        return Rejected("unknown-mn", "no device is registered under this MN")
    if device.public_key is not None:
        if signature is None:
            return Rejected(
                "unsigned", "this device signs its frames; this one is not signed", True
            )
        try:
            _public_key(device.public_key).verify(signature, raw)
        except InvalidSignature:
            return Rejected("bad-signature", "the signature does not verify over the frame", True)
    elif signature is not None:
        return Rejected("key-not-registered", "a signed frame from a device with no key")
    try:
        frame = parse_frame(raw, crc=device.crc)
    except FrameError as exc:
        return Rejected(exc.reason, exc.detail)
    if frame.mn != device.mn:
        return Rejected("mn-mismatch", f"the frame's MN {frame.mn!r} is not the topic's")
    if not hmac.compare_digest(password_digest(frame.pw), device.password_sha256):
        return Rejected("bad-password", "PW does not match the device's password")
    if last_qn is not None and frame.qn <= last_qn:
        return Rejected("stale-qn", f"QN {frame.qn} is not after the last accepted {last_qn}")
    if frame.cn not in DATA_CNS:
        return Rejected("unsupported-cn", f"CN={frame.cn} is not a data upload")
    data_time = frame.data_time
    if data_time is None:
        return Rejected("missing-field", "a data upload needs DataTime in CP")
    if data_time > now + max_future:
        return Rejected("future-time", f"DataTime {data_time.isoformat()} is ahead of now")
    if data_time < now - max_age:
        return Rejected("old-time", f"DataTime {data_time.isoformat()} is older than {max_age}")
    readings: list[Reading] = []
    ignored: list[str] = []
    for code, value in frame.values.items():
        factor = factors.get(code)
        if factor is None:
            if reject_unknown_factors:
                return Rejected("unknown-factor", f"{code} is not in the factor table")
            ignored.append(code)
            continue
        flag = value.flag
        if flag is not None and flag not in DATA_FLAGS:
            return Rejected("bad-flag", f"{code}-Flag={flag[:10]!r} is not one of N F M S D C T B")
        for statistic, text in value.numbers.items():
            if (
                statistic in RANGE_SUFFIXES
                and (flag is None or flag == "N")
                and not factor.plausible(float(text))
            ):
                return Rejected(
                    "implausible-value",
                    f"{code}-{statistic}={text} is outside {factor.min}–{factor.max} {factor.unit}",
                )
            readings.append(Reading(code, statistic, text, flag, data_time, frame.qn))
    return Accepted(frame, tuple(readings), tuple(ignored), signed=signature is not None)


@lru_cache(maxsize=16384)
def _public_key(raw: bytes) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)
