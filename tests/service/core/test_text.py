"""Text fit to show a person: refused on the way in, made visible on the way out."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from evidence_service.cases.models import Case
from evidence_service.core.text import UnsafeTextError, check_text_tree, visible
from tests.fixtures.service import Api

UNSAFE = ["\x00", "\x1b", "\u202e", "\u2066", "\x7f", "\x85"]


@pytest.mark.parametrize("char", UNSAFE, ids=lambda c: f"U+{ord(c):04X}")
def test_unsafe_characters_are_refused_anywhere_in_a_json_value(char: str) -> None:
    for value in (f"a{char}b", {"k": [1, {"deep": f"x{char}"}]}, {f"key{char}": 1}):
        with pytest.raises(UnsafeTextError) as raised:
            check_text_tree(value)
        assert f"U+{ord(char):04X}" in raised.value.detail


def test_ordinary_text_passes() -> None:
    check_text_tree({"title": "现场检查\t第1页\r\n", "emoji": "👩\u200d👩\u200d👧", "n": [1, 2.5]})


def test_unsafe_characters_render_as_visible_markers() -> None:
    assert visible("invoice\u202efdp.exe\x00\x1b[31m") == (
        "invoice<U+202E>fdp.exe<U+0000><U+001B>[31m"
    )


@pytest.mark.parametrize("backend", ["sqlite-local"], indirect=True)
def test_a_case_titled_with_a_bidi_override_is_refused_and_nothing_written(api: Api) -> None:
    response = api.client.post(
        "/api/v1/cases",
        json={"case_number": "X-1", "kind": "inspection", "title": "罚款\u202e00001"},
        headers=api.auth(),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/unsafe-text")
    assert "U+202E" in response.json()["detail"]
    with Session(api.services.engine) as session:
        assert session.exec(select(func.count()).select_from(Case)).one() == 0
