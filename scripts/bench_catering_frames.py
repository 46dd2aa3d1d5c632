#!/usr/bin/env python3
"""Catering frame validation in-process: how many HJ 212 frames a second ``validate`` judges.

1. ``--frames`` simulated real-time frames (8 factors each, about 290 bytes) from
   ``--restaurants`` × 2 monitors (an oil-fume monitor and a second one on the same kitchen),
   one frame a minute each, interleaved in time order as a broker would deliver them; every
   fourth monitor uses plain CRC-16/MODBUS. Generation is not timed.
2. The baseline, measured in the same run: per frame only ``raw.split(b";")`` and a
   ``split(b",")`` of each item — the least any reader of the frame must do; no CRC, no field
   checks, no numbers, no verdict. It is a floor, not a competitor, so the ratio says how much
   the checks cost over merely touching the bytes.
3. ``parse_frame`` alone (framing, length, CRC, fields), for the breakdown.
4. ``validate`` with the device looked up in a dict and the last accepted QN kept per device,
   as the MQTT subscriber will: the figure the goal (≥ 5,000 frames/s) is about.
5. ``--signed`` of those frames as ``hj212s`` envelopes from devices with Ed25519 keys,
   through ``validate_envelope`` (JSON, base64, signature check, then ``validate``).

Goals are printed with PASS or MISS, not asserted: the exit status is 0.

Usage: python scripts/bench_catering_frames.py [--frames 50000] [--restaurants 3200]
           [--signed 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: E402

from evidence_service.modules.catering.factors import load_factors  # noqa: E402
from evidence_service.modules.catering.hj212 import CHINA, CrcVariant, parse_frame  # noqa: E402
from evidence_service.modules.catering.simulate import (  # noqa: E402
    SimulatedDevice,
    envelope,
    frames,
)
from evidence_service.modules.catering.validation import (  # noqa: E402
    Accepted,
    DeviceInfo,
    validate,
    validate_envelope,
)

GOAL_FRAMES_PER_SECOND = 5_000
START = datetime(2026, 7, 6, 11, 0, tzinfo=CHINA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=50_000)
    parser.add_argument("--restaurants", type=int, default=3_200)
    parser.add_argument("--signed", type=int, default=10_000)
    args = parser.parse_args()

    devices = [
        DeviceInfo.with_password(
            mn=f"CY31{i:010d}",
            password=_password(f"CY31{i:010d}"),
            crc=CrcVariant.MODBUS if i % 4 == 3 else CrcVariant.HJ212,
        )
        for i in range(args.restaurants * 2)
    ]
    rounds = -(-args.frames // len(devices))
    started = time.perf_counter()
    per_device = [
        list(
            frames(
                SimulatedDevice(mn=d.mn, password=_password(d.mn), crc=d.crc),
                start=START,
                interval=timedelta(minutes=1),
                count=rounds,
            )
        )
        for d in devices
    ]
    stream = [(d, per_device[i][r]) for r in range(rounds) for i, d in enumerate(devices)]
    stream = stream[: args.frames]
    print(
        f"{len(stream):,} frames from {len(devices):,} devices "
        f"({sum(len(raw) for _, raw in stream) / len(stream):.0f} bytes on average), "
        f"generated in {time.perf_counter() - started:.1f} s"
    )
    now = START + timedelta(minutes=rounds)
    factors = load_factors()

    def baseline() -> int:
        count = 0
        for _, raw in stream:
            for item in raw.split(b";"):
                count += len(item.split(b","))
        return count

    def parse_only() -> int:
        return sum(len(parse_frame(raw, crc=d.crc).values) for d, raw in stream)

    verdicts: Counter[str] = Counter()

    def validate_all() -> int:
        last_qn: dict[str, str] = {}
        by_mn = {d.mn: d for d in devices}
        verdicts.clear()
        for device, raw in stream:
            mn = device.mn  # from the topic catering/<MN>/hj212
            result = validate(
                raw, device=by_mn.get(mn), last_qn=last_qn.get(mn), factors=factors, now=now
            )
            if isinstance(result, Accepted):
                last_qn[mn] = result.frame.qn
                verdicts["accepted"] += 1
            else:
                verdicts[result.reason] += 1
        return len(stream)

    base = rate("baseline (split only)", baseline, len(stream))
    rate("parse_frame", parse_only, len(stream), base)
    validated = rate("validate", validate_all, len(stream), base)
    print(f"  verdicts: {dict(verdicts)}")
    goal(validated)

    if args.signed:
        signed_stream = stream[: args.signed]
        keys = {
            d.mn: ed25519.Ed25519PrivateKey.from_private_bytes(_seed(d.mn))
            for d, _ in signed_stream
        }
        keyed = {
            d.mn: DeviceInfo(
                d.mn, d.password_sha256, d.crc, keys[d.mn].public_key().public_bytes_raw()
            )
            for d, _ in signed_stream
        }
        payloads = [(d.mn, envelope(raw, keys[d.mn])) for d, raw in signed_stream]
        signed_verdicts: Counter[str] = Counter()

        def validate_signed() -> int:
            last_qn: dict[str, str] = {}
            signed_verdicts.clear()
            for mn, payload in payloads:
                result = validate_envelope(
                    payload, device=keyed[mn], last_qn=last_qn.get(mn), factors=factors, now=now
                )
                if isinstance(result, Accepted):
                    last_qn[mn] = result.frame.qn
                    signed_verdicts["accepted"] += 1
                else:
                    signed_verdicts[result.reason] += 1
            return len(payloads)

        signed_rate = rate("validate_envelope (Ed25519)", validate_signed, len(payloads), base)
        print(f"  verdicts: {dict(signed_verdicts)}")
        goal(signed_rate)


def _password(mn: str) -> str:
    return f"{int(mn[4:]) % 1_000_000:06d}"


def _seed(mn: str) -> bytes:
    return mn.encode().ljust(32, b"\0")[:32]


def rate(label: str, work: Callable[[], int], count: int, base: float | None = None) -> float:
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    per_second = count / seconds
    ratio = f", {base / per_second:.1f}× the baseline's time" if base else ""
    print(f"{label:30} {count:>7,} in {seconds:6.3f} s = {per_second:>10,.0f} frames/s{ratio}")
    return per_second


def goal(per_second: float) -> None:
    verdict = "PASS" if per_second >= GOAL_FRAMES_PER_SECOND else "MISS"
    print(f"  goal ≥ {GOAL_FRAMES_PER_SECOND:,} frames/s: {verdict}")


if __name__ == "__main__":
    main()
