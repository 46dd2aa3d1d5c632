"""``api.streaming.consume_body``: a check that runs in the body's worker thread before the
consumer, and refuses before the body is read; a consumer that stops early drains the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.requests import Request

from evidence_service.api.streaming import consume_body
from evidence_service.core.errors import MissingTokenError

CHUNK = 64 * 1024
CHUNKS = 200  # 12.5 MiB: more than the queue holds


class Body:
    """An ASGI ``receive`` that counts the chunks handed out."""

    def __init__(self, chunks: int = CHUNKS) -> None:
        self.left = chunks
        self.sent = 0

    async def __call__(self) -> dict[str, Any]:
        self.left -= 1
        self.sent += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": self.left > 0}


def request(body: Body) -> Request:
    return Request({"type": "http", "method": "POST", "headers": [], "path": "/"}, body)


def total(blocks: Iterator[bytes]) -> int:
    return sum(len(block) for block in blocks)


def test_a_check_that_passes_runs_before_the_consumer_in_its_thread() -> None:
    body = Body()
    seen: list[str] = []

    def check() -> None:
        seen.append("check")

    def consume(blocks: Iterator[bytes]) -> int:
        seen.append("consume")
        return total(blocks)

    assert asyncio.run(consume_body(request(body), consume, check=check)) == CHUNKS * CHUNK
    assert seen == ["check", "consume"] and body.sent == CHUNKS


def test_a_check_that_refuses_stops_the_reading_of_the_body() -> None:
    body = Body()
    consumed: list[int] = []

    def refuse() -> None:
        raise MissingTokenError("send Authorization: Bearer <token>")

    with pytest.raises(MissingTokenError):
        asyncio.run(consume_body(request(body), lambda b: consumed.append(total(b)), check=refuse))
    assert consumed == []  # the consumer never ran
    # at most what was in flight while the check ran: the queue's blocks, not 12.5 MiB
    assert body.sent * CHUNK <= 6 * 1024 * 1024


def test_a_consumer_that_refuses_midway_drains_the_body_so_the_client_sees_the_answer() -> None:
    body = Body()

    def stop_after_one(blocks: Iterator[bytes]) -> None:
        next(blocks)
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        asyncio.run(consume_body(request(body), stop_after_one))
    assert body.sent == CHUNKS  # read and dropped (up to DRAIN_AFTER_REJECT)
