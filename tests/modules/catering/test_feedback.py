"""The public's feedback over HTTP: the QR page's form stores it pending under a keyed hash of
the sender's address (never the address); 3 per sender and 30 per restaurant an hour, else 429
with nothing stored; bad text, a bad rating or a missing form token store nothing; a worker of
the restaurant's department publishes or rejects it once, and only then the page shows it."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from evidence_service.modules.catering import models as m
from tests.fixtures.service import Api
from tests.modules.catering.helpers import API, DEPARTMENT, department_id, module_engine
from tests.modules.catering.page_helpers import plant_restaurant

OTHER = "HZ-ZHZF"


def a_restaurant(api: Api) -> str:
    now = datetime.now(UTC)
    return plant_restaurant(module_engine(api), 1, now=now, department_id=department_id(api))


def csrf(api: Api, restaurant_id: str) -> str:
    page = api.client.get(f"/catering/r/{restaurant_id}")
    assert page.status_code == 200
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def send(api: Api, restaurant_id: str, token: str, **fields: Any) -> Any:
    return api.client.post(
        f"/catering/r/{restaurant_id}/feedback",
        data={"csrf": token, **fields},
        follow_redirects=False,
    )


def rows(api: Api) -> list[Any]:
    with module_engine(api).connect() as conn:
        return list(conn.execute(select(m.feedback).order_by(m.feedback.c.created_at)))


def test_feedback_is_stored_pending_under_a_keyed_hash(api: Api) -> None:
    rid = a_restaurant(api)
    token = csrf(api, rid)
    sent = send(api, rid, token, text="  油烟味很重\r\n晚上尤其明显  ", rating="2")
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/catering/r/{rid}?sent=1#feedback"
    (row,) = rows(api)
    assert (row.text, row.rating, row.state) == ("油烟味很重\n晚上尤其明显", 2, "pending")
    secret = api.client.app.state.catering.config.pii_secret  # type: ignore[attr-defined]
    assert row.sender == hmac.new(secret, b"testclient", hashlib.sha256).hexdigest()
    assert "testclient" not in repr(tuple(row))
    page = api.client.get(sent.headers["location"])
    assert "感谢反馈，审核后公开" in page.text
    assert "油烟味很重" not in page.text  # not before moderation


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"text": "   "}, 422),
        ({"text": "x" * 501}, 422),
        ({"text": "响铃\x07"}, 422),
        ({"text": "好", "rating": "6"}, 422),
        ({"text": "好", "rating": "0"}, 422),
    ],
)
def test_bad_feedback_is_refused_and_nothing_stored(
    api: Api, fields: dict[str, str], status: int
) -> None:
    rid = a_restaurant(api)
    answer = send(api, rid, csrf(api, rid), **fields)
    assert answer.status_code == status
    assert 'data-testid="feedback-error"' in answer.text
    assert rows(api) == []


def test_a_form_without_the_page_token_or_for_no_restaurant_stores_nothing(api: Api) -> None:
    rid = a_restaurant(api)
    csrf(api, rid)
    assert send(api, rid, "forged-token-value-0000000").status_code == 403
    assert send(api, "NOSUCHRESTAURANT", csrf(api, rid), text="好").status_code == 404
    assert rows(api) == []


def test_three_per_sender_an_hour_then_429(api: Api) -> None:
    rid = a_restaurant(api)
    token = csrf(api, rid)
    for n in range(3):
        assert send(api, rid, token, text=f"第 {n} 条").status_code == 303
    refused = send(api, rid, token, text="第 4 条")
    assert refused.status_code == 429
    assert "每小时最多 3 条" in refused.text
    assert "第 4 条" in refused.text  # the text stays in the form
    assert len(rows(api)) == 3


def test_thirty_per_restaurant_an_hour_then_429(api: Api) -> None:
    rid = a_restaurant(api)
    now = datetime.now(UTC) - timedelta(minutes=5)
    with module_engine(api).begin() as conn:
        conn.execute(
            insert(m.feedback),
            [
                {
                    "id": f"F{n:025d}",
                    "restaurant_id": rid,
                    "text": "旧",
                    "state": "pending",
                    "sender": f"{n:064x}",
                    "created_at": now,
                }
                for n in range(30)
            ],
        )
    refused = send(api, rid, csrf(api, rid), text="第 31 条")
    assert refused.status_code == 429
    assert "本小时收到的反馈已达上限" in refused.text
    with module_engine(api).connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.feedback)).scalar_one() == 30


def test_moderation_by_the_restaurants_department_once(api: Api) -> None:
    rid = a_restaurant(api)
    token = csrf(api, rid)
    send(api, rid, token, text="服务很好", rating="5")
    send(api, rid, token, text="广告内容")
    officer = api.auth_as(DEPARTMENT, "officer")
    listed = api.client.get(f"{API}/feedback", params={"state": "pending"}, headers=officer)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [i["text"] for i in items] == ["广告内容", "服务很好"]
    assert all("sender" not in i for i in items)
    good, spam = items[1]["id"], items[0]["id"]
    url = f"{API}/feedback/{{}}/moderate"

    other = api.client.post(
        url.format(good), json={"decision": "publish"}, headers=api.auth_as(OTHER, "officer")
    )
    assert other.status_code == 403 and other.json()["reason"] == "wrong-department"
    bad = api.client.post(url.format(good), json={"decision": "maybe"}, headers=officer)
    assert bad.status_code == 422
    missing = api.client.post(url.format("NOSUCH"), json={"decision": "reject"}, headers=officer)
    assert missing.status_code == 404
    done = api.client.post(url.format(good), json={"decision": "publish"}, headers=officer)
    assert done.status_code == 200
    assert done.json()["state"] == "published"
    again = api.client.post(url.format(good), json={"decision": "reject"}, headers=officer)
    assert again.status_code == 409 and again.json()["reason"] == "already-moderated"
    rejected = api.client.post(url.format(spam), json={"decision": "reject"}, headers=officer)
    assert rejected.json()["state"] == "rejected"

    page = api.client.get(f"/catering/r/{rid}").text
    assert "★★★★★ 服务很好" in page
    assert "广告内容" not in page
    auditor = api.client.get(f"{API}/feedback", headers=api.auth("auditor"))
    assert auditor.status_code == 200 and len(auditor.json()["items"]) == 2
    assert api.client.get(f"{API}/feedback").status_code == 401
