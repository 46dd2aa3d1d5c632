"""An auditor exports the audit trail as a sealed PDF from the audit page: the browser gets the
PDF, the page shows its seal record and checks the seal over the bytes received; choosing the
downloaded PDF again on the page finds its sealed export and checks it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from tests.fixtures.live_server import LiveServer
from tests.web.conftest import check_accessibility, screenshot
from tests.web.test_journey_admin import sign_in_with_token
from tests.web.test_journey_axe import capture


def test_sealed_pdf_export_shows_its_verified_seal_record(
    page: Any, web_server: LiveServer, tmp_path: Path
) -> None:
    errors: list[str] = []  # a script error or a CSP refusal (not the favicon's 404)
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    capture(web_server)  # an event of today's period for the paper
    sign_in_with_token(page, web_server.users["auditor"]["token"], "/audit")
    with page.expect_download() as downloading:
        page.get_by_test_id("audit-export-pdf").click()
    download = downloading.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.name.startswith("custody-") and saved.suffix == ".pdf"
    digest = hashlib.sha256(saved.read_bytes()).hexdigest()

    result = page.get_by_test_id("audit-pdf-result")
    verdict = page.get_by_test_id("audit-pdf-verdict")
    verdict.wait_for()
    assert "印章有效" in verdict.inner_text() and digest in verdict.inner_text()
    assert result.get_attribute("data-state") == "match"
    record = page.get_by_test_id("audit-pdf-record").get_attribute("href")
    assert record is not None and record.startswith("/audit/seals/")
    assert check_accessibility(page) == []

    page.reload()  # the export is listed; the PDF in hand is found by its digest and checked
    listed = page.locator(f'tr[data-digest="{digest}"] td')
    assert listed.count() == 6 and int(listed.nth(3).inner_text()) >= 1  # its events
    page.get_by_test_id("audit-check-pdf").set_input_files(str(saved))
    checked = page.get_by_test_id("audit-check-pdf-result")
    checked.filter(has_text="印章有效").wait_for()
    assert check_accessibility(page) == []
    screenshot(page, "audit-sealed-pdf")
    assert errors == []
