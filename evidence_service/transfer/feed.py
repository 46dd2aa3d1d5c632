"""The transfers feed's lines (``GET /api/v1/feeds/transfers``): transfers in id order, each
with both departments, the receiving department's kind, its status and the items it carries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from evidence_service.access.models import Department
from evidence_service.core.clock import rfc3339
from evidence_service.transfer.models import Transfer


def transfer_lines(
    engine: Engine, *, department_id: str | None, after: str, limit: int
) -> tuple[list[dict[str, Any]], str]:
    """Up to ``limit`` transfers with an id above ``after`` that ``department_id`` sent or
    received (None: every department's), and the cursor the next page starts after."""
    query = (
        select(Transfer, col(Department.kind))
        .join(Department, col(Department.id) == col(Transfer.to_department_id))
        .where(col(Transfer.id) > after)
        .order_by(col(Transfer.id))
        .limit(limit)
    )
    if department_id is not None:
        query = query.where(
            (col(Transfer.to_department_id) == department_id)
            | (col(Transfer.from_department_id) == department_id)
        )
    with Session(engine) as session:
        rows = session.execute(query).all()
    lines = [
        {
            "id": transfer.id,
            "from_department_id": transfer.from_department_id,
            "to_department_id": transfer.to_department_id,
            "to_kind": str(kind),
            "status": str(transfer.status),
            "case_id": transfer.case_id,
            "sent_at": rfc3339(transfer.created_at),
            "decided_at": rfc3339(transfer.decided_at) if transfer.decided_at else None,
            "evidence_ids": [item["evidence_id"] for item in transfer.manifest["items"]],
        }
        for transfer, kind in rows
    ]
    return lines, (lines[-1]["id"] if lines else after)
