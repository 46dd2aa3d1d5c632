"""Retention per capture category, legal hold, and refusing removal of held or retained evidence.

Runs on (SQLite, local disk) and (PostgreSQL, MinIO via moto). The service clock is a
``FakeClock``; on the local disk the store shares it, so moving it past retention lets an item be
disposed of. The S3 server keeps its own time: there a moved service clock still meets the
store's refusal (moto itself would let COMPLIANCE retention be shortened or bypassed; our store
checks before it asks).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import update
from sqlmodel import Session, col, select

from evidence_service.capture.models import DerivedObject, Evidence
from evidence_service.capture.reaper import reap
from evidence_service.core.clock import parse_rfc3339
from evidence_service.core.config import Settings, add_years
from evidence_service.core.db import session_scope
from evidence_service.custody.models import CustodyEvent
from evidence_service.services import build_services
from storage.local import LocalStore
from tests import samples
from tests.fixtures.s3 import FakeClock
from tests.fixtures.service import Api, make_settings, running_api
from tests.service.helpers import assert_problem, counts, stored_keys, upload

YEARS = {"default": 10, "audiovisual": 30}


# -- settings -----------------------------------------------------------------------------------


def test_retention_years_per_category(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, retention_years={"audiovisual": 30})
    assert settings.retention_years == {"default": 10, "audiovisual": 30}
    assert settings.retention_years_for("audiovisual") == 30
    assert settings.retention_years_for("documentary") == 10
    received = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert settings.retention_until("audiovisual", received) == datetime(
        2056, 3, 1, 8, 30, tzinfo=UTC
    )


def test_leap_day_retention_is_never_shorter() -> None:
    assert add_years(datetime(2028, 2, 29, tzinfo=UTC), 1) == datetime(2029, 3, 1, tzinfo=UTC)
    assert add_years(datetime(2028, 2, 29, tzinfo=UTC), 4) == datetime(2032, 2, 29, tzinfo=UTC)


def test_retention_years_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIDENCE_RETENTION_YEARS", '{"default": 15, "onsite_record": 50}')
    settings = Settings(data_dir=tmp_path)
    assert settings.retention_years == {"default": 15, "onsite_record": 50}
    env = settings.as_env()
    assert json.loads(env["EVIDENCE_RETENTION_YEARS"]) == settings.retention_years
    assert "EVIDENCE_RETENTION_DAYS" not in env


@pytest.mark.parametrize(
    ("years", "message"),
    [
        ({"audio_visual": 30}, "unknown categories ['audio_visual']"),
        ({"default": 0}, "greater than or equal to 1"),
        ({"physical": 101}, "less than or equal to 100"),
        ({"default": "10"}, "valid integer"),
        ({"default": 10.5}, "valid integer"),
    ],
)
def test_bad_retention_years_stop_start_up(
    tmp_path: Path, years: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Settings(data_dir=tmp_path, retention_years=years)


def test_bad_retention_json_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIDENCE_RETENTION_YEARS", '{"default": 10, "phisical": 20}')
    with pytest.raises(ValidationError, match="phisical.*use 'default' or a port id"):
        Settings(data_dir=tmp_path)


def test_deprecated_retention_days_still_work(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, retention_days=3650).retention_years == {"default": 10}
    assert Settings(data_dir=tmp_path, retention_days=3651).retention_years == {"default": 11}
    with pytest.raises(ValidationError, match="not both"):
        Settings(data_dir=tmp_path, retention_days=3650, retention_years={"default": 10})


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def kept(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest, clock: FakeClock
) -> Iterator[Api]:
    """The API with per-category retention and the service clock ``clock`` (shared by the local
    store; the S3 server keeps real time)."""
    # tokens must outlive the years the clock is moved on by
    settings = make_settings(
        tmp_path, backend, request, retention_years=YEARS, token_ttl_days=36500
    )
    store = LocalStore(settings.objects_dir, clock=clock) if backend == "sqlite-local" else None
    services = build_services(settings, store=store, clock=clock)
    try:
        with running_api(services, backend) as api:
            yield api
    finally:
        services.close()


def capture(api: Api, port: str = "physical") -> str:
    data = {"physical": samples.jpeg_with_exif, "audiovisual": samples.wav}.get(port, samples.pdf)
    response = upload(api, port, data())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def row(api: Api, evidence_id: str) -> Evidence:
    with Session(api.services.engine) as session:
        evidence = session.get(Evidence, evidence_id)
        assert evidence is not None
        return evidence


def object_keys(api: Api, evidence_id: str) -> list[str]:
    with Session(api.services.engine) as session:
        derived = session.exec(
            select(DerivedObject.object_key).where(DerivedObject.evidence_id == evidence_id)
        ).all()
    return [row(api, evidence_id).object_key, *derived]


def events(api: Api, evidence_id: str) -> list[CustodyEvent]:
    with Session(api.services.engine) as session:
        return list(
            session.exec(
                select(CustodyEvent)
                .where(CustodyEvent.evidence_id == evidence_id)
                .order_by(col(CustodyEvent.seq))
            ).all()
        )


def hold(api: Api, evidence_id: str, reason: str = "行政诉讼 (2026) 浙0106行初12号") -> Any:
    return api.client.put(
        f"/api/v1/evidence/{evidence_id}/legal-hold",
        json={"reason": reason},
        headers=api.auth("admin"),
    )


def lift(api: Api, evidence_id: str, reason: str = "判决生效") -> Any:
    return api.client.delete(
        f"/api/v1/evidence/{evidence_id}/legal-hold",
        params={"reason": reason},
        headers=api.auth("admin"),
    )


def dispose(api: Api, evidence_id: str, role: str = "admin") -> Any:
    return api.client.delete(f"/api/v1/evidence/{evidence_id}", headers=api.auth(role))


# -- retention at finalize ----------------------------------------------------------------------


@pytest.mark.parametrize(("port", "years"), [("audiovisual", 30), ("physical", 10)])
def test_finalize_puts_the_category_retention_on_every_object(
    kept: Api, port: str, years: int
) -> None:
    evidence_id = capture(kept, port)
    evidence = row(kept, evidence_id)
    expected = add_years(evidence.received_at, years)
    assert evidence.finalized and evidence.retention_until == expected
    for key in object_keys(kept, evidence_id):
        info = kept.services.store.stat(key)
        assert info.retain_until is not None  # S3 keeps milliseconds, rounded up
        assert expected <= info.retain_until < expected + timedelta(milliseconds=1)

    status = kept.client.get(f"/api/v1/evidence/{evidence_id}/retention", headers=kept.auth())
    assert status.status_code == 200, status.text
    body = status.json()
    assert parse_rfc3339(body["retention_until"]) == expected
    assert body["legal_hold"] is False and body["disposed_at"] is None
    roles = ["content", "thumbnail"] if port == "physical" else ["content"]
    assert [o["role"] for o in body["store"]] == roles
    for entry in body["store"]:
        assert entry["present"] is True and entry["legal_hold"] is False
        assert parse_rfc3339(entry["retain_until"]) >= expected


def test_a_rerun_finalize_keeps_the_longer_retention(kept: Api) -> None:
    evidence_id = capture(kept, "audiovisual")
    first = row(kept, evidence_id).retention_until
    assert first is not None
    with session_scope(kept.services.engine) as session:  # as if the crash hit before the update
        session.execute(
            update(Evidence)
            .where(col(Evidence.id) == evidence_id)
            .values(finalized=False, retention_until=None)
        )
    kept.services.settings.retention_years = {"default": 1}  # the policy was shortened since
    report = reap(kept.services.ingestor, temp_ttl=timedelta(hours=1))
    assert report.finalized == 1
    evidence = row(kept, evidence_id)
    assert evidence.finalized
    assert evidence.retention_until is not None and evidence.retention_until >= first
    info = kept.services.store.stat(evidence.object_key)
    assert info.retain_until is not None and info.retain_until >= first


# -- legal hold ---------------------------------------------------------------------------------


def test_legal_hold_is_set_and_cleared_by_an_admin_with_a_reason(kept: Api) -> None:
    evidence_id = capture(kept)
    held = hold(kept, evidence_id, "  行政复议 2026-17  ")
    assert held.status_code == 200, held.text
    body = held.json()
    assert body["legal_hold"] is True
    assert [(o["role"], o["legal_hold"]) for o in body["store"]] == [
        ("content", True),
        ("thumbnail", True),
    ]
    assert row(kept, evidence_id).legal_hold
    assert all(kept.services.store.stat(k).legal_hold for k in object_keys(kept, evidence_id))
    placed = events(kept, evidence_id)[-1]
    assert placed.action == "legal_hold_set"
    assert placed.details == {"reason": "行政复议 2026-17", "objects": 2}
    assert placed.actor_id == kept.users["admin"]["id"]

    again = hold(kept, evidence_id)
    assert assert_problem(again, 409, "legal-hold-state")["legal_hold"] is True
    assert events(kept, evidence_id)[-1].seq == placed.seq

    cleared = kept.client.request(
        "DELETE",
        f"/api/v1/evidence/{evidence_id}/legal-hold",
        json={"reason": "案件终结"},
        headers=kept.auth("admin"),
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["legal_hold"] is False
    assert not row(kept, evidence_id).legal_hold
    assert not any(kept.services.store.stat(k).legal_hold for k in object_keys(kept, evidence_id))
    last = events(kept, evidence_id)[-1]
    assert (last.action, last.details) == ("legal_hold_cleared", {"reason": "案件终结"})

    assert_problem(lift(kept, evidence_id), 409, "legal-hold-state")
    assert events(kept, evidence_id)[-1].seq == last.seq

    # the reason may come as a query parameter too
    assert hold(kept, evidence_id).status_code == 200
    assert lift(kept, evidence_id, "撤销扣押").status_code == 200
    assert events(kept, evidence_id)[-1].details == {"reason": "撤销扣押"}


@pytest.mark.parametrize("role", ["officer", "reviewer", "auditor", "court"])
def test_only_admins_touch_legal_holds(kept: Api, role: str) -> None:
    evidence_id = capture(kept)
    before = counts(kept)
    for response in (
        kept.client.put(
            f"/api/v1/evidence/{evidence_id}/legal-hold",
            json={"reason": "x"},
            headers=kept.auth(role),
        ),
        kept.client.delete(
            f"/api/v1/evidence/{evidence_id}/legal-hold",
            params={"reason": "x"},
            headers=kept.auth(role),
        ),
        dispose(kept, evidence_id, role),
    ):
        assert_problem(response, 403, "forbidden")
    assert counts(kept) == before
    assert not row(kept, evidence_id).legal_hold


def test_unknown_items_are_404(kept: Api) -> None:
    missing = "01JZZZZZZZZZZZZZZZZZZZZZZZ"
    assert_problem(hold(kept, missing), 404, "not-found")
    assert_problem(lift(kept, missing), 404, "not-found")
    assert_problem(dispose(kept, missing), 404, "not-found")
    no_retention = kept.client.get(f"/api/v1/evidence/{missing}/retention", headers=kept.auth())
    assert_problem(no_retention, 404, "not-found")
    assert counts(kept) == {"evidence": 0, "derived": 0, "custody": 0}


@pytest.mark.parametrize(
    "payload",
    [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 1001}, {"reason": "x", "by": "me"}],
)
def test_a_hold_needs_a_reason(kept: Api, payload: dict[str, Any]) -> None:
    evidence_id = capture(kept)
    before = counts(kept)
    response = kept.client.put(
        f"/api/v1/evidence/{evidence_id}/legal-hold", json=payload, headers=kept.auth("admin")
    )
    assert_problem(response, 422, "invalid-request")
    assert counts(kept) == before
    assert not row(kept, evidence_id).legal_hold
    assert not kept.services.store.stat(row(kept, evidence_id).object_key).legal_hold


def test_clearing_needs_one_reason(kept: Api) -> None:
    evidence_id = capture(kept)
    assert hold(kept, evidence_id).status_code == 200
    before = counts(kept)
    url = f"/api/v1/evidence/{evidence_id}/legal-hold"
    admin = kept.auth("admin")
    assert_problem(kept.client.delete(url, headers=admin), 422, "invalid-request")
    assert_problem(
        kept.client.delete(url, params={"reason": " "}, headers=admin), 422, "invalid-request"
    )
    both = kept.client.request(
        "DELETE", url, params={"reason": "a"}, json={"reason": "b"}, headers=admin
    )
    assert_problem(both, 400, "bad-request")
    assert counts(kept) == before
    assert row(kept, evidence_id).legal_hold


def test_a_hold_the_record_lost_is_released_on_request(kept: Api) -> None:
    """A placement that crashed after the store call but before its commit: the store holds,
    the record does not. Disposal is refused; lifting the hold finishes the release."""
    evidence_id = capture(kept)
    key = row(kept, evidence_id).object_key
    kept.services.store.set_legal_hold(key, True)
    status = kept.client.get(f"/api/v1/evidence/{evidence_id}/retention", headers=kept.auth())
    assert status.json()["legal_hold"] is False and status.json()["store"][0]["legal_hold"] is True

    released = lift(kept, evidence_id, "修复中断的扣押")
    assert released.status_code == 200, released.text
    assert not kept.services.store.stat(key).legal_hold
    assert events(kept, evidence_id)[-1].details == {"reason": "修复中断的扣押", "store_only": True}
    assert_problem(lift(kept, evidence_id), 409, "legal-hold-state")


# -- removal ------------------------------------------------------------------------------------


def assert_unchanged(api: Api, evidence_id: str, before: dict[str, Any], data: bytes) -> None:
    """Same row, no custody event, every object still there and readable."""
    assert counts(api) == before["counts"]
    assert row(api, evidence_id).model_dump() == before["row"]
    assert stored_keys(api) == before["keys"]
    content = api.client.get(f"/api/v1/evidence/{evidence_id}/content", headers=api.auth())
    assert content.status_code == 200 and content.content == data


def snapshot(api: Api, evidence_id: str) -> dict[str, Any]:
    return {
        "counts": counts(api),
        "row": row(api, evidence_id).model_dump(),
        "keys": stored_keys(api),
    }


def test_removal_of_retained_evidence_is_refused(kept: Api) -> None:
    data = samples.pdf()
    evidence_id = upload(kept, "documentary", data).json()["id"]
    until = row(kept, evidence_id).retention_until
    assert until is not None
    before = snapshot(kept, evidence_id)
    problem = assert_problem(dispose(kept, evidence_id), 409, "retention-active")
    assert parse_rfc3339(problem["retention_until"]) >= until
    assert problem["retention_until"][:10] in problem["detail"]
    assert_unchanged(kept, evidence_id, before, data)


def test_removal_of_held_evidence_is_refused(kept: Api, clock: FakeClock) -> None:
    data = samples.pdf()
    evidence_id = upload(kept, "documentary", data).json()["id"]
    assert hold(kept, evidence_id).status_code == 200
    clock.advance(timedelta(days=366 * 11))  # retention ran out; the hold did not
    before = snapshot(kept, evidence_id)
    problem = assert_problem(dispose(kept, evidence_id), 409, "legal-hold")
    assert "legal hold" in problem["detail"]
    assert_unchanged(kept, evidence_id, before, data)


def test_disposal_after_retention(kept: Api, clock: FakeClock) -> None:
    """Local disk: the store shares the moved clock, so the bytes go and the record stays.
    S3: the server's clock has not moved, so our store refuses and nothing changes."""
    data = samples.jpeg_with_exif()
    evidence_id = upload(kept, "physical", data).json()["id"]
    statement = row(kept, evidence_id).statement
    clock.advance(timedelta(days=366 * 10 + 1))
    before = snapshot(kept, evidence_id)
    response = dispose(kept, evidence_id)
    if kept.backend == "postgres-minio":
        problem = assert_problem(response, 409, "retention-active")
        assert "object store still retains" in problem["detail"]
        assert_unchanged(kept, evidence_id, before, data)
        return

    assert response.status_code == 200, response.text
    body = response.json()
    assert parse_rfc3339(body["disposed_at"]) == clock.now
    assert body["store"] == [
        {"role": "content", "present": False, "retain_until": None, "legal_hold": False},
        {"role": "thumbnail", "present": False, "retain_until": None, "legal_hold": False},
    ]
    assert stored_keys(kept) == []
    evidence = row(kept, evidence_id)
    assert evidence.disposed_at == clock.now and evidence.statement == statement
    last = events(kept, evidence_id)[-1]
    assert last.action == "disposed" and last.actor_id == kept.users["admin"]["id"]
    assert last.details["sha256"] == evidence.sha256 and last.details["objects"] == 2
    assert parse_rfc3339(last.details["retention_until"]) == evidence.retention_until

    # the record, statement and custody stay; the bytes answer 410 Gone
    item = kept.client.get(f"/api/v1/evidence/{evidence_id}", headers=kept.auth())
    assert item.status_code == 200 and item.json()["statement"] == statement
    content = kept.client.get(f"/api/v1/evidence/{evidence_id}/content", headers=kept.auth())
    gone = assert_problem(content, 410, "disposed")
    assert parse_rfc3339(gone["disposed_at"]) == clock.now
    thumbnail = kept.client.get(
        f"/api/v1/evidence/{evidence_id}/derived/thumbnail", headers=kept.auth()
    )
    assert_problem(thumbnail, 410, "disposed")
    after = counts(kept)
    assert_problem(dispose(kept, evidence_id), 410, "disposed")
    assert_problem(hold(kept, evidence_id), 410, "disposed")
    assert counts(kept) == after
    verdict = kept.client.get("/api/v1/custody/verify", headers=kept.auth("auditor"))
    assert verdict.status_code == 200 and verdict.json()["valid"] is True, verdict.text


def test_the_category_decides_when_disposal_is_allowed(kept: Api, clock: FakeClock) -> None:
    recording = capture(kept, "audiovisual")  # 30 years
    clock.advance(timedelta(days=366 * 10 + 1))
    problem = assert_problem(dispose(kept, recording), 409, "retention-active")
    expected = row(kept, recording).retention_until
    assert expected is not None and parse_rfc3339(problem["retention_until"]) >= expected
    assert expected.year == row(kept, recording).received_at.year + 30
