"""The custody log's hash chain, checked without the database.

``hash_n = SHA-256(prev_hash_n ‖ JCS(event_n))`` where ``prev_hash`` of the first event is 32 zero
bytes and ``event_n`` is the JSON object of :data:`EVENT_KEYS`. The service appends and reads
events in :mod:`evidence_service.custody.log`; a package's ``custody.json`` carries them as
records (the body, then ``prev_hash`` and ``hash``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from signing.jcs import canonicalize

GENESIS_HASH = "00" * 32
#: The keys of the hashed body of an event, in the order the service writes them.
EVENT_KEYS = ("seq", "evidence_id", "action", "actor_id", "department_id", "at", "details")


def link_hash(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonicalize(body)).hexdigest()


def event_body_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The hashed body of an event record (its :data:`EVENT_KEYS`)."""
    return {k: record[k] for k in EVENT_KEYS}


class CustodyChainError(Exception):
    """The chain is broken at ``seq``; ``reason`` says how."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"custody chain broken at seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


def verify_records(
    records: Iterable[Mapping[str, Any]], *, prev_hash: str = GENESIS_HASH, start_seq: int = 1
) -> tuple[int, str]:
    """Walk event records (body, ``prev_hash``, ``hash``) in ``seq`` order, none missing;
    return (count, head hash) or raise :class:`CustodyChainError`."""
    expected_seq = start_seq
    count = 0
    for record in records:
        seq = record["seq"]
        if seq != expected_seq:
            raise CustodyChainError(expected_seq, f"missing event (next row has seq {seq})")
        if record["prev_hash"] != prev_hash:
            raise CustodyChainError(seq, "prev_hash does not match the previous event")
        if link_hash(prev_hash, event_body_of(record)) != record["hash"]:
            raise CustodyChainError(seq, "event content does not match its hash")
        prev_hash = record["hash"]
        expected_seq += 1
        count += 1
    return count, prev_hash
