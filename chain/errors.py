"""Errors of the chain layer. web3 / eth-tester / py-evm exceptions are translated into these."""

from __future__ import annotations


class ChainError(Exception):
    """Root of every chain error."""


class VerificationError(ChainError, ValueError):
    """A proof or an on-chain fact did not check out; the message says which and why."""


class ProofError(VerificationError):
    """A Merkle inclusion or consistency proof is malformed or does not reproduce the root."""


class InclusionProofError(ProofError):
    """The audit path, leaf index and tree size do not give the claimed root."""


class ConsistencyProofError(ProofError):
    """The consistency proof does not link the two tree heads."""


class ChainUnavailableError(ChainError):
    """The node cannot be reached or did not answer in time; the caller may retry later."""


class AnchorFailedError(ChainError):
    """The anchor transaction was mined but reverted (receipt.status == 0), or was refused."""


class AlreadyAnchoredError(ChainError):
    """The root is already anchored; `block_number` says where."""

    def __init__(self, root_hex: str, block_number: int) -> None:
        super().__init__(f"root {root_hex} is already anchored in block {block_number}")
        self.root_hex = root_hex
        self.block_number = block_number


class ContractError(ChainError):
    """No AnchorRegistry code at the configured address, or its artifact does not match."""


class NotFoundError(ChainError, LookupError):
    """No such transaction, receipt or block on this chain."""


class ChainInUseError(ChainError):
    """Another process (or another open in this one) holds the embedded chain's directory."""


class ChainStoreError(ChainError):
    """The embedded chain's on-disk store is missing, unreadable or could not be written."""


class RpcError(ChainError):
    """A read-only JSON-RPC request was refused or failed; `code`/`data` form its JSON-RPC error."""

    code: int = -32000  # geth's generic "server error"

    def __init__(self, message: str, *, data: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class MethodNotAllowedError(RpcError):
    """The JSON-RPC method is not on the read-only allow-list (writes are never forwarded)."""

    code = -32601


class InvalidRequestError(RpcError, ValueError):
    """The JSON-RPC params are malformed or outside the configured limits."""

    code = -32602


class ExecutionRevertedError(RpcError):
    """`eth_call` reverted; `data` is the 0x-hex revert payload, as a node reports it."""

    code = 3


class RevertedError(AnchorFailedError):
    """A registry transaction or call reverted. `error_name` is the decoded custom error
    (`NotAnchorer`, `NotOwner`, `EmptyTree`, `AlreadyAnchored`, or Solidity's `Error`/`Panic`),
    "" when the revert carried no known selector; `error_args` are its decoded arguments."""

    def __init__(
        self, message: str, *, error_name: str = "", error_args: tuple[object, ...] = ()
    ) -> None:
        super().__init__(message)
        self.error_name = error_name
        self.error_args = error_args
