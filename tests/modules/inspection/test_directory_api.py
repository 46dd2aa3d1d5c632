"""The directory and roster over HTTP: CSV and JSON uploads by the coordinating office, checked
whole (nothing written when a row is bad), updated on re-upload, read back by list and detail;
the roster's departments must be the core's and a 执法证 number one officer's."""

from __future__ import annotations

import dataclasses
import json

from tests.fixtures.service import Api
from tests.modules.inspection.helpers import (
    API,
    MARKET,
    OFFICE,
    an_enterprise,
    counts,
    department_id,
    map_departments,
)
from tests.modules.inspection.test_plan import code

HEADER = "credit_code,name,address,industry,scale,risk_class,longitude,latitude\n"


def csv_row(n: int, risk_class: str = "medium", name: str | None = None) -> str:
    return f"{code(n)},{name or f'企业{n}'},嘉兴市南湖区,餐饮,small,{risk_class},120.75,30.75\n"


def office(api: Api) -> dict[str, str]:
    return api.auth_as(OFFICE, "officer")


def post_csv(api: Api, path: str, text: str, headers: dict[str, str]) -> object:
    return api.client.post(
        f"{API}/{path}",
        content=text.encode(),
        headers={**headers, "Content-Type": "text/csv"},
    )


def test_the_office_imports_the_directory_as_csv_and_json_and_reads_it_back(api: Api) -> None:
    map_departments(api)
    first = post_csv(api, "enterprises", HEADER + csv_row(1, "high") + csv_row(2), office(api))
    assert first.status_code == 200, first.text  # type: ignore[attr-defined]
    assert first.json() == {"created": 2, "updated": 0}  # type: ignore[attr-defined]
    again = api.client.post(
        f"{API}/enterprises",
        json=[
            {
                "credit_code": code(2),
                "name": "南湖小馆（更名）",
                "address": "嘉兴市南湖区",
                "industry": "餐饮",
                "scale": "micro",
                "risk_class": "low",
            },
            {
                "credit_code": code(3),
                "name": "企业3",
                "address": "嘉兴市秀洲区",
                "industry": "加油站",
                "scale": "medium",
                "risk_class": "medium_high",
            },
        ],
        headers=office(api),
    )
    assert again.json() == {"created": 1, "updated": 1}
    assert counts(api)["inspection_enterprise"] == 3

    one = api.client.get(f"{API}/enterprises/{code(2)}", headers=api.auth_as(MARKET, "officer"))
    assert one.status_code == 200, one.text
    body = one.json()
    assert (body["name"], body["scale"], body["risk_class"]) == ("南湖小馆（更名）", "micro", "low")
    assert body["longitude"] is None  # the update replaced the row, coordinates included
    assert body["region"] == "330400"
    assert body["score"] == 2.0 and body["signals"] == [] and body["warnings"] == []
    assert (body["annual_cap"], body["tasks_this_year"]) == (2, 0)

    page = api.client.get(f"{API}/enterprises", params={"limit": 2}, headers=office(api)).json()
    assert [e["credit_code"] for e in page["items"]] == sorted([code(1), code(2), code(3)])[:2]
    rest = api.client.get(
        f"{API}/enterprises", params={"cursor": page["next_cursor"]}, headers=office(api)
    ).json()
    assert [e["credit_code"] for e in rest["items"]] == sorted([code(1), code(2), code(3)])[2:]
    assert rest["next_cursor"] is None
    found = api.client.get(f"{API}/enterprises", params={"q": "更名"}, headers=office(api))
    assert [e["credit_code"] for e in found.json()["items"]] == [code(2)]
    high = api.client.get(f"{API}/enterprises", params={"risk_class": "high"}, headers=office(api))
    assert [e["credit_code"] for e in high.json()["items"]] == [code(1)]
    assert api.client.get(f"{API}/enterprises/{code(9)}", headers=office(api)).status_code == 404


