"""The efficiency indicators and the cockpit, on SQLite and PostgreSQL: exact figures per level
from known rows (records through the API; evidence read models, clues, disposals and reviews
inserted directly), a department seeing only its own, the SVG valid XML with names escaped, and
the page showing the JSON's figures."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import insert, update

from evidence_service.modules.supervision import cockpit_svg, indicators
from evidence_service.modules.supervision.models import (
    clue,
    clue_link,
    cockpit_refresh,
    disposal,
    evidence,
    evidence_case,
    review,
)
from tests.fixtures.service import Api
from tests.modules.supervision.helpers import (
    DEPT_A,
    DEPT_B,
    RECORDS,
    a_record,
    department_id,
    module_engine,
    office_officer,
)

COCKPIT = "/api/v1/supervision/cockpit"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
CASE_A, CASE_B = "01JCASEA0000000000000000001", "01JCASEB0000000000000000001"
E1, E2, E3 = (
    "01JEV00000000000000000000E1",
    "01JEV00000000000000000000E2",
    "01JEV00000000000000000000E3",
)


def officers(*certs: str) -> list[dict[str, str]]:
    return [{"name": f"执法{c}", "cert_no": c} for c in certs]


def dates(filing: str, decision: str, service: str) -> dict[str, str]:
    return {"filing": filing, "decision": decision, "service": service}


def seed(api: Api) -> dict[str, str]:
    """Four records: A1 timely with two items of evidence (one complete), A2 decided late and
    with a clue whose disposal was corrected, A3 of 2025 and timely, B1 undecided with complete
    evidence and a clue whose disposal is still open; a final review of A1 scored 93."""
    a, b = department_id(api, DEPT_A), department_id(api, DEPT_B)
    stages = dates("2026-01-05", "2026-03-01", "2026-03-03")
    rows = [
        a_record(a, "A1", region="西湖区", stages=stages, officers=officers("C1", "C2"),
                 evidence_ids=[E1, E2], core_case_id=CASE_A),
        a_record(a, "A2", region="上城区", officers=officers("C1", "C3"), evidence_ids=[],
                 stages=dates("2026-01-10", "2026-05-01", "2026-05-02")),
        a_record(a, "A3", region="西湖区", officers=officers("C2", "C1"), evidence_ids=[],
                 stages=dates("2025-12-20", "2026-01-10", "2026-01-12")),
        a_record(b, "B1", region="海曙区", city="宁波", officers=officers("C4", "C5"),
                 evidence_ids=[E3], core_case_id=CASE_B, stages={"filing": "2026-02-01"}),
    ]  # fmt: skip
    answer = api.client.post(RECORDS, json=rows, headers=office_officer(api))
    assert answer.status_code == 201, answer.text
    ids = dict(zip(("A1", "A2", "A3", "B1"), answer.json()["ids"], strict=True))
    with module_engine(api).begin() as conn:
        for eid, dept, anchored in ((E1, a, True), (E2, a, False), (E3, b, True)):
            conn.execute(
                insert(evidence).values(
                    id=eid, department_id=dept, officer_id=None, port="physical", captured_at=NOW,
                    received_at=NOW, sha256="0" * 64, signed=True,
                    anchored_at=NOW if anchored else None, synced_at=NOW,
                )
            )  # fmt: skip
        conn.execute(
            insert(evidence_case),
            [
                {"evidence_id": E1, "case_id": CASE_A, "purpose": "证明违法事实"},
                {"evidence_id": E2, "case_id": CASE_A, "purpose": "证明数量"},
                {"evidence_id": E3, "case_id": CASE_B, "purpose": "证明主体"},
            ],
        )
        for clue_id, rec, dept, state, reply in (
            ("K1", ids["A2"], a, "closed", "01JREPLY000000000000000001"),
            ("K2", ids["B1"], b, "rectify", None),
        ):
            conn.execute(
                insert(clue).values(
                    id=clue_id, model="decision_after_90_days", subject=rec, department_id=dept,
                    severity="high", status="open", summary="…", facts={}, first_run_id="R",
                    last_run_id="R", opened_at=NOW, last_seen_at=NOW,
                )
            )  # fmt: skip
            conn.execute(insert(clue_link).values(clue_id=clue_id, kind="record", ref=rec))
            conn.execute(
                insert(disposal).values(
                    id=f"D{clue_id}", clue_id=clue_id, procedure="general", state=state,
                    department_id=dept, opened_by="X", opened_at=datetime(2026, 3, 5, tzinfo=UTC),
                    updated_at=NOW, reply_evidence_id=reply, version=1,
                )
            )  # fmt: skip
        for rid, status, score in (("RV1", "final", 93), ("RV2", "draft", 40)):
            conn.execute(
                insert(review).values(
                    id=rid, record_id=ids["A1" if rid == "RV1" else "B1"], checklist="penalty",
                    status=status, vetoed=False, score=score, grade="优秀" if score > 90 else None,
                    reviewer_id="X", created_at=NOW,
                )
            )  # fmt: skip
    indicators.refresh_summary(module_engine(api), now=NOW)
    return {"A": a, "B": b, **ids}


def by_key(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in answer["rows"]}


def test_figures_per_department_are_exact(api: Api) -> None:
    dept = seed(api)
    answer = api.client.get(COCKPIT, headers=api.auth("auditor"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = by_key(body)
    a, b = rows[dept["A"]], rows[dept["B"]]
    assert a["counts"] == {
        "records": 3, "decided": 3, "timely": 2, "clued": 1, "evidence": 2,
        "evidence_complete": 1, "disposals": 1, "corrected": 1, "reviews": 1, "review_points": 93,
    }  # fmt: skip
    assert a["indicators"] == {
        "timeliness": 0.6667, "evidence_completeness": 0.5, "clue_free": 0.6667,
        "correction": 1.0, "review_score": 0.93,
    }  # fmt: skip
    assert (a["clue_rate"], a["composite"]) == (0.3333, 71.45)
    assert b["indicators"] == {
        "timeliness": None, "evidence_completeness": 1.0, "clue_free": 0.0,
        "correction": 0.0, "review_score": None,
    }  # fmt: skip
    assert b["composite"] == 41.67  # 100 × 0.25 / (0.25 + 0.20 + 0.15): no data, no weight
    assert [r["key"] for r in body["rows"]] == [dept["A"], dept["B"]]  # best first
    assert a["name"] != dept["A"]  # the core's department name
    total = body["total"]
    assert (total["counts"]["records"], total["counts"]["disposals"], total["composite"]) == (
        4, 2, 64.78,
    )  # fmt: skip
    assert body["weights"]["timeliness"] == 0.25


def test_figures_per_city_region_officer_and_period(api: Api) -> None:
    seed(api)
    office = office_officer(api)

    def rows(**params: str) -> dict[str, dict[str, Any]]:
        answer = api.client.get(COCKPIT, params=params, headers=office)
        assert answer.status_code == 200, answer.text
        return by_key(answer.json())

    city = rows(level="city")
    assert set(city) == {"杭州", "宁波"} and city["杭州"]["counts"]["records"] == 3
    region = rows(level="region")
    assert {k: r["counts"]["records"] for k, r in region.items()} == {
        "西湖区": 2, "上城区": 1, "海曙区": 1,
    }  # fmt: skip
    assert region["上城区"]["counts"]["disposals"] == 1
    officer = rows(level="officer")
    assert {k: r["counts"]["records"] for k, r in officer.items()} == {
        "C1": 3, "C2": 2, "C3": 1, "C4": 1, "C5": 1,
    }  # fmt: skip
    c2 = officer["C2"]["counts"]
    assert (c2["timely"], c2["evidence"], c2["evidence_complete"], c2["reviews"]) == (2, 2, 1, 1)
    assert officer["C3"]["indicators"]["timeliness"] == 0.0
    assert officer["C3"]["indicators"]["correction"] == 1.0
    # at most ``limit`` rows: the keys with the most records, then by composite
    few = indicators.cockpit(
        module_engine(api),
        indicators.CockpitQuery(level="officer", period=None, department_id=None, limit=2),
        {"timeliness": 1.0},
    )
    assert ([r["key"] for r in few["rows"]], few["row_count"]) == (["C2", "C1"], 5)
    of_2025 = rows(period="2025")
    assert list(of_2025) == [department_id(api, DEPT_A)]
    only = next(iter(of_2025.values()))
    assert (only["counts"]["records"], only["composite"]) == (1, 100.0)
    assert rows(period="2026-02") == {
        department_id(api, DEPT_B): rows(period="2026-02")[department_id(api, DEPT_B)]
    }


def test_a_department_sees_only_its_own_figures(api: Api) -> None:
    dept = seed(api)
    answer = api.client.get(
        COCKPIT, params={"level": "officer"}, headers=api.auth_as(DEPT_B, "officer")
    )
    assert answer.status_code == 200, answer.text
    assert set(by_key(answer.json())) == {"C4", "C5"}
    assert answer.json()["total"]["counts"]["records"] == 1
    own = api.client.get(COCKPIT, headers=api.auth_as(DEPT_B, "officer")).json()
    assert set(by_key(own)) == {dept["B"]}


@pytest.mark.parametrize("backend", ["sqlite-local"])  # refused on the query alone
@pytest.mark.parametrize(
    "params", [{"level": "nation"}, {"period": "2026-13"}, {"period": "26"}, {"level": "x" * 17}]
)
def test_bad_cockpit_queries_are_422(api: Api, params: dict[str, str]) -> None:
    answer = api.client.get(COCKPIT, params=params, headers=api.auth("auditor"))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_the_svg_is_xml_and_escapes_names() -> None:
    hostile = '<script>alert("x")</script>&'
    svg = cockpit_svg.composite_bars(
        [{"key": "k", "composite": 55.5}, {"key": "n", "composite": None}],
        {"k": hostile, "n": "无"},
        "综合 <得分>",
    )
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    texts = [e.text for e in root.iter("{http://www.w3.org/2000/svg}text")]
    assert hostile[:23] + "…" in texts and "55.5" in texts and "无数据" in texts
    assert root.find("{http://www.w3.org/2000/svg}title").text == "综合 <得分>"  # type: ignore[union-attr]
    for value in (None, 0.0, 47.5, 100.0, 250.0):
        ET.fromstring(cockpit_svg.gauge(value, "综合得分"))
    figures = {"indicators": dict.fromkeys(indicators.INDICATORS, 0.5)}
    bars = ET.fromstring(cockpit_svg.indicator_bars(figures, "指标"))
    assert len(bars.findall("{http://www.w3.org/2000/svg}rect")) == 5


class _Cells(HTMLParser):
    """The cockpit table's cells: {row key: {indicator: text}}, and the page's <svg> count."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self._row: str | None = None
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("data-key"):
            self._row = found["data-key"]
            self.rows[self._row] = {}
        elif tag == "td" and self._row and found.get("data-indicator"):
            self._cell = found["data-indicator"]

    def handle_data(self, data: str) -> None:
        if self._row and self._cell:
            self.rows[self._row][self._cell] = data.strip()
            self._cell = None


