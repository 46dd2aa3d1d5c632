"""Tests for ``signing``; the small PKI builder the certificate and statement tests share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from signing.cert_identity import OfficerIdentity
from signing.certs import create_department_ca, issue_officer_certificate
from signing.keys import Alg, PrivateKey, generate_private_key

T0 = datetime(2026, 1, 1, tzinfo=UTC)
"""Every certificate in these tests is issued at T0; times are offsets from it."""
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Pki:
    """A department CA and one officer certificate under it, both for ``alg``."""

    alg: Alg
    ca_key: PrivateKey
    ca_pem: bytes
    officer_key: PrivateKey
    officer_pem: bytes
    identity: OfficerIdentity


def make_pki(
    alg: Alg,
    *,
    department_id: str = "dept-330100-scjg",
    officer_id: str = "officer-0042",
    cert_no: str | None = "33010012345",
    name: str = "张三",
    valid_days: int = 365,
) -> Pki:
    ca_key = generate_private_key(alg)
    ca_pem = create_department_ca(
        department_id=department_id,
        department_name="杭州市市场监督管理局",
        key=ca_key,
        now=T0,
    )
    identity = OfficerIdentity(
        officer_id=officer_id, department_id=department_id, cert_no=cert_no, name=name
    )
    officer_key = generate_private_key(alg)
    officer_pem = issue_officer_certificate(
        ca_cert_pem=ca_pem,
        ca_key=ca_key,
        identity=identity,
        public_key=officer_key.public_key(),
        now=T0,
        valid_days=valid_days,
    )
    return Pki(alg, ca_key, ca_pem, officer_key, officer_pem, identity)
