"""Journey: an officer fills an inquiry record (询问笔录) on the capture page and captures it, then
draws a site survey diagram — with the pointer on the desktop, with the coordinates form on the
phone — and captures that too. Each capture ends in its receipt, and the stored JSON holds what
was typed and drawn."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.fixtures.live_server import LiveServer
from tests.web.conftest import check_accessibility, screenshot

RECEIPT_TIMEOUT = 30_000


def sign_in_to_capture(page: Any, web_server: LiveServer) -> None:
    page.goto("/capture")
    page.get_by_test_id("login-token").fill(web_server.users["officer"]["token"])
    page.get_by_test_id("login-token-submit").click()
    page.wait_for_url("**/capture")


def stored_document(web_server: LiveServer, evidence_id: str) -> Any:
    response = httpx.get(
        f"{web_server.url}/api/v1/evidence/{evidence_id}/content",
        headers=web_server.auth("officer"),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return json.loads(response.content)


def wait_for_receipt(page: Any, previous_id: str = "") -> str:
    """The id on the receipt once a capture other than `previous_id` has been received."""
    page.wait_for_function(
        "previous => { const id = document.getElementById('receipt-id').textContent;"
        " return id && id !== previous && !document.getElementById('receipt').hidden; }",
        arg=previous_id,
        timeout=RECEIPT_TIMEOUT,
    )
    assert page.get_by_test_id("receipt-hash-check").get_attribute("data-state") == "match"
    evidence_id: str = page.get_by_test_id("receipt-id").inner_text()
    return evidence_id


def fill_inquiry_record(page: Any) -> None:
    page.get_by_test_id("capture-port").select_option("inquiry_record")
    form = page.get_by_test_id("record-form")
    form.wait_for(state="visible")
    assert page.get_by_test_id("capture-photo").is_hidden()
    assert page.get_by_test_id("capture-submit").is_hidden()
    assert check_accessibility(page) == []

    page.get_by_test_id("capture-title").fill("询问笔录（王五）")
    page.get_by_test_id("record-case-ref").fill("嘉南执罚〔2024〕12号")
    page.get_by_test_id("record-address").fill("嘉兴市南湖区某路 1 号")
    page.get_by_test_id("record-locate").click()
    page.wait_for_function("() => document.getElementById('record-lat').value !== ''")
    page.get_by_test_id("record-start").fill("2024-05-01T09:30:15")
    page.get_by_test_id("record-end").fill("2024-05-01T10:05:45")
    officers = page.get_by_test_id("record-officers").locator("[data-row]")
    officers.nth(0).locator("[name=certNo]").fill("33010012")
    page.get_by_test_id("record-add-officer").click()
    officers.nth(1).locator("[name=name]").fill("李四")
    page.get_by_test_id("record-interviewee-name").fill("王五")
    page.get_by_test_id("record-interviewee-role").select_option("witness")
    page.get_by_test_id("record-interviewee-id").fill("330402199001011234")
    items = page.get_by_test_id("record-items").locator("[data-row]")
    items.nth(0).locator("[name=q]").fill("你的姓名？")
    items.nth(0).locator("[name=a]").fill("王五。")
    page.get_by_test_id("record-add-item").click()
    items.nth(1).locator("[name=q]").fill("当晚看到了什么？")
    items.nth(1).locator("[name=a]").fill("油烟很大。")
    page.get_by_test_id("record-notes").fill("被询问人阅后签名。")
    assert items.count() == 2
    assert check_accessibility(page) == []


def draw_with_pointer(page: Any) -> None:
    canvas = page.get_by_test_id("survey-canvas")

    def at(x: float, y: float) -> tuple[float, float]:
        """Canvas units to viewport pixels (choosing a tool may have scrolled the page)."""
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        return box["x"] + x * box["width"] / 800, box["y"] + y * box["height"] / 600

    def drag(start: tuple[float, float], end: tuple[float, float]) -> None:
        page.mouse.move(*at(*start))
        page.mouse.down()
        page.mouse.move(*at((start[0] + end[0]) / 2, (start[1] + end[1]) / 2), steps=3)
        page.mouse.move(*at(*end), steps=3)
        page.mouse.up()

    page.get_by_test_id("survey-tool-line").check()
    drag((100, 100), (500, 100))
    page.get_by_test_id("survey-tool-rect").check()
    drag((200, 200), (400, 350))
    page.get_by_test_id("survey-tool-circle").check()
    drag((600, 400), (640, 400))
    page.get_by_test_id("survey-undo").click()  # the circle was a mistake
    page.get_by_test_id("survey-tool-text").check()
    page.get_by_test_id("survey-text").fill("北门")
    page.mouse.click(*at(120, 60))


def add_by_coordinates(page: Any) -> None:
    def add(kind: str, **values: str) -> None:
        page.get_by_test_id("survey-add-kind").select_option(kind)
        for key, value in values.items():
            page.get_by_test_id(f"survey-add-{key}").fill(value)
        page.get_by_test_id("survey-add-submit").click()

    add("line", x="100", y="100", x2="500", y2="100")
    add("rect", x="200", y="200", width="200", height="150")
    add("text", x="120", y="60", text="北门")


def test_officer_captures_an_inquiry_record_and_a_site_survey(
    page: Any, web_server: LiveServer
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 30.7522, "longitude": 120.7555, "accuracy": 12})
    sign_in_to_capture(page, web_server)
    officer = web_server.users["officer"]

    fill_inquiry_record(page)
    page.get_by_test_id("record-submit").click()
    record_id = wait_for_receipt(page)
    assert check_accessibility(page) == []
    screenshot(page, "records-inquiry-receipt")

    record = stored_document(web_server, record_id)
    assert record["case_ref"] == "嘉南执罚〔2024〕12号"
    assert record["place"] == {"address": "嘉兴市南湖区某路 1 号", "lat": 30.7522, "lon": 120.7555}
    assert record["started_at"].startswith("2024-05-01T09:30:15")
    assert record["ended_at"].startswith("2024-05-01T10:05:45")
    assert record["interviewers"] == [
        {"name": officer["name"], "officer_id": officer["id"], "cert_no": "33010012"},
        {"name": "李四"},
    ]
    assert record["interviewee"] == {
        "name": "王五",
        "role": "witness",
        "id_number": "330402199001011234",
    }
    assert record["items"] == [
        {"q": "你的姓名？", "a": "王五。"},
        {"q": "当晚看到了什么？", "a": "油烟很大。"},
    ]
    assert record["notes"] == "被询问人阅后签名。"
    item = httpx.get(
        f"{web_server.url}/api/v1/evidence/{record_id}", headers=web_server.auth("officer")
    ).json()
    assert item["port"] == "inquiry_record"
    assert item["title"] == "询问笔录（王五）"

    page.get_by_test_id("capture-port").select_option("site_survey")
    page.get_by_test_id("survey-form").wait_for(state="visible")
    assert page.get_by_test_id("record-form").is_hidden()
    assert check_accessibility(page) == []
    page.get_by_test_id("capture-title").fill("现场勘验图")
    page.get_by_test_id("survey-scale").fill("0.05")
    page.get_by_test_id("survey-north").fill("30")
    if page.context.viewport_name == "desktop":
        draw_with_pointer(page)
    else:
        add_by_coordinates(page)
    assert page.get_by_test_id("survey-shapes").locator("li").count() == 3
    assert check_accessibility(page) == []
    page.get_by_test_id("survey-submit").click()
    survey_id = wait_for_receipt(page, record_id)
    assert check_accessibility(page) == []
    screenshot(page, "records-survey-receipt")

    diagram = stored_document(web_server, survey_id)
    assert diagram["title"] == "现场勘验图"
    assert diagram["scale"] == {"metres_per_unit": 0.05}
    assert diagram["north"] == {"angle_degrees": 30}
    assert diagram["canvas"] == {"width": 800, "height": 600}
    line, rect, text = diagram["shapes"]
    assert line["kind"] == "line" and rect["kind"] == "rect" and text["kind"] == "text"
    # A pointer lands on whole device pixels: allow a few canvas units either way.
    expected_line = {"x1": 100, "y1": 100, "x2": 500, "y2": 100}
    expected_rect = {"x": 200, "y": 200, "width": 200, "height": 150}
    for key, value in expected_line.items():
        assert abs(line[key] - value) <= 3, (key, line)
    for key, value in expected_rect.items():
        assert abs(rect[key] - value) <= 3, (key, rect)
    assert text["text"] == "北门"
    assert abs(text["x"] - 120) <= 3 and abs(text["y"] - 60) <= 3
    item = httpx.get(
        f"{web_server.url}/api/v1/evidence/{survey_id}", headers=web_server.auth("officer")
    ).json()
    assert item["port"] == "site_survey"
    assert errors == []


def test_officer_captures_an_onsite_record(page: Any, web_server: LiveServer) -> None:
    if page.context.viewport_name != "phone":
        pytest.skip("one viewport is enough: the form is the inquiry's, with other sections")
    sign_in_to_capture(page, web_server)
    page.get_by_test_id("capture-port").select_option("onsite_record")
    page.get_by_test_id("record-form").wait_for(state="visible")
    assert page.get_by_test_id("record-interviewee-name").is_hidden()
    page.get_by_test_id("capture-title").fill("现场笔录（某某餐饮店）")
    page.get_by_test_id("record-address").fill("某餐饮店后厨")
    page.get_by_test_id("record-start").fill("2024-05-01T21:00:10")
    page.get_by_test_id("record-end").fill("2024-05-01T20:00:10")
    page.get_by_test_id("record-party-name").fill("某某餐饮店")
    page.get_by_test_id("record-add-witness").click()
    page.get_by_test_id("record-witnesses").locator("[name=name]").fill("周七")
    observations = page.get_by_test_id("record-observations").locator("[data-row]")
    observations.nth(0).locator("[name=text]").fill("油烟净化器未开启。")
    page.get_by_test_id("record-add-measure").click()
    page.get_by_test_id("record-measures").locator("[name=text]").fill("责令立即开启")
    assert check_accessibility(page) == []

    page.get_by_test_id("record-submit").click()  # the end is before the start: refused here
    assert page.get_by_test_id("record-end").evaluate("input => input.validity.customError")
    assert page.get_by_test_id("receipt").is_hidden()
    page.get_by_test_id("record-end").fill("2024-05-01T21:40:10")
    page.get_by_test_id("record-submit").click()
    record = stored_document(web_server, wait_for_receipt(page))

    assert record["place"] == {"address": "某餐饮店后厨"}
    assert record["officers"][0]["name"] == web_server.users["officer"]["name"]
    assert record["party"] == {"name": "某某餐饮店", "role": "当事人"}
    assert record["witnesses"] == [{"name": "周七"}]
    assert record["observations"] == [{"text": "油烟净化器未开启。"}]
    assert record["measures_taken"] == ["责令立即开启"]
    screenshot(page, "records-onsite-receipt")
