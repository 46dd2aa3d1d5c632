"""A catering monitor in software: frames as a real one would send them, for demo, tests and
the benchmark.

:func:`frames` yields one real-time frame (CN 2011) per ``interval`` from ``start``, each
factor's value given by ``reading(code, moment)``, QN the sending time to the millisecond (so
QNs rise), DataTime the reading time, all in China local time. :func:`kitchen_reading` is a
deterministic default: oil fume that peaks at lunch and dinner, fans and purifiers that run
during service hours, a grease trap that fills through the day. :func:`envelope` wraps a frame
for the ``hj212s`` topic with a device's Ed25519 key. No clock, no randomness.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ed25519

from evidence_service.modules.catering.hj212 import (
    CHINA,
    CrcVariant,
    build_frame,
    format_cp,
    format_qn,
)

DEFAULT_CODES = ("a34041", "a34013", "a24088", "cy0101", "cy0102", "cy0201", "cy0202", "cy0301")
ST_CATERING = "31"  # 大气污染源: a kitchen exhaust is a stationary air-pollution source
SEND_DELAY = timedelta(milliseconds=350)

ReadingFunction = Callable[[str, datetime], float]


@dataclass(frozen=True)
class SimulatedDevice:
    mn: str
    password: str
    codes: Sequence[str] = DEFAULT_CODES
    crc: CrcVariant = CrcVariant.HJ212
    decimals: int = 2


def frames(
    device: SimulatedDevice,
    *,
    start: datetime,
    interval: timedelta,
    count: int,
    reading: ReadingFunction | None = None,
    flag: str = "N",
    crlf: bool = True,
) -> Iterator[bytes]:
    """``count`` frames of ``device``, DataTime ``start``, ``start + interval``, …"""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    if interval < timedelta(milliseconds=1):
        raise ValueError("frames need at least a millisecond between them for rising QNs")
    value_of = reading or kitchen_reading
    for index in range(count):
        moment = start + index * interval
        values = [
            (code, {"Rtd": f"{value_of(code, moment):.{device.decimals}f}"}, flag)
            for code in device.codes
        ]
        yield build_frame(
            qn=format_qn(moment + SEND_DELAY),
            st=ST_CATERING,
            cn="2011",
            pw=device.password,
            mn=device.mn,
            flag=4,  # HJ 212-2017, no acknowledgement asked
            cp=format_cp(moment, values),
            crc=device.crc,
            crlf=crlf,
        )


def envelope(frame: bytes, key: ed25519.Ed25519PrivateKey) -> bytes:
    """The ``hj212s`` payload: ``{"frame": "##…", "sig": "<base64 Ed25519 over the frame>"}``."""
    signature = base64.b64encode(key.sign(frame)).decode("ascii")
    return json.dumps({"frame": frame.decode("ascii"), "sig": signature}).encode("ascii")


def kitchen_reading(code: str, moment: datetime) -> float:
    """A plausible value of the default table's ``code`` at ``moment`` (0 for other codes)."""
    local = moment.astimezone(CHINA)
    hour = local.hour + local.minute / 60 + local.second / 3600
    cooking = _bump(hour, 12.0, 1.0) + _bump(hour, 18.5, 1.2)  # 0 … ~1
    running = 1.0 if 10 <= hour < 14 or 16.5 <= hour < 21 else 0.0
    shape = {
        "a34041": 0.1 + 1.6 * cooking,  # oil fume, mg/m3, limit 2.0
        "a34013": 0.3 + 2.5 * cooking,  # particulates, mg/m3
        "a24088": 1.0 + 6.0 * cooking,  # NMHC, mg/m3
        "cy0101": 12.0 * running + 3.0 * cooking,  # fan current, A
        "cy0102": 2.5 * running,  # purifier current, A
        "cy0201": running,
        "cy0202": running,
        "cy0301": 10.0 + 70.0 * hour / 24,  # grease-trap level, %
        "cy0401": 0.0,
    }
    return shape.get(code, 0.0)


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-(((hour - centre) / width) ** 2))
