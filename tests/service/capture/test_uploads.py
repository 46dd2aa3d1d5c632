"""Resumable uploads: offsets, conflicts, the chunk hash chain, completion, abort, lost state."""

from __future__ import annotations

import hashlib
import os

import httpx
from sqlmodel import Session, col, select

from evidence_service.capture.models import UploadChunk
from evidence_service.capture.uploads import CHAIN_GENESIS
from tests import samples
from tests.fixtures.service import Api
from tests.service.helpers import assert_problem, counts, sha256, sm3, stored_keys

MiB = 1024 * 1024


def video(size: int) -> bytes:
    head = samples.mp4(64 * 1024)
    return head + os.urandom(size - len(head))


def create(api: Api, data: bytes, port: str = "remote_video", **extra: object) -> dict:
    payload = {
        "port": port,
        "metadata": {"title": "远程视频取证"},
        "filename": "call.mp4",
        "total_size": len(data),
        "sha256": sha256(data),
        **extra,
    }
    response = api.client.post("/api/v1/uploads", json=payload, headers=api.auth())
    assert response.status_code == 201, response.text
    assert response.headers["upload-offset"] == "0"
    return dict(response.json())


def patch(api: Api, upload_id: str, offset: int, chunk: bytes, **headers: str) -> httpx.Response:
    return api.client.patch(
        f"/api/v1/uploads/{upload_id}",
        content=chunk,
        headers={
            **api.auth(),
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **headers,
        },
    )


def chunks_of(data: bytes) -> list[bytes]:
    return [data[: 5 * MiB], data[5 * MiB : 10 * MiB], data[10 * MiB :]]


def test_resumable_upload_with_chunk_chain(api: Api) -> None:
    data = video(10 * MiB + 4096)
    session = create(api, data)
    offset = 0
    for i, chunk in enumerate(chunks_of(data)):
        if i == 1:  # a client that lost track of the offset is told where to resume
            stale = patch(api, session["id"], 0, chunk)
            body = assert_problem(stale, 409, "offset-conflict")
            assert body["offset"] == offset and stale.headers["upload-offset"] == str(offset)
        response = patch(api, session["id"], offset, chunk)
        assert response.status_code == 200, response.text
        offset += len(chunk)
        assert response.headers["upload-offset"] == str(offset)
        head = api.client.head(f"/api/v1/uploads/{session['id']}", headers=api.auth())
        assert head.headers["upload-offset"] == str(offset)
        assert head.headers["upload-length"] == str(len(data))
    done = api.client.post(f"/api/v1/uploads/{session['id']}/complete", headers=api.auth())
    assert done.status_code == 201, done.text
    evidence = done.json()
    assert evidence["sha256"] == sha256(data) and evidence["sm3"] == sm3(data)
    assert evidence["size"] == len(data) and evidence["media_type"] == "video/mp4"
    expected = CHAIN_GENESIS
    for chunk in chunks_of(data):
        expected = hashlib.sha256(
            bytes.fromhex(expected) + hashlib.sha256(chunk).digest()
        ).hexdigest()
    assert evidence["chunk_chain"] == {"count": 3, "head": expected}
    with Session(api.services.engine) as db:
        rows = db.exec(
            select(UploadChunk)
            .where(UploadChunk.session_id == session["id"])
            .order_by(col(UploadChunk.part_number))
        ).all()
    assert [r.offset for r in rows] == [0, 5 * MiB, 10 * MiB]
    assert rows[-1].chain_hash == expected
    content = api.client.get(f"/api/v1/evidence/{evidence['id']}/content", headers=api.auth())
    assert content.content == data
    again = api.client.post(f"/api/v1/uploads/{session['id']}/complete", headers=api.auth())
    assert again.status_code == 200 and again.json()["id"] == evidence["id"]
    assert counts(api)["evidence"] == 1
    custody = api.client.get(f"/api/v1/evidence/{evidence['id']}/custody", headers=api.auth())
    assert custody.json()["events"][0]["details"]["chunk_chain"]["head"] == expected


def test_completion_after_lost_process_state_rehashes(api: Api) -> None:
    data = video(5 * MiB + 100)
    session = create(api, data)
    assert patch(api, session["id"], 0, data[: 5 * MiB]).status_code == 200
    api.services.uploads._live.clear()  # what a restart (or another replica) looks like
    assert patch(api, session["id"], 5 * MiB, data[5 * MiB :]).status_code == 200
    done = api.client.post(f"/api/v1/uploads/{session['id']}/complete", headers=api.auth())
    assert done.status_code == 201, done.text
    assert done.json()["sha256"] == sha256(data) and done.json()["sm3"] == sm3(data)


