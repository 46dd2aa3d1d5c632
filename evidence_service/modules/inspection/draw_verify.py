"""Verify a published draw (``DRAW.json``, docs/draw-format.md §6), naming the failing step.

Parse (``draw_document.py``: bad input is :class:`DrawInputError`), then check:
:func:`verify_draw` runs every step and
reports each (pass, fail, skipped, or error when the chain could not be asked), as ``evidence
verify`` does for a proof. The verdict names the first step that did not pass.

The chain is reached through :class:`DrawChain`; :class:`RpcDrawChain` implements it over any
web3 (a JSON-RPC node, or an embedded chain's read-only RPC). Everything else is pure. The
``merkle`` and ``anchor`` sections are PROOF_FORMAT.md's, checked here with the chain library
(``evidence_service.verify`` imports the core, which a module may not).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import requests
from eth_typing import HexStr
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.exceptions import BlockNotFound, Web3Exception

from chain.anchor_check import ANCHORED_AT_SELECTOR, AnchorClaim, verify_anchor
from chain.errors import ChainUnavailableError, VerificationError
from chain.merkle import leaf_hash, verify_inclusion
from evidence_service.modules.inspection.draw import (
    BadCommitmentError,
    Commitment,
    compute_result,
    draw_seed,
)
from evidence_service.modules.inspection.draw_document import (
    DrawDocument,
)


class DrawFailure(StrEnum):
    """The failure names of §6."""

    commitment_mismatch = "commitment-mismatch"
    bad_commitment = "bad-commitment"
    inclusion_failed = "inclusion-failed"
    not_anchored = "not-anchored"
    anchored_too_late = "anchored-too-late"
    block_mismatch = "block-mismatch"
    result_mismatch = "result-mismatch"


_BLOCK_HASH = re.compile(r"^0x[0-9a-f]{64}$")


class StepStatus(StrEnum):
    passed = "pass"
    failed = "fail"
    skipped = "skipped"
    error = "error"  # undecided: the chain did not answer, or there was none to ask


@dataclass(frozen=True)
class DrawStep:
    number: int  # §6's step
    name: str
    status: StepStatus
    failure: DrawFailure
    detail: str


@dataclass(frozen=True)
class DrawVerdict:
    """Every step, in §6's order; valid when none failed or erred."""

    steps: tuple[DrawStep, ...]

    @property
    def first_problem(self) -> DrawStep | None:
        bad = (StepStatus.failed, StepStatus.error)
        return next((s for s in self.steps if s.status in bad), None)

    @property
    def valid(self) -> bool:
        return self.first_problem is None

    @property
    def failure(self) -> DrawFailure | None:
        problem = self.first_problem
        return problem.failure if problem else None


@dataclass(frozen=True)
class DrawPins:
    """What the verifier trusts beforehand (its trust bundle); empty means not pinned."""

    chain_id: int | None = None
    registries: frozenset[str] = frozenset()


# -- the chain --------------------------------------------------------------------------------


class DrawChain(Protocol):
    """What §6 asks of the chain. Every method raises ChainUnavailableError when the node does
    not answer."""

    def chain_id(self) -> int: ...

    def anchored_at(self, registry: str, root: bytes) -> int:
        """``AnchorRegistry(registry).anchoredAt(root)``: the block, 0 if never anchored."""
        ...

    def block_hash(self, number: int) -> bytes | None:
        """The hash of block ``number``, or None while the chain has not reached it."""
        ...

    def verify_anchor(self, claim: AnchorClaim) -> None:
        """PROOF_FORMAT.md step 5; raises VerificationError naming the fact that differs."""
        ...


class RpcDrawChain:
    """:class:`DrawChain` over web3: the node ``evidence verify`` would ask."""

    def __init__(self, w3: Web3) -> None:
        self._w3 = w3

    def chain_id(self) -> int:
        with _answers():
            return int(self._w3.eth.chain_id)

    def anchored_at(self, registry: str, root: bytes) -> int:
        data = HexStr("0x" + (ANCHORED_AT_SELECTOR + root).hex())
        with _answers():
            raw = self._w3.eth.call({"to": to_checksum_address(registry), "data": data})
        return int.from_bytes(raw, "big") if len(raw) == 32 else 0

    def block_hash(self, number: int) -> bytes | None:
        with _answers():
            try:
                block = self._w3.eth.get_block(number)
            except BlockNotFound:
                return None
        return bytes(block["hash"])

    def verify_anchor(self, claim: AnchorClaim) -> None:
        verify_anchor(self._w3, claim)


@contextlib.contextmanager
def _answers() -> Iterator[None]:
    try:
        yield
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, OSError) as exc:
        raise ChainUnavailableError(f"the chain node did not answer: {exc}") from exc
    except Web3Exception as exc:
        raise ChainUnavailableError(f"the chain node refused the request: {exc}") from exc


# -- §6 ---------------------------------------------------------------------------------------


