"""The small protocol every anchoring client implements, and the frozen facts it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class AnchorReceipt:
    """What a mined, successful anchor transaction proves (PROOF_FORMAT.md `anchor`)."""

    chain_id: int
    contract: str  # checksummed 0x address
    tx_hash: str  # 0x + 64 hex
    block_number: int
    block_hash: str  # 0x + 64 hex
    block_timestamp: int  # seconds since the epoch
    root: bytes  # 32 bytes
    tree_size: int
    batch_id: int
    gas_used: int


@dataclass(frozen=True)
class AnchoredLog:
    """One decoded `Anchored(root, treeSize, batchId, anchorer)` event."""

    root: bytes
    tree_size: int
    batch_id: int
    anchorer: str
    contract: str
    tx_hash: str
    block_number: int
    block_hash: str
    log_index: int


@dataclass(frozen=True)
class BlockFacts:
    number: int
    hash: str
    timestamp: int


class AnchorChain(Protocol):
    """Deploy the registry once, anchor roots, and read back what the chain says.

    Every method raises only `chain.errors` exceptions; `ChainUnavailableError` means "try later".
    """

    @property
    def chain_id(self) -> int: ...

    @property
    def contract_address(self) -> str | None:
        """The AnchorRegistry this client anchors into, or None before `deploy`/`use_contract`."""
        ...

    def deploy(self) -> str:
        """Deploy a fresh AnchorRegistry owned by (and allowing) the anchoring account."""
        ...

    def use_contract(self, address: str) -> None:
        """Point at an existing registry; raises ContractError if no code lives there."""
        ...

    def anchor(self, root: bytes, tree_size: int, batch_id: int) -> AnchorReceipt:
        """Send `anchor(root, treeSize, batchId)` with explicit gas, wait for the receipt
        (and the configured confirmations), check `receipt.status`. Raises AlreadyAnchoredError
        if the root is anchored already, AnchorFailedError on revert."""
        ...

    def anchored_at(self, root: bytes) -> int:
        """`anchoredAt(root)`: the block number, 0 if never anchored."""
        ...

    def find_anchor(self, root: bytes) -> AnchorReceipt | None:
        """Rebuild the receipt facts of an earlier anchor of `root` from its `Anchored` log
        (used after a crash between mining and recording); None if never anchored."""
        ...

    def anchored_logs(self, tx_hash: str) -> list[AnchoredLog]:
        """The AnchorRegistry `Anchored` logs in the receipt of `tx_hash`: NotFoundError if the
        transaction has no receipt, [] if it emitted no such log."""
        ...

    def block(self, number: int) -> BlockFacts: ...

    def balance(self) -> int:
        """The anchoring account's balance in wei."""
        ...

    def gas_price(self) -> int:
        """The chain's current gas price in wei."""
        ...

    @property
    def gas_limit(self) -> int:
        """The gas each anchor transaction is sent with."""
        ...

    def block_number(self) -> int: ...

    def close(self) -> None: ...
