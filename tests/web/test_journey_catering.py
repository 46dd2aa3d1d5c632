"""Journey of the catering platform in the browser, on a live server: a restaurant's monitor
reports 30 minutes above the local limit (frames posted as a device would, over HTTP), which
raises the sustained alarm and opens a problem; a member of the public scans the QR code and
sees the restaurant's grade, its monitor, the chart and the open problem, and leaves feedback;
the market regulator's officer sees the restaurant red on the layout map, opens its file and
publishes the feedback, which the public page then shows. axe-core finds nothing serious on any
of these pages, on a phone and a desktop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.fixtures.live_server import LiveServer
from tests.modules.catering.helpers import MN, a_frame, credit_code
from tests.web.conftest import check_accessibility, screenshot
from tests.web.test_journey_inspection import sign_in
from tests.web.test_journey_supervision import person_token

API = "/api/v1/catering"
MARKET = "HZ-SCJG"
PLACES = [  # (name, longitude, latitude) around the West Lake
    ("西湖边小炒店", 120.150, 30.260),
    ("北山街面馆", 120.140, 30.262),
    ("龙井茶餐厅", 120.120, 30.230),
]


def setup(server: LiveServer) -> dict[str, Any]:
    officer = person_token(server, MARKET, "officer", "catering officer")
    bearer = {"Authorization": f"Bearer {officer}"}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        department = next(
            d["id"]
            for d in http.get("/api/v1/departments", headers=server.auth("admin")).json()
            if d["code"] == MARKET
        )
        rows = [
            {
                "credit_code": credit_code(n),
                "name": name,
                "address": f"杭州市西湖区 {n} 号",
                "longitude": lon,
                "latitude": lat,
                "burners": 2 + n,
                "licence_no": f"JY13301060000{n}",
                "licensed_on": "2025-01-01",
                "department_id": department,
            }
            for n, (name, lon, lat) in enumerate(PLACES, start=1)
        ]
        done = http.post(f"{API}/restaurants", json=rows, headers=bearer)
        assert done.status_code == 200, done.text
        device = {"mn": MN, "credit_code": credit_code(1), "kind": "oil_fume", "password": "123456"}
        assert http.post(f"{API}/devices", json=[device], headers=bearer).status_code == 200
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=40)
        for minute in range(30):
            sent = http.post(
                f"{API}/frames",
                content=a_frame(start + timedelta(minutes=minute), "1.40"),
                headers={**bearer, "Content-Type": "text/plain"},
            )
            assert sent.status_code == 200, sent.text
        restaurant_id = next(
            r["id"]
            for r in http.get(f"{API}/restaurants", headers=bearer).json()["items"]
            if r["credit_code"] == credit_code(1)
        )
    return {"officer": officer, "restaurant_id": restaurant_id}


def test_the_public_scans_the_qr_code_and_the_regulator_sees_the_map(
    page: Any, web_server: LiveServer
) -> None:
    made = setup(web_server)
    public = f"/catering/r/{made['restaurant_id']}"

    # the public page: no sign-in
    page.goto(public)
    assert page.get_by_test_id("restaurant-name").inner_text() == "西湖边小炒店"
    assert "油烟持续超标" in page.get_by_test_id("open-problems").inner_text()
    assert page.get_by_test_id("device").count() == 1
    assert page.get_by_test_id("chart").count() == 1
    assert check_accessibility(page) == []
    page.get_by_test_id("feedback-text").fill("排烟口油烟味很重，希望尽快整改。")
    page.get_by_test_id("feedback-submit").click()
    page.wait_for_selector("[data-testid=feedback-sent]")
    assert check_accessibility(page) == []
    screenshot(page, "catering-qr")
    assert "排烟口" not in page.locator("body").inner_text().split("提交")[0]  # not yet shown

    # the regulator: the map shows three restaurants, the alarmed one red
    sign_in(page, made["officer"], "/catering/map")
    dots = page.locator("svg a circle")  # the legend's circles are not links
    assert dots.count() == 3
    assert check_accessibility(page) == []
    screenshot(page, "catering-map")
    page.goto(f"/catering/restaurants/{made['restaurant_id']}")
    assert "油烟持续超标" in page.get_by_test_id("problems").inner_text()
    assert check_accessibility(page) == []
    with page.expect_navigation():
        page.get_by_test_id("feedback-publish").click()

    # published: the public sees it
    page.context.clear_cookies()
    page.goto(public)
    assert "排烟口油烟味很重" in page.get_by_test_id("published-feedback").inner_text()
