"""The 执法证 register: each enforcement certificate's number, holder, department, the core
officer it belongs to (when known) and when it is valid.

A batch is validated in full and written in one transaction (upsert by ``cert_no``), so a bad
row leaves the register as it was. Who may write which department's certificates is the
route's check (``register_api.py``); this file only validates, writes and reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import Engine, insert, select, update

from evidence_service.modules.kit.db import write_transaction
from evidence_service.modules.supervision.models import certificate
from evidence_service.modules.supervision.records import RowError, utcnow

#: Certificate numbers: digits and capital letters (some provinces prefix a letter), 4-32.
CERT_NO = r"^[0-9A-Z][0-9A-Z-]{3,31}$"
_ID = r"^[0-9A-Za-z_.:-]+$"


class CertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    cert_no: Annotated[str, Field(pattern=CERT_NO, description="执法证号")]
    holder: Annotated[str, Field(min_length=1, max_length=100)]
    department_id: Annotated[str, Field(min_length=1, max_length=64, pattern=_ID)]
    officer_id: Annotated[str | None, Field(max_length=26, pattern=_ID)] = None
    valid_from: date
    valid_to: date
    revoked_on: date | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> CertificateIn:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        if self.revoked_on is not None and self.revoked_on < self.valid_from:
            raise ValueError("revoked_on is before valid_from")
        if any(ord(c) < 32 for c in self.holder):
            raise ValueError("holder has control characters")
        return self


class RegisterInvalid(Exception):
    def __init__(self, rows: list[RowError]) -> None:
        super().__init__(f"{len(rows)} bad certificates")
        self.rows = rows


def validate(raw: Sequence[Any]) -> list[CertificateIn]:
    """Every row checked; all bad rows named (``RegisterInvalid``), duplicates included."""
    good: list[CertificateIn] = []
    bad: list[RowError] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(raw):
        if not isinstance(row, dict):
            bad.append(RowError(i, [{"loc": "", "msg": "a certificate is a JSON object"}]))
            continue
        try:
            cert = CertificateIn.model_validate(row)
        except ValidationError as exc:
            bad.append(
                RowError(
                    i,
                    [
                        {"loc": ".".join(str(p) for p in e["loc"]), "msg": str(e["msg"])}
                        for e in exc.errors()
                    ],
                )
            )
            continue
        if cert.cert_no in seen:
            msg = f"cert_no repeats row {seen[cert.cert_no]}"
            bad.append(RowError(i, [{"loc": "cert_no", "msg": msg}]))
            continue
        seen[cert.cert_no] = i
        good.append(cert)
    if bad:
        raise RegisterInvalid(bad)
    return good


def departments_of(engine: Engine, cert_nos: Sequence[str]) -> dict[str, str]:
    """The department each already-registered number belongs to."""
    out: dict[str, str] = {}
    with engine.connect() as conn:
        for start in range(0, len(cert_nos), 500):
            chunk = list(cert_nos[start : start + 500])
            rows = conn.execute(
                select(certificate.c.cert_no, certificate.c.department_id).where(
                    certificate.c.cert_no.in_(chunk)
                )
            ).all()
            out.update({str(no): str(dept) for no, dept in rows})
    return out


@dataclass(frozen=True)
class UpsertResult:
    created: int
    updated: int


def upsert(engine: Engine, certs: Sequence[CertificateIn]) -> UpsertResult:
    """All in one transaction: new numbers inserted, known ones replaced."""
    now = utcnow()
    with write_transaction(engine) as conn:
        known: set[str] = set()
        numbers = [c.cert_no for c in certs]
        for start in range(0, len(numbers), 500):
            chunk = numbers[start : start + 500]
            known.update(
                str(n)
                for (n,) in conn.execute(
                    select(certificate.c.cert_no).where(certificate.c.cert_no.in_(chunk))
                ).all()
            )
        fresh = [
            {**c.model_dump(), "created_at": now, "updated_at": now}
            for c in certs
            if c.cert_no not in known
        ]
        if fresh:
            conn.execute(insert(certificate), fresh)
        for c in certs:
            if c.cert_no in known:
                values = c.model_dump(exclude={"cert_no"})
                conn.execute(
                    update(certificate)
                    .where(certificate.c.cert_no == c.cert_no)
                    .values(**values, updated_at=now)
                )
    return UpsertResult(len(fresh), len(certs) - len(fresh))


def public(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {
        "cert_no": m["cert_no"],
        "holder": m["holder"],
        "department_id": m["department_id"],
        "officer_id": m["officer_id"],
        "valid_from": m["valid_from"].isoformat(),
        "valid_to": m["valid_to"].isoformat(),
        "revoked_on": m["revoked_on"].isoformat() if m["revoked_on"] else None,
    }


def get(engine: Engine, cert_no: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(certificate).where(certificate.c.cert_no == cert_no)).first()
    return public(row) if row is not None else None


def search(
    engine: Engine,
    *,
    departments: frozenset[str] | None,
    department_id: str | None,
    officer_id: str | None,
    valid_on: date | None,
    limit: int,
    after: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page in ``cert_no`` order; the next page starts after the last number."""
    query = select(certificate).order_by(certificate.c.cert_no).limit(limit + 1)
    if departments is not None:
        query = query.where(certificate.c.department_id.in_(sorted(departments)))
    if department_id is not None:
        query = query.where(certificate.c.department_id == department_id)
    if officer_id is not None:
        query = query.where(certificate.c.officer_id == officer_id)
    if valid_on is not None:
        query = query.where(
            certificate.c.valid_from <= valid_on,
            certificate.c.valid_to >= valid_on,
            (certificate.c.revoked_on.is_(None)) | (certificate.c.revoked_on > valid_on),
        )
    if after is not None:
        query = query.where(certificate.c.cert_no > after)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    items = [public(r) for r in rows[:limit]]
    return items, (items[-1]["cert_no"] if len(rows) > limit else None)
