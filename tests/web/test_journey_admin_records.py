"""An admin keeps the cause catalogue and legal holds from the web app: adds a cause (a second
add of the same code is refused beside the form), renames and removes it, then places a hold on
an item and lifts it, each with a reason (placing it twice is refused beside the form). The
pages show each change, the rows and the custody events record it, and axe-core finds nothing
serious."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, col, select

from evidence_service.cases.models import Cause
from evidence_service.core.config import Settings
from evidence_service.core.db import make_engine
from evidence_service.custody.models import CustodyEvent
from tests.fixtures.live_server import LiveServer
from tests.web.conftest import check_accessibility, screenshot

CODE, NAME, RENAMED = "FS-101", "未按规定公示信息", "未按规定公示食品经营信息"
PLACED, LIFTED = "法院保全通知（2026）浙0106民初88号", "诉讼已终结"


def capture(web_server: LiveServer) -> str:
    response = httpx.post(
        web_server.url + "/api/v1/evidence",
        data={"port": "electronic", "metadata": json.dumps({"title": "扣押账册"})},
        files={"file": ("ledger.txt", "账册 2026".encode(), "text/plain")},
        headers=web_server.auth("officer"),
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def rows(web_server: LiveServer, evidence_id: str) -> tuple[list[Cause], list[tuple[str, Any]]]:
    """The catalogue, and the custody events of the catalogue and of the item, as stored."""
    engine = make_engine(
        Settings(data_dir=Path(web_server.env["EVIDENCE_DATA_DIR"])).resolved_db_url
    )
    try:
        with Session(engine) as session:
            causes = list(session.exec(select(Cause)).all())
            events = session.exec(
                select(CustodyEvent)
                .where(
                    col(CustodyEvent.action).startswith("cause_")
                    | (col(CustodyEvent.evidence_id) == evidence_id)
                )
                .order_by(col(CustodyEvent.id))
            ).all()
    finally:
        engine.dispose()
    return causes, [(e.action, e.details) for e in events if e.action != "captured"]


def test_admin_keeps_causes_and_legal_holds(page: Any, web_server: LiveServer) -> None:
    item = capture(web_server)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto("/login?next=/admin")
    page.get_by_test_id("login-token").fill(web_server.users["admin"]["token"])
    page.get_by_test_id("login-token-submit").click()
    page.wait_for_url("**/admin")

    # The cause catalogue: add, a refused second add, rename.
    page.get_by_test_id("admin-nav-causes").click()
    page.wait_for_url("**/admin/causes")
    page.get_by_test_id("no-causes").wait_for()
    assert check_accessibility(page) == []
    page.get_by_test_id("cause-code").fill(CODE)
    page.get_by_test_id("cause-new-name").fill(NAME)
    page.get_by_test_id("cause-add").click()
    page.get_by_test_id(f"cause-{CODE}").wait_for()
    listed = page.get_by_test_id(f"cause-{CODE}")
    assert listed.get_by_test_id("cause-name").inner_text() == NAME
    assert listed.get_by_test_id("cause-use").inner_text() == "未引用"
    page.get_by_test_id("cause-code").fill(CODE)
    page.get_by_test_id("cause-new-name").fill("重复")
    page.get_by_test_id("cause-add").click()
    refused = page.get_by_test_id("cause-form-error")
    refused.wait_for()
    assert f"cause {CODE} exists" in refused.inner_text()
    assert refused.get_attribute("role") == "alert"
    assert check_accessibility(page) == []
    page.get_by_test_id(f"cause-rename-{CODE}").click()
    assert page.get_by_test_id("rename-code").input_value() == CODE
    assert page.get_by_test_id("rename-name").input_value() == NAME
    page.get_by_test_id("rename-name").fill(RENAMED)
    page.get_by_test_id("rename-submit").click()
    page.get_by_test_id("causes-result").filter(has_text=RENAMED).wait_for()
    page.get_by_test_id(f"cause-{CODE}").get_by_test_id("cause-name").filter(
        has_text=RENAMED
    ).wait_for()  # the page shown anew
    screenshot(page, "admin-causes")
    page.get_by_test_id(f"cause-remove-{CODE}").click()  # the dialog is accepted
    page.get_by_test_id("no-causes").wait_for()

    # Legal holds: place, a refused second placement, lift from the row.
    page.get_by_test_id("admin-nav-holds").click()
    page.wait_for_url("**/admin/holds")
    page.get_by_test_id("no-holds").wait_for()
    assert check_accessibility(page) == []
    page.get_by_test_id("hold-evidence").fill(item)
    page.get_by_test_id("hold-reason").fill(PLACED)
    page.get_by_test_id("hold-submit").click()
    row = page.get_by_test_id(f"hold-{item}")
    row.wait_for()
    assert row.get_by_test_id("held-reason").inner_text() == PLACED
    assert "电子数据" in row.inner_text() and "扣押账册" not in page.content()
    page.get_by_test_id("hold-evidence").fill(item)
    page.get_by_test_id("hold-reason").fill("再来一次")
    page.get_by_test_id("hold-submit").click()
    page.get_by_test_id("hold-error").filter(has_text="already under legal hold").wait_for()
    assert check_accessibility(page) == []
    screenshot(page, "admin-holds")
    page.get_by_test_id(f"lift-{item}").click()
    assert page.get_by_test_id("lift-evidence").input_value() == item
    page.get_by_test_id("lift-reason").fill(LIFTED)
    page.get_by_test_id("lift-submit").click()
    page.get_by_test_id("no-holds").wait_for()

    causes, events = rows(web_server, item)
    assert causes == []
    assert events == [
        ("cause_created", {"code": CODE, "name": NAME}),
        ("cause_updated", {"code": CODE, "changes": {"name": {"old": NAME, "new": RENAMED}}}),
        ("cause_deleted", {"code": CODE, "name": RENAMED}),
        ("legal_hold_set", {"reason": PLACED, "objects": 1}),
        ("legal_hold_cleared", {"reason": LIFTED}),
    ]
    retention = httpx.get(
        f"{web_server.url}/api/v1/evidence/{item}/retention", headers=web_server.auth("officer")
    )
    assert retention.status_code == 200 and retention.json()["legal_hold"] is False