def test_the_page_shows_the_json_figures(api: Api) -> None:
    seed(api)
    assert api.client.get("/supervision/cockpit", follow_redirects=False).status_code == 303
    token = api.users["auditor"]["token"]
    api.client.cookies.set("evd_session", token)
    try:
        page = api.client.get("/supervision/cockpit", params={"level": "city"})
    finally:
        api.client.cookies.clear()
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    figures = api.client.get(COCKPIT, params={"level": "city"}, headers=api.auth("auditor")).json()
    parser = _Cells()
    parser.feed(page.text)
    for row in [*figures["rows"], {**figures["total"], "key": "total"}]:
        cells = parser.rows[row["key"]]
        for code, value in row["indicators"].items():
            assert cells[code] == ("—" if value is None else f"{100 * value:.1f}%")
        assert cells["composite"] == f"{row['composite']:.2f}"
    svgs = re.findall(r"<svg .*?</svg>", page.text, flags=re.S)
    assert len(svgs) == 3
    for svg in svgs:
        ET.fromstring(svg)
    assert "<script" not in page.text


def test_a_stale_summary_is_rebuilt_after_the_answer(api: Api) -> None:
    dept = seed(api)
    with module_engine(api).begin() as conn:
        conn.execute(update(cockpit_refresh).values(refreshed_at=datetime(2000, 1, 1, tzinfo=UTC)))
    more = a_record(dept["B"], "B2", city="宁波", stages={"filing": "2026-02-02"})
    assert api.client.post(RECORDS, json=[more], headers=office_officer(api)).status_code == 201
    stale = api.client.get(COCKPIT, headers=api.auth("auditor")).json()
    assert stale["as_of"].startswith("2000-01-01") and stale["total"]["counts"]["records"] == 4
    fresh = api.client.get(COCKPIT, headers=api.auth("auditor")).json()
    assert not fresh["as_of"].startswith("2000") and fresh["total"]["counts"]["records"] == 5
    assert datetime.fromisoformat(fresh["as_of"]).utcoffset() is not None  # UTC, on SQLite too
