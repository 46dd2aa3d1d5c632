"""Notifications: a transfer waiting for the department's decision (overdue after the
deadline), and the decision on a sent transfer, shown to the departments concerned only."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from evidence_service.transfer.models import Transfer
from tests.fixtures.service import Api
from tests.service.transfer.test_transfers import PENALTY, capture, dept, send


def sign_in(api: Api, token: str) -> None:
    api.client.cookies.clear()
    assert api.client.post("/login", data={"token": token}).status_code == 303


def test_waiting_overdue_and_decided(web: Api) -> None:
    ids = capture(web, 1)
    sent = send(web, {"to_department_id": dept(web, PENALTY), "evidence_ids": ids})
    assert sent.status_code == 201, sent.text
    transfer_id = sent.json()["id"]
    penalty = web.person(PENALTY, "penalty")
    sign_in(web, penalty["token"])
    page = web.client.get("/notifications")
    assert page.status_code == 200
    assert f'data-testid="notice-{transfer_id}" data-state="waiting"' in page.text
    with Session(web.services.engine) as session:  # eight days later
        row = session.get(Transfer, transfer_id)
        assert row is not None
        row.created_at = row.created_at - timedelta(days=8)
        session.add(row)
        session.commit()
    page = web.client.get("/notifications")
    assert f'data-testid="notice-{transfer_id}" data-state="overdue"' in page.text

    sign_in(web, web.users["officer"]["token"])  # the sender's officer: nothing decided yet
    assert f"notice-{transfer_id}" not in web.client.get("/notifications").text
    rejected = web.client.post(
        f"/api/v1/transfers/{transfer_id}/reject",
        json={"reason": "材料不全"},
        headers={"Authorization": f"Bearer {penalty['token']}"},
    )
    assert rejected.status_code == 200, rejected.text
    sign_in(web, web.users["reviewer"]["token"])
    page = web.client.get("/notifications")
    assert f'data-testid="notice-{transfer_id}" data-state="rejected"' in page.text
    assert "材料不全" in page.text
    sign_in(web, penalty["token"])
    assert f"notice-{transfer_id}" not in web.client.get("/notifications").text  # decided


def test_notifications_need_a_session(web: Api) -> None:
    response = web.client.get("/notifications")
    assert response.status_code == 303
