"""Readers of the chained log integrate first: what a caller wrote is in what it then reads."""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session, col, func, select

from evidence_service.anchoring import custody_anchors
from evidence_service.custody.models import CustodyEvent
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, upload


def pending(api: Api) -> int:
    with Session(api.services.engine) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(CustodyEvent)
                .where(col(CustodyEvent.seq).is_(None))
            ).one()
        )


def test_a_just_written_event_is_in_the_items_custody(api: Api) -> None:
    # no worker runs here (anchor_worker off): only the read can chain the events
    evidence_id = upload(api, "documentary", samples.pdf()).json()["id"]
    assert pending(api) >= 1
    viewed = api.client.get(f"/api/v1/evidence/{evidence_id}", headers=api.auth())
    assert viewed.status_code == 200  # records a 'viewed' event, pending
    custody = api.client.get(f"/api/v1/evidence/{evidence_id}/custody", headers=api.auth())
    assert custody.status_code == 200
    events = custody.json()["events"]
    assert [e["action"] for e in events] == ["captured", "viewed"]
    assert all(isinstance(e["seq"], int) and len(e["hash"]) == 64 for e in events)
    assert events[1]["seq"] > events[0]["seq"]
    assert pending(api) == 0
    verify = api.client.get("/api/v1/custody/verify", headers=api.auth("auditor")).json()
    assert verify["valid"] is True
    assert verify["events"] == events[-1]["seq"]  # reading custody records nothing more


def test_verify_chains_what_is_pending_and_counts_it(api: Api) -> None:
    for _ in range(3):
        upload(api, "documentary", samples.pdf())
    waiting = pending(api)
    assert waiting >= 3
    verify = api.client.get("/api/v1/custody/verify", headers=api.auth("auditor")).json()
    assert verify["valid"] is True and verify["events"] == waiting
    assert verify["events_checked"] == waiting and verify["from_checkpoint"] is None
    assert pending(api) == 0


def test_the_workers_lock_holder_chains_events_without_any_read(anchored: Api) -> None:
    """The window between an event's commit and its place in the chain (target: 1 s; the
    bound here leaves room for a loaded test machine)."""
    evidence_id = upload(anchored, "documentary", samples.pdf()).json()["id"]
    deadline = time.monotonic() + 30
    while pending(anchored) and time.monotonic() < deadline:  # the worker has started
        time.sleep(0.02)
    assert anchored.client.get(f"/api/v1/evidence/{evidence_id}", headers=anchored.auth())
    committed = time.monotonic()
    # its 'viewed' event is committed (and may already be chained)
    while pending(anchored):
        assert time.monotonic() - committed < 1.5, "not chained within the window"
        time.sleep(0.01)


def test_a_walk_from_the_first_event_is_bounded(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):
        upload(api, "documentary", samples.pdf())
    monkeypatch.setattr(custody_anchors, "SYNC_FULL_WALK_LIMIT", 2)
    auditor = api.auth("auditor")
    for params in ({}, {"full": "true"}):  # no checkpoint yet: both would walk everything
        refused = api.client.get("/api/v1/custody/verify", params=params, headers=auditor)
        assert_problem(refused, 409, "conflict")
        assert "verify-jobs" in refused.json()["detail"]
