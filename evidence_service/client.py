"""The typed Python client of the public API, used by the CLI and by the business modules.

Each API call is described once, as a :class:`Call` — method, path, query, body and how to read
the answer — by a function of :mod:`this module <evidence_service.client>` (``calls_*``);
:class:`EvidenceClient` (blocking) and :class:`AsyncEvidenceClient` (on an event loop, e.g. a
module's routes reaching the core in-process through ``httpx.ASGITransport``) execute the same
calls, so the two cannot drift apart. Answers come back as small frozen records (:class:`Evidence`,
:class:`Case`, :class:`Transfer`, :class:`SealRecord`, :class:`FeedPage`, :class:`Page`) that keep
the whole JSON document in ``raw``; a problem answer raises :class:`ApiError`. It imports
nothing of the service: only ``httpx``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

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


# ------------------------------------------------------------------------------ records

T = TypeVar("T")
R = TypeVar("R", bound="Record")


@dataclass(frozen=True)
class Record:
    """An answer's main fields, typed; the whole JSON document stays in ``raw``."""

    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def of(cls: type[R], body: dict[str, Any]) -> R:
        names = [f.name for f in dataclasses.fields(cls) if f.name != "raw"]
        values: dict[str, Any] = {name: body.get(name) for name in names}
        return cls(raw=body, **values)


@dataclass(frozen=True)
class Evidence(Record):
    id: str = ""
    port: str = ""
    title: str = ""
    department_id: str = ""
    officer_id: str = ""
    captured_at: str = ""
    received_at: str = ""
    media_type: str = ""
    size: int = 0
    sha256: str = ""


@dataclass(frozen=True)
class Case(Record):
    id: str = ""
    department_id: str = ""
    case_number: str = ""
    kind: str = ""
    title: str = ""
    status: str = ""
    evidence_ids: list[str] | None = None  # a case's detail only, not a listing's summary


@dataclass(frozen=True)
class Transfer(Record):
    id: str = ""
    status: str = ""
    manifest_digest: str = ""
    item_count: int = 0
    note: str | None = None

    @property
    def from_department_id(self) -> str:
        return str(self.raw["from_department"]["id"])

    @property
    def to_department_id(self) -> str:
        return str(self.raw["to_department"]["id"])

    @property
    def evidence_ids(self) -> list[str]:
        """The items, in manifest order (a transfer's detail only)."""
        return [item["evidence_id"] for item in self.raw.get("items", [])]


@dataclass(frozen=True)
class SealRecord(Record):
    """A department's seal over a digest; pass it back whole (``raw``) to verify it."""

    department_id: str = ""
    seal_code: str = ""
    digest: str = ""
    signed_at: str = ""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a cursor-paginated listing; pass ``next_cursor`` back for the next."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class FeedPage:
    """One page of an NDJSON feed: its lines, where the next page starts, and whether the
    end line arrived (``complete``: a page cut short lacks it — ask again from ``after``)."""

    items: list[dict[str, Any]]
    next_cursor: str
    complete: bool


