"""Journey 3: an officer opens a case and links two captured items with what they prove; the
department's reviewer issues the sealed evidence list and transfers (移送) the case with one
click; the court's inbox shows the transfer verified; the court accepts it and downloads a
package that the service's own package verifier accepts. One browser context per person."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from tests.fixtures.live_server import LiveServer
from tests.web.conftest import AXE, VIEWPORTS, check_accessibility, screenshot

CASE_NUMBER = "杭市监检〔2025〕12号"
PURPOSES = ("证明现场存在无证经营行为", "证明当事人的经营规模")


@pytest.fixture
def person(browser: Any, page: Any, web_server: LiveServer) -> Iterator[Any]:
    """Opens a new browser context (same viewport as ``page``) signed in as a demo role."""
    contexts: list[Any] = []

    def sign_in(role: str, target: str) -> Any:
        viewport = page.context.viewport_name
        context = browser.new_context(
            base_url=web_server.url, locale="zh-CN", **cast(dict[str, Any], VIEWPORTS[viewport])
        )
        context.viewport_name = viewport
        if AXE.exists():
            context.add_init_script(path=str(AXE))
        contexts.append(context)
        opened = context.new_page()
        log_in(opened, web_server.users[role]["token"], target)
        return opened

    yield sign_in
    for context in contexts:
        context.close()


def log_in(page: Any, token: str, target: str) -> None:
    page.goto(target)
    assert "/login?next=" in page.url
    page.get_by_test_id("login-token").fill(token)
    page.get_by_test_id("login-token-submit").click()
    page.wait_for_url(f"**{target}")
    assert check_accessibility(page) == []


def capture(web_server: LiveServer, title: str, data: bytes) -> str:
    response = httpx.post(
        web_server.url + "/api/v1/evidence",
        data={"port": "documentary", "metadata": json.dumps({"title": title})},
        files={"file": (f"{title}.txt", data, "text/plain")},
        headers=web_server.auth("officer"),
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_case_travels_from_officer_to_court(
    page: Any, person: Any, web_server: LiveServer, tmp_path: Path
) -> None:
    items = [
        capture(web_server, "营业场所照片", b"scene photo bytes " * 64),
        capture(web_server, "询问笔录", "询问笔录：当事人陈述……".encode() * 32),
    ]

    # The officer opens the case and links both items, each with what it proves.
    log_in(page, web_server.users["officer"]["token"], "/cases")
    page.get_by_test_id("case-number").fill(CASE_NUMBER)
    page.get_by_test_id("case-title").fill("某超市无证经营案")
    page.get_by_test_id("case-kind").select_option("inspection")
    page.get_by_test_id("case-create").click()
    page.wait_for_url("**/cases/*")
    assert CASE_NUMBER in page.get_by_test_id("case-heading").inner_text()
    assert check_accessibility(page) == []
    case_path = page.url.removeprefix(web_server.url)
    for evidence_id, purpose in zip(items, PURPOSES, strict=True):
        page.get_by_test_id("link-evidence").select_option(evidence_id)
        page.get_by_test_id("link-purpose").fill(purpose)
        page.get_by_test_id("link-submit").click()
        page.get_by_test_id("case-evidence-purpose").filter(has_text=purpose).wait_for()
    rows = page.get_by_test_id("case-evidence-row")
    assert rows.count() == 2
    assert [rows.nth(i).get_by_test_id("case-evidence-purpose").inner_text() for i in (0, 1)] == [
        *PURPOSES
    ]
    assert page.get_by_test_id("link-none").is_visible()
    assert check_accessibility(page) == []

    # The reviewer issues the sealed list, then transfers the case to the court in one click.
    reviewer = person("reviewer", "/cases")
    reviewer.get_by_test_id("case-link").filter(has_text=CASE_NUMBER).click()
    reviewer.wait_for_url(f"**{case_path}")
    assert check_accessibility(reviewer) == []
    graph = reviewer.get_by_test_id("case-graph")  # the relation graph, drawn by the API
    reviewer.wait_for_load_state("networkidle")
    assert graph.evaluate("img => img.complete && img.naturalWidth") > 0
    reviewer.get_by_test_id("issue-list").click()
    reviewer.get_by_test_id("issued-lists").wait_for()
    list_digest = reviewer.get_by_test_id("issued-lists").locator("code").first.inner_text()
    pdf = reviewer.request.get(reviewer.get_by_test_id("print-list").get_attribute("href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    court = next(
        d
        for d in httpx.get(
            web_server.url + "/api/v1/departments", headers=web_server.auth("court")
        ).json()
        if d["id"] == web_server.users["court"]["department_id"]
    )
    reviewer.get_by_test_id("transfer-to").select_option(court["id"])
    reviewer.get_by_test_id("transfer-note").fill("移送审查")
    reviewer.get_by_test_id("transfer-submit").click()
    reviewer.get_by_test_id("transfer-done").wait_for()
    digest = reviewer.get_by_test_id("transfer-digest").inner_text()
    assert len(digest) == 64
    assert check_accessibility(reviewer) == []

    # The court's inbox checks the transfer by itself and shows it verified; the court accepts.
    clerk = person("court", "/inbox")
    card = clerk.get_by_test_id("inbox-transfer").filter(has_text=CASE_NUMBER)
    assert card.get_attribute("data-digest") == digest
    card.locator("[data-testid=transfer-verdict][data-state=valid]").wait_for(timeout=90_000)
    assert "核验通过" in card.get_by_test_id("transfer-verdict").inner_text()
    assert check_accessibility(clerk) == []
    screenshot(clerk, "case-inbox")
    card.get_by_test_id("transfer-accept").click()
    card = clerk.get_by_test_id("inbox-transfer").filter(has_text=CASE_NUMBER)
    card.locator("[data-testid=transfer-state][data-state=accepted]").wait_for()
    assert check_accessibility(clerk) == []

    # The package downloaded from the page is one the service's verifier accepts.
    with clerk.expect_download() as download:
        card.get_by_test_id("transfer-package").click()
    package = Path(download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        assert "manifest.json" in archive.namelist()
    verdict = httpx.post(
        web_server.url + "/api/v1/packages/verify",
        content=package,
        headers={**web_server.auth("court"), "Content-Type": "application/zip"},
        timeout=120,
    ).json()
    assert verdict["valid"] is True, verdict["problems"]
    assert verdict["manifest_sha256"] == digest and verdict["items"] == 2
    with clerk.expect_download() as download:
        card.get_by_test_id("transfer-receipt").click()
    receipt = json.loads(Path(download.value.path()).read_text("utf-8"))
    assert receipt["receipt"]["manifest_digest"] == digest

    # Anyone can check the package and the printed list on /verify.
    package_path = tmp_path / "package.zip"
    package_path.write_bytes(package)
    page.context.clear_cookies()
    page.goto("/verify")
    page.get_by_test_id("package-file").set_input_files(str(package_path))
    page.get_by_test_id("package-submit").click()
    page.locator("[data-testid=package-verdict][data-state=pass]").wait_for(timeout=120_000)
    page.get_by_test_id("list-digest").fill(list_digest)
    page.get_by_test_id("list-submit").click()
    page.locator("[data-testid=list-verdict][data-state=pass]").wait_for(timeout=60_000)
    wrong = list_digest[:-1] + ("0" if list_digest[-1] != "0" else "1")
    page.get_by_test_id("list-digest").fill(wrong)
    page.get_by_test_id("list-submit").click()
    page.locator("[data-testid=list-verdict][data-state=error]").wait_for()
    assert check_accessibility(page) == []

    # The sender's outbox shows it accepted, with the receipt.
    reviewer.get_by_test_id("nav-outbox").click()
    reviewer.wait_for_url("**/outbox")
    sent = reviewer.get_by_test_id("outbox-transfer").filter(has_text=CASE_NUMBER)
    assert sent.get_by_test_id("transfer-state").get_attribute("data-state") == "accepted"
    assert sent.get_by_test_id("transfer-receipt").is_visible()
    assert check_accessibility(reviewer) == []
