"""Headers on every answer; nothing from our origin runs as a page; /docs works offline."""

from __future__ import annotations

import re

import pytest

from evidence_service.api.security_headers import API_POLICY, DOCS_POLICY
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import upload

pytestmark = pytest.mark.parametrize("backend", ["sqlite-local"], indirect=True)


def _assert_hardened(headers: dict[str, str] | object, policy: str) -> None:
    assert headers["x-content-type-options"] == "nosniff"  # type: ignore[index]
    assert headers["x-frame-options"] == "DENY"  # type: ignore[index]
    assert headers["referrer-policy"] == "no-referrer"  # type: ignore[index]
    assert headers["content-security-policy"] == policy  # type: ignore[index]


def test_every_kind_of_answer_carries_the_headers(api: Api) -> None:
    answers = [
        api.client.get("/healthz"),
        api.client.get("/api/v1/evidence", headers=api.auth()),
        api.client.get("/api/v1/evidence/01J00000000000000000000000", headers=api.auth()),
        api.client.get("/api/v1/evidence"),  # 401
        api.client.post(
            "/api/v1/seals/verify", content=b"[" * 100, headers={"Content-Type": "application/json"}
        ),  # refused by the body limits
        api.client.get("/openapi.json"),
    ]
    assert [a.status_code for a in answers] == [200, 200, 404, 401, 400, 200]
    for answer in answers:
        _assert_hardened(answer.headers, API_POLICY)
    assert "sandbox" in API_POLICY and "default-src 'none'" in API_POLICY


def test_active_content_downloads_as_an_attachment(api: Api) -> None:
    """An inquiry record's HTML rendering is ours, but it never renders from our origin."""
    evidence = upload(api, "inquiry_record", samples.inquiry()).json()
    rendered = api.client.get(
        f"/api/v1/evidence/{evidence['id']}/derived/document", headers=api.auth()
    )
    assert rendered.status_code == 200
    assert rendered.headers["content-type"].startswith("text/html")
    assert rendered.headers["content-disposition"].startswith("attachment")
    _assert_hardened(rendered.headers, API_POLICY)
    pdf = upload(api, "documentary", samples.pdf(), filename="a.pdf").json()
    content = api.client.get(f"/api/v1/evidence/{pdf['id']}/content", headers=api.auth())
    assert content.status_code == 200
    assert content.headers["content-disposition"].startswith("attachment")
    # JSON answers stay JSON, not downloads.
    assert (
        "content-disposition"
        not in api.client.get(f"/api/v1/evidence/{evidence['id']}", headers=api.auth()).headers
    )


def test_docs_are_served_from_the_installed_assets(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    _assert_hardened(page.headers, DOCS_POLICY)
    assert (
        "script-src 'self'" in DOCS_POLICY
        and "unsafe-inline" not in DOCS_POLICY.split("script-src")[1].split(";")[0]
    )
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources  # no CDN, no host
    assert "<script>" not in page.text  # no inline script: the CSP forbids it
    for source in sources:
        asset = api.client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 100, source
    init = api.client.get("/docs/init.js").text
    assert '"/openapi.json"' in init and "SwaggerUIBundle" in init
    assert api.client.get("/redoc").status_code == 404  # ReDoc only came from a CDN
