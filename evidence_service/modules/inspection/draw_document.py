"""A published draw (``DRAW.json``, docs/draw-format.md §5) parsed, or refused as bad input.

:meth:`DrawDocument.from_json` refuses (:class:`DrawInputError`) what is not a draw document at
all: not UTF-8, not JSON, a duplicate key, a missing or unknown top-level member, a malformed
``merkle``/``anchor``/``result`` section. Values are judged by the verifier's steps
(``draw_verify.py``); here only their shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chain.merkle import MAX_PROOF_DEPTH
from evidence_service.modules.inspection.draw import RESULT_FORMAT
from signing.jcs import canonicalize, loads

DRAW_FORMAT = "draw/1"
VOID_REASON = "anchored-too-late"
MERKLE_HASH = "sha256-rfc9162"
#: A draw of 100,000 enterprises with thousands of officers is a few MB; refuse far beyond.
MAX_DRAW_BYTES = 64 * 1024 * 1024
TOP_FIELDS = frozenset({"format", "commitment", "merkle", "anchor", "result"})
MERKLE_FIELDS = frozenset({"hash", "leaf_index", "tree_size", "leaf_hash", "path", "root"})
ANCHOR_FIELDS = frozenset(
    {"chain_id", "contract", "tx_hash", "block_number", "block_hash", "block_timestamp", "batch_id"}
)
RESULT_FIELDS = frozenset(
    {
        "format",
        "draw_id",
        "commitment_digest",
        "target_block",
        "block_hash",
        "seed",
        "selected",
        "assignments",
    }
)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HASH32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_BLOCK_HASH = re.compile(r"^0x[0-9a-f]{64}$")


class DrawInputError(ValueError):
    """Not a draw document at all (§6: bad input); the message says why."""


@dataclass(frozen=True)
class MerkleFacts:
    leaf_index: int
    tree_size: int
    leaf_hash: str
    path: tuple[str, ...]
    root: str


@dataclass(frozen=True)
class AnchorFacts:
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    block_hash: str
    block_timestamp: int
    batch_id: int


@dataclass(frozen=True)
class DrawDocument:
    """A parsed ``DRAW.json``. The commitment stays raw JSON (its rules are step 1's to judge);
    ``commitment_jcs`` is its canonical bytes. ``result`` is None for a void draw."""

    commitment: Any
    commitment_jcs: bytes
    merkle: MerkleFacts
    anchor: AnchorFacts
    result: dict[str, Any] | None

    @classmethod
    def from_json(cls, data: bytes) -> DrawDocument:
        if len(data) > MAX_DRAW_BYTES:
            raise DrawInputError(f"larger than {MAX_DRAW_BYTES} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DrawInputError(f"not UTF-8: {exc}") from exc
        try:
            document = loads(text)
        except ValueError as exc:  # not JSON, a duplicate key, NaN, too deep
            raise DrawInputError(f"not a JSON document: {exc}") from exc
        if not isinstance(document, dict):
            raise DrawInputError("not a JSON object")
        void = document.get("result", ...) is None
        expected = TOP_FIELDS | {"void"} if void else TOP_FIELDS
        if set(document) != expected:
            missing, extra = sorted(expected - set(document)), sorted(set(document) - expected)
            raise DrawInputError(f"top-level members differ: missing {missing}, unknown {extra}")
        if document["format"] != DRAW_FORMAT:
            raise DrawInputError(f"format is {document['format']!r}, not {DRAW_FORMAT!r}")
        if void and document["void"] != VOID_REASON:
            raise DrawInputError(f"a void draw says void: {VOID_REASON!r}")
        try:
            commitment_jcs = canonicalize(document["commitment"])
        except ValueError as exc:
            raise DrawInputError(f"the commitment has no JCS form: {exc}") from exc
        return cls(
            document["commitment"],
            commitment_jcs,
            _merkle(document["merkle"]),
            _anchor(document["anchor"]),
            None if void else _result(document["result"]),
        )


def _section(value: Any, name: str, fields: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != fields:
        raise DrawInputError(f"{name} must be an object of exactly {', '.join(sorted(fields))}")
    return value


def _integer(value: Any, name: str, minimum: int) -> int:
    if type(value) is not int or value < minimum:
        raise DrawInputError(f"{name} must be an integer ≥ {minimum}")
    return value


def _matching(value: Any, name: str, pattern: re.Pattern[str]) -> str:
    if type(value) is not str or not pattern.match(value):
        raise DrawInputError(f"{name} must match {pattern.pattern}")
    return value


def _merkle(value: Any) -> MerkleFacts:
    section = _section(value, "merkle", MERKLE_FIELDS)
    if section["hash"] != MERKLE_HASH:
        raise DrawInputError(f"merkle.hash must be {MERKLE_HASH!r}")
    path = section["path"]
    if type(path) is not list or len(path) > MAX_PROOF_DEPTH:
        raise DrawInputError(f"merkle.path must be an array of at most {MAX_PROOF_DEPTH} hashes")
    return MerkleFacts(
        _integer(section["leaf_index"], "merkle.leaf_index", 0),
        _integer(section["tree_size"], "merkle.tree_size", 1),
        _matching(section["leaf_hash"], "merkle.leaf_hash", _HEX64),
        tuple(_matching(h, "a merkle.path element", _HEX64) for h in path),
        _matching(section["root"], "merkle.root", _HEX64),
    )


def _anchor(value: Any) -> AnchorFacts:
    section = _section(value, "anchor", ANCHOR_FIELDS)
    return AnchorFacts(
        _integer(section["chain_id"], "anchor.chain_id", 1),
        _matching(section["contract"], "anchor.contract", _ADDRESS),
        _matching(section["tx_hash"], "anchor.tx_hash", _HASH32),
        _integer(section["block_number"], "anchor.block_number", 1),
        _matching(section["block_hash"], "anchor.block_hash", _HASH32),
        _integer(section["block_timestamp"], "anchor.block_timestamp", 0),
        _integer(section["batch_id"], "anchor.batch_id", 1),
    )


def _result(value: Any) -> dict[str, Any]:
    """Shape only: the values are compared by steps 1, 3 and 4."""
    section = _section(value, "result", RESULT_FIELDS)
    if section["format"] != RESULT_FORMAT:
        raise DrawInputError(f"result.format must be {RESULT_FORMAT!r}")
    for name in ("draw_id", "commitment_digest", "block_hash", "seed"):
        if type(section[name]) is not str:
            raise DrawInputError(f"result.{name} must be a string")
    _integer(section["target_block"], "result.target_block", 0)
    for name in ("selected", "assignments"):
        if type(section[name]) is not list:
            raise DrawInputError(f"result.{name} must be an array")
    return section
