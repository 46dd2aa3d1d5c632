"""Resumable uploads across replicas: two apps on one PostgreSQL database and one S3 bucket,
each with its own process state, as two `evidence serve` replicas behind a load balancer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col

from evidence_service.app import create_app
from evidence_service.capture.models import Evidence, UploadSession, UploadStatus
from evidence_service.capture.upload_claims import COMPLETION_LEASE_SECONDS, settle_upload_session
from evidence_service.core.errors import UploadStateError
from evidence_service.services import build_services
from storage.errors import StorageError
from tests.fixtures.service import Api
from tests.service.capture.test_uploads import MiB, chunks_of, create, video
from tests.service.helpers import assert_problem, counts, sha256, sm3, stored_keys

pytestmark = pytest.mark.parametrize("backend", ["postgres-minio"], indirect=True)


@pytest.fixture
def replica(api: Api) -> Iterator[TestClient]:
    """A second app on the same database and bucket, with its own (empty) upload state."""
    services = build_services(api.services.settings)
    with TestClient(create_app(services=services)) as client:
        yield client
    services.close()


def patch(
    client: TestClient, api: Api, upload_id: str, offset: int, chunk: bytes
) -> httpx.Response:
    return client.patch(
        f"/api/v1/uploads/{upload_id}",
        content=chunk,
        headers={
            **api.auth(),
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
    )


def complete(client: TestClient, api: Api, upload_id: str) -> httpx.Response:
    return client.post(f"/api/v1/uploads/{upload_id}/complete", headers=api.auth())


def session_row(api: Api, upload_id: str) -> UploadSession:
    with Session(api.services.engine) as session:
        row = session.get(UploadSession, upload_id)
    assert row is not None
    return row


def test_chunks_on_alternating_replicas_complete_on_either(api: Api, replica: TestClient) -> None:
    data = video(10 * MiB + 4096)
    upload = create(api, data)
    offset = 0
    for i, chunk in enumerate(chunks_of(data)):
        client = api.client if i % 2 == 0 else replica
        assert patch(client, api, upload["id"], offset, chunk).status_code == 200
        offset += len(chunk)
    done = complete(replica, api, upload["id"])  # this replica saw only the middle chunk
    assert done.status_code == 201, done.text
    evidence = done.json()
    assert evidence["sha256"] == sha256(data) and evidence["sm3"] == sm3(data)
    assert evidence["size"] == len(data) and evidence["media_type"] == "video/mp4"
    again = complete(api.client, api, upload["id"])
    assert again.status_code == 200 and again.json()["id"] == evidence["id"]
    assert counts(api)["evidence"] == 1
    stored = b"".join(api.services.store.get(_object_key(api, evidence["id"])))
    assert stored == data
    assert not [k for k in stored_keys(api) if k.startswith("tmp/")]


def _object_key(api: Api, evidence_id: str) -> str:
    with Session(api.services.engine) as session:
        row = session.get(Evidence, evidence_id)
    assert row is not None
    return row.object_key


def test_one_of_two_appends_at_one_offset_wins(api: Api, replica: TestClient) -> None:
    data = video(5 * MiB + 1000)
    upload = create(api, data)
    first = data[: 5 * MiB]
    start = threading.Barrier(2)
    answers: list[httpx.Response] = []

    def send(client: TestClient) -> None:
        start.wait()
        answers.append(patch(client, api, upload["id"], 0, first))

    threads = [threading.Thread(target=send, args=(c,)) for c in (api.client, replica)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    assert session_row(api, upload["id"]).chunk_count == 1
    assert patch(replica, api, upload["id"], 5 * MiB, data[5 * MiB :]).status_code == 200
    done = complete(api.client, api, upload["id"])
    assert done.status_code == 201, done.text
    assert done.json()["sha256"] == sha256(data) and counts(api)["evidence"] == 1


def test_simultaneous_completions_make_one_item(api: Api, replica: TestClient) -> None:
    data = video(5 * MiB + 1000)
    upload = create(api, data)
    assert patch(api.client, api, upload["id"], 0, data[: 5 * MiB]).status_code == 200
    assert patch(replica, api, upload["id"], 5 * MiB, data[5 * MiB :]).status_code == 200
    start = threading.Barrier(4)
    answers: list[httpx.Response] = []

    def finish(client: TestClient) -> None:
        start.wait()
        answers.append(complete(client, api, upload["id"]))

    clients = [api.client, replica, api.client, replica]
    threads = [threading.Thread(target=finish, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [a for a in answers if a.status_code == 201]
    assert len(created) == 1, [a.text for a in answers]
    evidence_id = created[0].json()["id"]
    for answer in answers:
        if answer.status_code == 200:
            assert answer.json()["id"] == evidence_id
        elif answer.status_code != 201:
            assert_problem(answer, 409, "upload-state")
    assert counts(api)["evidence"] == 1
    row = session_row(api, upload["id"])
    assert row.status == UploadStatus.completed and row.evidence_id == evidence_id


def _claim_for(api: Api, upload_id: str, evidence_id: str, age: timedelta) -> None:
    """What a replica that claimed the completion and died ``age`` ago leaves behind."""
    with Session(api.services.engine) as session:
        session.execute(
            update(UploadSession)
            .where(col(UploadSession.id) == upload_id)
            .values(evidence_id=evidence_id, updated_at=api.services.clock() - age)
        )
        session.commit()


def test_a_dead_completion_is_taken_over_after_its_lease(api: Api, replica: TestClient) -> None:
    data = video(200_000)
    upload = create(api, data)
    assert patch(api.client, api, upload["id"], 0, data).status_code == 200
    dead = "01J00000000000000000000DED"
    _claim_for(api, upload["id"], dead, timedelta(seconds=1))
    busy = complete(replica, api, upload["id"])  # the claim is fresh: someone is completing
    body = assert_problem(busy, 409, "upload-state")
    assert body["status_value"] == "completing"
    assert_problem(patch(replica, api, upload["id"], len(data), b"x"), 409, "upload-state")
    assert_problem(
        replica.delete(f"/api/v1/uploads/{upload['id']}", headers=api.auth()), 409, "upload-state"
    )
    _claim_for(api, upload["id"], dead, timedelta(seconds=COMPLETION_LEASE_SECONDS + 1))
    done = complete(replica, api, upload["id"])
    assert done.status_code == 201, done.text
    assert done.json()["id"] != dead and done.json()["sha256"] == sha256(data)
    assert counts(api)["evidence"] == 1
    # The dead replica's capture, had it come back, could not commit: its claim is gone.
    with Session(api.services.engine) as session:
        late = Evidence.model_construct(id=dead, upload_session_id=upload["id"])
        with pytest.raises(UploadStateError):
            settle_upload_session(session, late, api.services.clock())
        session.rollback()


def test_a_store_outage_at_completion_leaves_the_upload_open(
    api: Api, replica: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = video(200_000)
    upload = create(api, data)
    assert patch(api.client, api, upload["id"], 0, data).status_code == 200

    def unavailable(*args: object, **kwargs: object) -> None:
        raise StorageError("the store is down")

    monkeypatch.setattr(api.services.store, "complete_multipart", unavailable)
    monkeypatch.setattr(api.services.store, "stat", unavailable)
    down = complete(api.client, api, upload["id"])
    assert_problem(down, 503, "store-unavailable")
    row = session_row(api, upload["id"])
    assert row.status == UploadStatus.open and row.evidence_id is None  # no claim left behind
    done = complete(replica, api, upload["id"])  # at once, on another replica
    assert done.status_code == 201, done.text
    assert done.json()["sha256"] == sha256(data) and counts(api)["evidence"] == 1
