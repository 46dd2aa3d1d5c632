"""The evidence page lists the item's cases (with what it proves) and related items, each only
where the officer may read it."""

from __future__ import annotations

from tests.fixtures.service import Api
from tests.service.transfer.test_transfers import capture, open_case


def sign_in(api: Api, role: str) -> None:
    api.client.cookies.clear()
    assert api.client.post("/login", data={"token": api.users[role]["token"]}).status_code == 303


def test_cases_and_relations_on_the_item_page(web: Api) -> None:
    first, second = capture(web, 2)
    related = web.client.post(
        f"/api/v1/evidence/{first}/relations",
        json={"kind": "corroborates", "target_id": second},
        headers=web.auth("officer"),
    )
    assert related.status_code in (200, 201), related.text
    case_id = open_case(web, [first], number="杭市监罚〔2026〕9号")
    sign_in(web, "officer")
    page = web.client.get(f"/evidence/{first}")
    assert page.status_code == 200
    assert f'href="/cases/{case_id}"' in page.text and "杭市监罚〔2026〕9号" in page.text
    assert "证明温度超标" in page.text  # the purpose given when it was linked
    assert f'href="/evidence/{second}"' in page.text
    other = web.client.get(f"/evidence/{second}")
    assert f'href="/evidence/{first}"' in other.text  # the relation, seen from the other side
    assert 'data-testid="evidence-cases"' not in other.text  # in no case
