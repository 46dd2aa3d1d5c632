"""The departments' parts in joint inspection: an admin maps a core department onto a scenario
kind and marks the coordinating office; nobody else may, and unknown kinds or departments are
refused with nothing written."""

from __future__ import annotations

from tests.fixtures.service import Api
from tests.modules.inspection.helpers import (
    API,
    MARKET,
    OFFICE,
    counts,
    department_id,
    map_departments,
)


def test_an_admin_maps_departments_and_everyone_signed_in_reads_them(api: Api) -> None:
    map_departments(api)
    listed = api.client.get(f"{API}/departments", headers=api.auth("court"))
    assert listed.status_code == 200, listed.text
    assert sorted((d["kind"], d["coordinator"]) for d in listed.json()) == [
        ("ecology", True),
        ("market_regulation", False),
    ]
    changed = api.client.put(
        f"{API}/departments/{department_id(api, MARKET)}",
        json={"kind": "fire", "coordinator": False},
        headers=api.auth("admin"),
    )
    assert changed.json() == {
        "department_id": department_id(api, MARKET),
        "name": "杭州市市场监督管理局",  # as the core names it
        "kind": "fire",
        "coordinator": False,
    }
    assert counts(api)["inspection_department"] == 2  # changed in place
    assert api.client.get(f"{API}/departments").status_code == 401


def test_mapping_refusals_write_nothing(api: Api) -> None:
    office = department_id(api, OFFICE)
    officer = api.client.put(
        f"{API}/departments/{office}",
        json={"kind": "fire", "coordinator": True},
        headers=api.auth_as(OFFICE, "officer"),
    )
    assert officer.status_code == 403
    assert officer.headers["content-type"] == "application/problem+json"
    unknown_kind = api.client.put(
        f"{API}/departments/{office}", json={"kind": "navy"}, headers=api.auth("admin")
    )
    assert unknown_kind.status_code == 422 and "navy" in unknown_kind.json()["detail"]
    unknown_dept = api.client.put(
        f"{API}/departments/NO-SUCH", json={"kind": "fire"}, headers=api.auth("admin")
    )
    assert unknown_dept.status_code == 404
    extra = api.client.put(
        f"{API}/departments/{office}", json={"kind": "fire", "x": 1}, headers=api.auth("admin")
    )
    assert extra.status_code == 422
    assert counts(api)["inspection_department"] == 0
