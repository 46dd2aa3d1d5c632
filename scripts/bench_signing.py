#!/usr/bin/env python3
"""Signing benchmark: everything through the `signing` package, baselines in the same run.

- Ed25519 and ES256 (P-256) sign and verify per second via signing.keys, beside the bare
  `cryptography` calls they wrap (goal: >= 10k Ed25519 verifies/s);
- full statement verification (JCS, signature, certificate chain to the department CA, CRL) per
  second, Ed25519 and ES256;
- BLS (IETF, G2 proof-of-possession suite): sign, verify, and fast aggregate verify of 10 signers,
  py_ecc beside the fast backend (goal: <= 10 ms aggregate verify with the fast backend);
- the department seal image: render ms.

Usage: python scripts/bench_signing.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from signing import bls  # noqa: E402
from signing.cert_codec import load_certificate  # noqa: E402
from signing.cert_identity import OfficerIdentity  # noqa: E402
from signing.certs import (  # noqa: E402
    create_crl,
    create_department_ca,
    issue_officer_certificate,
)
from signing.keys import generate_private_key, sign, verify_signature  # noqa: E402
from signing.seal_image import render_seal  # noqa: E402
from signing.statements import sign_statement, verify_statement  # noqa: E402

STATEMENT: dict[str, Any] = {
    "evidence_id": "01JDQ8Z3K9V7W2X4Y6A8B0C2D4",
    "port": "physical",
    "sha256": "ab" * 32,
    "sm3": "cd" * 32,
    "size": 1048576,
    "media_type": "image/jpeg",
    "captured_at": "2026-11-28T08:00:00Z",
    "received_at": "2026-11-28T08:00:03Z",
    "officer_id": "officer-1",
    "department_id": "dept-1",
    "metadata_sha256": "ef" * 32,
}


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second, over at least `seconds` (after one warm-up call)."""
    fn()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            fn()
        count += 20
    return count / elapsed


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_keys(seconds: float) -> dict[str, bool]:
    data = b"x" * 600  # about a statement's JCS bytes
    goals: dict[str, bool] = {}
    for alg in ("Ed25519", "ES256"):
        key = generate_private_key(alg)  # type: ignore[arg-type]
        public = key.public_key()
        sig = sign(key, data)
        ours_sign = rate(lambda k=key: sign(k, data), seconds)
        ours_verify = rate(lambda p=public, s=sig, a=alg: verify_signature(p, s, data, a), seconds)
        if alg == "Ed25519":
            raw = key.sign(data)  # type: ignore[call-arg]
            base = rate(lambda p=public, r=raw: p.verify(r, data), seconds)  # type: ignore[call-arg]
        else:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import ec

            der = key.sign(data, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg]
            base = rate(
                lambda p=public, d=der: p.verify(d, data, ec.ECDSA(hashes.SHA256())),  # type: ignore[call-arg]
                seconds,
            )
        print(
            f"  {alg:<8} sign {ours_sign:>9,.0f}/s   verify {ours_verify:>9,.0f}/s   "
            f"(bare cryptography verify {base:,.0f}/s, ratio {ours_verify / base:.2f})"
        )
        if alg == "Ed25519":
            goals["Ed25519 verify >= 10k/s"] = ours_verify >= 10_000
    return goals


def bench_statements(seconds: float) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    for alg in ("Ed25519", "ES256"):
        ca_key = generate_private_key("Ed25519")
        ca = create_department_ca(
            department_id="dept-1", department_name="杭州市市场监督管理局", key=ca_key, now=now
        )
        officer_key = generate_private_key(alg)  # type: ignore[arg-type]
        cert = issue_officer_certificate(
            ca_cert_pem=ca,
            ca_key=ca_key,
            identity=OfficerIdentity("officer-1", "dept-1", "33010012345", "张三"),
            public_key=officer_key.public_key(),
            now=now,
        )
        revoked_serial = load_certificate(cert).serial_number + 1
        crl = create_crl(ca_cert_pem=ca, ca_key=ca_key, revoked=[(revoked_serial, now)], now=now)
        signature = sign_statement(
            STATEMENT, key=officer_key, certificate_pem=cert, signer="officer-1"
        )
        per_s = rate(
            lambda s=signature, c=ca, r=crl, t=now + timedelta(minutes=1): verify_statement(
                STATEMENT, s, trusted_cas=[c], crls=[r], at=t
            ),
            seconds,
        )
        print(
            f"  {alg:<8} full statement verification (JCS, signature, chain, CRL): {per_s:,.0f}/s"
        )


def bls_timings(
    signers: list[bls.BlsKeyPair], message: bytes, backend: bls.BlsBackend, runs: int
) -> dict[str, float]:
    sk, pk = signers[0]
    sig = bls.sign(sk, message, backend=backend)
    agg = bls.aggregate(
        [bls.sign(s, message, backend=backend) for s, _ in signers], backend=backend
    )
    pks = [p for _, p in signers]
    return {
        "sign": median_ms(lambda: bls.sign(sk, message, backend=backend), runs),
        "verify": median_ms(lambda: bls.verify(pk, message, sig, backend=backend), runs),
        "agg10": median_ms(
            lambda: bls.fast_aggregate_verify(pks, message, agg, backend=backend), runs
        ),
    }


def bench_bls() -> dict[str, bool]:
    message = b"batch root " + bytes(21)
    signers = [bls.keygen(bytes([i + 1]) * 32) for i in range(10)]
    goals: dict[str, bool] = {}
    results: dict[str, dict[str, float]] = {}
    for name, backend, runs in (("py_ecc", bls.PY_ECC, 3), ("fast", bls.default_backend(), 50)):
        results[name] = bls_timings(signers, message, backend, runs)
    fast_name = type(bls.default_backend()).__name__
    for op, label in (("sign", "sign"), ("verify", "verify"), ("agg10", "aggregate verify, 10")):
        slow, fast = results["py_ecc"][op], results["fast"][op]
        print(
            f"  BLS {label:<21} py_ecc {slow:>8.1f} ms   fast ({fast_name}) {fast:>6.2f} ms   "
            f"{slow / fast:,.0f}x"
        )
    goals["BLS fast aggregate verify of 10 <= 10 ms"] = results["fast"]["agg10"] <= 10.0
    return goals


def bench_seal() -> None:
    for size in (512, 1024):
        ms = median_ms(
            lambda s=size: render_seal(
                department_name="杭州市市场监督管理局", seal_code="3301000012345", size_px=s
            ),
            5,
        )
        print(f"  seal image {size}px: {ms:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per rate measurement")
    args = parser.parse_args()
    goals: dict[str, bool] = {}
    print("signatures (signing.keys):")
    goals.update(bench_keys(args.seconds))
    print("statements (signing.statements):")
    bench_statements(args.seconds)
    print("BLS co-signatures (signing.bls):")
    goals.update(bench_bls())
    print("seal (signing.seal):")
    bench_seal()
    print("\nsummary:")
    for goal, met in goals.items():
        print(f"  {'PASS' if met else 'MISS'}  {goal}")
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
