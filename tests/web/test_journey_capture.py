"""Journey 1 (first part): an officer signs in, captures a photo with its location on the
capture page, the browser's SHA-256 matches the server's, and the receipt turns to anchored."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from tests.fixtures.live_server import LiveServer
from tests.web.conftest import check_accessibility, screenshot


def photo(tmp_path: Path) -> tuple[Path, bytes]:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buffer, format="JPEG")
    data = buffer.getvalue()
    path = tmp_path / "scene.jpg"
    path.write_bytes(data)
    return path, data


def test_officer_captures_a_photo_and_sees_it_anchored(
    page: Any, web_server: LiveServer, tmp_path: Path
) -> None:
    case = httpx.post(
        f"{web_server.url}/api/v1/cases",
        json={"case_number": "嘉综执〔2026〕3号", "kind": "inspection", "title": "油烟检查"},
        headers=web_server.auth("officer"),
    )
    assert case.status_code == 201, case.text
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 30.7522, "longitude": 120.7555, "accuracy": 12})
    page.goto("/capture")
    assert page.url.endswith("/login?next=%2Fcapture")
    assert check_accessibility(page) == []
    page.get_by_test_id("login-token").fill(web_server.users["officer"]["token"])
    page.get_by_test_id("login-token-submit").click()
    page.wait_for_url("**/capture")
    assert check_accessibility(page) == []

    path, data = photo(tmp_path)
    page.get_by_test_id("capture-port").select_option("physical")
    page.get_by_test_id("capture-title").fill("现场照片")
    page.get_by_test_id("capture-party").fill("某某餐饮店")
    page.get_by_test_id("capture-tags").fill("油烟，夜间")
    page.get_by_test_id("capture-case").select_option(case.json()["id"])
    page.get_by_test_id("capture-purpose").fill("证明净化器未开启")
    page.get_by_test_id("capture-locate").click()
    location = page.get_by_test_id("capture-location")
    location.filter(has_text="±12 m").wait_for()
    page.get_by_test_id("capture-photo").set_input_files(str(path))
    page.get_by_test_id("capture-submit").click()

    receipt = page.get_by_test_id("receipt")
    receipt.wait_for(state="visible", timeout=30_000)
    digest = hashlib.sha256(data).hexdigest()
    assert page.get_by_test_id("receipt-sha256").inner_text() == digest
    assert page.get_by_test_id("receipt-hash-check").get_attribute("data-state") == "match"
    assert page.get_by_test_id("upload-progress").evaluate("p => p.value") == 100
    status = page.get_by_test_id("anchor-status")
    page.locator("[data-testid=anchor-status][data-state=anchored]").wait_for(timeout=60_000)
    assert "已上链" in status.inner_text()
    assert page.get_by_test_id("receipt-signature").inner_text() != ""
    page.locator("[data-testid=receipt-case][data-state=pass]").wait_for()
    qr = page.get_by_test_id("receipt-qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth") > 0
    assert check_accessibility(page) == []
    screenshot(page, "capture-receipt")

    page.get_by_test_id("receipt-link").click()
    page.wait_for_url("**/evidence/*")
    assert page.get_by_test_id("evidence-sha256").inner_text() == digest
    assert "30.7522" in page.content()
    thumbnail = page.get_by_test_id("evidence-thumbnail")  # loaded with the session cookie
    thumbnail.wait_for()
    page.wait_for_load_state("networkidle")
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") > 0
    assert "某某餐饮店" in page.get_by_test_id("evidence-tags").inner_text()
    assert "证明净化器未开启" in page.get_by_test_id("evidence-cases").inner_text()
    assert page.get_by_test_id("custody-log").locator("tbody tr").count() >= 2  # captured, viewed
    assert check_accessibility(page) == []
    item_id = page.get_by_test_id("evidence-id").inner_text()
    item = httpx.get(
        f"{web_server.url}/api/v1/evidence/{item_id}", headers=web_server.auth("officer")
    ).json()
    assert {(t["type"], t["value"]) for t in item["tags"]} == {
        ("party", "某某餐饮店"),
        ("free", "油烟"),
        ("free", "夜间"),
    }
    page.get_by_test_id("nav-home").click()
    assert page.get_by_test_id("recent-evidence").inner_text().count("现场照片") == 1
    page.locator(f"[data-testid=status-{item_id}][data-state=anchored]").wait_for()
    assert check_accessibility(page) == []
