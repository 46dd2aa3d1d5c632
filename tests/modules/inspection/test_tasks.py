"""Joint-inspection tasks: drafted by the coordinating office from a warning or a plan, agreed in
an online consultation (join, leave, add or drop items, propose a date) until scheduled, and
held to the published annual cap — refused with the reason, nothing written, also when two
drafts race (the enterprise's row is locked from the count to the insert)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from evidence_service.modules.inspection import models as m
from evidence_service.modules.inspection import scenarios, tasks, tasks_api
from evidence_service.modules.inspection.common import AnnualCapError, Caller, new_id
from evidence_service.modules.kit.db import write_transaction
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

TASKS = f"{API}/tasks"
PENALTY = "HZ-CFK"
#: 10:00 on 10 June 2025 in Asia/Shanghai: the tasks are of 2025, today is 2025-06-10.
NOW = datetime(2025, 6, 10, 2, 0, tzinfo=UTC)
COMPANY = an_enterprise(1, "high", name="知味观")
OTHER = an_enterprise(2)
MARKET_ITEMS = [i.code for i in scenarios.items_for("restaurant", {"market_regulation"})]
ECO_ITEMS = [i.code for i in scenarios.items_for("restaurant", {"ecology"})]
FIRE_ITEMS = [i.code for i in scenarios.items_for("restaurant", {"fire"})]


@pytest.fixture
def ready(api: Api) -> Iterator[Api]:
    """The departments mapped (the office coordinates, for 生态环境), two enterprises, a fixed
    clock."""
    map_departments(api)
    write_directory(api, [COMPANY, OTHER])
    api.client.app.dependency_overrides[tasks_api.clock] = lambda: NOW  # type: ignore[attr-defined]
    yield api
    api.client.app.dependency_overrides.clear()  # type: ignore[attr-defined]


def office(api: Api) -> dict[str, str]:
    return api.auth_as(OFFICE, "officer")


def market(api: Api) -> dict[str, str]:
    return api.auth_as(MARKET, "officer")


def draft(api: Api, headers: dict[str, str] | None = None, **extra: Any) -> Any:
    body = {
        "credit_code": COMPANY.credit_code,
        "scenario": "restaurant",
        "origin": "plan",
        "departments": [department_id(api, MARKET)],
        **extra,
    }
    return api.client.post(TASKS, json=body, headers=headers or office(api))


def drafted(api: Api, **extra: Any) -> dict[str, Any]:
    made = draft(api, **extra)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def act(api: Api, task: dict[str, Any], headers: dict[str, str], **body: Any) -> Any:
    return api.client.post(
        f"{TASKS}/{task['id']}/actions",
        json=body,
        headers={**headers, "If-Match": f'"{task["version"]}"'},
    )


def acted(api: Api, task: dict[str, Any], headers: dict[str, str], **body: Any) -> dict[str, Any]:
    done = act(api, task, headers, **body)
    assert done.status_code == 200, done.text
    assert done.headers["etag"] == f'"{done.json()["version"]}"'
    result: dict[str, Any] = done.json()
    return result


def open_warning(api: Api, credit_code: str = COMPANY.credit_code, state: str = "open") -> str:
    warning_id = new_id()
    with module_engine(api).begin() as conn:
        conn.execute(
            m.warning.insert().values(
                id=warning_id,
                credit_code=credit_code,
                state=state,
                score=55.0,
                threshold=50.0,
                contributions=[],
                opened_at=NOW,
                updated_at=NOW,
            )  # fmt: skip
        )
    return warning_id


def warning_row(api: Api, warning_id: str) -> Any:
    with module_engine(api).connect() as conn:
        return conn.execute(select(m.warning).where(m.warning.c.id == warning_id)).first()


def item_owners(task: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    return {i["code"]: (i["department_id"], i["included"]) for i in task["items"]}


# ------------------------------------------------------------------------------ drafting


def test_a_plan_drafts_a_task_with_each_departments_items(ready: Api) -> None:
    api = ready
    made = draft(api)
    assert made.status_code == 201, made.text
    task = made.json()
    assert made.headers["location"] == f"{TASKS}/{task['id']}"
    assert made.headers["etag"] == '"1"'
    office_id, market_id = department_id(api, OFFICE), department_id(api, MARKET)
    assert task["title"] == "知味观 餐饮店联合检查"
    assert (task["state"], task["origin"], task["year"], task["version"]) == (
        "consulting", "plan", 2025, 1,
    )  # fmt: skip
    assert task["scenario"] == {"code": "restaurant", "name": "餐饮店"}
    assert task["enterprise"] == {
        "credit_code": COMPANY.credit_code,
        "name": "知味观",
        "address": COMPANY.address,
        "risk_class": "high",
    }
    assert task["lead_department"] == office_id
    assert task["departments"] == [
        {"department_id": office_id, "kind": "ecology", "proposed_on": None, "lead": True},
        {
            "department_id": market_id,
            "kind": "market_regulation",
            "proposed_on": None,
            "lead": False,
        },
    ]
    # the items of the two kinds taking part, each checked by its department; none of fire's
    assert item_owners(task) == {
        **{code: (market_id, True) for code in MARKET_ITEMS},
        **{code: (office_id, True) for code in ECO_ITEMS},
    }
    fumes = next(i for i in task["items"] if i["code"] == "eco.cooking_fumes")
    assert fumes["basis"] == "《大气污染防治法》第81条" and fumes["department_kind"] == "ecology"
    assert task["inspectors"] == [] and task["planned_on"] is None
    assert task["cap"] == {"annual_cap": 2, "inspections_this_year": 1}
    again = api.client.get(f"{TASKS}/{task['id']}", headers=market(api))
    assert again.status_code == 200 and again.json() == task
    assert again.headers["etag"] == '"1"'
    assert counts(api)["inspection_task_item"] == len(MARKET_ITEMS) + len(ECO_ITEMS)


def test_a_warning_drafts_a_task_and_is_tasked(ready: Api) -> None:
    api = ready
    warning_id = open_warning(api)
    task = drafted(api, origin="warning", warning_id=warning_id, title="  知味观油烟投诉  ")
    assert (task["origin"], task["warning_id"], task["title"]) == (
        "warning", warning_id, "知味观油烟投诉",
    )  # fmt: skip
    row = warning_row(api, warning_id)
    assert (row.state, row.task_id) == ("tasked", task["id"])
    # tasked once: a second draft from it is a conflict, nothing written
    before = counts(api)
    again = draft(api, origin="warning", warning_id=warning_id)
    assert again.status_code == 409 and again.json()["state"] == "tasked"
    assert counts(api) == before
    # cancelling the task opens the warning again
    acted(api, task, office(api), action="cancel", reason="企业已停业")
    row = warning_row(api, warning_id)
    assert (row.state, row.task_id) == ("open", None)


def test_bad_drafts_are_refused_with_nothing_written(ready: Api) -> None:
    api = ready
    market_id, office_id = department_id(api, MARKET), department_id(api, OFFICE)
    penalty_id = department_id(api, PENALTY)  # not mapped: inspects for no kind
    refusals: list[tuple[dict[str, Any], str | None]] = [
        ({"credit_code": an_enterprise(99).credit_code}, "credit_code"),
        ({"scenario": "casino"}, "casino"),
        ({"departments": [penalty_id]}, penalty_id),
        ({"departments": [market_id, market_id]}, "twice"),
        ({"departments": [office_id]}, "own department"),
        ({"departments": []}, None),
        ({"departments": [f"D{n}" for n in range(21)]}, None),
        ({"origin": "warning"}, "warning_id"),
        ({"origin": "plan", "warning_id": open_warning(api)}, "warning_id"),
        ({"origin": "draw"}, None),
        ({"title": "x" * 201}, None),
        ({"title": ""}, None),
        ({"colour": "red"}, None),
        ({"origin": "warning", "warning_id": open_warning(api, OTHER.credit_code)}, "about"),
    ]
    before = counts(api)
    for extra, words in refusals:
        refused = draft(api, **extra)
        assert refused.status_code == 422, (extra, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        if words:
            assert words in refused.json()["detail"], (extra, refused.text)
    missing = draft(api, origin="warning", warning_id="01JNOSUCHWARNING0000000000")
    assert missing.status_code == 404
    assert (
        draft(api, origin="warning", warning_id=open_warning(api, state="dismissed")).json()[
            "status"
        ]
        == 409
    )
    assert draft(api, headers=market(api)).status_code == 403  # not the coordinating office
    assert draft(api, headers=api.auth("auditor")).status_code == 403  # by policy
    assert counts(api)["inspection_task"] == before["inspection_task"] == 0
    assert counts(api) == {**before, "inspection_warning": before["inspection_warning"] + 1}


def test_a_lead_without_a_kind_checks_no_items(ready: Api) -> None:
    api = ready
    map_departments(api, {OFFICE: (None, True), PENALTY: ("fire", False)})
    task = drafted(api, departments=[department_id(api, MARKET), department_id(api, PENALTY)])
    owners = {dept for dept, _ in item_owners(task).values()}
    assert owners == {department_id(api, MARKET), department_id(api, PENALTY)}
    assert [d["kind"] for d in task["departments"]] == [None, "market_regulation", "fire"]


# ------------------------------------------------------------------------------ consulting


def test_two_departments_agree_a_date_and_an_item_change_resets_it(ready: Api) -> None:
    api = ready
    task = drafted(api)
    market_id = department_id(api, MARKET)
    task = acted(api, task, market(api), action="propose_date", date="2025-06-20")
    assert task["state"] == "consulting" and task["version"] == 2
    assert [d["proposed_on"] for d in task["departments"]] == [None, "2025-06-20"]
    task = acted(api, task, office(api), action="propose_date", date="2025-06-21")
    assert task["state"] == "consulting" and task["planned_on"] is None
    task = acted(api, task, office(api), action="propose_date", date="2025-06-20")
    assert (task["state"], task["planned_on"], task["version"]) == ("scheduled", "2025-06-20", 4)
    # one department changes its mind about the date: consulting again
    moved = acted(api, task, market(api), action="propose_date", date="2025-06-23")
    assert (moved["state"], moved["planned_on"]) == ("consulting", None)
    task = acted(api, moved, office(api), action="propose_date", date="2025-06-23")
    assert task["state"] == "scheduled"
    # an item added: every proposal is void and the task is consulting again
    task = acted(api, task, market(api), action="add_item", item_code="food.storage")
    assert (task["state"], task["planned_on"]) == ("consulting", None)
    assert [d["proposed_on"] for d in task["departments"]] == [None, None]
    assert item_owners(task)["food.storage"] == (market_id, True)
    assert task["version"] == 7
    # dropped, it stays listed as not included; adding it back includes it again
    task = acted(api, task, market(api), action="drop_item", item_code="food.licence")
    assert item_owners(task)["food.licence"] == (market_id, False)
    task = acted(api, task, market(api), action="drop_item", item_code="food.storage")
    refused = act(api, task, market(api), action="drop_item", item_code="food.storage")
    assert refused.status_code == 409
    task = acted(api, task, market(api), action="add_item", item_code="food.licence")
    assert item_owners(task)["food.licence"] == (market_id, True)
    assert (
        act(api, task, market(api), action="add_item", item_code="food.licence").status_code == 409
    )


def test_dates_outside_today_and_the_year_are_refused(ready: Api) -> None:
    api = ready
    task = drafted(api)
    for day in ("2025-06-09", "2026-01-05"):
        refused = act(api, task, market(api), action="propose_date", date=day)
        assert refused.status_code == 422, refused.text
    assert acted(api, task, market(api), action="propose_date", date="2025-06-10")["version"] == 2


def test_a_department_joins_with_its_items_and_leaves_with_them(ready: Api) -> None:
    api = ready
    map_departments(api, {PENALTY: ("fire", False)})
    penalty = api.auth_as(PENALTY, "penalty")
    penalty_id = department_id(api, PENALTY)
    task = drafted(api)
    task = acted(api, task, market(api), action="propose_date", date="2025-06-20")
    listed = api.client.get(TASKS, headers=penalty).json()["items"]
    assert [t["id"] for t in listed] == [task["id"]]  # joinable: the scenario has fire items
    task = acted(api, task, penalty, action="join")
    assert [d["department_id"] for d in task["departments"]][-1] == penalty_id
    assert all(d["proposed_on"] is None for d in task["departments"])  # reset by the join
    assert {c for c, (d, _) in item_owners(task).items() if d == penalty_id} == set(FIRE_ITEMS)
    assert act(api, task, penalty, action="join").status_code == 409  # in already
    task = acted(api, task, penalty, action="leave")
    assert penalty_id not in {d["department_id"] for d in task["departments"]}
    assert not set(FIRE_ITEMS) & set(item_owners(task))
    # two departments remain: neither may leave; the lead never may
    too_few = act(api, task, market(api), action="leave")
    assert too_few.status_code == 409 and "2 departments" in too_few.json()["detail"]
    assert act(api, task, office(api), action="leave").status_code == 409
    # not taking part any more: only join is open to it
    assert act(api, task, penalty, action="propose_date", date="2025-06-20").status_code == 403


def test_a_department_that_leaves_a_task_it_cannot_see_gets_the_answer(ready: Api) -> None:
    """Invited for a kind the scenario lacks, it sees the task only while it takes part."""
    api = ready
    map_departments(api, {PENALTY: ("culture", False)})
    penalty, penalty_id = api.auth_as(PENALTY, "penalty"), department_id(api, PENALTY)
    task = drafted(api, departments=[department_id(api, MARKET), penalty_id])
    assert not {d for d, _ in item_owners(task).values()} & {penalty_id}
    left = acted(api, task, penalty, action="leave")
    assert penalty_id not in [d["department_id"] for d in left["departments"]]
    assert api.client.get(f"{TASKS}/{task['id']}", headers=penalty).status_code == 404


def test_refusals_of_actions_write_nothing(ready: Api) -> None:
    api = ready
    task = drafted(api)
    path = f"{TASKS}/{task['id']}/actions"
    before = counts(api)
    stale = api.client.post(
        path, json={"action": "leave"}, headers={**market(api), "If-Match": '"7"'}
    )
    assert stale.status_code == 412 and stale.json()["version"] == 1
    unconditional = api.client.post(
        path, json={"action": "propose_date", "date": "2025-06-20"}, headers=market(api)
    )
    assert unconditional.status_code == 428
    assert unconditional.headers["content-type"] == "application/problem+json"
    garbled = api.client.post(
        path, json={"action": "join"}, headers={**market(api), "If-Match": "x"}
    )
    assert garbled.status_code == 422
    another_kinds = act(api, task, market(api), action="drop_item", item_code="eco.cooking_fumes")
    assert another_kinds.status_code == 403 and "ecology" in another_kinds.json()["detail"]
    unknown = act(api, task, market(api), action="add_item", item_code="food.caviar")
    assert unknown.status_code == 422
    for body in (
        {"action": "add_item"},
        {"action": "join", "date": "2025-06-20"},
        {"action": "cancel"},
        {"action": "cancel", "reason": "   "},
        {"action": "fly"},
        {"action": "cancel", "reason": "x" * 501},
    ):
        assert act(api, task, office(api), **body).status_code == 422, body
    assert act(api, task, market(api), action="cancel", reason="不查了").status_code == 403
    assert act(api, task, api.auth("auditor"), action="leave").status_code == 403  # policy
    missing = api.client.post(
        f"{TASKS}/01JNOSUCHTASK0000000000000/actions",
        json={"action": "leave"},
        headers={**market(api), "If-Match": '"1"'},
    )
    assert missing.status_code == 404
    assert counts(api) == before
    # cancelled: every action is a conflict naming the state
    cancelled = acted(api, task, office(api), action="cancel", reason="企业已停业")
    assert (cancelled["state"], cancelled["cancel_reason"]) == ("cancelled", "企业已停业")
    after = counts(api)
    late = act(api, cancelled, market(api), action="propose_date", date="2025-06-20")
    assert late.status_code == 409 and late.json()["state"] == "cancelled"
    assert "cancelled" in late.json()["detail"]
    assert act(api, cancelled, office(api), action="cancel", reason="again").status_code == 409
    assert counts(api) == after


# ------------------------------------------------------------------------------ the cap


def test_the_annual_cap_refuses_a_third_task_until_one_is_cancelled(ready: Api) -> None:
    api = ready
    first = drafted(api)
    drafted(api, scenario="supermarket")
    before = counts(api)
    refused = draft(api)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"].endswith("/annual-cap-reached")
    assert (problem["annual_cap"], problem["inspections_this_year"], problem["year"]) == (
        2, 2, 2025,
    )  # fmt: skip
    assert "2" in problem["detail"] and "2025" in problem["detail"]
    assert counts(api) == before
    # another enterprise is not concerned
    assert draft(api, credit_code=OTHER.credit_code).status_code == 201
    acted(api, first, office(api), action="cancel", reason="重复立项")
    third = drafted(api)
    assert third["cap"] == {"annual_cap": 2, "inspections_this_year": 2}
    with module_engine(api).connect() as conn:
        assert tasks.inspections_this_year(conn, 2025) == {
            COMPANY.credit_code: 2,
            OTHER.credit_code: 1,
        }
        assert tasks.inspections_this_year(conn, 2024) == {}


def test_the_published_cap_is_the_configured_one(ready: Api) -> None:
    api = ready
    state = api.client.app.state.inspection  # type: ignore[attr-defined]
    state.config = dataclasses.replace(state.config, annual_cap=1)
    drafted(api)
    refused = draft(api)
    assert refused.status_code == 409 and refused.json()["annual_cap"] == 1


def test_two_drafts_racing_for_the_last_slot_cannot_both_pass(ready: Api) -> None:
    """The first draft holds its transaction open; the second waits on the enterprise's row
    (PostgreSQL) or the one writer (SQLite), then counts the first and is refused."""
    api = ready
    engine = module_engine(api)
    who = Caller(
        officer_id="01JOFFICER0000000000000000",
        role="officer",
        department_id=department_id(api, OFFICE),
        department_kind="enforcement",
        departments=frozenset(),
        kind="ecology",
        coordinator=True,
    )
    plan = tasks.Draft(COMPANY.credit_code, "restaurant", "plan", (department_id(api, MARKET),))
    outcome: list[BaseException | str] = []

    def second() -> None:
        try:
            with write_transaction(engine) as conn:
                outcome.append(tasks.draft_task(conn, plan, who, year=2025, now=NOW, annual_cap=1))
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            outcome.append(exc)

    racer = threading.Thread(target=second)
    with write_transaction(engine) as conn:
        first = tasks.draft_task(conn, plan, who, year=2025, now=NOW, annual_cap=1)
        racer.start()
        time.sleep(0.5)
        assert racer.is_alive(), "the second draft did not wait for the first"
    racer.join(timeout=30)
    assert not racer.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], AnnualCapError), outcome
    with engine.connect() as conn:
        ids = conn.execute(select(m.task.c.id)).scalars().all()
    assert ids == [first]


# ------------------------------------------------------------------------------ reading


def test_each_department_sees_its_tasks_and_those_it_could_join(ready: Api) -> None:
    api = ready
    map_departments(api, {PENALTY: ("culture", False)})
    penalty = api.auth_as(PENALTY, "penalty")
    penalty_id = department_id(api, PENALTY)
    restaurant = drafted(api)
    cafe = drafted(api, scenario="internet_cafe", departments=[penalty_id])

    def seen(headers: dict[str, str], query: str = "") -> list[str]:
        listed = api.client.get(f"{TASKS}{query}", headers=headers)
        assert listed.status_code == 200, listed.text
        return [t["id"] for t in listed.json()["items"]]

    assert seen(office(api)) == [cafe["id"], restaurant["id"]]  # newest first
    assert seen(api.auth("auditor")) == [cafe["id"], restaurant["id"]]
    assert seen(market(api)) == [restaurant["id"]]  # an internet café has no market items
    assert seen(penalty) == [cafe["id"]]  # a restaurant has no culture items
    assert api.client.get(f"{TASKS}/{cafe['id']}", headers=market(api)).status_code == 404
    assert api.client.get(f"{TASKS}/{restaurant['id']}", headers=penalty).status_code == 404
    hidden = act(api, cafe, market(api), action="join")
    assert hidden.status_code == 404
    assert api.client.get(TASKS, headers=api.auth("court")).status_code == 403
    # mapped to fire, it may join the consulting restaurant task — until it is scheduled
    map_departments(api, {PENALTY: ("fire", False)})
    assert seen(penalty) == [cafe["id"], restaurant["id"]]
    task = acted(api, restaurant, market(api), action="propose_date", date="2025-07-01")
    acted(api, task, office(api), action="propose_date", date="2025-07-01")
    assert seen(penalty) == [cafe["id"]]
    # filters and pages
    assert seen(office(api), f"?department_id={department_id(api, MARKET)}") == [restaurant["id"]]
    assert seen(office(api), "?state=scheduled") == [restaurant["id"]]
    assert seen(office(api), f"?credit_code={OTHER.credit_code}") == []
    assert seen(office(api), "?year=2024") == []
    page = api.client.get(f"{TASKS}?limit=1", headers=office(api)).json()
    assert [t["id"] for t in page["items"]] == [cafe["id"]]
    assert page["items"][0]["departments"] == [department_id(api, OFFICE), penalty_id]
    assert page["items"][0]["enterprise"] == {"credit_code": COMPANY.credit_code, "name": "知味观"}
    rest = api.client.get(
        f"{TASKS}?limit=1&cursor={page['next_cursor']}", headers=office(api)
    ).json()
    assert [t["id"] for t in rest["items"]] == [restaurant["id"]] and rest["next_cursor"] is None
    for query in ("?limit=0", "?limit=501", "?cursor=%21%21", "?state=lost", "?year=1"):
        assert api.client.get(f"{TASKS}{query}", headers=office(api)).status_code == 422, query
