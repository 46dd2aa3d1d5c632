"""The disposal centre over HTTP, on SQLite and PostgreSQL: each procedure end to end (the
general one through the real notice: rendered, captured, sealed, transferred, accepted, the
report sent back and accepted), every illegal transition 409 with nothing written, a stale
If-Match 412, the red light with a fixed clock, department isolation, bad input 4xx; and the
notice PDF's text and determinism."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, insert, select

from evidence_service.modules.supervision import disposal as machine
from evidence_service.modules.supervision.disposal_api import clock
from evidence_service.modules.supervision.models import clue, disposal, disposal_step
from evidence_service.modules.supervision.notice_pdf import NoticeDocument, render_notice_pdf
from evidence_service.modules.supervision.records import new_id
from tests.fixtures.service import Api
from tests.modules.supervision.helpers import DEPT_A, DEPT_B, OFFICE, department_id, module_engine

DISPOSALS = "/api/v1/supervision/disposals"
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Hangzhou


def text_of(pdf: bytes) -> str:
    return "".join(
        re.sub(r"[\s\x00]+", "", p.extract_text()) for p in PdfReader(io.BytesIO(pdf)).pages
    )


def office_person(api: Api, role: str, name: str) -> dict[str, str]:
    """A person of the supervision office (the demo has only its auditor and admin)."""
    admin = api.auth("admin")
    created = api.client.post(
        "/api/v1/officers",
        json={"name": name, "role": role, "department_id": department_id(api, OFFICE)},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    token = api.client.post(
        f"/api/v1/officers/{created.json()['id']}/tokens",
        json={"kind": "service", "label": "supervision office"},
        headers=admin,
    ).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def a_clue(api: Api, dept_code: str = DEPT_A, status: str = "open") -> str:
    """A clue as the clue centre leaves it (inserted directly: the models are H1's)."""
    clue_id, now = new_id(), datetime.now(UTC)
    with module_engine(api).begin() as conn:
        conn.execute(
            insert(clue).values(
                id=clue_id, model="decision_after_90_days", subject=f"record:{clue_id}",
                department_id=department_id(api, dept_code), severity="high", status=status,
                summary="立案后 120 日未作出决定", facts={"days": 120}, first_run_id=new_id(),
                last_run_id=new_id(), opened_at=now, last_seen_at=now,
            )
        )  # fmt: skip
    return clue_id


def written(api: Api) -> tuple[int, int, list[Any]]:
    """Disposals, steps, and every disposal's (state, version): what a refusal must not move."""
    with module_engine(api).connect() as conn:
        rows = conn.execute(select(disposal.c.state, disposal.c.version).order_by(disposal.c.id))
        return (
            conn.execute(select(func.count()).select_from(disposal)).scalar_one(),
            conn.execute(select(func.count()).select_from(disposal_step)).scalar_one(),
            [tuple(r) for r in rows],
        )


@pytest.fixture
def fixed_clock(api: Api) -> Iterator[list[datetime]]:
    """The disposal routes' clock, set by the test (``now[0] = …``)."""
    now = [T0]
    app = api.client.app
    app.dependency_overrides[clock] = lambda: now[0]  # type: ignore[attr-defined]
    yield now
    app.dependency_overrides.pop(clock, None)  # type: ignore[attr-defined]


class Office:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.officer = office_person(api, "officer", "郑洁")
        self.reviewer = office_person(api, "reviewer", "孙伟")

    def open(self, procedure: str, clue_id: str | None = None, **kw: Any) -> dict[str, Any]:
        body = {"clue_id": clue_id or a_clue(self.api), "procedure": procedure, **kw}
        answer = self.api.client.post(DISPOSALS, json=body, headers=self.officer)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def act(self, disposal_id: str, headers: dict[str, str], **body: Any) -> Any:
        return self.api.client.post(
            f"{DISPOSALS}/{disposal_id}/actions", json=body, headers=headers
        )


DECISION = {
    "facts": "该局办理的杭市监罚〔2026〕1号案件立案后 120 日仍未作出处罚决定。",
    "basis": "《中华人民共和国行政处罚法》第六十条",
    "decision": "责令限期作出处理决定，并对超期原因作出书面说明。",
    "correction_days": 20,
}


def test_general_procedure_end_to_end_through_the_sealed_notice(
    api: Api, fixed_clock: list[datetime]
) -> None:
    office = Office(api)
    a = department_id(api, DEPT_A)
    opened = office.open("general", note="线索核实")
    did = opened["id"]
    assert (opened["state"], opened["version"], opened["department_id"]) == ("open", 1, a)
    assert opened["due_on"] == "2026-12-06" and opened["light"] == "green"

    me = api.client.get("/api/v1/me", headers=office.officer).json()
    for action, extra in (("assign", {}), ("investigate", {"note": "调取案卷"})):
        moved = office.act(did, office.officer, action=action, **extra)
        assert moved.status_code == 200, moved.text
    assert moved.json()["assignee_id"] == me["id"]
    draft = api.client.get(f"{DISPOSALS}/{did}/notice.pdf", headers=office.officer)
    assert draft.status_code == 409  # no decision yet: no notice
    fixed_clock[0] = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 12-02 01:00 in Hangzhou
    decided = office.act(did, office.officer, action="decide", **DECISION)
    assert decided.status_code == 200, decided.text
    assert decided.json()["state"] == "decided" and decided.json()["due_on"] == "2026-12-07"
    not_reviewer = office.act(did, office.officer, action="send_notice")
    assert not_reviewer.status_code == 403  # officers work clues; reviewers seal and send

    fixed_clock[0] = T0 + timedelta(days=1)
    sent = office.act(did, office.reviewer, action="send_notice")
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["state"] == "rectifying" and body["due_on"] == "2026-12-22"  # decided + 20 days
    assert sent.headers["etag"] == f'"{body["version"]}"' and body["version"] == 5

    # the notice: captured in the core as the reviewer, sealed by the office, anchored later
    pdf = api.client.get(f"{DISPOSALS}/{did}/notice.pdf", headers=office.officer)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    digest = hashlib.sha256(pdf.content).hexdigest()
    assert digest == body["notice_sha256"] == pdf.headers["x-content-sha256"]
    item = api.client.get(f"/api/v1/evidence/{body['notice_evidence_id']}", headers=office.reviewer)
    assert item.status_code == 200 and item.json()["sha256"] == digest
    assert item.json()["port"] == "documentary"
    content = api.client.get(
        f"/api/v1/evidence/{body['notice_evidence_id']}/content", headers=office.reviewer
    )
    assert content.content == pdf.content
    text = text_of(pdf.content)
    for expected in ("行政执法监督通知书", "杭州市市场监督管理局", "第六十条", "2026年12月22日前"):
        assert expected in text
    assert "2026年12月1日" not in text  # dated on the office's calendar, not UTC's
    assert "10日内" in text and "复查" in text
    seal = body["notice_seal"]
    assert seal["department_id"] == department_id(api, OFFICE) and seal["digest"] == digest
    verdict = api.client.post("/api/v1/seals/verify", json={"record": seal, "digest": digest})
    assert verdict.status_code == 200 and verdict.json()["valid"] is True, verdict.text
    forged = api.client.post("/api/v1/seals/verify", json={"record": seal, "digest": "0" * 64})
    assert forged.json()["valid"] is False

    # delivered by a transfer; the department answers only once it accepted the notice
    dept_reviewer = api.auth_as(DEPT_A, "reviewer")
    inbox = api.client.get("/api/v1/transfers", headers=dept_reviewer).json()["items"]
    assert [t["id"] for t in inbox] == [body["notice_transfer_id"]]
    report = api.client.post(
        "/api/v1/evidence",
        data={"port": "documentary", "metadata": '{"title": "整改情况报告"}'},
        files={
            "file": ("report.txt", "关于超期案件的整改报告：已作出决定。".encode(), "text/plain")
        },
        headers=dept_reviewer,
    )
    assert report.status_code == 201, report.text
    back = api.client.post(
        "/api/v1/transfers",
        json={
            "to_department_id": department_id(api, OFFICE),
            "evidence_ids": [report.json()["id"]],
        },
        headers=dept_reviewer,
    ).json()
    early = api.client.post(
        f"{DISPOSALS}/{did}/reply", json={"transfer_id": back["id"]}, headers=dept_reviewer
    )
    assert early.status_code == 409 and "accept" in early.json()["detail"]
    accepted = api.client.post(
        f"/api/v1/transfers/{body['notice_transfer_id']}/accept", headers=dept_reviewer
    )
    assert accepted.status_code == 200, accepted.text
    dept_officer = api.auth_as(DEPT_A, "officer")
    by_officer = api.client.post(
        f"{DISPOSALS}/{did}/reply", json={"transfer_id": back["id"]}, headers=dept_officer
    )
    assert by_officer.status_code == 403  # the department's reviewer sends the report
    replied = api.client.post(
        f"{DISPOSALS}/{did}/reply",
        json={"transfer_id": back["id"], "note": "已整改"},
        headers=dept_reviewer,
    )
    assert replied.status_code == 200, replied.text
    assert replied.json()["state"] == "replied"
    assert replied.json()["reply_evidence_id"] == report.json()["id"]

    closed = office.act(did, office.reviewer, action="close", note="整改到位，结案")
    assert closed.status_code == 200, closed.text
    done = closed.json()
    assert (done["state"], done["outcome"], done["due_on"], done["light"]) == (
        "closed", "整改到位，结案", None, None,
    )  # fmt: skip
    transfer = api.client.get(f"/api/v1/transfers/{back['id']}", headers=office.reviewer).json()
    assert transfer["status"] == "accepted"  # the office accepted the report when it closed
    readable = api.client.get(f"/api/v1/evidence/{report.json()['id']}", headers=office.reviewer)
    assert readable.status_code == 200
    steps = [(s["action"], s["from_state"], s["to_state"]) for s in done["steps"]]
    assert steps == [
        ("open", None, "open"),
        ("assign", "open", "assigned"),
        ("investigate", "assigned", "investigating"),
        ("decide", "investigating", "decided"),
        ("send_notice", "decided", "rectifying"),
        ("reply", "rectifying", "replied"),
        ("close", "replied", "closed"),
    ]
    assert done["steps"][4]["details"]["evidence_id"] == body["notice_evidence_id"]
    with module_engine(api).connect() as conn:  # the clue stays as the models leave it
        assert conn.execute(select(clue.c.status)).scalar_one() == "open"
    shown = machine.disposal_of_clue(module_engine(api), opened["clue_id"])
    assert shown is not None and (shown["id"], shown["state"]) == (did, "closed")
    the_clue = api.client.get(
        f"/api/v1/supervision/clues/{opened['clue_id']}", headers=dept_reviewer
    )
    assert the_clue.status_code == 200, the_clue.text
    assert the_clue.json()["disposal"] == {
        "id": did,
        "procedure": "general",
        "state": "closed",
        "due_on": None,
    }  # the clue's own view shows its disposal
    by_clue = api.client.get(
        DISPOSALS, params={"clue_id": opened["clue_id"]}, headers=dept_reviewer
    )
    assert [d["id"] for d in by_clue.json()["items"]] == [did]
    again = api.client.get(f"{DISPOSALS}/{did}/notice.pdf", headers=dept_reviewer)
    assert again.content == pdf.content  # the same bytes, for the supervised department too


def test_simple_and_warning_procedures(api: Api) -> None:
    office = Office(api)
    simple = office.open("simple")
    no_reason = office.act(simple["id"], office.officer, action="close")
    assert no_reason.status_code == 422
    closed = office.act(simple["id"], office.officer, action="close", note="线索不实，予以了结")
    assert closed.status_code == 200, closed.text
    assert (closed.json()["state"], closed.json()["outcome"]) == ("closed", "线索不实，予以了结")

    warning = office.open("warning")
    warned = office.act(warning["id"], office.officer, action="warn", note="请注意案件办理时限")
    assert warned.status_code == 200 and warned.json()["state"] == "warned"
    other = office.act(warning["id"], api.auth_as(DEPT_B, "officer"), action="acknowledge")
    assert other.status_code == 404  # another department's disposal does not exist for it
    seen = api.client.get(f"{DISPOSALS}/{warning['id']}", headers=api.auth_as(DEPT_A, "officer"))
    assert seen.status_code == 200 and seen.json()["steps"][-1]["note"] == "请注意案件办理时限"
    ack = office.act(warning["id"], api.auth_as(DEPT_A, "officer"), action="acknowledge")
    assert ack.status_code == 200, ack.text
    assert ack.json()["state"] == "closed" and [s["action"] for s in ack.json()["steps"]] == [
        "open", "warn", "acknowledge",
    ]  # fmt: skip


def test_every_illegal_transition_answers_409_and_writes_nothing(api: Api) -> None:
    office = Office(api)
    general, simple, warning = (office.open(p) for p in ("general", "simple", "warning"))
    office.act(warning["id"], office.officer, action="warn", note="提醒")
    cases = [
        (general["id"], a)
        for a in ("investigate", "decide", "send_notice", "return_reply", "close", "warn")
    ]
    cases += [(simple["id"], a) for a in ("assign", "warn", "decide", "acknowledge")]
    cases += [(warning["id"], a) for a in ("warn", "assign", "send_notice", "return_reply")]
    before = written(api)
    for did, action in cases:
        answer = office.act(did, office.reviewer, action=action, note="x", **DECISION)
        assert answer.status_code == 409, (action, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"].endswith("/illegal-transition")
    reply = api.client.post(
        f"{DISPOSALS}/{general['id']}/reply",
        json={"transfer_id": "01JNOTRANSFER0000000000000"},
        headers=api.auth_as(DEPT_A, "reviewer"),
    )
    assert reply.status_code == 409
    closed = office.act(simple["id"], office.officer, action="close", note="了结")
    assert closed.status_code == 200
    after_close = written(api)
    again = office.act(simple["id"], office.officer, action="close", note="再次")
    assert again.status_code == 409
    assert written(api) == after_close and after_close[1] == before[1] + 1


def test_the_state_machine_refuses_every_pair_it_does_not_list() -> None:
    states = {s for table in machine.TRANSITIONS.values() for t in table.values() for s in t.source}
    everyone = frozenset({machine.OFFICE, machine.OFFICE_REVIEWER, machine.DEPARTMENT_REVIEWER})
    allowed = 0
    for procedure, table in machine.TRANSITIONS.items():
        for state in states | {"closed"}:
            for action in machine.ACTIONS:
                row = {"procedure": procedure, "state": state, "version": 1}
                step = table.get(action)
                legal = step is not None and state in step.source
                route = step.route if step else "actions"
                held = everyone | {machine.DEPARTMENT}
                if legal:
                    assert machine.check_transition(row, action, held, route=route) is step
                    allowed += 1
                else:
                    with pytest.raises(machine.IllegalTransitionError):
                        machine.check_transition(row, action, held, route=route)
    assert allowed == 11


def test_a_stale_if_match_answers_412_and_writes_nothing(api: Api) -> None:
    office = Office(api)
    opened = office.open("general")
    url = f"{DISPOSALS}/{opened['id']}/actions"
    shown = api.client.get(f"{DISPOSALS}/{opened['id']}", headers=office.officer)
    assert shown.headers["etag"] == '"1"'
    ok = api.client.post(
        url, json={"action": "assign"}, headers={**office.officer, "If-Match": '"1"'}
    )
    assert ok.status_code == 200 and ok.json()["version"] == 2
    before = written(api)
    stale = api.client.post(
        url, json={"action": "investigate"}, headers={**office.officer, "If-Match": '"1"'}
    )
    assert stale.status_code == 412 and stale.json()["version"] == 2
    bad = api.client.post(
        url, json={"action": "investigate"}, headers={**office.officer, "If-Match": "soon"}
    )
    assert bad.status_code == 422
    assert written(api) == before


def test_overdue_disposals_show_the_red_light(api: Api, fixed_clock: list[datetime]) -> None:
    office = Office(api)
    late = office.open("general")  # due 2026-12-06
    later = office.open("simple", due_on="2026-12-20")
    done = office.open("simple")
    office.act(done["id"], office.officer, action="close", note="了结")

    fixed_clock[0] = T0 + timedelta(days=3)  # 12-04: two days left on the first
    shown = api.client.get(DISPOSALS, headers=office.officer).json()["items"]
    assert [(d["id"], d["light"]) for d in shown] == [
        (late["id"], "amber"), (later["id"], "green"), (done["id"], None),
    ]  # fmt: skip

    fixed_clock[0] = datetime(2026, 12, 6, 16, 30, tzinfo=UTC)  # 12-07 00:30 in Hangzhou
    red = api.client.get(DISPOSALS, params={"overdue": "true"}, headers=office.officer).json()
    assert [(d["id"], d["overdue"], d["light"]) for d in red["items"]] == [
        (late["id"], True, "red")
    ]
    fine = api.client.get(DISPOSALS, params={"overdue": "false"}, headers=office.officer).json()
    assert {d["id"] for d in fine["items"]} == {later["id"], done["id"]}
    machine_view = machine.list_disposals(
        module_engine(api), machine.DisposalFilter(departments=None, overdue=True),
        today=date(2026, 12, 21), rules=machine.DisposalRules(), limit=10, cursor=None,
    )[0]  # fmt: skip
    assert [d["id"] for d in machine_view] == [late["id"], later["id"]]


def test_department_isolation_and_the_auditors_view(api: Api) -> None:
    office = Office(api)
    mine = office.open("general")
    theirs = office.open("general", clue_id=a_clue(api, DEPT_B))
    a_officer, b_officer = api.auth_as(DEPT_A, "officer"), api.auth_as(DEPT_B, "officer")

    listed = api.client.get(DISPOSALS, headers=a_officer).json()["items"]
    assert [d["id"] for d in listed] == [mine["id"]]
    assert api.client.get(f"{DISPOSALS}/{theirs['id']}", headers=a_officer).status_code == 404
    hidden_pdf = api.client.get(f"{DISPOSALS}/{theirs['id']}/notice.pdf", headers=a_officer)
    assert hidden_pdf.status_code == 404
    assert office.act(mine["id"], a_officer, action="assign").status_code == 403
    assert office.act(theirs["id"], a_officer, action="assign").status_code == 404
    refused = api.client.post(
        DISPOSALS, json={"clue_id": a_clue(api), "procedure": "simple"}, headers=b_officer
    )
    assert refused.status_code == 403  # only the office opens disposals

    auditor = api.auth("auditor")
    seen = api.client.get(DISPOSALS, headers=auditor).json()["items"]
    assert {d["id"] for d in seen} == {mine["id"], theirs["id"]}
    by_dept = api.client.get(
        DISPOSALS, params={"department_id": department_id(api, DEPT_B)}, headers=auditor
    ).json()["items"]
    assert [d["id"] for d in by_dept] == [theirs["id"]]
    before = written(api)
    assert office.act(mine["id"], auditor, action="assign").status_code == 403
    assert api.client.post(
        DISPOSALS, json={"clue_id": a_clue(api), "procedure": "simple"}, headers=auditor
    ).status_code == 403  # fmt: skip
    assert written(api) == before


def test_bad_input_is_refused_with_nothing_written(api: Api) -> None:
    office = Office(api)
    taken = office.open("general")
    closed_clue = a_clue(api, status="closed")
    before = written(api)
    for body, status in (
        ({"clue_id": a_clue(api), "procedure": "express"}, 422),
        ({"clue_id": "bad id!", "procedure": "simple"}, 422),
        ({"clue_id": a_clue(api), "procedure": "simple", "extra": 1}, 422),
        ({"clue_id": a_clue(api), "procedure": "simple", "note": "长" * 2001}, 422),
        ({"clue_id": a_clue(api), "procedure": "simple", "due_on": "2000-01-01"}, 422),
        ({"clue_id": "01JNOCLUE00000000000000000", "procedure": "simple"}, 404),
        ({"clue_id": taken["clue_id"], "procedure": "simple"}, 409),
        ({"clue_id": closed_clue, "procedure": "simple"}, 409),
    ):
        answer = api.client.post(DISPOSALS, json=body, headers=office.officer)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    did = taken["id"]
    office.act(did, office.officer, action="assign")
    office.act(did, office.officer, action="investigate")
    before = written(api)
    for body in (
        {"action": "decide", "facts": "事实"},  # basis and decision missing
        {"action": "decide", **DECISION, "correction_days": 0},
        {"action": "fly"},
        {"action": "decide", **DECISION, "note": "x" * 2001},
    ):
        answer = office.act(did, office.officer, **body)
        assert answer.status_code == 422, (body, answer.text)
    assert (
        office.act("01JNODISPOSAL0000000000000", office.officer, action="assign").status_code == 404
    )
    bad_cursor = api.client.get(DISPOSALS, params={"cursor": "!!"}, headers=office.officer)
    assert bad_cursor.status_code == 422
    too_many = api.client.get(DISPOSALS, params={"limit": 201}, headers=office.officer)
    assert too_many.status_code == 422
    assert written(api) == before


def test_a_reply_must_carry_the_report_from_the_department_to_the_office(api: Api) -> None:
    """Transfers that are not the report's way back are refused (422) and nothing is written;
    a returned report is rejected in the core and the disposal goes back to rectifying."""
    office = Office(api)
    did = office.open("general")["id"]
    office.act(did, office.officer, action="assign")
    office.act(did, office.officer, action="investigate")
    office.act(did, office.officer, action="decide", **DECISION)
    notice = office.act(did, office.reviewer, action="send_notice").json()
    dept = api.auth_as(DEPT_A, "reviewer")
    api.client.post(f"/api/v1/transfers/{notice['notice_transfer_id']}/accept", headers=dept)

    def capture(title: str) -> str:
        answer = api.client.post(
            "/api/v1/evidence",
            data={"port": "documentary", "metadata": f'{{"title": "{title}"}}'},
            files={"file": (f"{title}.txt", title.encode(), "text/plain")},
            headers=dept,
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    report, other = capture("整改报告"), capture("其他材料")
    to_court = api.client.post(
        "/api/v1/transfers",
        json={"to_department_id": department_id(api, "HZ-XHFY"), "evidence_ids": [report]},
        headers=dept,
    ).json()
    two = api.client.post(
        "/api/v1/transfers",
        json={"to_department_id": department_id(api, OFFICE), "evidence_ids": [report, other]},
        headers=dept,
    ).json()
    before = written(api)
    for body in (
        {"transfer_id": to_court["id"]},  # not to the office
        {"transfer_id": notice["notice_transfer_id"]},  # the office's own notice
        {"transfer_id": two["id"]},  # two items, none named
        {"transfer_id": two["id"], "evidence_id": "01JNOTANITEM00000000000000"},
        {"transfer_id": "01JNOTRANSFER0000000000000"},
        {"transfer_id": two["id"], "surprise": True},
    ):
        answer = api.client.post(f"{DISPOSALS}/{did}/reply", json=body, headers=dept)
        assert answer.status_code == 422, (body, answer.text)
    assert written(api) == before

    replied = api.client.post(
        f"{DISPOSALS}/{did}/reply", json={"transfer_id": two["id"], "evidence_id": report},
        headers=dept,
    )  # fmt: skip
    assert replied.status_code == 200, replied.text
    returned = office.act(did, office.reviewer, action="return_reply", note="报告未附整改材料")
    assert returned.status_code == 200, returned.text
    assert returned.json()["state"] == "rectifying" and returned.json()["reply_transfer_id"] is None
    core = api.client.get(f"/api/v1/transfers/{two['id']}", headers=dept).json()
    assert core["status"] == "rejected" and core["reason"] == "报告未附整改材料"

    # a report withdrawn after the reply cannot close the disposal; it can be returned
    again = api.client.post(
        "/api/v1/transfers",
        json={"to_department_id": department_id(api, OFFICE), "evidence_ids": [report]},
        headers=dept,
    ).json()
    second = api.client.post(
        f"{DISPOSALS}/{did}/reply", json={"transfer_id": again["id"]}, headers=dept
    )
    assert second.status_code == 200, second.text
    withdrawn = api.client.post(f"/api/v1/transfers/{again['id']}/withdraw", headers=dept)
    assert withdrawn.status_code == 200, withdrawn.text
    before = written(api)
    refused = office.act(did, office.reviewer, action="close", note="结案")
    assert refused.status_code == 409 and "withdrawn" in refused.json()["detail"]
    assert written(api) == before
    back = office.act(did, office.reviewer, action="return_reply", note="报告已撤回")
    assert back.status_code == 200 and back.json()["state"] == "rectifying"
    assert back.json()["steps"][-1]["details"]["transfer_status"] == "withdrawn"


def test_the_notice_pdf_is_deterministic_and_carries_its_contents() -> None:
    doc = NoticeDocument(
        number="01JDISPOSAL000000000000000",
        office="浙江省司法厅执法监督处",
        supervised="杭州市市场监督管理局",
        facts="案件立案后超过九十日未作出决定。\u200b🙂",
        basis="《行政处罚法》第六十条",
        decision="责令限期整改",
        deadline=date(2027, 1, 10),
        issued_at=datetime(2026, 12, 11, 8, 0, tzinfo=UTC),
        clue_id="01JCLUE0000000000000000000",
    )
    first, second = render_notice_pdf(doc), render_notice_pdf(doc)
    assert first == second and first.startswith(b"%PDF")
    text = text_of(first)
    for expected in (
        "行政执法监督通知书", "杭州市市场监督管理局：", "案件立案后超过九十日未作出决定。□□",
        "《行政处罚法》第六十条", "责令限期整改", "2027年1月10日前整改完毕", "书面报告",
        "10日内", "复查", "浙江省司法厅执法监督处", "2026年12月11日", doc.number,
    ):  # fmt: skip
        assert expected in text, expected
    later = render_notice_pdf(
        NoticeDocument(**{**doc.__dict__, "issued_at": doc.issued_at + timedelta(days=1)})
    )
    assert later != first
    long = render_notice_pdf(NoticeDocument(**{**doc.__dict__, "facts": "超" * 5000}))
    assert "（略" in text_of(long)
