"""A small Python client of the public API (used by the CLI and, later, the business modules)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import httpx

DEFAULT_CHUNK = 8 * 1024 * 1024
RETRIES = 8


class ApiError(Exception):
    """The API answered with a problem document."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")
        self.status = status
        self.problem = problem


def _check(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        try:
            problem = response.json()
        except ValueError:
            problem = {"detail": response.text}
        raise ApiError(response.status_code, problem)
    return response


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(4 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _read_exactly(fh: BinaryIO, size: int) -> Iterator[bytes]:
    left = size
    while left > 0:
        block = fh.read(min(left, 1024 * 1024))
        if not block:
            return
        left -= len(block)
        yield block


class EvidenceClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={"Authorization": f"Bearer {token}"},
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> EvidenceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def me(self) -> dict[str, Any]:
        """The caller: ``id``, ``name``, ``role``, ``department_id``, ``active``."""
        return dict(_check(self.http.get("/api/v1/me")).json())

    def get_evidence(self, evidence_id: str) -> dict[str, Any]:
        return dict(_check(self.http.get(f"/api/v1/evidence/{evidence_id}")).json())

    def upload(
        self,
        path: Path,
        *,
        port: str,
        metadata: dict[str, Any],
        chunk_size: int = DEFAULT_CHUNK,
        on_progress: Callable[[int, int], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict[str, Any]:
        """Resumable upload: survives dropped connections by asking the server's offset."""
        total = path.stat().st_size
        sha256 = file_sha256(path)
        created = _check(
            self.http.post(
                "/api/v1/uploads",
                json={
                    "port": port,
                    "metadata": metadata,
                    "filename": path.name,
                    "total_size": total,
                    "sha256": sha256,
                },
                headers={
                    "Idempotency-Key": "upload-"
                    + hashlib.sha256(
                        json.dumps([port, metadata, sha256], sort_keys=True).encode()
                    ).hexdigest()[:48]
                },
            )
        ).json()
        upload_url = f"/api/v1/uploads/{created['id']}"
        chunk_size = max(chunk_size, int(created.get("min_part_size", 1)))
        offset = int(created["offset"])
        failures = 0
        with path.open("rb") as fh:
            while offset < total:
                size = min(chunk_size, total - offset)
                fh.seek(offset)
                try:
                    response = self.http.patch(
                        upload_url,
                        content=_read_exactly(fh, size),
                        headers={
                            "Upload-Offset": str(offset),
                            "Content-Type": "application/offset+octet-stream",
                            "Content-Length": str(size),
                        },
                    )
                    if response.status_code == 409 and "Upload-Offset" in response.headers:
                        offset = int(response.headers["Upload-Offset"])
                        continue
                    offset = int(_check(response).headers["Upload-Offset"])
                    failures = 0
                except httpx.TransportError:
                    failures += 1
                    if failures > RETRIES:
                        raise
                    sleep(min(30.0, 0.5 * 2**failures))
                    offset = int(_check(self.http.head(upload_url)).headers["Upload-Offset"])
                if on_progress:
                    on_progress(offset, total)
        return dict(_check(self.http.post(f"{upload_url}/complete")).json())


class AsyncEvidenceClient:
    """The client for code running on an event loop — a business module's routes above all,
    which reach the core in the same process through ``httpx.ASGITransport(app=core_app)``
    (no network hop) or a deployment's base URL. ``token`` is the caller's own bearer token
    (forwarded) or the module's service identity's."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={"Authorization": f"Bearer {token}"},
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncEvidenceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def me(self) -> dict[str, Any]:
        """The caller: ``id``, ``name``, ``role``, ``department_id``, ``active``."""
        return dict(_check(await self.http.get("/api/v1/me")).json())

    async def get_evidence(self, evidence_id: str) -> dict[str, Any]:
        return dict(_check(await self.http.get(f"/api/v1/evidence/{evidence_id}")).json())
