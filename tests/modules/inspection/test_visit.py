"""One visit, shared evidence, one signed record, through the core: each department records
findings citing its own captured evidence, its reviewer shares that evidence with the other
department by the core's transfer, the lead's reviewer makes the record (captured through the
electronic-data port) and both departments consent to one BLS co-signature; the task is then
recorded, the result published without personal data, a follow-up opened for the
non-compliant item and its penalty case opened in the core by the owning department."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection import scenarios
from evidence_service.modules.inspection.tasks import insert_task
from tests import samples
from tests.fixtures.service import Api
from tests.modules.inspection.helpers import (
    API,
    MARKET,
    OFFICE,
    an_enterprise,
    counts,
    department_id,
    map_departments,
    module_engine,
    write_directory,
)
from tests.service.helpers import upload

ENTERPRISE = an_enterprise(1, "high", name="南湖小馆")


def scheduled_task(api: Api, state: str = "scheduled") -> str:
    """A restaurant task of the office (lead, 生态环境) and the market regulator, agreed."""
    map_departments(api)
    write_directory(api, [ENTERPRISE])
    now = datetime.now(UTC)
    office, market = department_id(api, OFFICE), department_id(api, MARKET)
    with module_engine(api).begin() as conn:
        task_id = insert_task(
            conn,
            credit_code=ENTERPRISE.credit_code,
            scenario="restaurant",
            title="南湖小馆联合检查",
            origin="plan",
            lead_department=office,
            departments=[market],
            created_by="test",
            year=now.year,
            now=now,
        )
        conn.execute(
            m.task.update()
            .where(m.task.c.id == task_id)
            .values(state=state, planned_on=date.today())
        )
    return task_id


def items_of(api: Api, task_id: str) -> dict[str, str]:
    """item code -> the department that checks it."""
    with module_engine(api).connect() as conn:
        rows = conn.execute(
            select(m.task_item.c.item_code, m.task_item.c.department_id).where(
                m.task_item.c.task_id == task_id
            )
        )
        return {code: dept for code, dept in rows}


def captured(api: Api, dept: str) -> str:
    made = upload(api, "documentary", samples.pdf(), headers=api.auth_as(dept, "officer"))
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def finding(api: Api, task_id: str, item: str, dept: str, **body: Any) -> Any:
    return api.client.put(
        f"{API}/tasks/{task_id}/findings/{item}",
        json={"result": "compliant", **body},
        headers=api.auth_as(dept, "officer"),
    )


def test_from_findings_to_a_co_signed_published_record(api: Api) -> None:
    task_id = scheduled_task(api)
    office, market = department_id(api, OFFICE), department_id(api, MARKET)
    items = items_of(api, task_id)
    kinds = {code: scenarios.library().items[code].department for code in items}
    assert set(kinds.values()) == {"ecology", "market_regulation"}
    market_items = sorted(c for c, d in items.items() if d == market)
    office_items = sorted(c for c, d in items.items() if d == office)
    market_photo, office_photo = captured(api, MARKET), captured(api, OFFICE)

    # findings: each department its own items, citing its own evidence
    bad = finding(
        api,
        task_id,
        market_items[0],
        MARKET,
        result="non_compliant",
        note="后厨未落实索证索票",
        evidence_ids=[market_photo],
        follow_up="penalty",
    )
    assert bad.status_code == 200, bad.text
    assert bad.json()["state"] == "visited"
    for code in market_items[1:]:
        assert finding(api, task_id, code, MARKET).status_code == 200
    foreign = finding(api, task_id, office_items[0], MARKET)
    assert foreign.status_code == 403
    not_own = finding(api, task_id, office_items[0], OFFICE, evidence_ids=[market_photo])
    assert not_own.status_code == 422  # the office cannot even see it yet
    assert not_own.json()["detail"].endswith(f"no evidence {market_photo}")
    for code in office_items:
        done = finding(api, task_id, code, OFFICE, evidence_ids=[office_photo])
        assert done.status_code == 200, done.text

    # the record waits for the evidence to reach the other department
    early = api.client.post(
        f"{API}/tasks/{task_id}/record", headers=api.auth_as(OFFICE, "reviewer")
    )
    assert early.status_code == 409, early.text
    assert {(u["from"], u["to"]) for u in early.json()["unshared"]} == {
        (market, office),
        (office, market),
    }
    for dept, to in ((MARKET, office), (OFFICE, market)):
        sent = api.client.post(
            f"{API}/tasks/{task_id}/share", headers=api.auth_as(dept, "reviewer")
        )
        assert sent.status_code == 200, sent.text
        (transfer,) = sent.json()
        assert transfer["to_department"] == to and len(transfer["evidence_ids"]) == 1
        again = api.client.post(
            f"{API}/tasks/{task_id}/share", headers=api.auth_as(dept, "reviewer")
        )
        assert again.json() == []  # nothing new to send
    inbox = api.client.get(
        "/api/v1/transfers", params={"direction": "in"}, headers=api.auth_as(MARKET, "reviewer")
    ).json()
    assert any(t["item_count"] == 1 for t in inbox["items"])

    not_lead = api.client.post(
        f"{API}/tasks/{task_id}/record", headers=api.auth_as(MARKET, "reviewer")
    )
    assert not_lead.status_code == 403
    made = api.client.post(f"{API}/tasks/{task_id}/record", headers=api.auth_as(OFFICE, "reviewer"))
    assert made.status_code == 201, made.text
    record = made.json()
    assert record["state"] == "signing"
    assert [d["answer"] for d in record["departments"]] == ["approved", None]
    assert api.client.get(f"{API}/results/{task_id}").status_code == 404  # not yet signed
    captured_record = api.client.get(
        f"/api/v1/evidence/{record['evidence_id']}", headers=api.auth_as(OFFICE, "reviewer")
    ).json()
    assert captured_record["sha256"] == record["digest"]

    signed = api.client.post(
        f"{API}/tasks/{task_id}/record/approve", headers=api.auth_as(MARKET, "reviewer")
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["state"] == "signed"
    assert [d["answer"] for d in signed.json()["departments"]] == ["approved", "approved"]
    with module_engine(api).connect() as conn:
        assert (
            conn.execute(select(m.task.c.state).where(m.task.c.id == task_id)).scalar_one()
            == "recorded"
        )

    # published: the result, no person, no note, no evidence id
    public = api.client.get(f"{API}/results/{task_id}")
    assert public.status_code == 200
    result = public.json()["result"]
    assert result["enterprise"] == {"credit_code": ENTERPRISE.credit_code, "name": "南湖小馆"}
    assert result["non_compliant"] == 1
    assert result["departments"] == ["杭州市综合行政执法局", "杭州市市场监督管理局"]
    text = public.text
    assert "后厨未落实" not in text and market_photo not in text and "officer" not in text
    listed = api.client.get(f"{API}/results").json()
    assert [r["task_id"] for r in listed["items"]] == [task_id]

    # the non-compliant finding is a signal about the enterprise now (its risk score)
    detail = api.client.get(
        f"{API}/enterprises/{ENTERPRISE.credit_code}", headers=api.auth_as(MARKET, "officer")
    ).json()
    assert [(s["kind"], s["severity"], s["source"], s["ref"]) for s in detail["signals"]] == [
        ("inspection_finding", 3, "inspection", f"{task_id}:{market_items[0]}")
    ]

    # feedback: one joint visit of two departments stands for two separate inspections
    figures = api.client.get(f"{API}/feedback", headers=api.auth("auditor")).json()
    totals = figures["totals"]
    assert (totals["joint_visits"], totals["department_inspections_replaced"]) == (1, 2)
    assert (totals["inspections_before"], totals["inspections_after"]) == (2.0, 1.0)
    assert totals["reduction"] == 0.5 and totals["tasks"] == {"recorded": 1}
    assert figures["regions"] == [{"region": "330400", **{k: totals[k] for k in (
        "enterprises_visited", "joint_visits", "department_inspections_replaced",
        "inspections_before", "inspections_after", "reduction")}}]  # fmt: skip
    by_department = {d["department_id"]: d for d in figures["departments"]}
    assert by_department[market]["findings"]["non_compliant"] == 1
    assert api.client.get(f"{API}/feedback", headers=api.auth("court")).status_code == 403

    # the follow-up of the non-compliant item, and its penalty case in the core
    follow = api.client.get(f"{API}/follow-ups", headers=api.auth_as(MARKET, "officer")).json()[
        "items"
    ]
    assert [(f["item_code"], f["kind"], f["state"]) for f in follow] == [
        (market_items[0], "penalty", "open")
    ]
    assert (
        api.client.get(f"{API}/follow-ups", headers=api.auth_as(OFFICE, "officer")).json()["items"]
        == follow
    )  # the office reads every department's
    case = api.client.post(
        f"{API}/follow-ups/{follow[0]['id']}/case",
        json={"case_number": "嘉市监罚〔2026〕7号"},
        headers=api.auth_as(MARKET, "officer"),
    )
    assert case.status_code == 200, case.text
    core_case = api.client.get(
        f"/api/v1/cases/{case.json()['core_case_id']}", headers=api.auth_as(MARKET, "officer")
    ).json()
    assert core_case["evidence_ids"] == [market_photo]
    closed = api.client.post(
        f"{API}/follow-ups/{follow[0]['id']}/close",
        json={"note": "已立案查处"},
        headers=api.auth_as(MARKET, "officer"),
    )
    assert closed.status_code == 200 and closed.json()["state"] == "closed"


def test_findings_wait_for_an_agreed_task_and_refusals_write_nothing(api: Api) -> None:
    task_id = scheduled_task(api, state="consulting")
    market = department_id(api, MARKET)
    code = next(c for c, d in items_of(api, task_id).items() if d == market)
    early = finding(api, task_id, code, MARKET)
    assert early.status_code == 409
    with module_engine(api).begin() as conn:
        conn.execute(m.task.update().where(m.task.c.id == task_id).values(state="scheduled"))
    assert finding(api, task_id, "no.such_item", MARKET).status_code == 404
    assert finding(api, task_id, code, MARKET, result="maybe").status_code == 422
    twice = finding(api, task_id, code, MARKET, evidence_ids=["01J0", "01J0"])
    assert twice.status_code == 422
    unknown = finding(api, task_id, code, MARKET, evidence_ids=["01JZZZZZZZZZZZZZZZZZZZZZZZ"])
    assert unknown.status_code == 422
    court = api.client.put(
        f"{API}/tasks/{task_id}/findings/{code}",
        json={"result": "compliant"},
        headers=api.auth("court"),
    )
    assert court.status_code == 403
    assert counts(api)["inspection_finding"] == 0
    assert (
        api.client.post(
            f"{API}/tasks/{task_id}/record", headers=api.auth_as(OFFICE, "reviewer")
        ).status_code
        == 409
    )
    assert counts(api)["inspection_record"] == 0
