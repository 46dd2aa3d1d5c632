"""Client-held keys over tus: ``prepared_id`` and ``signature`` in ``Upload-Metadata``. The
signature and the declared size, metadata and SHA-256 are checked at creation, before a byte is
taken; the final PATCH checks the signature again and makes the item under the prepared id, or
refuses bytes that do not give the signed statement and ends the upload with nothing kept. A
prepared capture is held by one upload and used once. A stock client (tuspy) against a real
server on each backend."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlmodel import Session, func, select
from tusclient.client import TusClient

from evidence_service.access.models import OfficerCertificate
from evidence_service.capture.models import PreparedCapture, UploadSession, UploadStatus
from signing.keys import generate_private_key, public_key_pem
from signing.statements import StatementSignature, verify_statement
from tests.fixtures.live_server import LiveServer
from tests.fixtures.service import Api
from tests.service.capture.test_client_signing import officer_key, prepare, sign
from tests.service.capture.test_tus import (
    ENDPOINT,
    METADATA,
    TUS,
    KiB,
    MiB,
    head,
    metadata_header,
    patch,
    video,
)
from tests.service.helpers import assert_problem, counts, sha256, sm3, stored_keys

VIDEO = {"port": "remote_video", "metadata": json.dumps(METADATA), "media_type": "video/mp4"}


def signed_for(api: Api, data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """A prepared capture of ``data`` and the officer's signature over its statement, made
    with a key of their own (the service then holds no key it could sign for them with)."""
    key, cert = officer_key(api)
    prepared = prepare(api, data, **VIDEO)
    return prepared, sign(prepared, key, cert, api.users["officer"]["id"])


def declare_signed(
    api: Api,
    length: int,
    prepared_id: str,
    signature: dict[str, Any] | str,
    role: str = "officer",
    **fields: str,
) -> httpx.Response:
    text = signature if isinstance(signature, str) else json.dumps(signature)
    values = {
        "port": "remote_video",
        "metadata": json.dumps(METADATA),
        "filename": "call.mp4",
        "prepared_id": prepared_id,
        "signature": text,
        **fields,
    }
    return api.client.post(
        ENDPOINT,
        headers={
            **api.auth(role),
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": metadata_header(**{k: v for k, v in values.items() if v}),
        },
    )


def sessions(api: Api) -> int:
    with Session(api.services.engine) as db:
        return db.exec(select(func.count()).select_from(UploadSession)).one()


def assert_nothing_kept(api: Api, before: dict[str, int]) -> None:
    """No item, derived file or custody event beyond ``before``, and no object in the store."""
    assert counts(api) == before
    assert stored_keys(api) == []


def test_a_client_signed_capture_over_tus(api: Api) -> None:
    data = video(2 * MiB + 777)
    prepared, signature = signed_for(api, data)
    created = declare_signed(api, len(data), prepared["prepared_id"], signature)
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    half = len(data) // 2
    assert patch(api, url, 0, data[:half]).status_code == 204
    assert head(api, url).headers.get("evidence-id") is None
    done = patch(api, url, half, data[half:])
    assert done.status_code == 204, done.text
    assert done.headers["evidence-id"] == prepared["prepared_id"]
    proof = api.client.get(f"/api/v1/evidence/{prepared['prepared_id']}/proof", headers=api.auth())
    assert proof.status_code == 200, proof.text
    assert proof.json()["statement"] == prepared["statement"]
    assert proof.json()["signature"] == signature
    content = api.client.get(
        f"/api/v1/evidence/{prepared['prepared_id']}/content", headers=api.auth()
    )
    assert sha256(content.content) == sha256(data)
    again = patch(api, url, len(data), b"")  # the final PATCH again: the same item
    assert again.status_code == 204 and again.headers["evidence-id"] == prepared["prepared_id"]
    assert counts(api)["evidence"] == 1


def test_refused_at_creation_with_nothing_written(api: Api) -> None:
    data = video(300 * KiB)
    prepared, signature = signed_for(api, data)
    prepared_id = prepared["prepared_id"]
    other = prepare(api, data, **VIDEO)  # a signature over another statement
    key, cert = officer_key(api)
    elsewhere = sign(other, key, cert, api.users["officer"]["id"])
    before = counts(api)
    refusals = [
        (declare_signed(api, len(data), prepared_id, elsewhere), 422, "bad-signature"),
        (declare_signed(api, len(data), prepared_id, '{"alg": "Ed25519"}'), 422, "bad-signature"),
        (declare_signed(api, len(data), prepared_id, "not json"), 422, "bad-signature"),
        (declare_signed(api, len(data) + 1, prepared_id, signature), 422, "statement-mismatch"),
        (
            declare_signed(
                api, len(data), prepared_id, signature, metadata=json.dumps({"title": "别的"})
            ),
            422,
            "statement-mismatch",
        ),
        (
            declare_signed(api, len(data), prepared_id, signature, sha256="ab" * 32),
            422,
            "statement-mismatch",
        ),
        (
            declare_signed(api, len(data), prepared_id, signature, port="documentary"),
            409,
            "prepared-capture",
        ),
        (declare_signed(api, len(data), prepared_id, signature, role="reviewer"), 404, "not-found"),
        (declare_signed(api, len(data), "01JZZZZZZZZZZZZZZZZZZZZZZZ", signature), 404, "not-found"),
        (declare_signed(api, len(data), "../01JZZ", signature), 400, "bad-request"),
        (declare_signed(api, len(data), prepared_id, ""), 400, "bad-request"),  # half of it
    ]
    for response, status, slug in refusals:
        body = assert_problem(response, status, slug)
        assert response.headers["tus-resumable"] == "1.0.0"
        if slug == "statement-mismatch":
            assert len(body["fields"]) == 1
    assert sessions(api) == 0
    assert_nothing_kept(api, before)
    with Session(api.services.engine) as db:  # nothing held: the prepared capture stays usable
        held = db.get(PreparedCapture, prepared_id)
    assert held is not None and held.expires_at == datetime.fromisoformat(prepared["expires_at"])
    assert declare_signed(api, len(data), prepared_id, signature).status_code == 201


def test_a_revoked_certificate_is_refused_at_creation_and_at_completion(api: Api) -> None:
    data = video(300 * KiB)
    prepared, signature = signed_for(api, data)
    url = declare_signed(api, len(data), prepared["prepared_id"], signature).headers["location"]
    assert patch(api, url, 0, data[:KiB]).status_code == 204
    with Session(api.services.engine) as db:
        serial = db.exec(select(OfficerCertificate.serial)).one()
    revoked = api.client.post(f"/api/v1/certificates/{serial}/revoke", headers=api.auth("admin"))
    assert revoked.status_code == 200, revoked.text
    before = counts(api)
    refused = assert_problem(patch(api, url, KiB, data[KiB:]), 422, "bad-signature")
    assert refused["reason"] == "revoked"
    assert head(api, url).status_code == 410  # ended: no PATCH could complete it
    again = declare_signed(api, len(data), prepared["prepared_id"], signature)
    assert assert_problem(again, 422, "bad-signature")["reason"] == "revoked"
    assert counts(api)["evidence"] == before["evidence"] == 0
    assert stored_keys(api) == []


def test_bytes_that_do_not_give_the_signed_statement_are_refused_at_completion(api: Api) -> None:
    data = video(300 * KiB)
    prepared, signature = signed_for(api, data)
    forged = data[:-100] + bytes(100)  # the same length, other bytes
    url = declare_signed(api, len(data), prepared["prepared_id"], signature).headers["location"]
    assert patch(api, url, 0, forged[: 100 * KiB]).status_code == 204
    before = counts(api)
    refused = patch(api, url, 100 * KiB, forged[100 * KiB :])
    body = assert_problem(refused, 422, "statement-mismatch")
    assert "sha256" in body["fields"]
    assert refused.headers["tus-resumable"] == "1.0.0"
    assert head(api, url).status_code == 410
    assert_problem(patch(api, url, len(data), b""), 410, "upload-gone")
    assert_nothing_kept(api, before)
    with Session(api.services.engine) as db:
        upload = db.get(UploadSession, url.rsplit("/", 1)[1])
    assert upload is not None and upload.status == UploadStatus.aborted
    # The prepared capture is still there for the right bytes, in a new upload.
    retry = declare_signed(api, len(data), prepared["prepared_id"], signature)
    assert retry.status_code == 201, retry.text
    done = patch(api, retry.headers["location"], 0, data)
    assert done.status_code == 204, done.text
    assert done.headers["evidence-id"] == prepared["prepared_id"]


def test_a_prepared_capture_is_held_by_one_upload_and_used_once(api: Api) -> None:
    data = video(300 * KiB)
    prepared, signature = signed_for(api, data)
    prepared_id = prepared["prepared_id"]
    first = declare_signed(api, len(data), prepared_id, signature)
    assert first.status_code == 201, first.text
    upload_id = first.json()["id"]
    with Session(api.services.engine) as db:  # kept as long as the upload that carries it
        upload = db.get(UploadSession, upload_id)
        held = db.get(PreparedCapture, prepared_id)
    assert upload is not None and held is not None
    assert upload.prepared_id == prepared_id and upload.signature == signature
    assert held.expires_at == upload.expires_at
    assert_problem(declare_signed(api, len(data), prepared_id, signature), 409, "prepared-capture")
    assert sessions(api) == 1
    # The other protocol may carry the bytes but not make the item: only tus checks signatures.
    appended = api.client.patch(
        f"/api/v1/uploads/{upload_id}",
        content=data,
        headers={**api.auth(), "Upload-Offset": "0", "Content-Type": "application/octet-stream"},
    )
    assert appended.status_code == 200, appended.text
    completed = api.client.post(f"/api/v1/uploads/{upload_id}/complete", headers=api.auth())
    assert_problem(completed, 409, "upload-state")
    done = patch(api, first.headers["location"], len(data), b"")
    assert done.status_code == 204, done.text
    assert done.headers["evidence-id"] == prepared_id
    assert_problem(declare_signed(api, len(data), prepared_id, signature), 404, "not-found")
    assert sessions(api) == 1 and counts(api)["evidence"] == 1


def test_a_terminated_upload_lets_the_prepared_capture_go(api: Api) -> None:
    data = video(300 * KiB)
    prepared, signature = signed_for(api, data)
    url = declare_signed(api, len(data), prepared["prepared_id"], signature).headers["location"]
    assert api.client.delete(url, headers={**api.auth(), **TUS}).status_code == 204
    retry = declare_signed(api, len(data), prepared["prepared_id"], signature)
    assert retry.status_code == 201, retry.text
    done = patch(api, retry.headers["location"], 0, data)
    assert done.headers["evidence-id"] == prepared["prepared_id"]


@pytest.mark.parametrize("live_server", ["sqlite-local", "postgres-minio"], indirect=True)
def test_tuspy_uploads_a_client_signed_capture(live_server: LiveServer) -> None:
    """Stock tuspy, 1 MiB PATCHes (on MinIO kept aside until they make a 5 MiB part)."""
    data = video(6 * MiB + 4321)
    url, auth = live_server.url, live_server.auth()
    officer_id = live_server.users["officer"]["id"]
    key = generate_private_key("Ed25519")
    issued = httpx.post(
        f"{url}/api/v1/officers/{officer_id}/certificates",
        json={"public_key_pem": public_key_pem(key.public_key()).decode()},
        headers=live_server.auth("admin"),
    )
    assert issued.status_code == 201, issued.text
    answer = httpx.post(
        f"{url}/api/v1/evidence/prepare",
        json={
            "port": "remote_video",
            "metadata": json.dumps(METADATA),
            "sha256": sha256(data),
            "sm3": sm3(data),
            "size": len(data),
            "media_type": "video/mp4",
        },
        headers=auth,
    )
    assert answer.status_code == 201, answer.text
    prepared = answer.json()
    signature = sign(prepared, key, issued.json()["certificate"], officer_id)

    uploader = TusClient(url + ENDPOINT, headers=auth).uploader(
        file_stream=io.BytesIO(data),
        chunk_size=MiB,
        metadata={
            "port": "remote_video",
            "metadata": json.dumps(METADATA),
            "filename": "call.mp4",
            "prepared_id": prepared["prepared_id"],
            "signature": json.dumps(signature),
        },
        upload_checksum=True,
    )
    uploader.upload()
    assert uploader.offset == len(data) and uploader.url is not None
    state = httpx.head(uploader.url, headers={**auth, **TUS})
    assert state.headers["evidence-id"] == prepared["prepared_id"]

    proof = httpx.get(f"{url}/api/v1/evidence/{prepared['prepared_id']}/proof", headers=auth)
    assert proof.status_code == 200, proof.text
    statement, block = proof.json()["statement"], proof.json()["signature"]
    assert statement == prepared["statement"] and statement["sha256"] == sha256(data)
    trust = httpx.get(f"{url}/api/v1/trust").json()
    identity = verify_statement(
        statement,
        StatementSignature.from_json(block),
        trusted_cas=[pem.encode() for pem in trust["ca_certificates"]],
        crls=[pem.encode() for pem in trust.get("crls", [])],
        at=datetime.now(UTC),
    )
    assert identity is not None
    content = httpx.get(f"{url}/api/v1/evidence/{prepared['prepared_id']}/content", headers=auth)
    assert sha256(content.content) == sha256(data)
