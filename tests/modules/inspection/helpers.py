"""Joint-inspection test helpers: the departments' parts, a directory written straight into
the module's tables (for tests of what comes after the import), the module's row counts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, func, select

from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection.common import utcnow
from evidence_service.modules.inspection.directory import Enterprise, Inspector
from tests.fixtures.service import Api
from tests.modules.inspection.test_plan import code

API = "/api/v1/inspection"
#: The demo's market regulator inspects for 市场监管; the comprehensive enforcement bureau
#: coordinates and inspects for 生态环境 (油烟 is its duty in Zhejiang).
MARKET, OFFICE = "HZ-SCJG", "HZ-ZHZF"
PARTS: dict[str, tuple[str | None, bool]] = {
    MARKET: ("market_regulation", False),
    OFFICE: ("ecology", True),
}


def department_id(api: Api, code_: str) -> str:
    return next(d["id"] for d in api.departments if d["code"] == code_)


def module_engine(api: Api) -> Engine:
    return api.client.app.state.inspection.engine  # type: ignore[attr-defined,no-any-return]


def map_departments(api: Api, parts: dict[str, tuple[str | None, bool]] = PARTS) -> None:
    """The admin maps the demo departments onto scenario kinds, the office as coordinator."""
    for dept, (kind, coordinator) in parts.items():
        done = api.client.put(
            f"{API}/departments/{department_id(api, dept)}",
            json={"kind": kind, "coordinator": coordinator},
            headers=api.auth("admin"),
        )
        assert done.status_code == 200, done.text


def write_directory(
    api: Api, enterprises: Iterable[Enterprise], inspectors: Iterable[Inspector] = ()
) -> None:
    """Rows as an import leaves them (the import itself is tested in test_directory_api)."""
    now = utcnow()
    with module_engine(api).begin() as conn:
        for e in enterprises:
            conn.execute(
                m.enterprise.insert().values(
                    credit_code=e.credit_code,
                    name=e.name,
                    address=e.address,
                    industry=e.industry,
                    scale=e.scale,
                    risk_class=e.risk_class,
                    region=e.credit_code[2:8],
                    longitude=e.longitude,
                    latitude=e.latitude,
                    imported_at=now,
                )
            )
        for i in inspectors:
            conn.execute(
                m.inspector.insert().values(
                    officer_id=i.officer_id,
                    department_id=i.department_id,
                    cert_no=i.cert_no,
                    specialities=list(i.specialities),
                    conflicts=list(i.conflicts),
                    imported_at=now,
                )
            )


def an_enterprise(n: int, risk_class: str = "medium", name: str | None = None) -> Enterprise:
    return Enterprise(
        code(n),
        name or f"企业{n}",
        "嘉兴市南湖区",
        "餐饮",
        "small",
        risk_class,  # type: ignore[arg-type]
    )


def counts(api: Api) -> dict[str, int]:
    with module_engine(api).connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in m.metadata.sorted_tables
        }


def officer_of(api: Api, dept: str, role: str = "officer") -> dict[str, Any]:
    """The demo person of ``role`` in ``dept``: {id, token, department_id, …}."""
    return api.person(dept, role)
