"""The directory and roster in the module's tables: an upload replaces the rows it names.

An upload is checked whole by :mod:`.directory` first; then every row is written in one
transaction (new credit codes inserted, known ones updated) or none is. Rows an upload does not
name stay as they were: a department uploading its roster does not remove another's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select

from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection.directory import Enterprise, Inspector, RowError

CHUNK = 1000  # ids per IN (…) lookup and rows per executemany


@dataclass(frozen=True)
class Written:
    created: int
    updated: int


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def existing(conn: Connection, table: Table, key: str, values: Sequence[str]) -> set[str]:
    """Which of ``values`` the table holds in column ``key`` (looked up a chunk at a time)."""
    column = table.c[key]
    found: set[str] = set()
    for part in chunks(values):
        found.update(conn.execute(select(column).where(column.in_(part))).scalars())
    return found


def _upsert(conn: Connection, table: Table, key: str, rows: list[dict[str, Any]]) -> Written:
    known = existing(conn, table, key, [row[key] for row in rows])
    new = [row for row in rows if row[key] not in known]
    # bound as v_<column>: a bind parameter may not share its column's name in an UPDATE
    changed = [
        {"_key": row[key], **{f"v_{c}": v for c, v in row.items()}}
        for row in rows
        if row[key] in known
    ]
    for part in chunks(new):
        conn.execute(table.insert(), list(part))
    if changed:
        columns: dict[str, Any] = {c: bindparam(f"v_{c}") for c in rows[0] if c != key}
        statement = table.update().where(table.c[key] == bindparam("_key")).values(**columns)
        for part in chunks(changed):
            conn.execute(statement, list(part))
    return Written(created=len(new), updated=len(changed))


def write_enterprises(conn: Connection, rows: Sequence[Enterprise], now: datetime) -> Written:
    return _upsert(
        conn,
        m.enterprise,
        "credit_code",
        [
            {
                "credit_code": e.credit_code,
                "name": e.name,
                "address": e.address,
                "industry": e.industry,
                "scale": e.scale,
                "risk_class": e.risk_class,
                "region": e.credit_code[2:8],
                "longitude": e.longitude,
                "latitude": e.latitude,
                "imported_at": now,
            }
            for e in rows
        ],
    )


def cert_clashes(conn: Connection, rows: Sequence[Inspector]) -> list[RowError]:
    """Rows whose 执法证 number already belongs to another officer in the roster (the upload
    itself was checked for repeats). ``row`` is the 1-based position in the upload."""
    wanted = {i.cert_no: (n, i.officer_id) for n, i in enumerate(rows, start=1)}
    clashes: list[RowError] = []
    certs = list(wanted)
    for part in chunks(certs):
        held = conn.execute(
            select(m.inspector.c.cert_no, m.inspector.c.officer_id).where(
                m.inspector.c.cert_no.in_(part)
            )
        )
        for cert_no, holder in held:
            number, officer_id = wanted[cert_no]
            if holder != officer_id:
                clashes.append(RowError(number, "cert_no", f"already held by officer {holder}"))
    return sorted(clashes, key=lambda e: e.row)


def write_inspectors(conn: Connection, rows: Sequence[Inspector], now: datetime) -> Written:
    return _upsert(
        conn,
        m.inspector,
        "officer_id",
        [
            {
                "officer_id": i.officer_id,
                "department_id": i.department_id,
                "cert_no": i.cert_no,
                "specialities": list(i.specialities),
                "conflicts": list(i.conflicts),
                "imported_at": now,
            }
            for i in rows
        ],
    )