# ------------------------------------------------------------------------------ calls


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how to read its answer: what both clients execute."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    data: Mapping[str, Any] | None = None
    files: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        params = {k: v for k, v in (self.params or {}).items() if v is not None}
        return http.build_request(
            self.method,
            self.path,
            params=params or None,
            json=self.json,
            data=self.data,
            files=self.files,
            headers=self.headers,
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    return dict(response.json())


def _list(response: httpx.Response) -> list[dict[str, Any]]:
    return [dict(row) for row in response.json()]


def _as(kind: type[R]) -> Callable[[httpx.Response], R]:
    return lambda response: kind.of(response.json())


def _page(kind: type[R]) -> Callable[[httpx.Response], Page[R]]:
    def read(response: httpx.Response) -> Page[R]:
        body = response.json()
        return Page([kind.of(row) for row in body["items"]], body.get("next_cursor"))

    return read


def read_feed(response: httpx.Response) -> FeedPage:
    """The lines of an NDJSON feed answer; the end line gives the cursor (else the header)."""
    items: list[dict[str, Any]] = []
    end: dict[str, Any] | None = None
    for line in response.text.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("end") is True:
            end = row
        else:
            items.append(row)
    cursor = str(end["next_cursor"]) if end else response.headers.get("X-Next-Cursor", "0")
    return FeedPage(items, cursor, end is not None)


def call_me() -> Call[dict[str, Any]]:
    return Call("GET", "/api/v1/me", _json)


def call_trust() -> Call[dict[str, Any]]:
    """The trust bundle: ``chain_id`` and ``contract`` (the registry; null until the first
    anchor deploys it on a new chain) and the department CAs."""
    return Call("GET", "/api/v1/trust", _json)


def call_departments() -> Call[list[dict[str, Any]]]:
    return Call("GET", "/api/v1/departments", _list)


def call_get_evidence(evidence_id: str) -> Call[Evidence]:
    return Call("GET", f"/api/v1/evidence/{evidence_id}", _as(Evidence))


def call_list_evidence(
    *, cursor: str | None = None, limit: int = 50, **filters: Any
) -> Call[Page[Evidence]]:
    """``filters``: the query parameters of ``GET /api/v1/evidence`` (``q``, ``case_id``,
    ``port``, ``tag_type``/``tag_value``, ``received_from``…) — a search is a filtered list."""
    params = {**filters, "cursor": cursor, "limit": limit}
    return Call("GET", "/api/v1/evidence", _page(Evidence), params=params)


def call_capture(
    content: bytes,
    *,
    port: str,
    metadata: Mapping[str, Any],
    filename: str = "capture.bin",
    media_type: str = "application/octet-stream",
    idempotency_key: str | None = None,
) -> Call[Evidence]:
    """One-request capture: the form fields go before the file, as the server requires."""
    headers = {"X-Content-SHA256": hashlib.sha256(content).hexdigest()}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return Call(
        "POST",
        "/api/v1/evidence",
        _as(Evidence),
        data={"port": port, "metadata": json.dumps(dict(metadata), ensure_ascii=False)},
        files={"file": (filename, content, media_type)},
        headers=headers,
    )


def call_proof(evidence_id: str) -> Call[dict[str, Any]]:
    return Call("GET", f"/api/v1/evidence/{evidence_id}/proof", _json)


def call_create_case(
    case_number: str, *, kind: str, title: str, cause_code: str | None = None
) -> Call[Case]:
    body = {"case_number": case_number, "kind": kind, "title": title, "cause_code": cause_code}
    return Call("POST", "/api/v1/cases", _as(Case), json=body)


def call_get_case(case_id: str) -> Call[Case]:
    return Call("GET", f"/api/v1/cases/{case_id}", _as(Case))


def call_link_evidence(case_id: str, evidence_id: str, *, purpose: str = "") -> Call[Case]:
    body = {"evidence_id": evidence_id, "purpose": purpose}
    return Call("POST", f"/api/v1/cases/{case_id}/evidence", _as(Case), json=body)


def call_issue_evidence_list(case_id: str) -> Call[dict[str, Any]]:
    return Call("POST", f"/api/v1/cases/{case_id}/evidence-lists", _json)


def call_create_transfer(
    to_department_id: str,
    *,
    case_id: str | None = None,
    evidence_ids: list[str] | None = None,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> Call[Transfer]:
    body = {
        "to_department_id": to_department_id,
        "case_id": case_id,
        "evidence_ids": evidence_ids,
        "note": note,
    }
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    return Call("POST", "/api/v1/transfers", _as(Transfer), json=body, headers=headers)


def call_get_transfer(transfer_id: str) -> Call[Transfer]:
    return Call("GET", f"/api/v1/transfers/{transfer_id}", _as(Transfer))


def call_transfers(
    *,
    direction: str | None = "in",
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Call[Page[Transfer]]:
    """The inbox (``direction="in"``, the default), the outbox (``"out"``) or both (None)."""
    params = {"direction": direction, "status": status, "cursor": cursor, "limit": limit}
    return Call("GET", "/api/v1/transfers", _page(Transfer), params=params)


def call_accept_transfer(transfer_id: str) -> Call[dict[str, Any]]:
    """Accept: answers the sealed receipt."""
    return Call("POST", f"/api/v1/transfers/{transfer_id}/accept", _json)


def call_reject_transfer(transfer_id: str, reason: str) -> Call[Transfer]:
    body = {"reason": reason}
    return Call("POST", f"/api/v1/transfers/{transfer_id}/reject", _as(Transfer), json=body)


def call_seal(department_id: str, digest: str) -> Call[SealRecord]:
    path = f"/api/v1/departments/{department_id}/seals"
    return Call("POST", path, _as(SealRecord), json={"digest": digest})


def call_verify_seal(record: SealRecord, digest: str | None = None) -> Call[dict[str, Any]]:
    body = {"record": record.raw, "digest": digest}
    return Call("POST", "/api/v1/seals/verify", _json, json=body)


def call_anchor_document(document: Mapping[str, Any]) -> Call[dict[str, Any]]:
    """Anchor a JSON object (its JCS bytes become a leaf of the next batch); the answer's
    ``merkle`` and ``anchor`` fill in once its batch closes and is mined."""
    return Call("POST", "/api/v1/anchors", _json, json={"document": dict(document)})


def call_get_anchor(anchor_id: str) -> Call[dict[str, Any]]:
    return Call("GET", f"/api/v1/anchors/{anchor_id}", _json)


def call_request_cosignature(
    subject: str, subject_id: str, department_ids: Sequence[str]
) -> Call[dict[str, Any]]:
    """Ask departments to co-sign a statement (an evidence id) or a batch root; the caller's
    department approves with the request."""
    body = {"subject": subject, "subject_id": subject_id, "department_ids": list(department_ids)}
    return Call("POST", "/api/v1/cosignatures", _json, json=body)


def call_get_cosignature(cosignature_id: str) -> Call[dict[str, Any]]:
    return Call("GET", f"/api/v1/cosignatures/{cosignature_id}", _json)


def call_approve_cosignature(cosignature_id: str) -> Call[dict[str, Any]]:
    """The caller's department consents; the last approval makes the BLS aggregate."""
    return Call("POST", f"/api/v1/cosignatures/{cosignature_id}/approve", _json)


def call_post_inspection_signals(
    signals: Sequence[Mapping[str, Any]], *, unknown: str = "refuse"
) -> Call[dict[str, Any]]:
    """Signals about enterprises for the joint-inspection module's risk scores
    (``unknown="skip"``: signals about enterprises outside its directory are left out)."""
    return Call(
        "POST",
        f"/api/v1/inspection/signals?unknown={unknown}",
        _json,
        json={"signals": [dict(s) for s in signals]},
    )


def _rpc_result(response: httpx.Response) -> Any:
    body = _json(response)
    if "error" in body:  # JSON-RPC answers its own errors with HTTP 200
        error = body["error"] if isinstance(body["error"], dict) else {}
        detail = str(error.get("message", "JSON-RPC error"))
        raise ApiError(response.status_code, {"title": "JSON-RPC error", "detail": detail})
    return body.get("result")


def call_chain_rpc(method: str, params: Sequence[Any] = ()) -> Call[Any]:
    """One read-only JSON-RPC call to the chain the core anchors on (``eth_blockNumber``,
    ``eth_getBlockByNumber``…); the call's ``result``, or ApiError for a JSON-RPC error."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    return Call("POST", "/api/v1/chain/rpc", _rpc_result, json=body)


def call_evidence_feed(after: str = "0", limit: int | None = None) -> Call[FeedPage]:
    params = {"after": after, "limit": limit}
    return Call("GET", "/api/v1/feeds/evidence", read_feed, params=params)


def call_refusals_feed(after: str = "0", limit: int | None = None) -> Call[FeedPage]:
    params = {"after": after, "limit": limit}
    return Call("GET", "/api/v1/feeds/refusals", read_feed, params=params)


def call_transfers_feed(after: str = "0", limit: int | None = None) -> Call[FeedPage]:
    params = {"after": after, "limit": limit}
    return Call("GET", "/api/v1/feeds/transfers", read_feed, params=params)


def _http_options(base_url: str, token: str, timeout: float) -> dict[str, Any]:
    """What the blocking and the async client's httpx clients share."""
    return {
        "base_url": base_url.rstrip("/"),
        "timeout": timeout,
        "headers": {"Authorization": f"Bearer {token}"},
    }


class EvidenceClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(transport=transport, **_http_options(base_url, token, timeout))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> EvidenceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, call: Call[T]) -> T:
        """Send one described call; its answer read, or :class:`ApiError`."""
        return call.read(_check(self.http.send(call.request(self.http))))

    def me(self) -> dict[str, Any]:
        """The caller: ``id``, ``name``, ``role``, ``department_id``, ``active``."""
        return self.run(call_me())

    def trust(self) -> dict[str, Any]:
        return self.run(call_trust())

    def departments(self) -> list[dict[str, Any]]:
        return self.run(call_departments())

    def get_evidence(self, evidence_id: str) -> Evidence:
        return self.run(call_get_evidence(evidence_id))

    def list_evidence(
        self, *, cursor: str | None = None, limit: int = 50, **filters: Any
    ) -> Page[Evidence]:
        return self.run(call_list_evidence(cursor=cursor, limit=limit, **filters))

    def capture(
        self, content: bytes, *, port: str, metadata: Mapping[str, Any], **kw: Any
    ) -> Evidence:
        """``kw``: ``filename``, ``media_type``, ``idempotency_key`` (:func:`call_capture`)."""
        return self.run(call_capture(content, port=port, metadata=metadata, **kw))

    def proof(self, evidence_id: str) -> dict[str, Any]:
        return self.run(call_proof(evidence_id))

    def create_case(self, case_number: str, *, kind: str, title: str, **kw: Any) -> Case:
        return self.run(call_create_case(case_number, kind=kind, title=title, **kw))

    def get_case(self, case_id: str) -> Case:
        return self.run(call_get_case(case_id))

    def link_evidence(self, case_id: str, evidence_id: str, *, purpose: str = "") -> Case:
        return self.run(call_link_evidence(case_id, evidence_id, purpose=purpose))

    def issue_evidence_list(self, case_id: str) -> dict[str, Any]:
        return self.run(call_issue_evidence_list(case_id))

    def create_transfer(self, to_department_id: str, **kw: Any) -> Transfer:
        """``kw``: ``case_id`` or ``evidence_ids``, ``note``, ``idempotency_key``."""
        return self.run(call_create_transfer(to_department_id, **kw))

    def get_transfer(self, transfer_id: str) -> Transfer:
        return self.run(call_get_transfer(transfer_id))

    def transfers(self, **kw: Any) -> Page[Transfer]:
        return self.run(call_transfers(**kw))

    def inbox(self, *, status: str | None = "pending", **kw: Any) -> Page[Transfer]:
        return self.run(call_transfers(direction="in", status=status, **kw))

    def accept_transfer(self, transfer_id: str) -> dict[str, Any]:
        return self.run(call_accept_transfer(transfer_id))

    def reject_transfer(self, transfer_id: str, reason: str) -> Transfer:
        return self.run(call_reject_transfer(transfer_id, reason))

    def seal(self, department_id: str, digest: str) -> SealRecord:
        return self.run(call_seal(department_id, digest))

    def verify_seal(self, record: SealRecord, digest: str | None = None) -> dict[str, Any]:
        return self.run(call_verify_seal(record, digest))

    def anchor_document(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return self.run(call_anchor_document(document))

    def chain_rpc(self, method: str, params: Sequence[Any] = ()) -> Any:
        return self.run(call_chain_rpc(method, params))

    def get_anchor(self, anchor_id: str) -> dict[str, Any]:
        return self.run(call_get_anchor(anchor_id))

    def request_cosignature(
        self, subject: str, subject_id: str, department_ids: Sequence[str]
    ) -> dict[str, Any]:
        return self.run(call_request_cosignature(subject, subject_id, department_ids))

    def get_cosignature(self, cosignature_id: str) -> dict[str, Any]:
        return self.run(call_get_cosignature(cosignature_id))

    def approve_cosignature(self, cosignature_id: str) -> dict[str, Any]:
        return self.run(call_approve_cosignature(cosignature_id))

    def post_inspection_signals(
        self, signals: Sequence[Mapping[str, Any]], *, unknown: str = "refuse"
    ) -> dict[str, Any]:
        return self.run(call_post_inspection_signals(signals, unknown=unknown))

    def evidence_feed(self, after: str = "0", limit: int | None = None) -> FeedPage:
        return self.run(call_evidence_feed(after, limit))

    def refusals_feed(self, after: str = "0", limit: int | None = None) -> FeedPage:
        return self.run(call_refusals_feed(after, limit))

    def transfers_feed(self, after: str = "0", limit: int | None = None) -> FeedPage:
        return self.run(call_transfers_feed(after, limit))

    def follow_evidence_feed(
        self, after: str = "0", limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item after ``after`` until the feed is drained, page by page."""
        while True:
            page = self.evidence_feed(after, limit)
            yield from page.items
            if not page.items:
                return
            after = page.next_cursor

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
            transport=transport, **_http_options(base_url, token, timeout)
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncEvidenceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def run(self, call: Call[T]) -> T:
        """Send one described call; its answer read, or :class:`ApiError`."""
        return call.read(_check(await self.http.send(call.request(self.http))))

    async def me(self) -> dict[str, Any]:
        """The caller: ``id``, ``name``, ``role``, ``department_id``, ``active``."""
        return await self.run(call_me())

    async def trust(self) -> dict[str, Any]:
        return await self.run(call_trust())

    async def departments(self) -> list[dict[str, Any]]:
        return await self.run(call_departments())

    async def get_evidence(self, evidence_id: str) -> Evidence:
        return await self.run(call_get_evidence(evidence_id))

    async def list_evidence(
        self, *, cursor: str | None = None, limit: int = 50, **filters: Any
    ) -> Page[Evidence]:
        return await self.run(call_list_evidence(cursor=cursor, limit=limit, **filters))

    async def capture(
        self, content: bytes, *, port: str, metadata: Mapping[str, Any], **kw: Any
    ) -> Evidence:
        """``kw``: ``filename``, ``media_type``, ``idempotency_key`` (:func:`call_capture`)."""
        return await self.run(call_capture(content, port=port, metadata=metadata, **kw))

    async def proof(self, evidence_id: str) -> dict[str, Any]:
        return await self.run(call_proof(evidence_id))

    async def create_case(self, case_number: str, *, kind: str, title: str, **kw: Any) -> Case:
        return await self.run(call_create_case(case_number, kind=kind, title=title, **kw))

    async def get_case(self, case_id: str) -> Case:
        return await self.run(call_get_case(case_id))

    async def link_evidence(self, case_id: str, evidence_id: str, *, purpose: str = "") -> Case:
        return await self.run(call_link_evidence(case_id, evidence_id, purpose=purpose))

    async def issue_evidence_list(self, case_id: str) -> dict[str, Any]:
        return await self.run(call_issue_evidence_list(case_id))

    async def create_transfer(self, to_department_id: str, **kw: Any) -> Transfer:
        """``kw``: ``case_id`` or ``evidence_ids``, ``note``, ``idempotency_key``."""
        return await self.run(call_create_transfer(to_department_id, **kw))

    async def get_transfer(self, transfer_id: str) -> Transfer:
        return await self.run(call_get_transfer(transfer_id))

    async def transfers(self, **kw: Any) -> Page[Transfer]:
        return await self.run(call_transfers(**kw))

    async def inbox(self, *, status: str | None = "pending", **kw: Any) -> Page[Transfer]:
        return await self.run(call_transfers(direction="in", status=status, **kw))

    async def accept_transfer(self, transfer_id: str) -> dict[str, Any]:
        return await self.run(call_accept_transfer(transfer_id))

    async def reject_transfer(self, transfer_id: str, reason: str) -> Transfer:
        return await self.run(call_reject_transfer(transfer_id, reason))

    async def seal(self, department_id: str, digest: str) -> SealRecord:
        return await self.run(call_seal(department_id, digest))

    async def verify_seal(self, record: SealRecord, digest: str | None = None) -> dict[str, Any]:
        return await self.run(call_verify_seal(record, digest))

    async def anchor_document(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return await self.run(call_anchor_document(document))

    async def chain_rpc(self, method: str, params: Sequence[Any] = ()) -> Any:
        return await self.run(call_chain_rpc(method, params))

    async def request_cosignature(
        self, subject: str, subject_id: str, department_ids: Sequence[str]
    ) -> dict[str, Any]:
        return await self.run(call_request_cosignature(subject, subject_id, department_ids))

    async def post_inspection_signals(
        self, signals: Sequence[Mapping[str, Any]], *, unknown: str = "refuse"
    ) -> dict[str, Any]:
        return await self.run(call_post_inspection_signals(signals, unknown=unknown))

    async def get_cosignature(self, cosignature_id: str) -> dict[str, Any]:
        return await self.run(call_get_cosignature(cosignature_id))

    async def approve_cosignature(self, cosignature_id: str) -> dict[str, Any]:
        return await self.run(call_approve_cosignature(cosignature_id))

    async def get_anchor(self, anchor_id: str) -> dict[str, Any]:
        return await self.run(call_get_anchor(anchor_id))

    async def evidence_feed(self, after: str = "0", limit: int | None = None) -> FeedPage:
        return await self.run(call_evidence_feed(after, limit))

    async def refusals_feed(self, after: str = "0", limit: int | None = None) -> FeedPage:
        return await self.run(call_refusals_feed(after, limit))

    async def transfers_feed(self, after: str = "0", limit: int | None = None) -> FeedPage:
        return await self.run(call_transfers_feed(after, limit))

    async def follow_evidence_feed(
        self, after: str = "0", limit: int | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item after ``after`` until the feed is drained, page by page."""
        while True:
            page = await self.evidence_feed(after, limit)
            for item in page.items:
                yield item
            if not page.items:
                return
            after = page.next_cursor
