"""The incremental custody check from its checkpoint, and the full walk as a background job."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from evidence_service.anchoring.custody_jobs import STALE_AFTER_SECONDS
from evidence_service.custody.models import CustodyVerifyJob
from evidence_service.custody.sequencer import integrate_pending
from tests import samples
from tests.fixtures.service import Api
from tests.service.anchoring_helpers import batches, wait_anchored
from tests.service.helpers import assert_problem, upload


def capture_anchored(api: Api, n: int) -> None:
    ids = [upload(api, "documentary", samples.pdf()).json()["id"] for _ in range(n)]
    for evidence_id in ids:
        wait_anchored(api, evidence_id)


def verify(api: Api, **params: Any) -> dict[str, Any]:
    response = api.client.get("/api/v1/custody/verify", params=params, headers=api.auth("auditor"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def run_job(api: Api) -> dict[str, Any]:
    started = api.client.post("/api/v1/custody/verify-jobs", headers=api.auth("auditor"))
    assert started.status_code == 202, started.text
    return wait_job(api, started.json()["id"])


def wait_job(api: Api, job_id: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = api.client.get(f"/api/v1/custody/verify-jobs/{job_id}", headers=api.auth())
        assert job.status_code == 200, job.text
        body: dict[str, Any] = job.json()
        if body["status"] in ("done", "failed"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_the_checkpoint_advances_and_the_next_check_walks_only_later_events(
    anchored: Api,
) -> None:
    capture_anchored(anchored, 2)
    first = verify(anchored)
    assert first["valid"] is True and first["chain_checked"] is True
    assert first["from_checkpoint"] is None and first["events_checked"] == first["events"]
    checkpoint = first["checkpoint"]
    last = batches(anchored)[-1]
    assert checkpoint["batch_id"] <= last.id
    assert checkpoint["seq"] > 0 and len(checkpoint["hash"]) == 64

    capture_anchored(anchored, 2)
    second = verify(anchored)
    assert second["valid"] is True
    assert second["from_checkpoint"] == checkpoint
    assert second["events_checked"] == second["events"] - checkpoint["seq"]
    assert second["events_checked"] < second["events"]
    assert second["checkpoint"]["batch_id"] > checkpoint["batch_id"]
    assert second["checkpoint"]["seq"] > checkpoint["seq"]


def test_tampering_is_caught_where_each_check_should_catch_it(anchored: Api) -> None:
    capture_anchored(anchored, 2)
    checkpoint = verify(anchored)["checkpoint"]
    capture_anchored(anchored, 1)
    engine = anchored.services.engine
    assert checkpoint["seq"] > 1

    # An edit before the checkpoint that keeps the row's hash: the incremental check trusts
    # what it verified before; the full walk (synchronous, or the job) finds it.
    with engine.begin() as conn:
        conn.execute(text("UPDATE custodyevent SET actor_id = 'forged' WHERE seq = :s"), {"s": 1})
    trusting = verify(anchored)
    assert trusting["valid"] is True and trusting["from_checkpoint"] == checkpoint
    checkpoint = trusting["checkpoint"]  # moved on to the last anchored head
    full = verify(anchored, full=True)
    assert full["valid"] is False and full["broken_at_seq"] == 1
    assert full["reason"] == "event content does not match its hash"
    job = run_job(anchored)
    assert job["status"] == "done" and job["result"]["valid"] is False
    assert job["result"]["broken_at_seq"] == 1
    assert job["result"]["checkpoint"] is None  # a broken log moves no checkpoint

    # An edit after the checkpoint: the incremental check walks it.
    upload(anchored, "documentary", samples.pdf())
    integrate_pending(engine)
    with engine.begin() as conn:
        last = conn.execute(text("SELECT max(seq) FROM custodyevent")).scalar_one()
        assert last > checkpoint["seq"]
        conn.execute(
            text("UPDATE custodyevent SET actor_id = 'forged' WHERE seq = :s"), {"s": last}
        )
    after = verify(anchored)
    assert after["valid"] is False and after["broken_at_seq"] == last
    assert after["from_checkpoint"] == checkpoint == after["checkpoint"]

    # The checkpoint's own row rewritten (its hash too): caught against the anchored head.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE custodyevent SET hash = :h WHERE seq = :s"),
            {"h": "ab" * 32, "s": checkpoint["seq"]},
        )
    rewritten = verify(anchored)
    assert rewritten["valid"] is False
    assert rewritten["reason"] == (
        f"event {checkpoint['seq']} differs from the head anchored in batch "
        f"{checkpoint['batch_id']}"
    )


def test_a_deleted_tail_is_caught_from_the_checkpoint(anchored: Api) -> None:
    capture_anchored(anchored, 2)
    checkpoint = verify(anchored)["checkpoint"]
    with anchored.services.engine.begin() as conn:
        conn.execute(text("DELETE FROM custodyevent WHERE seq >= :s"), {"s": checkpoint["seq"]})
    broken = verify(anchored)
    assert broken["valid"] is False and broken["broken_at_seq"] == checkpoint["seq"]
    assert "events were deleted" in broken["reason"]
    job = run_job(anchored)
    assert job["result"]["valid"] is False
    assert "events were deleted" in job["result"]["reason"]


def test_the_full_job_reports_progress_and_moves_the_checkpoint(anchored: Api) -> None:
    capture_anchored(anchored, 3)
    job = run_job(anchored)
    assert job["status"] == "done" and job["error"] is None
    result = job["result"]
    assert result["valid"] is True and result["chain_checked"] is True
    assert job["events_checked"] == job["events_total"] == result["events"] > 0
    assert result["anchored_heads_checked"] == len(batches(anchored))
    assert result["checkpoint"] is not None
    assert job["started_at"] and job["finished_at"] and job["heartbeat_at"]
    # the next incremental check starts where the job left the checkpoint
    assert verify(anchored)["from_checkpoint"]["batch_id"] >= result["checkpoint"]["batch_id"]


def test_one_job_at_a_time_and_a_stalled_one_is_resumed(anchored: Api) -> None:
    capture_anchored(anchored, 2)
    integrate_pending(anchored.services.engine)
    engine = anchored.services.engine
    now = anchored.services.clock()
    with Session(engine) as session:
        first_two = session.exec(
            text("SELECT seq, hash FROM custodyevent WHERE seq <= 2 ORDER BY seq")  # type: ignore[call-overload]
        ).all()
    # a job some killed process was running: active, heartbeat fresh, then stale
    with Session(engine) as session:
        job = CustodyVerifyJob(
            status="running",
            active=1,
            runner="gone:1:dead",
            created_at=now,
            started_at=now,
            heartbeat_at=now,
            events_total=2,
            events_checked=2,
            walked_seq=2,
            walked_hash=first_two[1][1],
        )
        session.add(job)
        session.commit()
        job_id = job.id
    busy = anchored.client.post("/api/v1/custody/verify-jobs", headers=anchored.auth("auditor"))
    assert_problem(busy, 409, "conflict")
    assert f"job {job_id}" in busy.json()["detail"]

    stale = now - timedelta(seconds=STALE_AFTER_SECONDS + 5)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE custodyverifyjob SET heartbeat_at = :t WHERE id = :i"),
            {"t": stale, "i": job_id},
        )
    resumed = anchored.client.post("/api/v1/custody/verify-jobs", headers=anchored.auth())
    assert resumed.status_code == 202 and resumed.json()["id"] == job_id
    done = wait_job(anchored, job_id)
    assert done["status"] == "done" and done["result"]["valid"] is True
    # resumed from seq 2: the two events it had verified count once
    assert done["events_checked"] == done["result"]["events"]
    with Session(engine) as session:
        row = session.exec(select(CustodyVerifyJob).where(CustodyVerifyJob.id == job_id)).one()
        assert row.active is None and row.runner != "gone:1:dead"


def test_an_unknown_job_is_404(anchored: Api) -> None:
    missing = anchored.client.get("/api/v1/custody/verify-jobs/999", headers=anchored.auth())
    assert_problem(missing, 404, "not-found")
    bad = anchored.client.get("/api/v1/custody/verify-jobs/zero", headers=anchored.auth())
    assert bad.status_code == 422
    anonymous = anchored.client.post("/api/v1/custody/verify-jobs")
    assert anonymous.status_code == 401