def _step(number: int, name: str, failure: DrawFailure, problem: str | None, ok: str) -> DrawStep:
    if problem is None:
        return DrawStep(number, name, StepStatus.passed, failure, ok)
    return DrawStep(number, name, StepStatus.failed, failure, problem)


@dataclass(frozen=True)
class _Draw:
    """What the steps share: the document, its commitment's facts, the chain and the pins."""

    document: DrawDocument
    digest: bytes
    commitment: Commitment | None  # None when it breaks a §1 rule
    facts: dict[str, Any]  # the commitment's members, whatever their shape
    chain: DrawChain | None
    pins: DrawPins


def verify_draw(
    document: DrawDocument, chain: DrawChain | None, pins: DrawPins | None = None
) -> DrawVerdict:
    """Every step of §6, in order, each whatever the others gave (``chain`` None: the steps
    that read the chain are undecided)."""
    facts = document.commitment if isinstance(document.commitment, dict) else {}
    rules_problem, commitment = None, None
    try:
        commitment = Commitment.from_json(document.commitment)
    except BadCommitmentError as exc:
        rules_problem = str(exc)
    draw = _Draw(
        document,
        hashlib.sha256(document.commitment_jcs).digest(),
        commitment,
        facts,
        chain,
        pins or DrawPins(),
    )
    anchor = _check_anchor(draw)
    anchor_time = _check_anchor_time(draw, anchor)
    return DrawVerdict(
        (
            _check_commitment(draw),
            _step(1, "rules", DrawFailure.bad_commitment, rules_problem, "the commitment obeys §1"),
            _check_inclusion(draw),
            anchor,
            anchor_time,
            _check_block(draw),
            _check_result(draw, anchor_time),
        )
    )


def _check_commitment(draw: _Draw) -> DrawStep:
    digest, result = draw.digest.hex(), draw.document.result
    ok = f"commitment_digest {digest}"
    if result is None:
        return _step(1, "commitment", DrawFailure.commitment_mismatch, None, ok + " (void draw)")
    problem = None
    if result["commitment_digest"] != digest:
        problem = (
            f"SHA-256(JCS(commitment)) is {digest}, the result says {result['commitment_digest']}"
        )
    elif result["draw_id"] != draw.facts.get("draw_id"):
        problem = f"the result's draw_id {result['draw_id']!r} is not the commitment's"
    target = draw.facts.get("target_block")
    if problem is None and (type(target) is not int or result["target_block"] != target):
        problem = f"the result's target_block {result['target_block']} is not the commitment's"
    return _step(1, "commitment", DrawFailure.commitment_mismatch, problem, ok + " matches")


def _check_inclusion(draw: _Draw) -> DrawStep:
    merkle, failure = draw.document.merkle, DrawFailure.inclusion_failed
    leaf = leaf_hash(draw.document.commitment_jcs).hex()
    if merkle.leaf_hash != leaf:
        problem = (
            f"SHA-256(0x00 ‖ JCS(commitment)) is {leaf}, the merkle section says {merkle.leaf_hash}"
        )
        return _step(2, "inclusion", failure, problem, "")
    try:
        verify_inclusion(
            merkle.leaf_index,
            merkle.tree_size,
            bytes.fromhex(leaf),
            [bytes.fromhex(h) for h in merkle.path],
            bytes.fromhex(merkle.root),
        )
    except VerificationError as exc:
        return _step(2, "inclusion", failure, str(exc), "")
    ok = f"RFC 9162 audit path of leaf {merkle.leaf_index} of {merkle.tree_size} gives the root"
    return _step(2, "inclusion", failure, None, ok)


def _check_anchor(draw: _Draw) -> DrawStep:
    anchor, failure = draw.document.anchor, DrawFailure.not_anchored
    problem = _anchor_names_problem(draw)
    if problem is not None:
        return _step(2, "anchor", failure, problem, "")
    if draw.chain is None:
        return DrawStep(2, "anchor", StepStatus.error, failure, "no chain to ask")
    merkle = draw.document.merkle
    claim = AnchorClaim(
        chain_id=anchor.chain_id,
        contract=anchor.contract,
        tx_hash=anchor.tx_hash,
        block_number=anchor.block_number,
        block_hash=anchor.block_hash,
        block_timestamp=anchor.block_timestamp,
        batch_id=anchor.batch_id,
        root=bytes.fromhex(merkle.root),
        tree_size=merkle.tree_size,
    )
    try:
        draw.chain.verify_anchor(claim)
    except ChainUnavailableError as exc:
        return DrawStep(2, "anchor", StepStatus.error, failure, str(exc))
    except VerificationError as exc:
        return _step(2, "anchor", failure, str(exc), "")
    unpinned = "" if draw.pins.registries else " (registry address not pinned by the verifier)"
    ok = (
        f"anchoredAt(root) = block {anchor.block_number} on chain {anchor.chain_id}; "
        f"tx {anchor.tx_hash} logs Anchored(root, {merkle.tree_size}, {anchor.batch_id}); "
        f"block timestamp {anchor.block_timestamp}{unpinned}"
    )
    return _step(2, "anchor", failure, None, ok)