def test_a_bad_row_refuses_the_whole_upload(api: Api) -> None:
    map_departments(api)
    broken = code(2)[:-1] + ("0" if code(2)[-1] != "0" else "1")
    text = HEADER + csv_row(1) + csv_row(2).replace(code(2), broken) + csv_row(3, "severe")
    refused = post_csv(api, "enterprises", text, office(api))
    assert refused.status_code == 422  # type: ignore[attr-defined]
    problem = refused.json()  # type: ignore[attr-defined]
    assert problem["type"].endswith("/bad-rows")
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [
        (3, "credit_code"),
        (4, "risk_class"),
    ]
    assert counts(api)["inspection_enterprise"] == 0
    wrong_media = api.client.post(
        f"{API}/enterprises",
        content=b"<xml/>",
        headers={**office(api), "Content-Type": "application/xml"},
    )
    assert wrong_media.status_code == 415
    not_json = api.client.post(
        f"{API}/enterprises",
        content=b"[{",
        headers={**office(api), "Content-Type": "application/json"},
    )
    assert not_json.status_code in (400, 422)
    assert counts(api)["inspection_enterprise"] == 0


def test_only_the_coordinating_office_imports(api: Api) -> None:
    map_departments(api)
    market = post_csv(api, "enterprises", HEADER + csv_row(1), api.auth_as(MARKET, "officer"))
    assert market.status_code == 403  # type: ignore[attr-defined]
    assert "coordinat" in market.json()["detail"]  # type: ignore[attr-defined]
    court = post_csv(api, "enterprises", HEADER + csv_row(1), api.auth("court"))
    assert court.status_code == 403  # type: ignore[attr-defined]
    assert counts(api)["inspection_enterprise"] == 0


def test_too_many_rows_is_413(api: Api) -> None:
    map_departments(api)
    state = api.client.app.state.inspection  # type: ignore[attr-defined]
    state.config = dataclasses.replace(state.config, max_directory_rows=2)
    text = HEADER + csv_row(1) + csv_row(2) + csv_row(3)
    refused = post_csv(api, "enterprises", text, office(api))
    assert refused.status_code == 413  # type: ignore[attr-defined]
    assert counts(api)["inspection_enterprise"] == 0


def test_the_roster_names_core_departments_and_one_officer_per_certificate(api: Api) -> None:
    map_departments(api)
    market, office_id = department_id(api, MARKET), department_id(api, OFFICE)
    roster = (
        "officer_id,department_id,cert_no,specialities,conflicts\n"
        f"SJ-1,{market},33040001,食品;特种设备,{code(1)}\n"
        f"ZF-1,{office_id},33040101,,\n"
    )
    first = post_csv(api, "inspectors", roster, office(api))
    assert first.status_code == 200, first.text  # type: ignore[attr-defined]
    assert first.json() == {"created": 2, "updated": 0}  # type: ignore[attr-defined]

    clash = api.client.post(
        f"{API}/inspectors",
        json=[{"officer_id": "SJ-2", "department_id": market, "cert_no": "33040101"}],
        headers=office(api),
    )
    assert clash.status_code == 422
    assert clash.json()["errors"] == [
        {
            "loc": "rows[1].cert_no",
            "msg": "already held by officer ZF-1",
            "row": 1,
            "field": "cert_no",
        }
    ]
    unknown = api.client.post(
        f"{API}/inspectors",
        json=[{"officer_id": "X-1", "department_id": "NOPE", "cert_no": "1"}],
        headers=office(api),
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "department_id"
    assert counts(api)["inspection_inspector"] == 2

    everyone = api.client.get(f"{API}/inspectors", headers=office(api)).json()["items"]
    assert [(i["officer_id"], i["specialities"], i["conflicts"]) for i in everyone] == [
        ("SJ-1", ["食品", "特种设备"], [code(1)]),
        ("ZF-1", [], []),
    ]
    own = api.client.get(f"{API}/inspectors", headers=api.auth_as(MARKET, "officer")).json()
    assert [i["officer_id"] for i in own["items"]] == ["SJ-1"]
    other = api.client.get(
        f"{API}/inspectors",
        params={"department_id": office_id},
        headers=api.auth_as(MARKET, "officer"),
    )
    assert other.status_code == 403


def test_an_enterprise_json_upload_must_be_an_array(api: Api) -> None:
    map_departments(api)
    refused = api.client.post(
        f"{API}/enterprises",
        content=json.dumps({"credit_code": an_enterprise(1).credit_code}).encode(),
        headers={**office(api), "Content-Type": "application/json"},
    )
    assert refused.status_code == 422
    assert counts(api)["inspection_enterprise"] == 0
