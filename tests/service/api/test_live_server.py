"""Against a real server process: kill mid-upload, dropped connections, memory of a 2 GiB upload."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from sqlmodel import Session, select

from evidence_service.capture.models import Evidence
from evidence_service.core.config import Settings
from evidence_service.core.db import make_engine
from tests import samples
from tests.fixtures.live_server import LiveServer

MiB = 1024 * 1024


def raw_partial_upload(
    server: LiveServer,
    body_head: bytes,
    declared_length: int,
    content_type: str,
    path: str = "/api/v1/evidence",
    method: str = "POST",
    extra: str = "",
) -> socket.socket:
    """Send request headers and only part of the body; return the open socket."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {server.users['officer']['token']}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {declared_length}\r\n{extra}\r\n"
    ).encode()
    sock.sendall(head + body_head)
    return sock


def multipart_head(boundary: str, port: str, title: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="port"\r\n\r\n{port}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
        f"{json.dumps({'title': title})}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="v.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()


def files_under(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".meta" not in p.parts
    )


def wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_kill_mid_upload_leaves_no_orphans(live_server: LiveServer) -> None:
    data_dir = Path(live_server.env["EVIDENCE_DATA_DIR"])
    objects = data_dir / "objects"
    done = httpx.post(
        live_server.url + "/api/v1/evidence",
        headers=live_server.auth(),
        data={"port": "documentary", "metadata": json.dumps({"title": "before the crash"})},
        files={"file": ("a.pdf", samples.pdf(), "application/pdf")},
    )
    assert done.status_code == 201
    boundary = "killtest"
    body_head = multipart_head(boundary, "audiovisual", "cut by a crash") + samples.mp4(8 * MiB)
    sock = raw_partial_upload(
        live_server,
        body_head,
        len(body_head) + 64 * MiB,
        f"multipart/form-data; boundary={boundary}",
    )
    # The server is writing the partial object when it dies.
    wait_for(lambda: any("tmp" in f for f in files_under(objects)))
    live_server.kill()
    sock.close()
    assert any("tmp" in f for f in files_under(objects)), (
        "the kill should leave a partial temp file"
    )

    live_server.start()  # the reaper runs at start-up
    engine = make_engine(Settings(data_dir=data_dir).resolved_db_url)
    with Session(engine) as session:
        rows = session.exec(select(Evidence)).all()
    engine.dispose()
    assert [r.title for r in rows] == ["before the crash"]
    assert all(r.finalized for r in rows)
    expected = sorted(r.object_key for r in rows)
    assert files_under(objects) == expected
    for row in rows:
        assert hashlib.sha256((objects / row.object_key).read_bytes()).hexdigest() == row.sha256
    custody = httpx.get(
        live_server.url + "/api/v1/custody/verify", headers=live_server.auth()
    ).json()
    # the officer's custodial certificate (issued at the first capture), then the capture
    assert custody["valid"] is True and custody["events"] == 2


def test_dropped_connection_keeps_received_chunks(live_server: LiveServer) -> None:
    data = samples.mp4(64 * 1024) + os.urandom(3 * MiB)
    with httpx.Client(base_url=live_server.url, headers=live_server.auth()) as client:
        created = client.post(
            "/api/v1/uploads",
            json={
                "port": "remote_video",
                "metadata": {"title": "远程视频"},
                "total_size": len(data),
            },
        ).json()
        url = f"/api/v1/uploads/{created['id']}"
        first = data[:MiB]
        assert client.patch(url, content=first, headers={"Upload-Offset": "0"}).status_code == 200
        # The phone loses its connection halfway through the second chunk.
        sock = raw_partial_upload(
            live_server,
            data[MiB : MiB + MiB // 2],
            MiB,
            "application/offset+octet-stream",
            path=url,
            method="PATCH",
            extra=f"Upload-Offset: {MiB}\r\n",
        )
        time.sleep(0.3)
        sock.close()
        wait_for(lambda: client.head(url).headers["upload-offset"] == str(MiB))
        time.sleep(0.3)
        assert client.head(url).headers["upload-offset"] == str(MiB)
        rest = data[MiB:]
        resumed = client.patch(url, content=rest, headers={"Upload-Offset": str(MiB)})
        assert resumed.status_code == 200, resumed.text
        evidence = client.post(url + "/complete").json()
    assert evidence["sha256"] == hashlib.sha256(data).hexdigest()
    assert evidence["chunk_chain"]["count"] == 2


def test_cli_upload_uses_resumable_api(live_server: LiveServer, tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "scan.pdf"
    path.write_bytes(samples.pdf(pages=4))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "evidence_service.cli",
            "upload",
            str(path),
            "--port",
            "documentary",
            "--token",
            live_server.users["officer"]["token"],
            "--url",
            live_server.url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    evidence = json.loads(out.stdout)
    assert evidence["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert evidence["extracted"]["page_count"] == 4
    assert evidence["original_filename"] == "scan.pdf"


def _pattern_stream(total: int, block: int = MiB) -> Iterator[bytes]:
    head = samples.mp4(64 * 1024)
    yield head
    sent = len(head)
    seed = hashlib.sha256(b"seed").digest() * (block // 32)
    while sent < total:
        n = min(block, total - sent)
        yield seed[:n]
        sent += n


@pytest.mark.slow
def test_two_gib_upload_streams_with_flat_memory(live_server: LiveServer) -> None:
    total = 2 * 1024 * MiB
    expected = hashlib.sha256()
    for block in _pattern_stream(total):
        expected.update(block)
    boundary = "flatmem"
    head = multipart_head(boundary, "audiovisual", "2 GiB recording")
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from _pattern_stream(total)
        yield tail

    proc = psutil.Process(live_server.proc.pid)  # type: ignore[union-attr]
    baseline = proc.memory_info().rss
    peak = baseline
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        response = httpx.post(
            live_server.url + "/api/v1/evidence",
            content=body(),
            timeout=600,
            headers={
                **live_server.auth(),
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + total + len(tail)),
            },
        )
    finally:
        stop.set()
        sampler.join()
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == expected.hexdigest()
    assert response.json()["size"] == total
    growth = peak - baseline
    assert growth < 64 * MiB, f"server RSS grew by {growth / MiB:.1f} MiB"
