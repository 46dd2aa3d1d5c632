"""``GET /api/v1/legal-holds``: the items under a legal hold now, every department's, for the
admin only — each with who placed its hold, when and why (the ``legal_hold_set`` custody event),
never its title; paged by a keyset cursor, bad paging refused with nothing written. And the
cause catalogue with what refers to each cause (``cause_usage``), which the admin pages show.

Runs on (SQLite, local disk) and (PostgreSQL, MinIO via moto)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from evidence_service.cases.causes import cause_usage
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, counts, upload

A, B = "HZ-SCJG", "HZ-ZHZF"
HOLDS = "/api/v1/legal-holds"


def captured(api: Api, department: str, title: str, **extra: Any) -> str:
    response = upload(
        api,
        "electronic",
        title.encode(),
        metadata={"title": title, **extra},
        headers=api.auth_as(department, "officer"),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def change_hold(api: Api, evidence_id: str, reason: str, method: str = "PUT") -> None:
    response = api.client.request(
        method,
        f"/api/v1/evidence/{evidence_id}/legal-hold",
        json={"reason": reason},
        headers=api.auth("admin"),
    )
    assert response.status_code == 200, response.text


def listed(api: Api, query: str = "") -> dict[str, Any]:
    response = api.client.get(HOLDS + query, headers=api.auth("admin"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_admin_lists_every_departments_held_items(api: Api) -> None:
    mine, theirs, free = captured(api, A, "账册"), captured(api, B, "照片"), captured(api, A, "x")
    assert listed(api) == {"items": [], "next_cursor": None}
    change_hold(api, mine, "法院保全通知 1")
    change_hold(api, theirs, "诉讼 2")
    body = listed(api)
    assert [item["evidence_id"] for item in body["items"]] == [theirs, mine]  # latest first
    assert body["next_cursor"] is None
    first = body["items"][1]
    department = next(d["id"] for d in api.departments if d["code"] == A)
    assert first["department_id"] == department and first["port"] == "electronic"
    assert first["reason"] == "法院保全通知 1" and first["held_by"] == api.users["admin"]["id"]
    assert first["held_at"] and first["retention_until"] and first["received_at"]
    assert "title" not in first and "账册" not in str(body)

    # Lifted, it leaves the list; held again, the list gives the latest placement's reason.
    change_hold(api, mine, "撤诉", method="DELETE")
    assert [item["evidence_id"] for item in listed(api)["items"]] == [theirs]
    change_hold(api, mine, "再次保全")
    again = {item["evidence_id"]: item["reason"] for item in listed(api)["items"]}
    assert again == {theirs: "诉讼 2", mine: "再次保全"}
    assert free not in again

    spec = api.client.get("/openapi.json").json()
    schema = spec["paths"][HOLDS]["get"]["responses"]["200"]["content"]["application/json"]
    jsonschema.Draft202012Validator(
        {**schema["schema"], "components": spec["components"]}
    ).validate(listed(api))


def test_held_items_page_on_with_a_cursor(api: Api) -> None:
    items = [captured(api, A, f"第{n}件") for n in range(3)]
    for item in items:
        change_hold(api, item, "保全")
    seen, cursor = [], ""
    for _ in range(3):
        page = listed(api, f"?limit=1{cursor}")
        seen += [item["evidence_id"] for item in page["items"]]
        cursor = f"&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert seen == items[::-1] and cursor == ""


@pytest.mark.parametrize("backend", ["sqlite-local"])  # refused on the query alone
@pytest.mark.parametrize(
    ("query", "status", "slug"),
    [
        ("?limit=0", 422, "invalid-request"),
        ("?limit=201", 422, "invalid-request"),
        ("?cursor=not-a-cursor", 400, "bad-request"),
        ("?cursor=WyJyZWNlaXZlZF9hdCIsIjIwMjYtMDEtMDFUMDA6MDA6MDBaIiwiMSJd", 400, "bad-request"),
        ("?cursor=" + "x" * 201, 422, "invalid-request"),
    ],
)
def test_bad_paging_is_refused(api: Api, query: str, status: int, slug: str) -> None:
    before = counts(api)
    assert_problem(api.client.get(HOLDS + query, headers=api.auth("admin")), status, slug)
    assert counts(api) == before


@pytest.mark.parametrize("role", ["officer", "reviewer", "auditor", "court"])
def test_only_the_admin_lists_holds(api: Api, role: str) -> None:
    item = captured(api, A, "账册")
    change_hold(api, item, "保全")
    refused = api.client.get(HOLDS, headers=api.auth(role))
    assert_problem(refused, 403, "forbidden")
    assert item not in refused.text
    assert_problem(api.client.get(HOLDS), 401, "missing-token")


def test_cause_usage_counts_cases_and_graph_links(api: Api) -> None:
    admin = api.auth("admin")
    for code in ("FS-001", "FS-002", "FS-003"):
        made = api.client.post("/api/v1/causes", json={"code": code, "name": code}, headers=admin)
        assert made.status_code == 201, made.text
    for number in ("1", "2"):
        opened = api.client.post(
            "/api/v1/cases",
            json={"case_number": number, "kind": "penalty", "title": "t", "cause_code": "FS-001"},
            headers=api.auth(),
        )
        assert opened.status_code == 201, opened.text
    captured(api, A, "记录", tags=[{"type": "cause", "value": "FS-002"}])
    usage = {
        c["code"]: (c["name"], c["cases"], c["links"]) for c in cause_usage(api.services.engine)
    }
    assert usage == {
        "FS-001": ("FS-001", 2, 0),
        "FS-002": ("FS-002", 0, 1),
        "FS-003": ("FS-003", 0, 0),
    }
    # What the page offers matches what the API does: only the unused cause goes.
    for code, status in (("FS-001", 409), ("FS-002", 409), ("FS-003", 204)):
        assert api.client.delete(f"/api/v1/causes/{code}", headers=admin).status_code == status
