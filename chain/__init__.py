"""Merkle trees, the AnchorRegistry contract and anchoring clients (chain issue).

The names below are the package's public face; each also lives in its module:

- :mod:`chain.errors` the error family; :mod:`chain.merkle` RFC 6962 / 9162 trees and proofs;
  :mod:`chain.base` the :class:`AnchorChain` protocol and its receipts;
- :mod:`chain.artifact` the compiled AnchorRegistry contract; :mod:`chain.anchor_check`
  checking an anchor claim against a node;
- :mod:`chain.embedded` the in-process py-evm chain; :mod:`chain.rpc` and
  :mod:`chain.web3_client` chains behind JSON-RPC; :mod:`chain.rpc_bridge` a web3 provider
  over a function.

Importing ``chain`` loads only the pure modules (errors, merkle, base); the names that need
web3, eth-abi or py-evm are imported from their modules on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from chain.base import AnchorChain, AnchoredLog, AnchorReceipt, BlockFacts
from chain.errors import (
    AlreadyAnchoredError,
    AnchorFailedError,
    ChainError,
    ChainInUseError,
    ChainStoreError,
    ChainUnavailableError,
    ConsistencyProofError,
    ContractError,
    ExecutionRevertedError,
    InclusionProofError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    ProofError,
    RevertedError,
    RpcError,
    VerificationError,
)
from chain.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MAX_PROOF_DEPTH,
    MerkleTree,
    leaf_hash,
    mth,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

if TYPE_CHECKING:
    from chain.anchor_check import ANCHORED_AT_SELECTOR, AnchorClaim, verify_anchor
    from chain.artifact import ANCHORED_TOPIC, check_artifact_current, load_artifact
    from chain.embedded import CHAIN_ID, EmbeddedChain, RpcLimits
    from chain.rpc import RpcChain
    from chain.rpc_bridge import FunctionProvider
    from chain.web3_client import Web3AnchorChain

_LAZY: dict[str, tuple[str, ...]] = {
    "chain.anchor_check": ("ANCHORED_AT_SELECTOR", "AnchorClaim", "verify_anchor"),
    "chain.artifact": ("ANCHORED_TOPIC", "check_artifact_current", "load_artifact"),
    "chain.embedded": ("CHAIN_ID", "EmbeddedChain", "RpcLimits"),
    "chain.rpc": ("RpcChain",),
    "chain.rpc_bridge": ("FunctionProvider",),
    "chain.web3_client": ("Web3AnchorChain",),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    "ANCHORED_AT_SELECTOR",
    "ANCHORED_TOPIC",
    "CHAIN_ID",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_PROOF_DEPTH",
    "AlreadyAnchoredError",
    "AnchorChain",
    "AnchorClaim",
    "AnchorFailedError",
    "AnchorReceipt",
    "AnchoredLog",
    "BlockFacts",
    "ChainError",
    "ChainInUseError",
    "ChainStoreError",
    "ChainUnavailableError",
    "ConsistencyProofError",
    "ContractError",
    "EmbeddedChain",
    "ExecutionRevertedError",
    "FunctionProvider",
    "InclusionProofError",
    "InvalidRequestError",
    "MerkleTree",
    "MethodNotAllowedError",
    "NotFoundError",
    "ProofError",
    "RevertedError",
    "RpcChain",
    "RpcError",
    "RpcLimits",
    "VerificationError",
    "Web3AnchorChain",
    "check_artifact_current",
    "leaf_hash",
    "load_artifact",
    "mth",
    "node_hash",
    "root_from_inclusion_proof",
    "verify_anchor",
    "verify_consistency",
    "verify_inclusion",
]

if not TYPE_CHECKING:  # type checkers see the imports above; at run time, load on first use

    def __getattr__(name: str) -> Any:
        """Import a public name's module on first use (PEP 562) and remember the name."""
        module = _MODULE_OF.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(__all__))