def _anchor_names_problem(draw: _Draw) -> str | None:
    """The anchor must name the commitment's chain and registry, and the pinned ones."""
    anchor, pins = draw.document.anchor, draw.pins
    if anchor.chain_id != draw.facts.get("chain_id"):
        return f"the anchor is on chain {anchor.chain_id}, the commitment names another"
    registry = draw.facts.get("registry")
    if not isinstance(registry, str) or anchor.contract.lower() != registry.lower():
        return f"the anchor is in registry {anchor.contract}, the commitment names {registry!r}"
    if pins.chain_id is not None and anchor.chain_id != pins.chain_id:
        return f"the draw names chain {anchor.chain_id}; the trusted chain is {pins.chain_id}"
    if pins.registries and anchor.contract.lower() not in {r.lower() for r in pins.registries}:
        return f"the draw names registry {anchor.contract}, which is not a trusted registry"
    return None


def _check_anchor_time(draw: _Draw, anchor: DrawStep) -> DrawStep:
    """``anchoredAt(root) < target_block``; a void draw is confirmed by the opposite."""
    failure, target = DrawFailure.anchored_too_late, draw.facts.get("target_block")
    if anchor.status != StepStatus.passed or draw.chain is None:
        status = StepStatus.error if anchor.status == StepStatus.error else StepStatus.skipped
        return DrawStep(2, "anchor-time", status, failure, "the anchor is not established")
    if type(target) is not int:
        return DrawStep(2, "anchor-time", StepStatus.skipped, failure, "no target_block")
    root = bytes.fromhex(draw.document.merkle.root)
    try:
        at = draw.chain.anchored_at(draw.document.anchor.contract, root)
    except ChainUnavailableError as exc:
        return DrawStep(2, "anchor-time", StepStatus.error, failure, str(exc))
    if at >= target:
        void = " (the draw is published void)" if draw.document.result is None else ""
        problem = f"anchored in block {at}, not before target_block {target}{void}"
        return _step(2, "anchor-time", failure, problem, "")
    return _step(2, "anchor-time", failure, None, f"anchored in block {at} < target {target}")


def _check_block(draw: _Draw) -> DrawStep:
    failure, result = DrawFailure.block_mismatch, draw.document.result
    target = draw.facts.get("target_block")
    if result is None:
        return DrawStep(3, "block", StepStatus.skipped, failure, "void draw: no seed")
    if type(target) is not int:
        return DrawStep(3, "block", StepStatus.skipped, failure, "no target_block")
    if draw.chain is None:
        return DrawStep(3, "block", StepStatus.error, failure, "no chain to ask")
    try:
        chain_id, block_hash = draw.chain.chain_id(), draw.chain.block_hash(target)
    except ChainUnavailableError as exc:
        return DrawStep(3, "block", StepStatus.error, failure, str(exc))
    seed = draw_seed(block_hash, draw.digest).hex() if block_hash else None
    problem = None
    if chain_id != draw.facts.get("chain_id"):
        problem = f"the node serves chain {chain_id}, the commitment names another"
    elif block_hash is None:
        problem = f"block {target} is not on this chain yet"
    elif result["block_hash"] != "0x" + block_hash.hex():
        problem = (
            f"block {target} has hash 0x{block_hash.hex()}, the result says {result['block_hash']}"
        )
    elif result["seed"] != seed:
        problem = (
            f"SHA-256(block_hash ‖ commitment_digest) is {seed}, the result says {result['seed']}"
        )
    ok = f"block {target} has hash {result['block_hash']}; the seed recomputes"
    return _step(3, "block", failure, problem, ok)


def _check_result(draw: _Draw, anchor_time: DrawStep) -> DrawStep:
    failure, result = DrawFailure.result_mismatch, draw.document.result
    if result is None:
        if anchor_time.status == StepStatus.passed:
            void = "published void, but the commitment was anchored before target_block"
            return _step(4, "result", failure, void, "")
        return DrawStep(4, "result", StepStatus.skipped, failure, "void draw: no result")
    if draw.commitment is None:
        return DrawStep(4, "result", StepStatus.skipped, failure, "the commitment breaks §1")
    if not _BLOCK_HASH.match(result["block_hash"]):
        return DrawStep(4, "result", StepStatus.skipped, failure, "no block hash to seed from")
    expected = compute_result(draw.commitment, bytes.fromhex(result["block_hash"][2:]))
    problem = _first_difference(expected, result)
    ok = (
        f"§3 and §4 recompute {len(expected['selected'])} enterprises and "
        f"{len(expected['assignments'])} assignments"
    )
    return _step(4, "result", failure, problem, ok)


def _first_difference(expected: dict[str, Any], published: dict[str, Any]) -> str | None:
    for name in ("selected", "assignments"):
        want, got = expected[name], published[name]
        for index, (w, g) in enumerate(zip(want, got, strict=False)):
            if w != g:
                return f"{name}[{index}] is {g}, the draw gives {w}"
        if len(want) != len(got):
            return f"{name} has {len(got)} entries, the draw gives {len(want)}"
    return None
