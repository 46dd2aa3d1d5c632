"""Demo data: departments of each kind and a user of each role, with stable tokens.

Idempotent: departments are keyed by code, users by (department, role, name), and tokens are
derived from a random secret kept in the data dir, so running it again prints the same tokens
and creates nothing new.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from evidence_service.access.identity import TOKEN_PREFIX, issue_token, token_digest
from evidence_service.access.models import ApiToken, Department, DepartmentKind, Officer, Role
from evidence_service.access.pki import Pki
from evidence_service.capture.ingest import new_id
from evidence_service.core.clock import Clock, utcnow
from evidence_service.core.db import session_scope

DEPARTMENTS = [
    ("HZ-SCJG", "杭州市市场监督管理局", DepartmentKind.inspection),
    ("HZ-ZHZF", "杭州市综合行政执法局", DepartmentKind.inspection),
    ("HZ-CFK", "杭州市行政处罚决定科", DepartmentKind.penalty),
    ("HZ-XHFY", "杭州市西湖区人民法院", DepartmentKind.court),
    ("ZJ-SFT", "浙江省司法厅执法监督处", DepartmentKind.audit),
]
USERS = [
    ("HZ-SCJG", "张明 (officer)", Role.officer, "33010012345"),
    ("HZ-SCJG", "李华 (reviewer)", Role.reviewer, "33010012346"),
    ("HZ-ZHZF", "王芳 (officer)", Role.officer, "33010022345"),
    ("HZ-ZHZF", "赵强 (reviewer)", Role.reviewer, "33010022346"),
    ("HZ-CFK", "陈静 (penalty)", Role.penalty, "33010032345"),
    ("HZ-XHFY", "刘洋 (court)", Role.court, None),
    ("ZJ-SFT", "周敏 (auditor)", Role.auditor, None),
    ("ZJ-SFT", "吴刚 (admin)", Role.admin, None),
]


def demo_secret(data_dir: Path) -> bytes:
    path = data_dir / "demo-token.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return path.read_bytes()


def seed_demo(
    engine: Engine,
    data_dir: Path,
    *,
    clock: Clock = utcnow,
    token_ttl_days: int = 30,
    pki: Pki | None = None,
) -> dict[str, Any]:
    """The demo departments and officers, each with a person token derived from the data
    directory's demo secret. Seeding again renews the tokens' expiry (``token_ttl_days``), so
    the tokens a demo prints always work.

    With ``pki``, every demo officer also has a custodial certificate afterwards (issued, or
    renewed when due; one that is still good is kept), so their captures are signed. Without
    it they get theirs at their first capture, as any officer who never had a certificate."""
    secret = demo_secret(data_dir)
    now = clock()
    expires_at = now + timedelta(days=token_ttl_days)
    out: dict[str, Any] = {"departments": [], "users": []}
    with session_scope(engine) as session:
        by_code: dict[str, Department] = {}
        for code, name, kind in DEPARTMENTS:
            dept = session.exec(select(Department).where(Department.code == code)).first()
            if dept is None:
                dept = Department(id=new_id(), name=name, kind=kind, code=code, created_at=now)
                session.add(dept)
                session.flush()
            by_code[code] = dept
            out["departments"].append(
                {"id": dept.id, "name": dept.name, "kind": str(dept.kind), "code": dept.code}
            )
        for code, name, role, cert_no in USERS:
            dept = by_code[code]
            officer = session.exec(
                select(Officer).where(
                    Officer.department_id == dept.id, Officer.role == role, Officer.name == name
                )
            ).first()
            if officer is None:
                officer = Officer(
                    id=new_id(),
                    name=name,
                    role=role,
                    department_id=dept.id,
                    cert_no=cert_no,
                    created_at=now,
                )
                session.add(officer)
                session.flush()
            token = (
                TOKEN_PREFIX
                + "demo_"
                + hmac.new(secret, officer.id.encode(), hashlib.sha256).hexdigest()[:40]
            )
            exists = session.exec(
                select(ApiToken).where(ApiToken.token_sha256 == token_digest(token))
            ).first()
            if exists is None:
                issue_token(
                    session,
                    officer,
                    token_id=new_id(),
                    now=now,
                    label="demo",
                    token=token,
                    expires_at=expires_at,
                )
            elif exists.revoked_at is None:
                exists.expires_at = expires_at
                session.add(exists)
            out["users"].append(
                {
                    "id": officer.id,
                    "name": officer.name,
                    "role": str(officer.role),
                    "department_id": dept.id,
                    "department": dept.name,
                    "token": token,
                }
            )
    if pki is not None:
        for user in out["users"]:
            pki.signing_certificate(user["id"], now)
    return out
