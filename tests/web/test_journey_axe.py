"""Journey 5: axe-core on every page of the web app, as the role that uses it, on a phone and a
desktop viewport — no serious or critical violation anywhere (including the refusals), and no
script error or Content-Security-Policy refusal in the console."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.fixtures.live_server import LiveServer
from tests.web.conftest import check_accessibility


def capture(web_server: LiveServer) -> str:
    response = httpx.post(
        web_server.url + "/api/v1/evidence",
        data={"port": "electronic", "metadata": json.dumps({"title": "无障碍检查"})},
        files={"file": ("a.txt", b"axe journey", "text/plain")},
        headers=web_server.auth("officer"),
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def sign_in(page: Any, token: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.get_by_test_id("login-token").fill(token)
    page.get_by_test_id("login-token-submit").click()
    page.wait_for_url("**/")


def violations_on(page: Any, path: str) -> list[dict[str, Any]]:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    return check_accessibility(page)


def test_every_page_passes_axe(page: Any, web_server: LiveServer) -> None:
    evidence_id = capture(web_server)
    officer = web_server.users["officer"]
    officer_id = officer.get("officer_id") or officer["id"]
    errors: list[str] = []  # a script error or a CSP refusal shows in the console
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    found: dict[str, list[dict[str, Any]]] = {}
    for path in ("/login", "/enrol", "/verify", "/login?lang=en"):
        found[f"anonymous {path}"] = violations_on(page, path)
    pages_by_role = {
        "officer": (
            "/",
            "/capture",
            "/search",
            "/search?q=检查",
            "/search?received_from=nonsense",
            f"/evidence/{evidence_id}",
            "/cases",
            "/outbox",
            "/audit",  # a refusal page
            "/evidence/01ZZZZZZZZZZZZZZZZZZZZZZZZ",  # the 404 page
        ),
        "reviewer": ("/cases", "/outbox", "/notifications"),
        "court": ("/inbox", "/notifications"),
        "auditor": ("/audit", f"/evidence/{evidence_id}"),
        "admin": ("/admin", "/audit", f"/admin/officers/{officer_id}"),
    }
    for role, paths in pages_by_role.items():
        sign_in(page, web_server.users[role]["token"])
        for path in paths:
            found[f"{role} {path}"] = violations_on(page, path)
    assert {where: v for where, v in found.items() if v} == {}
    assert errors == []
