"""Browser journeys: a live `evidence serve` (SQLite, local disk, embedded chain anchoring every
second) driven by Playwright in Debian's Chromium (/usr/bin/chromium; Playwright's own browser
download does not work here), on a phone-sized and a desktop viewport, with axe-core (npm,
tests/web/node_modules) checking each page."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.live_server import LiveServer, make_live_server
from tests.fixtures.service import Api, running_api

CHROMIUM = os.environ.get("EVIDENCE_TEST_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
_OFFICE = {"timezone_id": "Asia/Shanghai"}  # where the officers and their phones are
VIEWPORTS = {
    "phone": {
        "viewport": {"width": 360, "height": 740},
        "is_mobile": True,
        "has_touch": True,
        **_OFFICE,
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}, **_OFFICE},
}
SCREENSHOTS = Path(os.environ.get("EVIDENCE_TEST_OUTPUT", "test-output")) / "web"


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing (.ci/run installs it)")
    pytest.skip(f"{what} is missing: see docs/development.md")


@pytest.fixture
def backend() -> str:
    """The pages' tests without a browser run on (SQLite, local disk)."""
    return "sqlite-local"


@pytest.fixture
def web(services: Any) -> Iterator[Api]:
    """The app in process (TestClient), demo users seeded; redirects are not followed, so a
    test sees each 303 a page answers."""
    with running_api(services, "sqlite-local") as api:
        api.client.follow_redirects = False
        yield api


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        _missing(f"Chromium ({CHROMIUM})")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.fixture
def web_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    server = make_live_server(
        tmp_path, request, "sqlite-local", anchor_interval=1.0, anchor_worker=True
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Any, web_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(
        base_url=web_server.url,
        locale="zh-CN",
        **VIEWPORTS[request.param],  # type: ignore[arg-type]
    )
    context.viewport_name = request.param
    if AXE.exists():  # before any page script, and not subject to the pages' CSP
        context.add_init_script(path=str(AXE))
    opened = context.new_page()
    yield opened
    context.close()


def check_accessibility(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands (none expected)."""
    if not AXE.exists():
        _missing("axe-core (npm install --prefix tests/web)")
    result = page.evaluate("async () => JSON.stringify(await axe.run(document))")
    violations = json.loads(result)["violations"]
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{page.context.viewport_name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
