"""Journey 2: a 50 MB upload is cut off mid-way, the page is reloaded, and the same file resumes
from the server's offset (tus HEAD) and completes with the right hash."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from tests.fixtures.live_server import LiveServer
from tests.web.conftest import check_accessibility, screenshot

SIZE = 50 * 1024 * 1024
CUT_AFTER = 5  # PATCHes that go through before the connection is cut


def test_an_interrupted_upload_resumes_after_a_reload(
    page: Any, web_server: LiveServer, tmp_path: Path
) -> None:
    path = tmp_path / "recording.bin"
    data = os.urandom(SIZE)
    path.write_bytes(data)
    page.goto("/login?next=/capture")
    page.get_by_test_id("login-token").fill(web_server.users["officer"]["token"])
    page.get_by_test_id("login-token-submit").click()
    page.wait_for_url("**/capture")

    patches: list[dict[str, str]] = []

    def cut_off(route: Any) -> None:
        request = route.request
        if request.method != "PATCH":
            route.continue_()
            return
        if len(patches) >= CUT_AFTER:
            route.abort("connectionreset")
            return
        patches.append(request.headers)
        route.continue_()

    page.route("**/api/v1/tus/**", cut_off)
    page.get_by_test_id("capture-port").select_option("electronic")
    page.get_by_test_id("capture-title").fill("长录音")
    page.get_by_test_id("capture-file").set_input_files(str(path))
    page.get_by_test_id("capture-submit").click()
    page.get_by_test_id("capture-error").wait_for(state="visible", timeout=120_000)
    uploaded = page.get_by_test_id("upload-progress").evaluate("p => p.value")
    assert 0 < uploaded < 100
    page.unroute("**/api/v1/tus/**")

    page.reload()
    seen: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: (
            seen.append(r.headers) if r.method == "PATCH" and "/api/v1/tus/" in r.url else None
        ),
    )
    page.get_by_test_id("capture-port").select_option("electronic")
    page.get_by_test_id("capture-title").fill("长录音")
    page.get_by_test_id("capture-file").set_input_files(str(path))
    page.get_by_test_id("capture-submit").click()
    page.get_by_test_id("receipt").wait_for(state="visible", timeout=180_000)

    resumed_at = int(page.get_by_test_id("capture-form").get_attribute("data-resumed-at") or "0")
    assert resumed_at > 0
    assert int(seen[0]["upload-offset"]) == resumed_at  # the first PATCH after the reload
    digest = hashlib.sha256(data).hexdigest()
    assert page.get_by_test_id("receipt-sha256").inner_text() == digest
    assert page.get_by_test_id("receipt-hash-check").get_attribute("data-state") == "match"
    assert check_accessibility(page) == []
    screenshot(page, "resume-receipt")
