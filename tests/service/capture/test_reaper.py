"""Crash recovery between the database commit and finalize, orphan temp objects, stale sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from evidence_service.access.identity import Actor
from evidence_service.access.models import Role
from evidence_service.capture.ingest import Ingestor, new_id
from evidence_service.capture.metadata import CaptureMetadata
from evidence_service.capture.models import Evidence, PendingIntake, UploadSession
from evidence_service.capture.reaper import reap
from storage.errors import StoreUnavailableError
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import stored_keys


def actor(api: Api) -> Actor:
    user = api.users["officer"]
    return Actor(user["id"], user["department_id"], Role.officer, user["name"])


def test_crash_after_commit_is_finished_by_the_reaper(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingestor = api.services.ingestor
    data = samples.jpeg_with_exif()

    def crash(self: Ingestor, evidence_id: str, **_: object) -> None:
        raise StoreUnavailableError("the process died here")

    monkeypatch.setattr(Ingestor, "finalize", crash)
    evidence_id = new_id()
    received = ingestor.receive(evidence_id, "physical", iter([data]))
    status, body = ingestor.record(
        evidence_id=evidence_id,
        actor=actor(api),
        port_id="physical",
        metadata=CaptureMetadata(title="photo"),
        filename="p.jpg",
        received=received,
        declared_sha256=None,
        idempotency_key=None,
        route="test",
    )
    assert status == 201 and body["finalized"] is False
    key = received.key
    assert stored_keys(api) == sorted([key, f"{key}.thumbnail"])
    assert api.services.store.stat(key).retain_until is None  # not locked yet
    # Reads work before finalize.
    content = api.client.get(f"/api/v1/evidence/{evidence_id}/content", headers=api.auth())
    assert content.content == data
    monkeypatch.undo()

    report = reap(ingestor, temp_ttl=timedelta(0))
    assert report.finalized == 1 and report.discarded == 0 and report.abandoned_intakes == 0
    with Session(api.services.engine) as session:
        row = session.get(Evidence, evidence_id)
        assert row is not None and row.finalized and row.object_key == key
    assert stored_keys(api) == sorted([key, f"{key}.thumbnail"])
    assert api.services.store.stat(key).retain_until is not None
    assert api.services.store.stat(f"{key}.thumbnail").retain_until is not None


def test_crash_before_the_row_is_cleaned_by_the_reaper(api: Api) -> None:
    """Bytes stored at the final key, then the process died before the evidence row."""
    ingestor = api.services.ingestor
    evidence_id = new_id()
    received = ingestor.receive(evidence_id, "physical", iter([samples.png()]))
    api.services.store.put(f"{received.key}.thumbnail", [b"thumb"])
    assert stored_keys(api) == sorted([received.key, f"{received.key}.thumbnail"])
    kept = reap(ingestor, temp_ttl=timedelta(hours=1))  # too young: may still be arriving
    assert kept.abandoned_intakes == 0 and len(stored_keys(api)) == 2
    report = reap(ingestor, temp_ttl=timedelta(0))
    assert report.abandoned_intakes == 1
    assert stored_keys(api) == []
    with Session(api.services.engine) as session:
        assert session.get(PendingIntake, evidence_id) is None
        assert session.get(Evidence, evidence_id) is None


def test_orphan_temp_objects_and_expired_sessions(api: Api) -> None:
    store = api.services.store
    store.put("tmp/" + new_id(), [b"never recorded"])
    young = reap(api.services.ingestor, temp_ttl=timedelta(hours=1))
    assert young.discarded == 0
    created = api.client.post(
        "/api/v1/uploads",
        json={"port": "audiovisual", "metadata": {"title": "t"}},
        headers=api.auth(),
    ).json()
    with Session(api.services.engine) as session:
        upload = session.get(UploadSession, created["id"])
        assert upload is not None
        upload.expires_at = upload.created_at - timedelta(seconds=1)
        session.add(upload)
        session.commit()
    report = reap(api.services.ingestor, temp_ttl=timedelta(0))
    assert report.discarded == 1 and report.expired_sessions == 1
    assert stored_keys(api) == []
    state = api.client.get(f"/api/v1/uploads/{created['id']}", headers=api.auth()).json()
    assert state["status"] == "expired"
