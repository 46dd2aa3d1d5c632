"""The admin's cause catalogue and legal holds pages: admins only (another role gets the refusal
page, no session the sign-in page); they show what the rows say — each cause with what refers to
it, each item held now with who placed the hold, when and why — and a bad cursor is a clear 400
on the page, with nothing changed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from evidence_service.custody.models import CustodyEvent
from evidence_service.web import admin_pages
from tests.fixtures.service import Api
from tests.service.helpers import counts, upload

PAGES = ("/admin/causes", "/admin/holds")
WEB = Path(admin_pages.__file__).parent


def sign_in(api: Api, role: str) -> None:
    api.client.cookies.clear()
    assert api.client.post("/login", data={"token": api.users[role]["token"]}).status_code == 303


def captured(api: Api, title: str) -> str:
    response = upload(api, "electronic", title.encode(), metadata={"title": title})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def hold(api: Api, evidence_id: str, reason: str, *, lift: bool = False) -> None:
    response = api.client.request(
        "DELETE" if lift else "PUT",
        f"/api/v1/evidence/{evidence_id}/legal-hold",
        json={"reason": reason},
        headers=api.auth("admin"),
    )
    assert response.status_code == 200, response.text


def hold_events(api: Api, evidence_id: str) -> list[tuple[str, str]]:
    with Session(api.services.engine) as session:
        rows = session.exec(
            select(CustodyEvent)
            .where(CustodyEvent.evidence_id == evidence_id)
            .where(col(CustodyEvent.action).startswith("legal_hold"))
            .order_by(col(CustodyEvent.id))
        ).all()
    return [(row.action, row.details["reason"]) for row in rows]


@pytest.mark.parametrize("path", PAGES)
def test_without_a_session_the_pages_ask_to_sign_in(web: Api, path: str) -> None:
    response = web.client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + path.replace("/", "%2F")


@pytest.mark.parametrize("role", ["officer", "auditor", "reviewer"])
@pytest.mark.parametrize("path", PAGES)
def test_other_roles_get_the_refusal_page(web: Api, role: str, path: str) -> None:
    sign_in(web, role)
    refused = web.client.get(path)
    assert refused.status_code == 403 and 'data-testid="forbidden"' in refused.text
    assert 'data-testid="admin-nav"' not in refused.text


def test_the_admin_pages_link_to_each_other(web: Api) -> None:
    sign_in(web, "admin")
    for path, here in (("/admin", "people"), *((p, p.rsplit("/", 1)[1]) for p in PAGES)):
        page = web.client.get(path)
        assert page.status_code == 200
        for link in ("/admin", *PAGES):
            assert f'href="{link}"' in page.text
        current = re.search(r'data-testid="admin-nav-(\w+)" aria-current="page"', page.text)
        assert current is not None and current.group(1) == here


def test_causes_page_shows_each_cause_and_what_refers_to_it(web: Api) -> None:
    for code, name in (("FS-001", "未按规定贮存食品"), ("FS-002", "超范围经营")):
        made = web.client.post(
            "/api/v1/causes", json={"code": code, "name": name}, headers=web.auth("admin")
        )
        assert made.status_code == 201, made.text
    opened = web.client.post(
        "/api/v1/cases",
        json={"case_number": "R-1", "kind": "penalty", "title": "后厨", "cause_code": "FS-001"},
        headers=web.auth("officer"),
    )
    assert opened.status_code == 201, opened.text
    sign_in(web, "admin")
    page = web.client.get("/admin/causes")
    assert page.status_code == 200
    used = page.text.split('data-testid="cause-FS-001"')[1].split("</tr>")[0]
    unused = page.text.split('data-testid="cause-FS-002"')[1].split("</tr>")[0]
    assert ">未按规定贮存食品<" in used and "已引用: 1 个案件, 0 条关系" in used
    assert 'data-testid="cause-rename-FS-001"' in used
    assert "cause-remove-FS-001" not in used  # the API would refuse: no button offers it
    assert ">超范围经营<" in unused and "未引用" in unused
    assert 'data-testid="cause-remove-FS-002"' in unused
    for form in ("cause-form", "rename-form"):
        assert f'data-testid="{form}"' in page.text
    assert page.text.count('role="alert"') == 3  # beside the list and each form
    english = web.client.get("/admin/causes?lang=en")
    assert "in use: 1 case(s), 0 link(s)" in english.text


def test_an_empty_catalogue_says_so(web: Api) -> None:
    sign_in(web, "admin")
    page = web.client.get("/admin/causes")
    assert page.status_code == 200 and 'data-testid="no-causes"' in page.text
    assert 'data-testid="rename-form"' not in page.text and 'data-testid="cause-form"' in page.text


def test_holds_page_lists_what_is_held_now(web: Api) -> None:
    held, free = captured(web, "扣押的账册"), captured(web, "现场照片")
    sign_in(web, "admin")
    empty = web.client.get("/admin/holds")
    assert empty.status_code == 200 and 'data-testid="no-holds"' in empty.text

    hold(web, held, "法院保全通知（2026）浙01民初1号")
    page = web.client.get("/admin/holds")
    assert page.status_code == 200
    row = page.text.split(f'data-testid="hold-{held}"')[1].split("</tr>")[0]
    admin_name = web.users["admin"]["name"]
    assert "法院保全通知（2026）浙01民初1号" in row and admin_name in row
    assert "电子数据" in row and f'data-testid="lift-{held}"' in row
    assert free not in page.text
    assert "扣押的账册" not in page.text  # the admin holds items but does not read them

    hold(web, held, "诉讼终结", lift=True)
    assert held not in web.client.get("/admin/holds").text
    assert hold_events(web, held) == [
        ("legal_hold_set", "法院保全通知（2026）浙01民初1号"),
        ("legal_hold_cleared", "诉讼终结"),
    ]


def test_holds_page_pages_on_with_a_cursor(web: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_pages, "HOLDS_PAGE", 1)
    first, second = captured(web, "一"), captured(web, "二")
    for item in (first, second):
        hold(web, item, f"保全 {item}")
    sign_in(web, "admin")
    page = web.client.get("/admin/holds")
    assert second in page.text and first not in page.text  # latest received first
    link = re.search(r'href="(/admin/holds\?cursor=[^"]+)" data-testid="holds-next"', page.text)
    assert link is not None
    following = web.client.get(link.group(1).replace("&amp;", "&"))
    assert following.status_code == 200
    assert first in following.text and second not in following.text
    assert 'data-testid="holds-next"' not in following.text


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJ4Il0"])
def test_a_bad_cursor_is_shown_on_the_page(web: Api, cursor: str) -> None:
    sign_in(web, "admin")
    before = counts(web)
    page = web.client.get(f"/admin/holds?cursor={cursor}")
    assert page.status_code == 400
    assert 'role="alert" data-testid="holds-page-error"' in page.text
    assert "cursor" in page.text and 'data-testid="hold-form"' in page.text
    assert counts(web) == before
    too_long = web.client.get("/admin/holds?cursor=" + "x" * 201)
    assert too_long.status_code == 422


def test_every_word_of_the_pages_is_in_both_languages() -> None:
    used: set[str] = set()
    for name in ("admin_causes.html", "admin_holds.html", "admin_nav.html"):
        used |= set(
            re.findall(r"""t\(["']([\w.]+)["']\)""", (WEB / "templates" / name).read_text())
        )
    assert {"causes.title", "holds.title", "admin.nav"} <= used
    for lang in ("zh-CN", "en"):
        words = json.loads((WEB / "i18n" / f"{lang}.json").read_text("utf-8"))
        assert used - set(words) == set(), lang
