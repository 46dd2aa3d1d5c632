"""tus 1.0 uploads at /api/v1/tus/: discovery, creation, PATCHes of any size (bytes short of an
S3 part kept aside until the next PATCH), resume by HEAD, checksums, termination, completion
in the final PATCH, the refusals; and a stock client (tuspy) against a real server."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os

import httpx
import pytest
from sqlmodel import Session, col, func, select
from tusclient.client import TusClient

from evidence_service.capture.models import TusPendingBytes, UploadChunk, UploadSession
from evidence_service.capture.tus import purge_settled
from tests import samples
from tests.fixtures.live_server import LiveServer
from tests.fixtures.service import Api
from tests.service.helpers import assert_nothing_written, assert_problem, counts, sha256

KiB, MiB = 1024, 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
ENDPOINT = "/api/v1/tus/"
METADATA = {"title": "远程视频取证"}


def video(size: int) -> bytes:
    head = samples.mp4(64 * KiB)
    return head + os.urandom(size - len(head))


def b64(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode()


def metadata_header(**fields: str) -> str:
    return ",".join(f"{key} {b64(value)}" for key, value in fields.items())


def declare(api: Api, length: int, **headers: str) -> httpx.Response:
    fields = {"port": "remote_video", "metadata": json.dumps(METADATA), "filename": "call.mp4"}
    return api.client.post(
        ENDPOINT,
        headers={
            **api.auth(),
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": metadata_header(**fields),
            **headers,
        },
    )


def create(api: Api, data: bytes) -> str:
    response = declare(api, len(data))
    assert response.status_code == 201, response.text
    assert response.headers["tus-resumable"] == "1.0.0"
    location = response.headers["location"]
    assert location == f"/api/v1/tus/{response.json()['id']}"
    return location


def patch(api: Api, url: str, offset: int, chunk: bytes, **headers: str) -> httpx.Response:
    return api.client.patch(
        url,
        content=chunk,
        headers={
            **api.auth(),
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **headers,
        },
    )


def head(api: Api, url: str) -> httpx.Response:
    return api.client.head(url, headers={**api.auth(), **TUS})


def checksum(algorithm: str, chunk: bytes) -> str:
    return f"{algorithm} {b64(hashlib.new(algorithm, chunk).digest())}"


def offset_of(api: Api, url: str) -> int:
    response = head(api, url)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return int(response.headers["upload-offset"])


def pending_rows(api: Api) -> int:
    with Session(api.services.engine) as db:
        return db.exec(select(func.count()).select_from(TusPendingBytes)).one()


def assert_evidence_is(api: Api, evidence_id: str, data: bytes) -> None:
    content = api.client.get(f"/api/v1/evidence/{evidence_id}/content", headers=api.auth())
    assert content.status_code == 200, content.text
    assert sha256(content.content) == sha256(data)
    item = api.client.get(f"/api/v1/evidence/{evidence_id}", headers=api.auth()).json()
    assert item["sha256"] == sha256(data) and item["size"] == len(data)
    assert item["port"] == "remote_video" and item["title"] == METADATA["title"]
    assert counts(api)["evidence"] == 1


def test_options_tells_what_the_server_supports(api: Api) -> None:
    response = api.client.options(ENDPOINT)  # no token needed
    assert response.status_code == 204, response.text
    assert response.headers["tus-version"] == "1.0.0"
    assert response.headers["tus-resumable"] == "1.0.0"
    assert response.headers["tus-extension"] == "creation,checksum,termination"
    assert response.headers["tus-max-size"] == str(api.services.settings.max_upload_bytes)
    assert response.headers["tus-checksum-algorithm"] == "sha1,sha256"


def test_create_and_patch_in_one_go(api: Api) -> None:
    data = video(256 * KiB + 7)
    url = create(api, data)
    assert offset_of(api, url) == 0
    assert head(api, url).headers["upload-length"] == str(len(data))
    done = patch(api, url, 0, data)
    assert done.status_code == 204, done.text
    assert done.headers["upload-offset"] == str(len(data))
    assert done.headers["tus-resumable"] == "1.0.0"
    evidence_id = done.headers["evidence-id"]
    assert_evidence_is(api, evidence_id, data)
    after = head(api, url)  # completed: offset == length, and the item's id
    assert after.status_code == 200
    assert after.headers["upload-offset"] == after.headers["upload-length"] == str(len(data))
    assert after.headers["evidence-id"] == evidence_id
    again = patch(api, url, len(data), b"")  # the final PATCH again (its answer was lost)
    assert again.status_code == 204 and again.headers["evidence-id"] == evidence_id
    assert counts(api)["evidence"] == 1


def test_many_small_patches_resume_after_a_dropped_answer(api: Api) -> None:
    """64 KiB PATCHes: on MinIO they are kept aside until they make a 5 MiB part."""
    size = 12 * MiB + 12345 if api.backend == "postgres-minio" else 2 * MiB + 12345
    data = video(size)
    url = create(api, data)
    step, offset, dropped = 64 * KiB, 0, False
    while offset < len(data):
        chunk = data[offset : offset + step]
        if not dropped and offset >= len(data) // 2:
            # The answer is lost: the client sends the chunk again, is told where it stands,
            # asks with HEAD (on another replica, without this one's running digests), resumes.
            dropped = True
            assert patch(api, url, offset, chunk).status_code == 204
            stale = patch(api, url, offset, chunk)
            body = assert_problem(stale, 409, "offset-conflict")
            assert body["offset"] == offset + len(chunk)
            assert stale.headers["upload-offset"] == str(offset + len(chunk))
            api.services.uploads._live.clear()
            offset = offset_of(api, url)
            continue
        response = patch(api, url, offset, chunk)
        assert response.status_code == 204, response.text
        offset += len(chunk)
        assert int(response.headers["upload-offset"]) == offset
        if offset == 10 * step and api.backend == "postgres-minio":
            assert pending_rows(api) == 10  # short of a part: kept aside, counted in the offset
            assert offset_of(api, url) == offset
    assert dropped
    evidence_id = response.headers["evidence-id"]
    assert_evidence_is(api, evidence_id, data)
    assert pending_rows(api) == 0
    with Session(api.services.engine) as db:
        parts = db.exec(select(UploadChunk.size).order_by(col(UploadChunk.part_number))).all()
    assert sum(parts) == len(data)
    minimum = api.services.store.min_part_size
    assert all(part >= minimum for part in parts[:-1])
    if api.backend == "postgres-minio":
        assert len(parts) == 3  # 5 MiB, 5 MiB and the rest, from 193 PATCHes


def test_checksums(api: Api) -> None:
    data = video(6 * MiB + 1000)
    small, large = data[: 64 * KiB], data[64 * KiB : 6 * MiB]
    url = create(api, data)
    assert (
        patch(api, url, 0, small, **{"Upload-Checksum": checksum("sha1", small)}).status_code == 204
    )
    wrong = {"Upload-Checksum": checksum("sha256", b"something else")}
    for chunk in (data[64 * KiB : 65 * KiB], large):  # kept aside (on MinIO), or a part
        refused = patch(api, url, 64 * KiB, chunk, **wrong)
        assert_problem(refused, 460, "checksum-mismatch")
        assert refused.headers["tus-resumable"] == "1.0.0"
        assert offset_of(api, url) == 64 * KiB
    unknown = patch(api, url, 64 * KiB, large, **{"Upload-Checksum": "md5 " + b64(b"0" * 16)})
    assert_problem(unknown, 400, "bad-request")
    kept = patch(api, url, 64 * KiB, large, **{"Upload-Checksum": checksum("sha256", large)})
    assert kept.status_code == 204, kept.text
    assert kept.headers["upload-offset"] == str(6 * MiB)
    tail = data[6 * MiB :]
    bad_tail = patch(api, url, 6 * MiB, tail, **{"Upload-Checksum": checksum("sha1", b"x")})
    assert_problem(bad_tail, 460, "checksum-mismatch")
    assert offset_of(api, url) == 6 * MiB and counts(api)["evidence"] == 0
    done = patch(api, url, 6 * MiB, tail, **{"Upload-Checksum": checksum("sha1", tail)})
    assert done.status_code == 204, done.text
    assert_evidence_is(api, done.headers["evidence-id"], data)


def test_protocol_refusals(api: Api) -> None:
    data = video(200 * KiB)
    url = create(api, data)
    wrong = patch(api, url, 10, data[10:20])
    body = assert_problem(wrong, 409, "offset-conflict")
    assert body["offset"] == 0 and wrong.headers["upload-offset"] == "0"
    no_version = api.client.patch(
        url,
        content=data,
        headers={
            **api.auth(),
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert_problem(no_version, 412, "tus-version")
    assert no_version.headers["tus-version"] == "1.0.0"
    media = patch(api, url, 0, data, **{"Content-Type": "application/octet-stream"})
    assert_problem(media, 415, "offset-media-type")
    too_long = patch(api, url, 0, data + b"more")
    assert_problem(too_long, 413, "oversize")
    no_head_version = api.client.head(url, headers=api.auth())
    assert no_head_version.status_code == 412
    assert offset_of(api, url) == 0
    before = counts(api)
    assert_problem(api.client.post(ENDPOINT, headers=api.auth()), 412, "tus-version")
    deferred = declare(api, 10, **{"Upload-Defer-Length": "1"})
    assert_problem(deferred, 400, "bad-request")
    over = declare(api, api.services.settings.max_upload_bytes + 1)
    assert_problem(over, 413, "oversize")
    assert_problem(patch(api, "/api/v1/tus/01JZZZZZZZZZZZZZZZZZZZZZZZ", 0, b"x"), 404, "not-found")
    assert counts(api) == before


@pytest.mark.parametrize(
    ("metadata", "status", "slug"),
    [
        ({"metadata": json.dumps(METADATA)}, 400, "bad-request"),  # no port
        ({"port": "remote_video"}, 400, "bad-request"),  # no metadata
        ({"port": "no_such_port", "metadata": json.dumps(METADATA)}, 422, "unknown-port"),
        ({"port": "remote_video", "metadata": "{not json"}, 422, "bad-metadata"),
        ({"port": "remote_video", "metadata": "[]"}, 422, "bad-metadata"),
        (
            {"port": "remote_video", "metadata": json.dumps(METADATA), "filename": "../x.mp4"},
            422,
            "path-traversal",
        ),
        (
            {"port": "remote_video", "metadata": json.dumps(METADATA), "sha256": "abc"},
            400,
            "bad-request",
        ),
        (
            {
                "port": "remote_video",
                "metadata": json.dumps(METADATA),
                "prepared_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
                "signature": "{}",
            },
            404,
            "not-found",
        ),
        (
            {
                "port": "remote_video",
                "metadata": json.dumps(METADATA),
                "prepared_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
            },
            400,
            "bad-request",
        ),
    ],
)
def test_bad_metadata_writes_nothing(
    api: Api, metadata: dict[str, str], status: int, slug: str
) -> None:
    response = api.client.post(
        ENDPOINT,
        headers={
            **api.auth(),
            **TUS,
            "Upload-Length": "100",
            "Upload-Metadata": metadata_header(**metadata),
        },
    )
    assert_problem(response, status, slug)
    assert response.headers["tus-resumable"] == "1.0.0"
    assert_nothing_written(api)
    with Session(api.services.engine) as db:
        assert db.exec(select(func.count()).select_from(UploadSession)).one() == 0


def test_malformed_metadata_header_is_refused(api: Api) -> None:
    for value in ("port !!notbase64!!", "port cmVtb3Rl,port cmVtb3Rl", "port cmVtb3Rl,,x eA=="):
        response = declare(api, 100, **{"Upload-Metadata": value})
        assert_problem(response, 400, "bad-request")
    assert_nothing_written(api)


def test_termination(api: Api) -> None:
    data = video(1 * MiB)
    url = create(api, data)
    assert patch(api, url, 0, data[: 64 * KiB]).status_code == 204
    terminated = api.client.delete(url, headers={**api.auth(), **TUS})
    assert terminated.status_code == 204, terminated.text
    assert terminated.headers["tus-resumable"] == "1.0.0"
    assert pending_rows(api) == 0
    assert head(api, url).status_code == 410
    assert_problem(patch(api, url, 64 * KiB, data[64 * KiB :]), 410, "upload-gone")
    assert_problem(api.client.delete(url, headers={**api.auth(), **TUS}), 410, "upload-gone")
    assert counts(api)["evidence"] == 0
    other = api.client.delete(url, headers={**api.auth("reviewer"), **TUS})
    assert other.status_code == 404  # another officer's upload is not there for them


def test_purge_settled_drops_what_nothing_needs(api: Api) -> None:
    if api.services.store.min_part_size == 1:
        pytest.skip("local disk takes every PATCH as a part: nothing is kept aside")
    data = video(1 * MiB)
    url = create(api, data)
    assert patch(api, url, 0, data[: 64 * KiB]).status_code == 204
    assert purge_settled(api.services.engine) == 0  # the open upload needs its bytes
    assert pending_rows(api) == 1 and offset_of(api, url) == 64 * KiB
    upload_id = url.rsplit("/", 1)[1]  # ended by the other protocol: its rows stay behind
    assert api.client.delete(f"/api/v1/uploads/{upload_id}", headers=api.auth()).status_code == 200
    assert pending_rows(api) == 1
    assert purge_settled(api.services.engine) == 1 and pending_rows(api) == 0


def test_tuspy_uploads_to_a_real_server(live_server: LiveServer) -> None:
    data = video(3 * MiB + 4321)
    auth = live_server.auth()
    client = TusClient(live_server.url + ENDPOINT, headers=auth)
    uploader = client.uploader(
        file_stream=io.BytesIO(data),
        chunk_size=MiB,
        metadata={"port": "remote_video", "metadata": json.dumps(METADATA), "filename": "a.mp4"},
        upload_checksum=True,
    )
    uploader.upload()
    assert uploader.offset == len(data) and uploader.url is not None
    state = httpx.head(uploader.url, headers={**auth, **TUS})
    assert state.status_code == 200, state.text
    evidence_id = state.headers["evidence-id"]
    item = httpx.get(f"{live_server.url}/api/v1/evidence/{evidence_id}", headers=auth)
    assert item.status_code == 200, item.text
    assert item.json()["sha256"] == sha256(data) and item.json()["size"] == len(data)
    content = httpx.get(f"{live_server.url}/api/v1/evidence/{evidence_id}/content", headers=auth)
    assert sha256(content.content) == sha256(data)
