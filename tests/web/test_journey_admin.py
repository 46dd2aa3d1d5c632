"""An admin hands an officer an enrolment code, the officer sets a password on /enrol and signs
in with it; the admin issues a device token on the officer's page, it works, and revoking it
there stops it at once."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.fixtures.live_server import LiveServer
from tests.web.conftest import check_accessibility, screenshot

PASSWORD = "一二三四五六七八九十 correct"


def sign_in_with_token(page: Any, token: str, target: str) -> None:
    page.goto(f"/login?next={target}")
    page.get_by_test_id("login-token").fill(token)
    page.get_by_test_id("login-token-submit").click()
    page.wait_for_url(f"**{target}")


def test_enrolment_password_and_device_token(
    page: Any, browser: Any, web_server: LiveServer
) -> None:
    officer = web_server.users["officer"]
    officer_id = officer.get("officer_id") or officer["id"]
    sign_in_with_token(page, web_server.users["admin"]["token"], "/admin")
    assert check_accessibility(page) == []
    page.get_by_test_id(f"enrol-{officer_id}").click()
    result = page.get_by_test_id("admin-result")
    result.wait_for()
    code = re.search(r": (\S+) \(", result.inner_text())
    assert code is not None

    # The officer, on their own device, sets a password with the code and is signed in.
    own = browser.new_context(base_url=web_server.url, timezone_id="Asia/Shanghai")
    mine = own.new_page()
    mine.goto("/enrol")
    mine.get_by_test_id("enrol-code").fill(code.group(1))
    mine.get_by_test_id("enrol-password").fill(PASSWORD)
    mine.get_by_test_id("enrol-confirm").fill(PASSWORD)
    mine.get_by_test_id("enrol-submit").click()
    mine.wait_for_url(f"{web_server.url}/")
    assert mine.get_by_test_id("who").is_visible()
    mine.get_by_test_id("sign-out").click()
    mine.wait_for_url("**/login")
    mine.get_by_test_id("login-officer").fill(officer_id)
    mine.get_by_test_id("login-password").fill(PASSWORD)
    mine.get_by_test_id("login-submit").click()
    mine.wait_for_url(f"{web_server.url}/")
    own.close()

    # The admin issues a device token on the officer's page; revoking it stops it.
    page.get_by_test_id(f"officer-link-{officer_id}").click()
    page.wait_for_url(f"**/admin/officers/{officer_id}")
    assert check_accessibility(page) == []
    page.get_by_test_id("issue-label").fill("执法记录仪 07")
    page.get_by_test_id("issue-submit").click()
    result = page.get_by_test_id("admin-result")
    result.filter(has_text="evd_").wait_for()
    token = result.inner_text().split()[-1]
    me = httpx.get(f"{web_server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["id"] == officer_id
    page.reload()
    row = page.locator("[data-testid^=token-]").filter(has_text="执法记录仪 07")
    page.on("dialog", lambda dialog: dialog.accept())
    row.locator("button.revoke-token").click()
    page.wait_for_load_state("networkidle")
    row = page.locator("[data-testid^=token-]").filter(has_text="执法记录仪 07")
    row.get_by_test_id("token-state").filter(has_text="已吊销").wait_for()
    gone = httpx.get(f"{web_server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401
    assert check_accessibility(page) == []
    screenshot(page, "admin-officer")
