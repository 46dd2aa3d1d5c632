"""What an outsider sends cannot crash the process, exhaust its memory or pass unparsed.

Against a real server process: a segfault in a request thread takes the whole process (API,
anchoring worker, uploads in flight) down, which an in-process client cannot show. One process
takes every attack of the module, in turn: each test checks it still answers, so each later
test also shows that the attacks before it left the process whole.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest

from tests.fixtures.live_server import LiveServer, make_live_server

#: Deep enough to overflow an 8 MiB thread stack when the recursion limit is 100000.
DEPTH = 100_000
DEEP_ARRAY = b"[" * DEPTH + b"]" * DEPTH
DEEP_OBJECT = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH
DEEP_MIXED = b'[{"x":' * (DEPTH // 2) + b"0" + b"}]" * (DEPTH // 2)
#: Brackets inside strings do not count; the text is flat.
FLAT_WITH_BRACKETS = json.dumps({"proof": "[" * DEPTH}).encode()


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    """The module's server process on (SQLite, local disk), started once (module docstring)."""
    server = make_live_server(
        tmp_path_factory.mktemp("hostile"), request, "sqlite-local", temp_object_ttl_seconds=0
    )
    server.start()
    yield server
    server.stop()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _attacks(deep: bytes, server: LiveServer) -> list[tuple[str, str, str, dict[str, Any]]]:
    json_body = {"content": deep, "headers": {"Content-Type": "application/json"}}
    officer = server.auth("officer")
    return [
        ("verify json", "POST", "/api/v1/verify", json_body),
        (
            "verify form",
            "POST",
            "/api/v1/verify",
            {"files": {"proof": (None, deep), "sha256": (None, "0" * 64)}},
        ),
        ("seal verify", "POST", "/api/v1/seals/verify", json_body),
        ("list verify", "POST", "/api/v1/evidence-lists/verify", json_body),
        ("transfer verify", "POST", "/api/v1/transfers/verify", json_body),
        ("chain rpc", "POST", "/api/v1/chain/rpc", json_body),
        (
            "package manifest",
            "POST",
            "/api/v1/packages/verify",
            {
                "content": _zip({"manifest.json": deep, "seal/contents.json": deep}),
                "headers": {"Content-Type": "application/zip"},
            },
        ),
        (
            "capture metadata",
            "POST",
            "/api/v1/evidence",
            {
                "headers": officer,
                "data": {"port": "documentary", "metadata": deep.decode()},
                "files": {"file": ("a.txt", b"hello", "text/plain")},
            },
        ),
        (
            "case create",
            "POST",
            "/api/v1/cases",
            {"content": deep, "headers": {**officer, "Content-Type": "application/json"}},
        ),
    ]


@pytest.mark.parametrize(
    "deep", [DEEP_ARRAY, DEEP_OBJECT, DEEP_MIXED], ids=["array", "object", "mixed"]
)
def test_deep_json_is_refused_everywhere_and_the_service_keeps_answering(
    live_server: LiveServer, deep: bytes
) -> None:
    answers: dict[str, tuple[int, str]] = {}
    for name, method, path, kwargs in _attacks(deep, live_server):
        response = httpx.request(method, live_server.url + path, timeout=60, **kwargs)
        answers[name] = (response.status_code, response.headers.get("content-type", ""))
        assert live_server.proc is not None and live_server.proc.poll() is None, name
        assert httpx.get(live_server.url + "/healthz", timeout=10).status_code == 200, name
    server_errors = {k: v for k, v in answers.items() if v[0] >= 500}
    assert server_errors == {}
    # Every refusal is a problem document; the package verifier answers with its verdict.
    for name, (status, media) in answers.items():
        if name == "package manifest":
            assert status == 200 and media == "application/json", name
        else:
            assert 400 <= status < 500 and media == "application/problem+json", (name, status)


def test_deep_json_bodies_are_refused_before_parsing(live_server: LiveServer) -> None:
    response = httpx.post(
        live_server.url + "/api/v1/seals/verify",
        content=DEEP_ARRAY,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["type"].endswith("/bad-json")
    assert "nested deeper than 64" in response.json()["detail"]


def test_brackets_inside_strings_are_not_nesting(live_server: LiveServer) -> None:
    response = httpx.post(
        live_server.url + "/api/v1/seals/verify",
        content=FLAT_WITH_BRACKETS,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422  # not a seal record, but parsed: not bad-json


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"record": "\xff\xfe"}', "not UTF-8"),
        (b'{"record": ' + b"9" * 5000 + b"}", "longer than 400 digits"),
        (b'{"record": 1e999}', "out of range"),
        (b'{"record": NaN}', "NaN is not a JSON number"),
    ],
    ids=["not-utf8", "5000-digits", "overflow", "nan"],
)
def test_unreadable_json_is_a_400(live_server: LiveServer, body: bytes, detail: str) -> None:
    response = httpx.post(
        live_server.url + "/api/v1/seals/verify",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]


def test_oversized_json_bodies_are_refused_while_reading(live_server: LiveServer) -> None:
    """300 MB at a JSON route: refused at its limit, and the server's memory barely moves."""
    assert live_server.proc is not None
    process = psutil.Process(live_server.proc.pid)
    before = process.memory_info().rss

    def body() -> Any:
        chunk = b" " * (1024 * 1024)
        for _ in range(300):
            yield chunk

    for path, limit in (("/api/v1/seals/verify", 1024 * 1024), ("/api/v1/chain/rpc", 64 * 1024)):
        # Chunked (no Content-Length): the limit is enforced while reading.
        try:
            response = httpx.post(
                live_server.url + path,
                content=body(),
                headers={"Content-Type": "application/json"},
                timeout=60,
            )
        except httpx.TransportError:  # the server may close before the client stops sending
            response = None
        if response is not None:
            assert response.status_code == 413
            assert response.json()["limit"] == limit
        # Declared up front: refused before a byte of the body is read.
        declared = httpx.post(
            live_server.url + path,
            content=b"[" + b" " * (limit + 10) + b"]",
            headers={"Content-Type": "application/json"},
        )
        assert declared.status_code == 413
        assert declared.json()["type"].endswith("/body-too-large")
    grown = process.memory_info().rss - before
    assert grown < 64 * 1024 * 1024, f"grew {grown / 1e6:.0f} MB"
    assert httpx.get(live_server.url + "/healthz").status_code == 200
