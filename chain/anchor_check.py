"""Check an anchor claim against any Ethereum node (PROOF_FORMAT.md, verification step 5).

This is what an auditor does with their own tools, so it uses nothing of ours but the ABI
signatures from the public contract interface: ``anchoredAt(root)`` by ``eth_call``, the receipt
of the transaction and its ``Anchored`` log, and the block's hash and timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from eth_typing import HexStr
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.exceptions import BlockNotFound, TransactionNotFound, Web3Exception

from chain.artifact import ANCHORED_TOPIC
from chain.errors import ChainUnavailableError, VerificationError

ANCHORED_AT_SELECTOR = keccak(text="anchoredAt(bytes32)")[:4]


class AnchorMismatchError(VerificationError):
    """The chain does not hold the claimed anchor; the message says which fact differs."""


@dataclass(frozen=True)
class AnchorClaim:
    """What a proof says about its anchor (``anchor`` plus the Merkle root and tree size)."""

    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    block_hash: str
    block_timestamp: int
    batch_id: int
    root: bytes
    tree_size: int


def _hex(value: Any) -> str:
    raw = bytes(value) if not isinstance(value, str) else bytes.fromhex(value.removeprefix("0x"))
    return "0x" + raw.hex()


def verify_anchor(w3: Web3, claim: AnchorClaim) -> None:
    """Return None if the chain holds exactly the claimed anchor; raise AnchorMismatchError with
    the differing fact, or ChainUnavailableError if the node cannot answer."""
    try:
        _verify(w3, claim)
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, OSError) as exc:
        raise ChainUnavailableError(f"the chain node did not answer: {exc}") from exc
    except (TransactionNotFound, BlockNotFound) as exc:
        raise AnchorMismatchError(f"not on this chain: {exc}") from exc
    except Web3Exception as exc:
        raise ChainUnavailableError(f"the chain node refused the request: {exc}") from exc


def _verify(w3: Web3, claim: AnchorClaim) -> None:
    chain_id = w3.eth.chain_id
    if chain_id != claim.chain_id:
        raise AnchorMismatchError(
            f"the node serves chain {chain_id}, the proof names {claim.chain_id}"
        )
    contract = to_checksum_address(claim.contract)
    raw = w3.eth.call({"to": contract, "data": HexStr(_hex(ANCHORED_AT_SELECTOR + claim.root))})
    if len(raw) != 32:
        raise AnchorMismatchError(f"no AnchorRegistry answers at {contract}")
    anchored_at = int.from_bytes(raw, "big")
    if anchored_at == 0:
        raise AnchorMismatchError(f"root {claim.root.hex()} is not anchored in {contract}")
    if anchored_at != claim.block_number:
        raise AnchorMismatchError(
            f"anchoredAt(root) is block {anchored_at}, the proof says {claim.block_number}"
        )
    receipt = w3.eth.get_transaction_receipt(claim.tx_hash)  # type: ignore[arg-type]
    if receipt["status"] != 1:
        raise AnchorMismatchError(f"transaction {claim.tx_hash} reverted")
    if receipt["blockNumber"] != claim.block_number:
        raise AnchorMismatchError(
            f"transaction {claim.tx_hash} is in block {receipt['blockNumber']}, "
            f"not {claim.block_number}"
        )
    if _hex(receipt["blockHash"]) != claim.block_hash.lower():
        raise AnchorMismatchError("the receipt's block hash differs from the proof's")
    if not any(_is_claimed_log(log, contract, claim) for log in receipt["logs"]):
        raise AnchorMismatchError(
            f"the receipt of {claim.tx_hash} holds no Anchored log for this root, tree size "
            f"{claim.tree_size} and batch {claim.batch_id} from {contract}"
        )
    block = w3.eth.get_block(claim.block_number)
    if _hex(block["hash"]) != claim.block_hash.lower():
        raise AnchorMismatchError(f"block {claim.block_number} has another hash on this chain")
    if block["timestamp"] != claim.block_timestamp:
        raise AnchorMismatchError(
            f"block {claim.block_number} has timestamp {block['timestamp']}, "
            f"the proof says {claim.block_timestamp}"
        )


def _is_claimed_log(log: Any, contract: str, claim: AnchorClaim) -> bool:
    topics = [bytes(t) for t in log["topics"]]
    data = bytes(log["data"])
    return (
        to_checksum_address(log["address"]) == contract
        and len(topics) == 4
        and topics[0] == ANCHORED_TOPIC
        and topics[1] == claim.root
        and int.from_bytes(topics[2], "big") == claim.batch_id
        and len(data) == 32
        and int.from_bytes(data, "big") == claim.tree_size
    )