def test_incomplete_upload_cannot_complete_but_can_resume(api: Api) -> None:
    data = video(5 * MiB + 10)
    session = create(api, data)
    assert patch(api, session["id"], 0, data[: 5 * MiB]).status_code == 200
    early = api.client.post(f"/api/v1/uploads/{session['id']}/complete", headers=api.auth())
    assert_problem(early, 400, "truncated-upload")
    assert patch(api, session["id"], 5 * MiB, data[5 * MiB :]).status_code == 200
    done = api.client.post(f"/api/v1/uploads/{session['id']}/complete", headers=api.auth())
    assert done.status_code == 201


def test_wrong_chunk_hash_is_refused_and_can_be_resent(api: Api) -> None:
    data = video(5 * MiB + 10)
    session = create(api, data)
    bad = patch(api, session["id"], 0, data[: 5 * MiB], **{"X-Content-SHA256": "00" * 32})
    assert_problem(bad, 422, "hash-mismatch")
    head = api.client.head(f"/api/v1/uploads/{session['id']}", headers=api.auth())
    assert head.headers["upload-offset"] == "0"
    ok = patch(
        api, session["id"], 0, data[: 5 * MiB], **{"X-Content-SHA256": sha256(data[: 5 * MiB])}
    )
    assert ok.status_code == 200
    assert patch(api, session["id"], 5 * MiB, data[5 * MiB :]).status_code == 200
    done = api.client.post(f"/api/v1/uploads/{session['id']}/complete", headers=api.auth())
    assert done.status_code == 201 and done.json()["sha256"] == sha256(data)


def test_declared_hash_mismatch_at_completion_keeps_nothing(api: Api) -> None:
    data = video(200_000)
    session = create(api, data, sha256="11" * 32)
    assert patch(api, session["id"], 0, data).status_code == 200
    done = api.client.post(f"/api/v1/uploads/{session['id']}/complete", headers=api.auth())
    assert_problem(done, 422, "hash-mismatch")
    assert counts(api)["evidence"] == 0
    assert stored_keys(api) == []
    state = api.client.get(f"/api/v1/uploads/{session['id']}", headers=api.auth()).json()
    assert state["status"] == "aborted"


def test_wrong_media_type_found_at_completion_keeps_nothing(api: Api) -> None:
    data = samples.pdf()
    session = create(api, data, port="audiovisual")
    response = patch(api, session["id"], 0, data)
    if response.status_code == 200:  # the local store takes it; the port judges at completion
        done = api.client.post(f"/api/v1/uploads/{session['id']}/complete", headers=api.auth())
        assert_problem(done, 415, "wrong-media-type")
    else:
        assert_problem(response, 415, "wrong-media-type")
    assert counts(api)["evidence"] == 0


def test_short_chunk_is_final(api: Api) -> None:
    data = video(300_000)
    session = create(api, data, total_size=None, sha256=None)
    assert patch(api, session["id"], 0, data[:100_000]).status_code == 200
    second = patch(api, session["id"], 100_000, data[100_000:])
    if api.services.store.min_part_size > 100_000:  # S3: a short part must be the last one
        assert_problem(second, 409, "upload-state")
    else:
        assert second.status_code == 200


def test_abort_discards(api: Api) -> None:
    data = video(5 * MiB + 10)
    session = create(api, data)
    assert patch(api, session["id"], 0, data[: 5 * MiB]).status_code == 200
    aborted = api.client.delete(f"/api/v1/uploads/{session['id']}", headers=api.auth())
    assert aborted.status_code == 200 and aborted.json()["status"] == "aborted"
    assert stored_keys(api) == []
    late = patch(api, session["id"], 5 * MiB, data[5 * MiB :])
    assert_problem(late, 409, "upload-state")


def test_sessions_are_private_to_their_officer(api: Api) -> None:
    session = create(api, video(100_000))
    other = api.client.head(f"/api/v1/uploads/{session['id']}", headers=api.auth("reviewer"))
    assert other.status_code == 404


def test_bad_session_requests(api: Api) -> None:
    bad_port = api.client.post(
        "/api/v1/uploads", json={"port": "x", "metadata": {"title": "t"}}, headers=api.auth()
    )
    assert_problem(bad_port, 422, "unknown-port")
    bad_meta = api.client.post(
        "/api/v1/uploads", json={"port": "audiovisual", "metadata": {}}, headers=api.auth()
    )
    assert_problem(bad_meta, 422, "bad-metadata")
    traversal = api.client.post(
        "/api/v1/uploads",
        json={"port": "audiovisual", "metadata": {"title": "t"}, "filename": "../x"},
        headers=api.auth(),
    )
    assert_problem(traversal, 422, "path-traversal")
