"""Crash recovery between the database commit and finalize, orphan temp objects, stale sessions,
spooled uploads a killed process left."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from evidence_service.access.identity import Actor
from evidence_service.access.models import Role
from evidence_service.capture.ingest import Ingestor, new_id
from evidence_service.capture.metadata import CaptureMetadata
from evidence_service.capture.models import Evidence, PendingIntake, UploadSession
from evidence_service.capture.reaper import reap, request_spool_dir
from evidence_service.transfer import package_verification
from evidence_service.transfer.package_verification import spool_upload
from storage.errors import StoreUnavailableError
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import stored_keys

ZIP = {"content-type": "application/zip"}


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


def test_a_crashed_package_verification_leaves_its_spool_to_the_reaper(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``POST /api/v1/packages/verify`` spools the upload under the data dir, where the reaper
    finds what a killed process leaves (never in the system's temp directory)."""
    spool = request_spool_dir(api.services.settings)
    seen: list[Path] = []
    real = package_verification.package_verdict

    def watched(path: Path, **kwargs: Any) -> Any:
        seen.append(path)
        assert path.exists()
        return real(path, **kwargs)

    monkeypatch.setattr(package_verification, "package_verdict", watched)
    answer = api.client.post(
        "/api/v1/packages/verify", content=b"PK\x05\x06" + bytes(18), headers=ZIP
    )
    assert answer.status_code == 200 and answer.json()["valid"] is False  # an empty ZIP
    assert [p.parent for p in seen] == [spool] and not seen[0].exists()  # removed after use
    monkeypatch.undo()

    # a process killed mid-verification: its spooled upload stays behind
    crashed = spool_upload([b"PK" + bytes(1000)], spool, limit=10_000)
    young = spool_upload([b"PK" + bytes(1000)], spool, limit=10_000)
    hours_ago = time.time() - 2 * 3600
    os.utime(crashed, (hours_ago, hours_ago))
    report = reap(api.services.ingestor, temp_ttl=timedelta(hours=1))
    assert report.spooled_files == 1
    assert not crashed.exists() and young.exists()  # a young one may be a request in flight
    assert reap(api.services.ingestor, temp_ttl=timedelta(0)).spooled_files == 1
    assert list(spool.iterdir()) == []
