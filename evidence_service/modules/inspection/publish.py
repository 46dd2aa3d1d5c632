"""Running a draw against the core (docs/draw-format.md §1, §5): commit, anchor, wait for the
target block, compute, publish — or publish the draw void.

The order is the format's guarantee:

1. :func:`choose_target` reads the chain's height and names a target block a few blocks
   ahead, before the commitment exists;
2. :func:`commit` anchors the commitment through the core (``POST /api/v1/anchors``) and waits
   until its batch is mined (:func:`post_commitment` then :func:`wait_anchored`, which a
   service calls apart: the draw is recorded as committed between them);
3. :func:`reach` waits until the target block has the configured confirmations. On a chain whose
   blocks come only from transactions (the embedded one, a quiet node) the module advances it by
   anchoring small heartbeat documents — "with its next anchor transaction";
4. :func:`draw_document` builds ``DRAW.json``: the result seeded by the target block's hash, or,
   when the commitment was anchored in or after the target block, the void draw
   (``anchored-too-late``), published as such, never silently redrawn.

The module reaches the chain only through the core's read-only ``/api/v1/chain/rpc`` and the
core's anchors, as any client does. :func:`draw_document` is pure.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
from eth_utils.address import to_checksum_address

from evidence_service.client import AsyncEvidenceClient
from evidence_service.modules.inspection.draw import Commitment, compute_result
from evidence_service.modules.inspection.draw_document import DRAW_FORMAT, VOID_REASON

#: How many blocks ahead of the current height the target is named (room for the anchor).
DEFAULT_LEAD_BLOCKS = 3


class DrawTimeoutError(TimeoutError):
    """The core did not anchor, or the chain did not reach the target, in the time given."""


def draw_document(
    commitment: Mapping[str, Any],
    merkle: Mapping[str, Any],
    anchor: Mapping[str, Any],
    block_hash: bytes,
) -> dict[str, Any]:
    """``DRAW.json`` (§5): the commitment with its path and anchor, and the result seeded by
    ``block_hash`` (the target block's) — or void when the anchor is not before the target."""
    checked = Commitment.from_json(dict(commitment))
    document: dict[str, Any] = {
        "format": DRAW_FORMAT,
        "commitment": dict(commitment),
        "merkle": dict(merkle),
        "anchor": dict(anchor),
    }
    if anchor["block_number"] >= commitment["target_block"]:
        return {**document, "result": None, "void": VOID_REASON}
    return {**document, "result": compute_result(checked, block_hash)}


async def chain_of(
    core: AsyncEvidenceClient, *, timeout: float = 120.0, poll: float = 0.5
) -> tuple[int, str]:
    """The chain id and registry (EIP-55) the core anchors on. A new chain has no registry
    until its first anchor: a heartbeat is anchored and the registry awaited."""

    async def named() -> tuple[int, str] | None:
        trust = await core.trust()
        if trust.get("contract") and trust.get("chain_id") is not None:
            return int(trust["chain_id"]), to_checksum_address(trust["contract"])
        return None

    found = await named()
    if found is None:
        await core.anchor_document({"format": "draw-heartbeat/1", "purpose": "first anchor"})
        found = await _until(named, timeout, poll, "the registry's deployment")
    return found


async def block_number(core: AsyncEvidenceClient) -> int:
    return int(await core.chain_rpc("eth_blockNumber", []), 16)


async def choose_target(core: AsyncEvidenceClient, lead: int = DEFAULT_LEAD_BLOCKS) -> int:
    """A target ``lead`` blocks past the chain's height now, before anything is committed."""
    return await block_number(core) + lead


async def _until(
    check: Callable[[], Awaitable[Any]], timeout: float, poll: float, waiting_for: str
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise DrawTimeoutError(f"{waiting_for}: not within {timeout:.0f} s")
        await anyio.sleep(poll)


async def commit(
    core: AsyncEvidenceClient,
    commitment: Mapping[str, Any],
    *,
    timeout: float = 120.0,
    poll: float = 0.5,
) -> dict[str, Any]:
    """Anchor the commitment through the core and wait for its mined anchor (the answer of
    ``GET /api/v1/anchors/{id}`` with ``merkle`` and ``anchor``)."""
    anchor_id = await post_commitment(core, commitment)
    return await wait_anchored(core, anchor_id, timeout=timeout, poll=poll)


async def post_commitment(core: AsyncEvidenceClient, commitment: Mapping[str, Any]) -> str:
    """Hand the commitment to the core's anchoring (``POST /api/v1/anchors``); its anchor id.
    Apart from :func:`wait_anchored` so a service can record that the commitment left, and
    wait for the block in the background."""
    Commitment.from_json(dict(commitment))  # never anchor what a verifier would refuse
    anchored = await core.anchor_document(commitment)
    return str(anchored["id"])


async def wait_anchored(
    core: AsyncEvidenceClient, anchor_id: str, *, timeout: float = 120.0, poll: float = 0.5
) -> dict[str, Any]:
    """The anchor ``anchor_id`` once its batch is mined (with ``merkle`` and ``anchor``);
    :class:`DrawTimeoutError` when it is not within ``timeout`` seconds."""

    async def mined() -> dict[str, Any] | None:
        now = await core.get_anchor(anchor_id)
        return now if now["state"] == "anchored" else None

    return dict(await _until(mined, timeout, poll, f"the anchor of {anchor_id}"))


async def reach(
    core: AsyncEvidenceClient,
    target_block: int,
    *,
    confirmations: int = 1,
    draw_id: str,
    timeout: float = 300.0,
    poll: float = 0.5,
) -> bytes:
    """Wait until block ``target_block`` has ``confirmations`` blocks on top (counting
    itself), advancing a chain that only moves with transactions by anchoring heartbeats;
    then the target block's hash."""
    wanted = target_block + confirmations - 1
    beat = 0

    async def confirmed() -> bytes | None:
        nonlocal beat
        height = await block_number(core)
        if height >= wanted:
            block = await core.chain_rpc("eth_getBlockByNumber", [hex(target_block), False])
            return bytes.fromhex(block["hash"].removeprefix("0x"))
        beat += 1  # a new document each time: the same one would be the same leaf, no block
        await core.anchor_document(
            {"format": "draw-heartbeat/1", "draw_id": draw_id, "height": height, "beat": beat}
        )
        return None

    found: bytes = await _until(confirmed, timeout, poll, f"block {wanted}")
    return found
